import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import type { RateLimit } from '../common/rate-limit/rate-limit';
import { CassandraClient } from './cassandra.client';

/**
 * One scoped API key as stored: never its secret, only the SHA-256 of it (hex). During a rotation's
 * grace the secret it replaced still works until `previousUntil`.
 */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: string[];
  hash: string;
  previousHash?: string;
  previousUntil?: Date;
  createdAt: Date;
  expiresAt?: Date;
  rotatedAt?: Date;
  revokedAt?: Date;
  lastUsedAt?: Date;
  /** Its rate limit (migration 12), enforced across every API process; none: unlimited. */
  rateLimit?: RateLimit;
}

/**
 * The api_keys table. Every write is a lightweight transaction, so a rotation never brings back a key
 * revoked meanwhile and an update never creates a row for an id that does not exist (rows are never
 * deleted: a revoked key stays listed, with when it was revoked).
 */
@Injectable()
export class ApiKeysRepository {
  private readonly table: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.table = `${cassandra.keyspace}.api_keys`;
  }

  /** Stores a new key; false if the id is taken already. */
  async insert(k: ApiKeyRecord): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `INSERT INTO ${this.table} (id, name, scopes, hash, created_at, expires_at, rate_limit) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [k.id, k.name, k.scopes, k.hash, k.createdAt, k.expiresAt ?? null, k.rateLimit === undefined ? null : JSON.stringify(k.rateLimit)],
    );
    return applied(rows);
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.table} WHERE id = ?`, [id]);
    return rows[0] ? toKey(rows[0]) : undefined;
  }

  /** Every key, revoked ones included, oldest first; rows without a hash (never written whole) are left out. */
  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.cassandra.executeAll(`SELECT * FROM ${this.table}`, []);
    return rows
      .filter((r) => typeof r.hash === 'string')
      .map(toKey)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  }

  /**
   * Replaces the key's secret, the old one working until `previousUntil`. Applies only if the key is
   * not revoked and its secret is still `expectedHash` (no rotation raced this one); answers whether it did.
   */
  async rotate(id: string, expectedHash: string, hash: string, previousUntil: Date, rotatedAt: Date): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.table} SET hash = ?, previous_hash = ?, previous_until = ?, rotated_at = ? WHERE id = ? IF revoked_at = null AND hash = ?`,
      [hash, expectedHash, previousUntil, rotatedAt, id, expectedHash],
    );
    return applied(rows);
  }

  /** Marks the key revoked, if it exists; answers whether it does. */
  async revoke(id: string, revokedAt: Date): Promise<boolean> {
    const { rows } = await this.cassandra.execute(`UPDATE ${this.table} SET revoked_at = ? WHERE id = ? IF EXISTS`, [revokedAt, id]);
    return applied(rows);
  }

  /** When the key was last used; callers throttle it (a write per request would cost more than the request). */
  async touch(id: string, usedAt: Date): Promise<void> {
    await this.cassandra.execute(`UPDATE ${this.table} SET last_used_at = ? WHERE id = ? IF EXISTS`, [usedAt, id]);
  }
}

const applied = (rows: types.Row[]) => rows[0]?.['[applied]'] === true;

function toKey(r: types.Row): ApiKeyRecord {
  return {
    id: r.id,
    name: r.name,
    scopes: (r.scopes as string[] | null) ?? [],
    hash: r.hash,
    previousHash: r.previous_hash ?? undefined,
    previousUntil: r.previous_until ?? undefined,
    createdAt: r.created_at,
    expiresAt: r.expires_at ?? undefined,
    rotatedAt: r.rotated_at ?? undefined,
    revokedAt: r.revoked_at ?? undefined,
    lastUsedAt: r.last_used_at ?? undefined,
    ...(typeof r.rate_limit === 'string' ? { rateLimit: JSON.parse(r.rate_limit) as RateLimit } : {}),
  };
}
