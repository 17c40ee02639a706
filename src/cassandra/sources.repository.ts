import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

/** A source as the registry stores it: its settings as a sources.yaml entry, and the bookkeeping of its versions. */
export interface StoredSource {
  name: string;
  /** Bumped by every change (settings, schema, archive): what If-Match and the conditional update compare. */
  version: number;
  /** The sources.yaml entry: topic, schema, signature (secrets as `${NAME}` references only), ... */
  definition: Record<string, unknown>;
  /** The version of the current schema; absent while the source has none. */
  schemaVersion?: number;
  archivedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** One version of a source's schema, as it was when it became current. */
export interface StoredSchema {
  source: string;
  version: number;
  schema: Record<string, unknown>;
  schemaHash: string;
  /** The compatibility mode the version was checked under when it was made. */
  compatibility: string;
  createdAt: Date;
}

/** The one row the seed is claimed in: one replica seeds an empty registry from config/sources.yaml. */
const SEED_ROW = 'sources';

/**
 * The sources registry (tables sources, source_schemas, source_registry_seed). Creation and every
 * change are lightweight transactions: a name is created once (IF NOT EXISTS), and a change applies
 * only over the version it was made from (IF version = n), so two concurrent edits cannot both win.
 */
@Injectable()
export class SourcesRepository {
  private readonly sources: string;
  private readonly schemas: string;
  private readonly seed: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.sources = `${cassandra.keyspace}.sources`;
    this.schemas = `${cassandra.keyspace}.source_schemas`;
    this.seed = `${cassandra.keyspace}.source_registry_seed`;
  }

  /** Every source, archived ones included (the registry holds tens of rows, read whole by every sync). */
  async list(): Promise<StoredSource[]> {
    const rows = await this.cassandra.executeAll(
      `SELECT name, version, definition, schema_version, archived_at, created_at, updated_at FROM ${this.sources}`,
      [],
    );
    return rows.map(toSource);
  }

  async get(name: string): Promise<StoredSource | undefined> {
    const { rows } = await this.cassandra.execute(
      `SELECT name, version, definition, schema_version, archived_at, created_at, updated_at FROM ${this.sources} WHERE name = ?`,
      [name],
    );
    return rows[0] ? toSource(rows[0]) : undefined;
  }

  /**
   * Creates the source unless its name exists (archived or not); false when it does. The schema's
   * first version is written after the source row won, so a lost race leaves no stray version.
   */
  async create(source: StoredSource, schema?: StoredSchema): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `INSERT INTO ${this.sources} (name, version, definition, schema_version, archived_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [
        source.name,
        source.version,
        JSON.stringify(source.definition),
        source.schemaVersion ?? null,
        source.archivedAt ?? null,
        source.createdAt,
        source.updatedAt,
      ],
    );
    if (rows[0]?.['[applied]'] !== true) return false;
    if (schema) await this.addSchema(schema);
    return true;
  }

  /**
   * Replaces the source's row if it is still at `expectedVersion`; false when another change came
   * first. A new schema version is written before the row that points at it, so no reader ever sees
   * a current version that is not stored; a version written by a change that then lost is overwritten
   * by the winner's (same key), never pointed at.
   */
  async update(source: StoredSource, expectedVersion: number, schema?: StoredSchema): Promise<boolean> {
    if (schema) await this.addSchema(schema);
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.sources} SET version = ?, definition = ?, schema_version = ?, archived_at = ?, updated_at = ? WHERE name = ? IF version = ?`,
      [
        source.version,
        JSON.stringify(source.definition),
        source.schemaVersion ?? null,
        source.archivedAt ?? null,
        source.updatedAt,
        source.name,
        expectedVersion,
      ],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** Every stored version of a source's schema, newest first. */
  async schemaVersions(source: string): Promise<StoredSchema[]> {
    const rows = await this.cassandra.executeAll(
      `SELECT source, version, schema_json, schema_hash, compatibility, created_at FROM ${this.schemas} WHERE source = ?`,
      [source],
    );
    return rows.map(toSchema);
  }

  async schemaVersion(source: string, version: number): Promise<StoredSchema | undefined> {
    const { rows } = await this.cassandra.execute(
      `SELECT source, version, schema_json, schema_hash, compatibility, created_at FROM ${this.schemas} WHERE source = ? AND version = ?`,
      [source, version],
    );
    return rows[0] ? toSchema(rows[0]) : undefined;
  }

  /**
   * Claims the seeding of the registry for `holder`: true when it is this holder's to do (it won the
   * claim, or the claim of a holder that never finished is older than `staleMs`); false when it is
   * done, or another holder is at it.
   */
  async claimSeed(holder: string, staleMs: number): Promise<boolean> {
    const now = new Date();
    const { rows } = await this.cassandra.execute(`INSERT INTO ${this.seed} (registry, holder, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS`, [
      SEED_ROW,
      holder,
      now,
    ]);
    const row = rows[0];
    if (row?.['[applied]'] === true) return true;
    if (!row || row.done_at) return false;
    const claimedAt: Date | null = row.claimed_at ?? null;
    if (claimedAt && now.getTime() - claimedAt.getTime() < staleMs) return false;
    const taken = await this.cassandra.execute(`UPDATE ${this.seed} SET holder = ?, claimed_at = ? WHERE registry = ? IF claimed_at = ?`, [
      holder,
      now,
      SEED_ROW,
      claimedAt,
    ]);
    return taken.rows[0]?.['[applied]'] === true;
  }

  async seedDone(holder: string): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.seed} SET done_at = ? WHERE registry = ? IF holder = ?`, [new Date(), SEED_ROW, holder]);
  }

  private async addSchema(schema: StoredSchema): Promise<void> {
    await this.cassandra.execute(
      `INSERT INTO ${this.schemas} (source, version, schema_json, schema_hash, compatibility, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      [schema.source, schema.version, JSON.stringify(schema.schema), schema.schemaHash, schema.compatibility, schema.createdAt],
    );
  }
}

function toSource(r: types.Row): StoredSource {
  return {
    name: r.name,
    version: Number(r.version),
    definition: JSON.parse(r.definition ?? '{}') as Record<string, unknown>,
    ...(r.schema_version === null || r.schema_version === undefined ? {} : { schemaVersion: Number(r.schema_version) }),
    ...(r.archived_at ? { archivedAt: r.archived_at as Date } : {}),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toSchema(r: types.Row): StoredSchema {
  return {
    source: r.source,
    version: Number(r.version),
    schema: JSON.parse(r.schema_json) as Record<string, unknown>,
    schemaHash: r.schema_hash,
    compatibility: r.compatibility,
    createdAt: r.created_at,
  };
}
