import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { auth, Client, errors as CassandraErrors, types } from 'cassandra-driver';
import { hostname } from 'node:os';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { AppError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';
import { BUCKET_SIZES, BucketSizes, MigrationContext, runDataStep } from './migration.context';
import { MIGRATIONS } from './schema.migrations';

const CASSANDRA = 'Cassandra';
const RETRY_MS = 3000;
/** Rows per page when a caller wants every row of a query. */
const PAGE_SIZE = 1000;

export interface QueryPage {
  rows: types.Row[];
  pageState?: string;
}

/**
 * The one adapter to Cassandra. It connects and migrates the schema in the background, retrying
 * until Cassandra answers, so the API starts (and reports not-ready) while Cassandra is down.
 * Driver failures are mapped here to the project's errors.
 */
@Injectable()
export class CassandraClient implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CassandraClient.name);
  private client?: Client;
  private ready?: Promise<Client>;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  private lastError?: string;
  /** Set while a migration moves data (minutes, for a large table): requests answer 503 at once instead of waiting. */
  private migrating?: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    /** The sources' bucket sizes, for a migration that moves events into buckets. */
    @Optional() @Inject(BUCKET_SIZES) private readonly bucketSizes?: BucketSizes,
  ) {}

  onApplicationBootstrap(): void {
    this.connect().catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.client?.shutdown().catch(() => undefined);
  }

  /** Runs one prepared statement; reads one page when fetchSize is given. */
  async execute(query: string, params: unknown[], options: { fetchSize?: number; pageState?: string } = {}): Promise<QueryPage> {
    const client = await this.session();
    try {
      const rs = await client.execute(query, params, { prepare: true, fetchSize: options.fetchSize, pageState: options.pageState });
      return { rows: rs.rows, pageState: rs.pageState ?? undefined };
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** Every row of a query, page after page (the driver hands out one page per call). */
  async executeAll(query: string, params: unknown[]): Promise<types.Row[]> {
    const rows: types.Row[] = [];
    let pageState: string | undefined;
    do {
      const page = await this.execute(query, params, { fetchSize: PAGE_SIZE, pageState });
      rows.push(...page.rows);
      pageState = page.pageState;
    } while (pageState);
    return rows;
  }

  /** The keyspace every table lives in; repositories qualify table names with it. */
  get keyspace(): string {
    return this.config.cassandra.keyspace;
  }

  /** A trivial query on the cluster, for readiness; also reports whether the schema is in place. */
  async ping(): Promise<{ releaseVersion: string }> {
    const { rows } = await this.execute('SELECT release_version FROM system.local', []);
    return { releaseVersion: String(rows[0]?.release_version) };
  }

  /** Resolves to a connected client with the schema migrated, or fails fast with a 503 while that is not done. */
  private async session(): Promise<Client> {
    if (this.migrating) throw new UpstreamUnavailableError(CASSANDRA, `Cassandra is not ready yet: ${this.migrating}`);
    try {
      return await this.connect();
    } catch (err) {
      throw err instanceof AppError ? err : this.mapError(err);
    }
  }

  private connect(): Promise<Client> {
    if (this.ready) return this.ready;
    const { cassandra } = this.config;
    const client = new Client({
      contactPoints: cassandra.contactPoints,
      localDataCenter: cassandra.localDataCenter,
      authProvider: cassandra.credentials ? new auth.PlainTextAuthProvider(cassandra.credentials.username, cassandra.credentials.password) : undefined,
      socketOptions: { connectTimeout: 3000, readTimeout: cassandra.requestTimeoutMs },
      queryOptions: { consistency: types.consistencies.localQuorum },
      pooling: { heartBeatInterval: 5000 },
      // Blobs and UUIDs read as views of the response frame, not copies: rows here are mapped and let go
      // at once, and a page of records carries a hundred payloads (a third more pages/s on GET /records).
      encoding: { copyBuffer: false },
    });
    this.ready = (async () => {
      await client.connect();
      await this.migrate(client);
      this.client = client;
      this.lastError = undefined;
      this.logger.log(`connected to Cassandra, keyspace "${cassandra.keyspace}" ready`);
      return client;
    })();
    this.ready.catch((err: Error) => {
      this.ready = undefined;
      void client.shutdown().catch(() => undefined);
      if (this.lastError !== err.message) this.logger.warn(`Cassandra not ready (${err.message}); retrying every ${RETRY_MS} ms`);
      this.lastError = err.message;
      if (!this.closed) {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.connect().catch(() => undefined), RETRY_MS);
      }
    });
    return this.ready;
  }

  private async migrate(client: Client): Promise<void> {
    const { keyspace, replication } = this.config.cassandra;
    const options = Object.entries(replication)
      .map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`)
      .join(', ');
    await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {${options}}`);
    await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (version int PRIMARY KEY, description text, applied_at timestamp)`);
    const applied = new Set((await client.execute(`SELECT version FROM ${keyspace}.schema_migrations`)).rows.map((r) => r.version as number));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) {
        await client.execute(statement.replace(/^(CREATE TABLE IF NOT EXISTS |ALTER TABLE )(\w+)/, `$1${keyspace}.$2`));
      }
      if (migration.run) {
        const isApplied = async () =>
          (await client.execute(`SELECT version FROM ${keyspace}.schema_migrations WHERE version = ?`, [migration.version], { prepare: true })).rows.length > 0;
        this.migrating = `schema migration ${migration.version} is moving data (its progress is in the API's log)`;
        let ran: boolean;
        try {
          ran = await runDataStep(this.migrationContext(client, migration.version), migration.version, migration.run, {
            holder: `${hostname()}:${process.pid}`,
            isApplied,
          });
        } finally {
          this.migrating = undefined;
        }
        if (!ran) continue; // another worker or replica ran it and recorded it
      }
      await client.execute(
        `INSERT INTO ${keyspace}.schema_migrations (version, description, applied_at) VALUES (?, ?, toTimestamp(now()))`,
        [migration.version, migration.description],
        { prepare: true },
      );
      this.logger.log(`schema migration ${migration.version} applied: ${migration.description}`);
    }
  }

  /** The driver as a migration's data step sees it, before the client is handed to anyone else. */
  private migrationContext(client: Client, version: number): MigrationContext {
    return {
      keyspace: this.config.cassandra.keyspace,
      execute: async (query, params = [], options = {}) => {
        const rs = await client.execute(query, params, { prepare: true, fetchSize: options.fetchSize, pageState: options.pageState });
        return { rows: rs.rows, pageState: rs.pageState ?? undefined };
      },
      bucketSecondsOf: (source) => this.bucketSizes?.(source),
      log: (message) => this.logger.log(`schema migration ${version}: ${message}`),
    };
  }

  private mapError(err: unknown): AppError {
    if (err instanceof AppError) return err;
    const e = err as Error;
    if (err instanceof CassandraErrors.NoHostAvailableError || err instanceof CassandraErrors.BusyConnectionError) {
      return new UpstreamUnavailableError(CASSANDRA, 'Cassandra is unavailable: no host answered');
    }
    if (err instanceof CassandraErrors.OperationTimedOutError) {
      return new UpstreamTimeoutError(CASSANDRA, `Cassandra did not answer within ${this.config.cassandra.requestTimeoutMs} ms`);
    }
    if (err instanceof CassandraErrors.ResponseError) {
      const code = err.code;
      const unavailable = [types.responseErrorCodes.unavailableException, types.responseErrorCodes.overloaded, types.responseErrorCodes.isBootstrapping];
      const timeouts = [types.responseErrorCodes.readTimeout, types.responseErrorCodes.writeTimeout];
      if (unavailable.includes(code)) return new UpstreamUnavailableError(CASSANDRA, `Cassandra is unavailable: ${e.message}`);
      if (timeouts.includes(code)) return new UpstreamTimeoutError(CASSANDRA, `Cassandra timed out: ${e.message}`);
      return new UpstreamRejectedError(CASSANDRA, `Cassandra refused the query: ${e.message}`);
    }
    return new UpstreamUnavailableError(CASSANDRA, `Cassandra is unavailable: ${e?.message ?? String(err)}`);
  }
}
