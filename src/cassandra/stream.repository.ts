import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { dayOf } from '../common/time/time-range';
import { CassandraClient } from './cassandra.client';

/** How long a micro-batch's row lives: the default TTL of stream_micro_batches (migration 13). */
export const MICRO_BATCH_RETENTION_DAYS = 7;
const DAY_MS = 86_400_000;

export type DesiredState = 'running' | 'stopped';

/** What the control plane decided about a stream (table stream_control; written by the API only). */
export interface StreamControl {
  stream: string;
  desired?: DesiredState;
  desiredAt?: Date;
  desiredBy?: string;
  /** The user's job args for the stream, as given to POST /streaming/start. */
  args: Record<string, unknown>;
  /** The control plane's id of the batch it started last. */
  batchId?: string;
  startedAt?: Date;
  /** A running copy asked to end gracefully (its run id), and why. */
  stopRun?: string;
  stopReason?: string;
  restarts: number;
  lastRestartAt?: Date;
  lastRestartReason?: string;
  /** Consecutive starts that did not come up; reset once a copy runs. */
  failures: number;
  lastError?: string;
  nextAttemptAt?: Date;
}

/** What a running copy of the streaming job reports about itself (table stream_heartbeats; written by the job only). */
export interface StreamHeartbeat {
  stream: string;
  runId: string;
  batchId?: string;
  appId?: string;
  host?: string;
  pid?: number;
  startedAt?: Date;
  seenAt?: Date;
  lastBatchAt?: Date;
  epoch?: number;
  rowsRead?: number;
  rowsWritten?: number;
  dropped?: number;
  durationMs?: number;
  lagMs?: number;
  /** The next Kafka offset the stream will read, per topic and partition. */
  offsets: Record<string, Record<string, number>>;
  topics: string[];
  /** The bucket size, in seconds, the copy stores each source's events with; undefined for a copy that does not say (it predates buckets). */
  buckets?: Record<string, number>;
  state?: string;
  lastError?: string;
}

/**
 * One micro-batch as the streaming job recorded it after the batch (table stream_micro_batches; written
 * by the job only, the same numbers as its log line). Kept MICRO_BATCH_RETENTION_DAYS, whatever Livy
 * remembers: the job writes it itself, so an adopted copy's batches are there too.
 */
export interface StreamMicroBatch {
  stream: string;
  /** The control plane's id of the copy's batch (its --batch-id); absent for a copy submitted without one. */
  batchId?: string;
  /** The copy's run id (one per driver process). */
  runId: string;
  /** Spark's micro-batch id. */
  epoch: number;
  endedAt: Date;
  /** Kafka records read. */
  rowsRead: number;
  /** Well-formed events stored. */
  rowsWritten: number;
  /** Records that are not well-formed envelopes (stored in dead_letters). */
  unreadable: number;
  /** Dead-letter envelopes read from the dead-letter topics (stored in dead_letters). */
  quarantined: number;
  /** Minutes whose count was written again. */
  minutes: number;
  /** Events of source `users` projected into created_users. */
  users: number;
  durationMs: number;
  /** Age of the batch's oldest event once it was stored; absent for a batch without a well-formed event. */
  lagMs?: number;
}

