import { DesiredState, StreamControl, StreamHeartbeat, StreamMicroBatch, StreamRepository } from '../stream.repository';

const copyControl = (c: StreamControl): StreamControl => ({ ...c, args: { ...c.args } });

/**
 * Unit-test stand-in for the stream_control, stream_heartbeats and stream_micro_batches tables.
 * claimStart is the lightweight transaction `... IF batch_id = ?`; initDesired is `IF NOT EXISTS`. The
 * heartbeat and the micro-batches are what a copy of the job would write: tests set them with
 * `report()` and `recordMicroBatch()`.
 */
export class InMemoryStreamRepository implements Omit<StreamRepository, 'ks' | 'cassandra' | 'microBatchesQuery'> {
  private readonly controls = new Map<string, StreamControl>();
  private readonly heartbeats = new Map<string, StreamHeartbeat>();
  private readonly batches: StreamMicroBatch[] = [];

  control = jest.fn(async (stream: string): Promise<StreamControl | undefined> => {
    const c = this.controls.get(stream);
    return c && copyControl(c);
  });

  initDesired = jest.fn(async (stream: string, desired: DesiredState, by: string): Promise<boolean> => {
    if (this.controls.has(stream)) return false;
    this.controls.set(stream, { stream, desired, desiredAt: new Date(), desiredBy: by, args: {}, restarts: 0, failures: 0 });
    return true;
  });

  setDesired = jest.fn(async (stream: string, desired: DesiredState, by: string, args?: Record<string, unknown>): Promise<void> => {
    const c = this.row(stream);
    Object.assign(c, { desired, desiredAt: new Date(), desiredBy: by, ...(args === undefined ? {} : { args: { ...args } }) });
  });

  claimStart = jest.fn(
    async (stream: string, previousBatchId: string | undefined, batchId: string, reason: string, isRestart: boolean, restarts: number): Promise<boolean> => {
      const c = this.row(stream);
      if (c.batchId !== previousBatchId) return false;
      Object.assign(c, { batchId, startedAt: new Date(), stopRun: undefined, stopReason: undefined, nextAttemptAt: undefined });
      if (isRestart) Object.assign(c, { restarts: restarts + 1, lastRestartAt: new Date(), lastRestartReason: reason });
      return true;
    },
  );

  requestStop = jest.fn(async (stream: string, runId: string, reason: string): Promise<void> => {
    Object.assign(this.row(stream), { stopRun: runId, stopReason: reason });
  });

  recordFailure = jest.fn(async (stream: string, failures: number, error: string, nextAttemptAt: Date): Promise<void> => {
    Object.assign(this.row(stream), { failures, lastError: error, nextAttemptAt });
  });

  clearFailures = jest.fn(async (stream: string): Promise<void> => {
    Object.assign(this.row(stream), { failures: 0, nextAttemptAt: undefined });
  });

  heartbeat = jest.fn(async (stream: string): Promise<StreamHeartbeat | undefined> => {
    const hb = this.heartbeats.get(stream);
    return hb && { ...hb, offsets: structuredClone(hb.offsets), topics: [...hb.topics], buckets: hb.buckets && { ...hb.buckets } };
  });

  /** Newest first, as the table's clustering order (ended_at DESC, epoch DESC) hands them out. */
  microBatches = jest.fn(async (stream: string, limit: number): Promise<StreamMicroBatch[]> =>
    this.batches
      .filter((b) => b.stream === stream)
      .sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime() || b.epoch - a.epoch)
      .slice(0, limit)
      .map((b) => ({ ...b, endedAt: new Date(b.endedAt) })),
  );

  /** A micro-batch's row, as a copy of the job writes it after the batch. */
  recordMicroBatch(batch: StreamMicroBatch): void {
    this.batches.push({ ...batch });
  }

  /** What a copy of the job reports (merged into its row, as the job's UPDATEs are). */
  report(stream: string, fields: Partial<StreamHeartbeat> & { runId: string }): void {
    const previous = this.heartbeats.get(stream);
    const base = previous?.runId === fields.runId ? previous : { stream, offsets: {}, topics: [] };
    this.heartbeats.set(stream, { ...base, ...fields });
  }

  /** The control row as stored, for assertions. */
  stored(stream: string): StreamControl | undefined {
    return this.controls.get(stream);
  }

  private row(stream: string): StreamControl {
    let c = this.controls.get(stream);
    if (!c) {
      c = { stream, args: {}, restarts: 0, failures: 0 };
      this.controls.set(stream, c);
    }
    return c;
  }

  get repository(): StreamRepository {
    return this as unknown as StreamRepository;
  }
}
