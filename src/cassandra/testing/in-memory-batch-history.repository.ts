import { BatchHistoryRepository, BatchRecord } from '../batch-history.repository';

/** A row as the driver hands it out: a fresh object each time, never shared with the table. */
const copy = (r: BatchRecord): BatchRecord => ({
  ...r,
  args: [...r.args],
  conf: r.conf && { ...r.conf },
  submittedAt: new Date(r.submittedAt),
  finishedAt: r.finishedAt && new Date(r.finishedAt),
});

/**
 * Unit-test stand-in for the spark_batches table: reads return copies, and finish() is the
 * lightweight transaction `... IF finished_at = null`, so the first finish wins.
 */
export class InMemoryBatchHistory implements Pick<BatchHistoryRepository, 'record' | 'finish' | 'get' | 'list'> {
  private readonly rows = new Map<string, BatchRecord>();

  record = jest.fn(async (batch: BatchRecord): Promise<void> => {
    this.rows.set(batch.id, copy(batch));
  });

  finish = jest.fn(async (batch: BatchRecord, state: string, at: Date): Promise<void> => {
    const row = this.rows.get(batch.id);
    if (row && !row.finishedAt) Object.assign(row, { state, finishedAt: new Date(at) });
  });

  get = jest.fn(async (id: string): Promise<BatchRecord | undefined> => {
    const row = this.rows.get(id);
    return row && copy(row);
  });

  list = jest.fn(async (): Promise<BatchRecord[]> => [...this.rows.values()].map(copy));

  seed(...records: BatchRecord[]): void {
    for (const r of records) this.rows.set(r.id, copy(r));
  }
}