/** The streaming job's control row, heartbeat row and micro-batch rows. */
@Injectable()
export class StreamRepository {
  private readonly ks: string;
  private readonly microBatchesQuery: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.ks = cassandra.keyspace;
    this.microBatchesQuery = `SELECT * FROM ${this.ks}.stream_micro_batches WHERE stream = ? AND day = ? LIMIT ?`;
  }

  async control(stream: string): Promise<StreamControl | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.ks}.stream_control WHERE stream = ?`, [stream]);
    return rows[0] ? toControl(rows[0]) : undefined;
  }

  /** Sets the desired state only when none was ever set (STREAMING_AUTOSTART); true when this call set it. */
  async initDesired(stream: string, desired: DesiredState, by: string): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `INSERT INTO ${this.ks}.stream_control (stream, desired, desired_at, desired_by) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
      [stream, desired, new Date(), by],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** The user's decision; args are kept for the starts that follow (undefined keeps the previous ones). */
  async setDesired(stream: string, desired: DesiredState, by: string, args?: Record<string, unknown>): Promise<void> {
    if (args === undefined) {
      await this.cassandra.execute(`UPDATE ${this.ks}.stream_control SET desired = ?, desired_at = ?, desired_by = ? WHERE stream = ?`, [
        desired,
        new Date(),
        by,
        stream,
      ]);
      return;
    }
    await this.cassandra.execute(`UPDATE ${this.ks}.stream_control SET desired = ?, desired_at = ?, desired_by = ?, args = ? WHERE stream = ?`, [
      desired,
      new Date(),
      by,
      JSON.stringify(args),
      stream,
    ]);
  }

  /**
   * Claims the next start: moves batch_id from the batch seen last to a new one, in a lightweight
   * transaction, so of several replicas deciding at once exactly one starts a copy.
   */
  async claimStart(
    stream: string,
    previousBatchId: string | undefined,
    batchId: string,
    reason: string,
    isRestart: boolean,
    restarts: number,
  ): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.ks}.stream_control SET batch_id = ?, started_at = ?, stop_run = null, stop_reason = null, next_attempt_at = null` +
        (isRestart ? ', restarts = ?, last_restart_at = ?, last_restart_reason = ?' : '') +
        ` WHERE stream = ? IF batch_id = ?`,
      [batchId, new Date(), ...(isRestart ? [restarts + 1, new Date(), reason] : []), stream, previousBatchId ?? null],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** Asks the copy with this run id to end gracefully (the job reads stop_run every few seconds). */
  async requestStop(stream: string, runId: string, reason: string): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.ks}.stream_control SET stop_run = ?, stop_reason = ? WHERE stream = ?`, [runId, reason, stream]);
  }

  /** A start that did not come up: counted, with its error and when to try again. */
  async recordFailure(stream: string, failures: number, error: string, nextAttemptAt: Date): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.ks}.stream_control SET failures = ?, last_error = ?, next_attempt_at = ? WHERE stream = ?`, [
      failures,
      error,
      nextAttemptAt,
      stream,
    ]);
  }

  async clearFailures(stream: string): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.ks}.stream_control SET failures = 0, next_attempt_at = null WHERE stream = ?`, [stream]);
  }

  async heartbeat(stream: string): Promise<StreamHeartbeat | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.ks}.stream_heartbeats WHERE stream = ?`, [stream]);
    return rows[0]?.run_id ? toHeartbeat(rows[0]) : undefined;
  }

  /**
   * The stream's last `limit` micro-batches, newest first. A partition holds one UTC day, newest
   * first: today's is read, then, while short, each day before it, back to the oldest a row can
   * live in (a stream that ran today needs one read, or two just after midnight; one stopped for days
   * still shows its last batches).
   */
  async microBatches(stream: string, limit: number, now: Date = new Date()): Promise<StreamMicroBatch[]> {
    const found: StreamMicroBatch[] = [];
    for (let back = 0; back <= MICRO_BATCH_RETENTION_DAYS && found.length < limit; back++) {
      const day = types.LocalDate.fromString(dayOf(now.getTime() - back * DAY_MS));
      const { rows } = await this.cassandra.execute(this.microBatchesQuery, [stream, day, limit - found.length]);
      found.push(...rows.map(toMicroBatch));
    }
    return found;
  }
}

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);
const num = (v: types.Long | number | null | undefined): number | undefined => (v === null || v === undefined ? undefined : Number(v));

function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function toControl(r: types.Row): StreamControl {
  return {
    stream: r.stream,
    desired: opt(r.desired),
    desiredAt: opt(r.desired_at),
    desiredBy: opt(r.desired_by),
    args: parseJson(r.args, {}),
    batchId: opt(r.batch_id),
    startedAt: opt(r.started_at),
    stopRun: opt(r.stop_run),
    stopReason: opt(r.stop_reason),
    restarts: r.restarts ?? 0,
    lastRestartAt: opt(r.last_restart_at),
    lastRestartReason: opt(r.last_restart_reason),
    failures: r.failures ?? 0,
    lastError: opt(r.last_error),
    nextAttemptAt: opt(r.next_attempt_at),
  };
}

function toHeartbeat(r: types.Row): StreamHeartbeat {
  return {
    stream: r.stream,
    runId: r.run_id,
    batchId: opt(r.batch_id) || undefined,
    appId: opt(r.app_id),
    host: opt(r.host),
    pid: opt(r.pid),
    startedAt: opt(r.started_at),
    seenAt: opt(r.seen_at),
    lastBatchAt: opt(r.last_batch_at),
    epoch: num(r.epoch),
    rowsRead: num(r.rows_read),
    rowsWritten: num(r.rows_written),
    dropped: num(r.dropped),
    durationMs: num(r.duration_ms),
    lagMs: num(r.lag_ms),
    offsets: parseJson(r.offsets, {}),
    topics: r.topics ? String(r.topics).split(',').filter(Boolean) : [],
    buckets: r.buckets ? parseBuckets(String(r.buckets)) : undefined,
    state: opt(r.state),
    lastError: opt(r.last_error),
  };
}

function toMicroBatch(r: types.Row): StreamMicroBatch {
  return {
    stream: r.stream,
    batchId: opt(r.batch_id) || undefined,
    runId: r.run_id,
    epoch: Number(r.epoch),
    endedAt: r.ended_at,
    rowsRead: num(r.rows_read) ?? 0,
    rowsWritten: num(r.rows_written) ?? 0,
    unreadable: num(r.unreadable) ?? 0,
    quarantined: num(r.quarantined) ?? 0,
    minutes: num(r.minutes) ?? 0,
    users: num(r.users) ?? 0,
    durationMs: num(r.duration_ms) ?? 0,
    lagMs: num(r.lag_ms),
  };
}

/** `users=3600,clicks=30` (as the job writes it) → { users: 3600, clicks: 30 }. */
function parseBuckets(text: string): Record<string, number> {
  const buckets: Record<string, number> = {};
  for (const pair of text.split(',')) {
    const [source, seconds] = pair.split('=');
    if (source && Number(seconds) > 0) buckets[source] = Number(seconds);
  }
  return buckets;
}
