import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { uuidV7 } from '../common/ids/uuid-v7';
import { BatchRecord } from '../cassandra/batch-history.repository';
import { LeasesRepository } from '../cassandra/leases.repository';
import { DesiredState, StreamControl, StreamHeartbeat, StreamRepository } from '../cassandra/stream.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { AppError, NotFoundError } from '../common/errors/errors';
import { KafkaProducer } from '../kafka/kafka.producer';
import { isTerminal, LivyBatch, LivyClient } from '../livy/livy.client';
import { BatchesService } from './batches.service';
import { MicroBatchesDto, StreamingStatusDto } from './dto/processing.dto';
import { backoffMs, bucketChange, errorLine, freshHeartbeat, isUp, streamState, StreamState, topicChange } from './stream-state';
import { topicProgress } from '../common/offsets/topic-progress';

/** The catalog job that streams Kafka into Cassandra; the stream's name in the control and heartbeat rows. */
export const STREAM_JOB = 'events_stream';
const SUPERVISOR_LEASE = `supervisor:${STREAM_JOB}`;
/** The lease a copy of the job holds while it owns the checkpoint (taken by the job itself). */
const STREAM_LEASE = `stream:${STREAM_JOB}`;
/** How long a copy that ran this long without failing counts as up: the failure count starts again. */
const HEALTHY_AFTER_MS = 30_000;
const STOP_POLL_MS = 500;

/** Everything the stream's state is derived from, read once. */
interface Observation {
  control?: StreamControl;
  heartbeat?: StreamHeartbeat;
  record?: BatchRecord;
  livy?: LivyBatch;
  /** Livy could not be asked: the state comes from the heartbeat alone. */
  livyUnavailable?: string;
  /** The started batch has ended: Livy says so, or (Livy forgets a killed batch at once) the history does. */
  batchEnded: boolean;
  state: StreamState;
}

/**
 * The streaming job's lifecycle. The user's desired state (running or stopped) lives in Cassandra,
 * so every replica and every restart agrees on it. One replica at a time supervises (a lease):
 * every STREAMING_SUPERVISE_SECONDS it compares desired and actual, starts a missing copy with
 * exponential backoff, adopts a copy Livy does not know instead of starting a second one, and asks
 * a copy to restart gracefully when the sources' topics or bucket sizes changed or when it stands still
 * while events wait in Kafka (and kills it through Livy when it does not end). The job itself guarantees one copy
 * per checkpoint with a lease of its own; starts are claimed with a lightweight transaction so two
 * replicas deciding at once submit one batch.
 */
