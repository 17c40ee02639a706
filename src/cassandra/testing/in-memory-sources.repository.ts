import { UpstreamUnavailableError } from '../../common/errors/errors';
import { SourcesRepository, StoredSchema, StoredSource } from '../sources.repository';

const copy = <T>(value: T): T => structuredClone(value);

/**
 * Unit-test stand-in for the sources tables, shared by every replica given it, with the tables'
 * semantics: create is IF NOT EXISTS (archived names included), update is IF version = n, a schema
 * version is keyed by (source, version), the seed claim is IF NOT EXISTS (taken over once stale),
 * reads return copies. `down = true` makes every call fail as the adapter does when Cassandra is unreachable.
 */
export class InMemorySourcesRepository implements Omit<SourcesRepository, 'cassandra' | 'sources' | 'schemas' | 'seed' | 'addSchema'> {
  readonly rows = new Map<string, StoredSource>();
  readonly schemaRows = new Map<string, StoredSchema>();
  seedRow?: { holder: string; claimedAt: Date; doneAt?: Date };
  down = false;

  list = jest.fn(async (): Promise<StoredSource[]> => {
    this.reachable();
    return [...this.rows.values()].map(copy);
  });

  get = jest.fn(async (name: string): Promise<StoredSource | undefined> => {
    this.reachable();
    const row = this.rows.get(name);
    return row && copy(row);
  });

  create = jest.fn(async (source: StoredSource, schema?: StoredSchema): Promise<boolean> => {
    this.reachable();
    if (this.rows.has(source.name)) return false;
    this.rows.set(source.name, copy(source));
    if (schema) this.schemaRows.set(`${schema.source}/${schema.version}`, copy(schema));
    return true;
  });

  update = jest.fn(async (source: StoredSource, expectedVersion: number, schema?: StoredSchema): Promise<boolean> => {
    this.reachable();
    if (schema) this.schemaRows.set(`${schema.source}/${schema.version}`, copy(schema));
    const row = this.rows.get(source.name);
    if (!row || row.version !== expectedVersion) return false;
    this.rows.set(source.name, { ...copy(source), createdAt: row.createdAt });
    return true;
  });

  schemaVersions = jest.fn(async (source: string): Promise<StoredSchema[]> => {
    this.reachable();
    return [...this.schemaRows.values()]
      .filter((s) => s.source === source)
      .sort((a, b) => b.version - a.version)
      .map(copy);
  });

  schemaVersion = jest.fn(async (source: string, version: number): Promise<StoredSchema | undefined> => {
    this.reachable();
    const row = this.schemaRows.get(`${source}/${version}`);
    return row && copy(row);
  });

  claimSeed = jest.fn(async (holder: string, staleMs: number): Promise<boolean> => {
    this.reachable();
    const now = new Date();
    if (!this.seedRow) {
      this.seedRow = { holder, claimedAt: now };
      return true;
    }
    if (this.seedRow.doneAt || now.getTime() - this.seedRow.claimedAt.getTime() < staleMs) return false;
    this.seedRow = { holder, claimedAt: now };
    return true;
  });

  seedDone = jest.fn(async (holder: string): Promise<void> => {
    this.reachable();
    if (this.seedRow?.holder === holder) this.seedRow.doneAt = new Date();
  });

  private reachable(): void {
    if (this.down) throw new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: All host(s) tried for query failed');
  }

  get repository(): SourcesRepository {
    return this as unknown as SourcesRepository;
  }
}
