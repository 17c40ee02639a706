import { bucketText, DEFAULT_BUCKET_SECONDS } from '../catalogs/buckets';
import type { StreamControl, StreamHeartbeat } from '../cassandra/stream.repository';

/**
 * The stream's true state, from what Livy says of the batch the control plane started last and
 * what the job itself reports in its heartbeat:
 * - running: a copy reports itself fresh and it is the batch the control plane started;
 * - running-unmanaged: a copy reports itself fresh but Livy does not know it (an orphan from before
 *   a Livy restart, or a copy submitted to Livy directly): it is adopted, never doubled;
 * - starting: the started batch is live in Livy but the job has not reported yet;
 * - stopping: a stop was asked and a copy is still live;
 * - failed: the last start did not come up (the error says why); the supervisor retries;
 * - stopped: nothing runs.
 */
export type StreamState = 'running' | 'running-unmanaged' | 'starting' | 'stopping' | 'stopped' | 'failed';

/** The job's heartbeat states while a copy holds the stream. */
const LIVE_REPORTS = new Set(['starting', 'running', 'stopping']);

export interface StreamFacts {
  control?: StreamControl;
  heartbeat?: StreamHeartbeat;
  /** Livy's state of the batch the control plane started last, when Livy still has it. */
  batchState?: string;
  /** Whether that state is final. */
  batchEnded: boolean;
  /** Livy could not be asked: a fresh heartbeat of the started batch is taken at its word. */
  livyUnknown?: boolean;
  now: Date;
  staleMs: number;
}

/** A heartbeat is fresh when its copy reported a live state within the staleness window. */
export function freshHeartbeat(f: Pick<StreamFacts, 'heartbeat' | 'now' | 'staleMs'>): StreamHeartbeat | undefined {
  const hb = f.heartbeat;
  if (!hb?.seenAt || !hb.state || !LIVE_REPORTS.has(hb.state)) return undefined;
  return f.now.getTime() - hb.seenAt.getTime() < f.staleMs ? hb : undefined;
}

export function streamState(f: StreamFacts): StreamState {
  const control = f.control;
  const stopping = control?.desired === 'stopped';
  const batchLive = f.batchState !== undefined && !f.batchEnded;
  // A copy whose own batch Livy reports ended is gone, however recent its last heartbeat.
  const ownBatchEnded = f.batchState !== undefined && f.batchEnded && f.heartbeat?.batchId === control?.batchId;
  const hb = ownBatchEnded ? undefined : freshHeartbeat(f);
  if (hb) {
    if (stopping || hb.state === 'stopping' || (control?.stopRun !== undefined && control.stopRun === hb.runId)) return 'stopping';
    if ((batchLive || f.livyUnknown) && hb.batchId !== undefined && hb.batchId === control?.batchId) return hb.state === 'starting' ? 'starting' : 'running';
    return 'running-unmanaged';
  }
  if (batchLive) return stopping ? 'stopping' : 'starting';
  if (!stopping && (control?.failures ?? 0) > 0) return 'failed';
  return 'stopped';
}

/** The states in which a copy of the stream is live or coming up (the status's `running` flag). */
export const isUp = (state: StreamState): boolean => state === 'running' || state === 'running-unmanaged' || state === 'starting';

/** Exponential backoff after consecutive failed starts: 2 s, 4 s, 8 s, ... capped. */
export function backoffMs(failures: number, maxSeconds: number): number {
  return Math.min(maxSeconds * 1000, 1000 * 2 ** Math.min(Math.max(failures, 1), 20));
}

/** The sources' topics a running copy does not read, and those it reads that are no longer configured. */
export function topicChange(configured: string[], reading: string[]): { added: string[]; removed: string[] } {
  const want = new Set(configured);
  const have = new Set(reading);
  return { added: configured.filter((t) => !have.has(t)), removed: reading.filter((t) => !want.has(t)) };
}

/**
 * How the bucket sizes a running copy stores events with differ from the configured ones: one
 * `<source> <old>→<new>` per source (a source the copy was not told of it stores in 1 h buckets,
 * as the job does), or `not bucketed` for a copy that reports no sizes (it predates buckets).
 * Empty when they agree.
 */
export function bucketChange(configured: { source: string; seconds: number }[], writing: Record<string, number> | undefined): string[] {
  if (writing === undefined) return ['not bucketed'];
  return configured
    .filter(({ source, seconds }) => (writing[source] ?? DEFAULT_BUCKET_SECONDS) !== seconds)
    .map(({ source, seconds }) => `${source} ${bucketText(writing[source] ?? DEFAULT_BUCKET_SECONDS)}→${bucketText(seconds)}`);
}

/**
 * The line of a job's log that says why it ended: the job's own last "events_stream: ..." line,
 * else the last line naming an error or exception, else nothing.
 */
export function errorLine(lines: string[]): string | undefined {
  const trimmed = lines.map((l) => l.trim()).filter(Boolean);
  const own = [...trimmed].reverse().find((l) => /^events_stream: /.test(l) && !/ started /.test(l) && !/ batch epoch=/.test(l));
  if (own) return own;
  return [...trimmed].reverse().find((l) => /(Error|Exception)\b/.test(l) && !/^\s*at /.test(l));
}
