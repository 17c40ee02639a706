import { UpstreamUnavailableError } from '../../common/errors/errors';
import { StoredView, ViewResultRow, ViewsRepository, ViewStatus } from '../views.repository';

const copy = <T>(value: T): T => structuredClone(value);

/** A result row as a test writes it: the view and UTC day of its partition, and the row. */
export interface StoredResult extends ViewResultRow {
  viewId: string;
}

/**
 * Unit-test stand-in for the views tables, with their semantics: create is IF NOT EXISTS, replace
 * IF id = the one replaced, delete IF EXISTS, a view's status is keyed by its id, results are read one day partition at a time,
 * newest window first then group key, window_start in [from, to), `fetchSize` rows per page with
 * an opaque pageState while more remain. Reads return copies. `down = true` makes every call fail
 * as the adapter does when Cassandra is unreachable.
 */
export class InMemoryViewsRepository implements Omit<ViewsRepository, 'cassandra' | 'views' | 'statusQuery' | 'resultsQuery'> {
  readonly rows = new Map<string, StoredView>();
  /** What the streaming job wrote of each view, by view id (a test writes it). */
  readonly status = new Map<string, ViewStatus>();
  /** view_results, in any order (a test writes them). */
  readonly results: StoredResult[] = [];
  down = false;

  list = jest.fn(async (): Promise<StoredView[]> => {
    this.reachable();
    return [...this.rows.values()].map(copy);
  });

  get = jest.fn(async (name: string): Promise<StoredView | undefined> => {
    this.reachable();
    const row = this.rows.get(name);
    return row && copy(row);
  });

  create = jest.fn(async (view: StoredView): Promise<boolean> => {
    this.reachable();
    if (this.rows.has(view.name)) return false;
    this.rows.set(view.name, copy(view));
    return true;
  });

  replace = jest.fn(async (view: StoredView, currentId: string): Promise<boolean> => {
    this.reachable();
    if (this.rows.get(view.name)?.id !== currentId) return false;
    this.rows.set(view.name, copy(view));
    return true;
  });

  delete = jest.fn(async (name: string): Promise<boolean> => {
    this.reachable();
    return this.rows.delete(name);
  });

  statuses = jest.fn(async (viewIds: string[]): Promise<Map<string, ViewStatus>> => {
    this.reachable();
    return new Map(viewIds.flatMap((id) => (this.status.has(id) ? [[id, copy(this.status.get(id)!)] as const] : [])));
  });

  resultsPage = jest.fn(
    async (
      viewId: string,
      day: string,
      from: Date,
      to: Date,
      fetchSize: number,
      pageState?: string,
    ): Promise<{ rows: ViewResultRow[]; pageState?: string }> => {
      this.reachable();
      const partition = this.results
        .filter((r) => r.viewId === viewId && r.windowStart.toISOString().slice(0, 10) === day && r.windowStart >= from && r.windowStart < to)
        .sort((a, b) => b.windowStart.getTime() - a.windowStart.getTime() || (a.groupKey < b.groupKey ? -1 : a.groupKey > b.groupKey ? 1 : 0));
      const start = pageState === undefined ? 0 : Number(pageState);
      const end = start + fetchSize;
      const rows = partition
        .slice(start, end)
        .map((r): ViewResultRow =>
          copy({ windowStart: r.windowStart, windowEnd: r.windowEnd, groupKey: r.groupKey, groupJson: r.groupJson, valuesJson: r.valuesJson }),
        );
      return { rows, pageState: end < partition.length ? String(end) : undefined };
    },
  );

  private reachable(): void {
    if (this.down) throw new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: All host(s) tried for query failed');
  }

  get repository(): ViewsRepository {
    return this as unknown as ViewsRepository;
  }
}
