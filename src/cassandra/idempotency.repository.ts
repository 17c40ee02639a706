import { Injectable } from '@nestjs/common';
import { CassandraClient } from './cassandra.client';

/** What the table keeps for one (source, key): the request's body hash, and once answered, the answer. */
export interface IdempotencyEntry {
  bodyHash: string;
  /**
   * `in_flight` while a request is being published; `done` once it was answered; `failed` when Kafka
   * did not acknowledge it (its retry takes the key over, with the same receivedAt).
   */
  state: 'in_flight' | 'done' | 'failed';
  /** The answer's body (JSON), once done. */
  response?: string;
  /** The request that claimed the key. */
  owner: string;
  /** When the key was first claimed: the events' receivedAt. */
  createdAt: Date;
}

/** A request's hold on a key. */
export type Claim = Pick<IdempotencyEntry, 'bodyHash' | 'owner' | 'createdAt'>;

/**
 * Idempotency keys (table idempotency_keys), one row per source and key. The first request claims
 * the key with a lightweight transaction, so every replica and worker agrees on who publishes; the
 * claim lives a short while (a request that died with it frees the key), the answer a day or as
 * configured. Every write after the claim is conditional on its owner too: a plain write could
 * carry a lower timestamp than the transaction's and be lost.
 */
@Injectable()
export class IdempotencyRepository {
  private readonly table: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.table = `${cassandra.keyspace}.idempotency_keys`;
  }

  /** Claims the key for `entry.owner`; answers undefined when claimed, else the entry that holds it. */
  async claim(source: string, key: string, entry: Claim, ttlSeconds: number): Promise<IdempotencyEntry | undefined> {
    const { rows } = await this.cassandra.execute(
      `INSERT INTO ${this.table} (source, key, body_hash, state, owner, created_at) VALUES (?, ?, ?, 'in_flight', ?, ?) IF NOT EXISTS USING TTL ?`,
      [source, key, entry.bodyHash, entry.owner, entry.createdAt, ttlSeconds],
    );
    const row = rows[0];
    if (!row || row['[applied]'] === true) return undefined;
    return {
      bodyHash: row.body_hash,
      state: row.state === 'done' || row.state === 'failed' ? row.state : 'in_flight',
      response: row.response ?? undefined,
      owner: row.owner,
      createdAt: row.created_at,
    };
  }

  /** Claims a key whose request failed, from its owner `failed`; false when another retry took it first. */
  async takeOver(source: string, key: string, entry: Claim, failed: string, ttlSeconds: number): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.table} USING TTL ? SET body_hash = ?, state = 'in_flight', owner = ?, created_at = ? WHERE source = ? AND key = ? IF state = 'failed' AND owner = ?`,
      [ttlSeconds, entry.bodyHash, entry.owner, entry.createdAt, source, key, failed],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** Stores the answer under the owner's claim, kept for `ttlSeconds`; false when the claim was lost meanwhile. */
  async complete(source: string, key: string, entry: Claim & { response: string }, ttlSeconds: number): Promise<boolean> {
    // Every cell again: a TTL applies per cell, and the claim's cells carry the short one.
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.table} USING TTL ? SET body_hash = ?, state = 'done', response = ?, owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?`,
      [ttlSeconds, entry.bodyHash, entry.response, entry.owner, entry.createdAt, source, key, entry.owner],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** Marks the owner's request failed, kept for `ttlSeconds` so that its retry reuses its receivedAt. */
  async fail(source: string, key: string, entry: Claim, ttlSeconds: number): Promise<void> {
    await this.cassandra.execute(
      `UPDATE ${this.table} USING TTL ? SET body_hash = ?, state = 'failed', owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?`,
      [ttlSeconds, entry.bodyHash, entry.owner, entry.createdAt, source, key, entry.owner],
    );
  }
}
