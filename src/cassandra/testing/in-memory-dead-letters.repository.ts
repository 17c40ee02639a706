import { DeadLetter, DeadLettersPage, DeadLettersRepository } from '../dead-letters.repository';

const copy = (d: DeadLetter): DeadLetter => ({ ...d });
const newestFirst = (a: DeadLetter, b: DeadLetter) => b.failedAt.getTime() - a.failedAt.getTime() || a.id.localeCompare(b.id);

/**
 * Unit-test stand-in for the dead_letters table: one partition per source clustered newest first, a
 * page's paging state an opaque string holding the offset into the matching rows, reads returning
 * copies, and markReplayed the lightweight transaction `IF replayed_at = null AND event_id = ?`.
 */
export class InMemoryDeadLettersRepository implements Pick<DeadLettersRepository, 'page' | 'byIds' | 'markReplayed'> {
  private readonly rows = new Map<string, DeadLetter[]>();

  /** What the streaming job writes: an upsert by (source, failed_at, id) that never touches the replay columns. */
  insert(...deadLetters: DeadLetter[]): void {
    for (const d of deadLetters) {
      const partition = (this.rows.get(d.source) ?? []).filter((r) => !(r.failedAt.getTime() === d.failedAt.getTime() && r.id === d.id));
      const old = this.rows.get(d.source)?.find((r) => r.failedAt.getTime() === d.failedAt.getTime() && r.id === d.id);
      partition.push({ ...copy(d), replayedAt: old?.replayedAt ?? d.replayedAt, replayedEventId: old?.replayedEventId ?? d.replayedEventId });
      this.rows.set(d.source, partition.sort(newestFirst));
    }
  }

  /** The stored row, as Cassandra holds it now. */
  row(source: string, id: string): DeadLetter | undefined {
    const found = this.rows.get(source)?.find((r) => r.id === id);
    return found && copy(found);
  }

  page = jest.fn(async (source: string, from: Date, to: Date, fetchSize: number, pageState?: string): Promise<DeadLettersPage> => {
    if (!Number.isInteger(fetchSize) || fetchSize < 1) throw new Error(`fetchSize must be a positive integer, got ${fetchSize}`);
    const rows = (this.rows.get(source) ?? []).filter((r) => r.failedAt >= from && r.failedAt < to);
    const offset = pageState === undefined ? 0 : InMemoryDeadLettersRepository.offsetIn(pageState, source);
    const deadLetters = rows.slice(offset, offset + fetchSize).map(copy);
    const next = offset + deadLetters.length;
    return {
      deadLetters,
      pageState: next < rows.length ? Buffer.from(JSON.stringify({ source, offset: next })).toString('base64') : undefined,
    };
  });

  byIds = jest.fn(async (source: string, ids: string[]): Promise<DeadLetter[]> => {
    const wanted = new Set(ids);
    return (this.rows.get(source) ?? []).filter((r) => wanted.has(r.id)).map(copy);
  });

  markReplayed = jest.fn(async (deadLetter: DeadLetter, replayedAt: Date, replayedEventId: string): Promise<boolean> => {
    const stored = this.rows.get(deadLetter.source)?.find((r) => r.failedAt.getTime() === deadLetter.failedAt.getTime() && r.id === deadLetter.id);
    if (!stored || stored.replayedAt !== undefined || stored.eventId !== deadLetter.eventId) return false;
    Object.assign(stored, { replayedAt: new Date(replayedAt), replayedEventId });
    return true;
  });

  get repository(): DeadLettersRepository {
    return this as unknown as DeadLettersRepository;
  }

  /** Like Cassandra, refuses a paging state that belongs to another partition. */
  private static offsetIn(pageState: string, source: string): number {
    const state = JSON.parse(Buffer.from(pageState, 'base64').toString('utf8')) as { source: string; offset: number };
    if (state.source !== source) throw new Error(`paging state of ${state.source} used for ${source}`);
    return state.offset;
  }
}