@Injectable()
export class StreamingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamingService.name);
  private readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private timer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;
  private supervising = false;
  private stopped = false;
  private autostartPending: boolean;
  /** The copy asked to end for a restart, and since when this replica knows (it is killed if it has not ended STREAMING_STOP_TIMEOUT_SECONDS later). */
  private endAsked?: { runId: string; at: number };

  constructor(
    private readonly batches: BatchesService,
    private readonly livy: LivyClient,
    private readonly kafka: KafkaProducer,
    private readonly stream: StreamRepository,
    private readonly leases: LeasesRepository,
    private readonly catalog: JobsCatalog,
    private readonly sources: SourcesRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.autostartPending = config.streaming.autostart;
  }

  onApplicationBootstrap(): void {
    const every = this.config.streaming.superviseSeconds * 1000;
    this.timer = setInterval(() => void this.supervise(), every);
    void this.supervise();
    // A source created, changed or archived over the API reaches the stream in seconds, not at the next round.
    this.sources.onChange(() => {
      if (!this.stopped) void this.supervise();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reconciling?.catch(() => undefined);
    // Hand supervision over at once instead of after the lease's TTL.
    if (this.supervising) await this.leases.release(SUPERVISOR_LEASE, this.holder).catch(() => undefined);
  }

  async status(): Promise<StreamingStatusDto> {
    return this.toDto(await this.observe());
  }

  /**
   * The last micro-batches, newest first, as the job recorded each in Cassandra (kept 7 days): those
   * of every copy, an adopted one's included, whatever Livy remembers. Livy is not asked.
   */
  async microBatches(limit: number): Promise<MicroBatchesDto> {
    const batches = await this.stream.microBatches(STREAM_JOB, limit);
    return {
      batchId: batches[0]?.batchId,
      microBatches: batches.map((b) => ({
        epoch: b.epoch,
        at: b.endedAt.toISOString(),
        rows: b.rowsRead,
        dropped: b.unreadable,
        durationMs: b.durationMs,
        lagMs: b.lagMs,
        batchId: b.batchId,
      })),
    };
  }

  /** Sets the desired state to running (with these args for every start that follows) and starts a copy unless one is up. */
  async start(args?: Record<string, unknown>): Promise<StreamingStatusDto> {
    if (args !== undefined) JobsCatalog.toCommandLine(this.catalog.get(STREAM_JOB), args);
    const control = await this.stream.control(STREAM_JOB);
    // Starting a stream already desired running changes nothing (its desired-since stays, for the supervisor's reasons).
    if (control?.desired !== 'running' || args !== undefined) await this.stream.setDesired(STREAM_JOB, 'running', this.holder, args);
    // A user's start does not wait out the backoff of earlier failed starts.
    if (control?.nextAttemptAt) await this.stream.clearFailures(STREAM_JOB);
    await this.reconcile();
    return this.status();
  }

  /**
   * Sets the desired state to stopped and waits (at most STREAMING_STOP_TIMEOUT_SECONDS) for the copy
   * to end its query gracefully; a copy still up then is killed through Livy when Livy has it.
   */
  async stop(): Promise<StreamingStatusDto> {
    await this.stream.setDesired(STREAM_JOB, 'stopped', this.holder);
    const deadline = Date.now() + this.config.streaming.stopTimeoutSeconds * 1000;
    let seen = await this.observe();
    while ((isUp(seen.state) || seen.state === 'stopping') && Date.now() < deadline) {
      if (seen.livy && !this.reporting(seen)) break; // not reading its control row yet: kill it below
      await new Promise((r) => setTimeout(r, STOP_POLL_MS));
      seen = await this.observe();
    }
    if (seen.livy && !isTerminal(seen.livy.state) && seen.record) {
      await this.batches.killStreaming(seen.record.id);
      this.logger.log(`streaming job killed through Livy (batch ${seen.record.id}): it did not stop within the timeout`);
      seen = await this.observe();
    }
    return this.toDto(seen);
  }

  /** One supervision round, on the replica holding the supervisor lease. */
  async supervise(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.autostartPending) {
        // STREAMING_AUTOSTART only sets the desired state when none was ever set: a stop is never undone.
        if (await this.stream.initDesired(STREAM_JOB, 'running', `${this.holder} (STREAMING_AUTOSTART)`)) {
          this.logger.log('streaming job desired running (STREAMING_AUTOSTART; no desired state was set before)');
        }
        this.autostartPending = false;
      }
      const ttl = Math.max(3 * this.config.streaming.superviseSeconds, 10);
      this.supervising = await this.leases.hold(SUPERVISOR_LEASE, this.holder, ttl);
      if (this.supervising) await this.reconcile();
    } catch (err) {
      this.logger.warn(`streaming job not supervised this round: ${(err as Error).message}`);
    }
  }

  /** Compares the desired state with the observed one and acts once; concurrent calls share one round. */
  reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce().finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    const seen = await this.observe();
    const { control } = seen;
    if (!control?.desired || this.stopped) return;
    if (seen.livyUnavailable) return; // decide nothing blind; a live copy keeps running meanwhile
    if (control.desired === 'stopped') return this.keepStopped(seen);

    switch (seen.state) {
      case 'running':
      case 'running-unmanaged':
        return this.keepRunning(seen);
      case 'starting': {
        const since = control.startedAt?.getTime() ?? Date.now();
        // Only a copy that never reported: one that did and went quiet is not "starting", it is stuck or cut off.
        const everReported = seen.heartbeat?.batchId !== undefined && seen.heartbeat.batchId === control.batchId;
        if (!everReported && Date.now() - since > this.config.streaming.startTimeoutSeconds * 1000 && seen.record) {
          this.logger.warn(`streaming job batch ${seen.record.id} did not report within ${this.config.streaming.startTimeoutSeconds} s; killing it`);
          await this.batches.killStreaming(seen.record.id);
        }
        return;
      }
      case 'stopping':
        return this.killIfNotEnded(seen);
      case 'stopped':
      case 'failed':
        return this.startMissing(seen);
    }
  }

  private async keepStopped(seen: Observation): Promise<void> {
    // A copy that took the lease reads the desired state and ends itself; one still starting cannot yet.
    if (seen.state === 'stopping' && seen.record && !this.reporting(seen)) await this.batches.killStreaming(seen.record.id);
  }

  /** A copy reports itself once it holds the stream; only then does it read its control row. */
  private reporting(seen: Observation): boolean {
    return freshHeartbeat({ heartbeat: seen.heartbeat, now: new Date(), staleMs: this.config.streaming.heartbeatStaleSeconds * 1000 }) !== undefined;
  }

  private async keepRunning(seen: Observation): Promise<void> {
    const { control, heartbeat } = seen;
    const hb = heartbeat!;
    const upSince = hb.startedAt?.getTime() ?? Date.now();
    if (control!.failures > 0 && hb.state === 'running' && (hb.lastBatchAt || Date.now() - upSince > HEALTHY_AFTER_MS)) {
      await this.stream.clearFailures(STREAM_JOB);
    }
    if (await this.restartIfStuck(seen)) return;
    // Only a topic the copy does not read restarts it. One it reads that this replica's registry lacks
    // is left alone: replicas of different registries (a rolling deploy) must not restart it in turn.
    const { added } = topicChange(this.sources.allTopics(), hb.topics);
    // A copy storing a source's events in buckets of another size (or in none: one that predates
    // buckets) restarts with the configured sizes.
    const resized = bucketChange(this.sources.bucketSeconds(), hb.buckets);
    const reasons = [
      ...(added.length ? [`sources changed (${added.map((t) => `+${t}`).join(', ')})`] : []),
      ...(resized.length ? [`bucket sizes changed (${resized.join(', ')})`] : []),
    ];
    if (reasons.length && control!.stopRun !== hb.runId) {
      const reason = reasons.join('; ');
      this.logger.log(`streaming job restarting gracefully: ${reason}`);
      await this.stream.requestStop(STREAM_JOB, hb.runId, reason);
    }
  }

  /**
   * A copy that reports itself but has run no micro-batch for STREAMING_STUCK_SECONDS (counted from its
   * last one, or from its start) while events it reads wait in Kafka stands still: a query idle between
   * triggers that sees no new offsets, or a driver stuck outside a trigger, where the job's own stall
   * watch cannot see it. It is asked to end gracefully (killed if it does not: killIfNotEnded); a new
   * copy then starts from the checkpoint. Kafka not answering decides nothing: no copy could move on
   * without it. True when the copy was asked to end.
   */
  private async restartIfStuck(seen: Observation): Promise<boolean> {
    const hb = seen.heartbeat!;
    const now = Date.now();
    const since = Math.max(hb.lastBatchAt?.getTime() ?? 0, hb.startedAt?.getTime() ?? 0);
    if (since === 0 || now - since < this.config.streaming.stuckSeconds * 1000) return false;
    const waiting = await this.waitingEvents(hb);
    if (!waiting) return false;
    const reason = `it ran no micro-batch for ${Math.round((now - since) / 1000)} s while ${waiting} event(s) waited in Kafka`;
    this.logger.warn(`streaming job restarting: ${reason} (run ${hb.runId})`);
    await this.stream.requestStop(STREAM_JOB, hb.runId, reason);
    this.endAsked = { runId: hb.runId, at: now };
    return true;
  }

  /**
   * A copy the supervisor asked to end (to restart it) that has not ended STREAMING_STOP_TIMEOUT_SECONDS
   * later is killed through Livy: a graceful stop waits for the running micro-batch, which may never
   * end. The wait counts from when this replica first saw the request (it may have taken over supervision since).
   */
  private async killIfNotEnded(seen: Observation): Promise<void> {
    const hb = seen.heartbeat;
    if (!hb || seen.control?.stopRun !== hb.runId) return;
    const now = Date.now();
    if (this.endAsked?.runId !== hb.runId) this.endAsked = { runId: hb.runId, at: now };
    const askedFor = now - this.endAsked.at;
    if (askedFor < this.config.streaming.stopTimeoutSeconds * 1000 || !seen.record || !seen.livy || seen.batchEnded) return;
    this.logger.warn(`streaming job killed through Livy (batch ${seen.record.id}): asked to end ${Math.round(askedFor / 1000)} s ago, it did not`);
    await this.batches.killStreaming(seen.record.id);
  }

  /** Events in Kafka the copy has not stored, over the topics it reads; undefined when Kafka does not answer. */
  private async waitingEvents(hb: StreamHeartbeat): Promise<number | undefined> {
    const offsets = await this.kafka.endOffsets(hb.topics).catch(() => undefined);
    if (!offsets) return undefined;
    return hb.topics.reduce((sum, topic) => {
      const { endOffset, processedOffset } = topicProgress(offsets[topic] ?? [], hb.offsets[topic] ?? {});
      return sum + endOffset - processedOffset;
    }, 0);
  }

  /** Desired running, nothing up: start a copy, unless a failed start is still backing off. */
  private async startMissing(seen: Observation): Promise<void> {
    const control = seen.control!;
    const now = Date.now();
    if (!(await this.leaseFree(seen))) return;
    if (control.nextAttemptAt) {
      if (now < control.nextAttemptAt.getTime()) return;
      return this.startCopy(control, `retry ${control.failures} after: ${control.lastError ?? 'a failed start'}`, true);
    }
    if (!control.batchId) return this.startCopy(control, 'first start', false);
    const previous = seen.heartbeat;
    // The supervisor asked that copy to end (its topics changed, it stood still): a restart, with that
    // reason, once it ended gracefully or its batch ended in Livy (killed for not ending).
    const restartAsked =
      control.stopRun !== undefined &&
      previous?.runId === control.stopRun &&
      (previous.state === 'stopped' || (previous.batchId === control.batchId && seen.batchEnded));
    if (restartAsked) return this.startCopy(control, control.stopReason ?? 'restarted after a graceful stop', true);
    // The user started it since the last start (after a stop, or a start while it was down).
    const userStarted = control.desiredAt !== undefined && control.startedAt !== undefined && control.desiredAt > control.startedAt;
    const endedGracefully = previous?.state === 'stopped' && previous.batchId === control.batchId;
    if (userStarted || endedGracefully) return this.startCopy(control, 'started', false);

    // The copy ended on its own: a failure. Say why, and back off before the next start.
    const error = await this.whyEnded(seen);
    const failures = control.failures + 1;
    const next = new Date(now + (failures === 1 ? 0 : backoffMs(failures - 1, this.config.streaming.maxBackoffSeconds)));
    await this.stream.recordFailure(STREAM_JOB, failures, error, next);
    this.logger.warn(`streaming job ended (${error}); start ${failures} ${failures === 1 ? 'now' : `at ${next.toISOString()}`}`);
    if (failures === 1) await this.startCopy({ ...control, failures, lastError: error }, `the job ended: ${error}`, true);
  }

  /**
   * Whether a new copy may start now: nobody holds the stream's lease, or its holder is known gone
   * (its own batch ended in Livy). A holder that is only silent keeps the lease until it expires;
   * a copy started meanwhile would only wait for it, as a second driver process.
   */
  private async leaseFree(seen: Observation): Promise<boolean> {
    const holder = await this.leases.holder(STREAM_LEASE);
    if (!holder) return true;
    const hb = seen.heartbeat;
    const gone = hb?.runId === holder && hb.batchId === seen.control?.batchId && seen.batchEnded;
    // Its driver ended (Livy saw spark-submit exit, or it was killed through Livy): free the lease for it, so the next copy need not wait out the TTL.
    if (gone) await this.leases.release(STREAM_LEASE, holder);
    return gone;
  }

  private async startCopy(control: StreamControl, reason: string, isRestart: boolean): Promise<void> {
    const id = uuidV7();
    if (!(await this.stream.claimStart(STREAM_JOB, control.batchId, id, reason, isRestart, control.restarts))) return; // another replica did
    try {
      await this.batches.launch(this.catalog.get(STREAM_JOB), { args: control.args }, id);
      this.logger.log(`streaming job submitted (batch ${id}): ${reason}`);
    } catch (err) {
      const failures = control.failures + 1;
      const message = (err as Error).message;
      await this.stream.recordFailure(
        STREAM_JOB,
        failures,
        `submit refused: ${message}`,
        new Date(Date.now() + backoffMs(failures, this.config.streaming.maxBackoffSeconds)),
      );
      this.logger.warn(`streaming job not submitted (${message})`);
    }
  }

  /** Why the last copy ended: the job's own error, else its driver log's last error line, else Livy's state. */
  private async whyEnded(seen: Observation): Promise<string> {
    const hb = seen.heartbeat;
    if (hb?.state === 'failed' && hb.batchId === seen.control?.batchId && hb.lastError) return hb.lastError;
    if (seen.livy) {
      const head = await this.livy.getLog(seen.livy.id, 0, 0).catch(() => undefined);
      const total = head?.total ?? 0;
      const tail = await this.livy.getLog(seen.livy.id, Math.max(0, total - 200), 200).catch(() => undefined);
      const line = tail && errorLine(tail.log);
      return line ?? `Livy reports the batch ${seen.livy.state}`;
    }
    if (seen.record) return `the job's batch ${seen.record.id} is gone from Livy (Livy restarted, or the driver was killed)`;
    return 'the job is not running';
  }

  private async observe(): Promise<Observation> {
    const [control, heartbeat] = await Promise.all([this.stream.control(STREAM_JOB), this.stream.heartbeat(STREAM_JOB)]);
    let record: BatchRecord | undefined;
    let livy: LivyBatch | undefined;
    let livyUnavailable: string | undefined;
    if (control?.batchId) {
      try {
        ({ record, livy } = await this.batches.locate(control.batchId));
      } catch (err) {
        if (!(err instanceof NotFoundError)) {
          if (!(err instanceof AppError)) throw err;
          livyUnavailable = err.message;
        }
      }
    }
    const batchEnded = livy ? isTerminal(livy.state) : record?.finishedAt !== undefined;
    const state = streamState({
      control,
      heartbeat,
      batchState: livy?.state,
      batchEnded: livy ? batchEnded : true,
      livyUnknown: livyUnavailable !== undefined,
      now: new Date(),
      staleMs: this.config.streaming.heartbeatStaleSeconds * 1000,
    });
    return { control, heartbeat, record, livy, livyUnavailable, batchEnded, state };
  }

  private toDto(seen: Observation): StreamingStatusDto {
    const { control, heartbeat, record, livy, state } = seen;
    const hb = freshHeartbeat({ heartbeat, now: new Date(), staleMs: this.config.streaming.heartbeatStaleSeconds * 1000 });
    const desired: DesiredState = control?.desired ?? 'stopped';
    return {
      state,
      running: isUp(state),
      desired,
      batchId: hb?.batchId ?? record?.id,
      livyBatchId: livy?.id,
      appId: hb?.appId ?? livy?.appId ?? record?.appId,
      since:
        state === 'stopped' || state === 'failed'
          ? (record?.finishedAt ?? heartbeat?.seenAt)?.toISOString()
          : (hb?.startedAt ?? record?.submittedAt)?.toISOString(),
      topics: this.sources.allTopics(),
      reading: hb?.topics,
      runId: hb?.runId,
      host: hb?.host,
      pid: hb?.pid,
      lastBatchAt: heartbeat?.lastBatchAt?.toISOString(),
      epoch: heartbeat?.epoch,
      restarts: control?.restarts ?? 0,
      lastRestartAt: control?.lastRestartAt?.toISOString(),
      lastRestartReason: control?.lastRestartReason,
      failures: control?.failures ?? 0,
      error: state === 'failed' ? control?.lastError : undefined,
      nextAttemptAt: state === 'failed' ? control?.nextAttemptAt?.toISOString() : undefined,
      livy: seen.livyUnavailable ? `unavailable: ${seen.livyUnavailable}` : undefined,
    };
  }
}
