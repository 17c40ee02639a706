import { types } from 'cassandra-driver';
import { CassandraClient, QueryPage } from '../cassandra.client';

/** Rows per page when a statement sets no fetchSize: the driver's default. */
export const DRIVER_DEFAULT_FETCH_SIZE = 5000;

/**
 * Unit-test stand-in for the Cassandra adapter under a repository. A SELECT reads `rows`, one page
 * per call as the driver hands them out: exactly fetchSize rows (the driver's default when none is
 * given) and an opaque pageState while more remain. Other statements answer no rows; a test answers
 * a lightweight transaction itself (`answerOnce([{ '[applied]': true }])`). execute is a jest mock,
 * and executeAll is the real adapter's, so its paging is exercised over this execute.
 */
export class PagingCassandraClient {
  readonly execute = jest.fn(async (query: string, _params: unknown[], options: { fetchSize?: number; pageState?: string } = {}): Promise<QueryPage> => {
    if (!/^\s*SELECT\b/i.test(query)) return { rows: [] };
    const from = options.pageState === undefined ? 0 : Number(Buffer.from(options.pageState, 'hex').toString('utf8'));
    const to = from + (options.fetchSize ?? DRIVER_DEFAULT_FETCH_SIZE);
    const rows = this.rows.slice(from, to) as types.Row[];
    return { rows, pageState: to < this.rows.length ? Buffer.from(String(to), 'utf8').toString('hex') : undefined };
  });

  constructor(
    /** The rows every SELECT reads, in the order Cassandra returns them (token order, not insertion). */
    readonly rows: Record<string, unknown>[] = [],
    readonly keyspace = 'pipeline',
  ) {}

  /** The next statement, whatever it is, answers these rows. */
  answerOnce(rows: Record<string, unknown>[]): void {
    this.execute.mockResolvedValueOnce({ rows: rows as types.Row[] });
  }

  /** As the repositories see it: the real CassandraClient's methods, with execute and keyspace from here. */
  get client(): CassandraClient {
    return Object.create(CassandraClient.prototype, {
      execute: { value: this.execute },
      keyspace: { value: this.keyspace },
    }) as CassandraClient;
  }
}
