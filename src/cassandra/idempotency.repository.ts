import { Injectable } from '@nestjs/common';
import { CassandraClient } from './cassandra.client';

/** A request's hold on an idempotency key: the hash of its body, who holds it, since when. */
export interface Claim {
  bodyHash: string;
  /** The request that holds the key. */
  owner: string;
  /** When the key was first claimed for this body: the events' receivedAt. */
  createdAt: Date;
}

/** A claim as stored: `failed` once Kafka did not acknowledge its request (a retry takes it over). */
export interface HeldClaim extends Claim {
  state: 'in_flight' | 'failed';
}

/**
 * Idempotency keys, per source and key, in two tables. `idempotency_keys` holds the claims, written
 * only with lightweight transactions, so that every replica and worker agrees on which request
 * publishes; `idempotency_answers` holds the answers, written once by the claim's owner with a plain
 * write (a plain write beside transactions on the same cells could lose to the transaction's
 * timestamp; on a table of its own it cannot). A first request costs one transaction and one write.
 */
@Injectable()
export class IdempotencyRepository {
  private readonly claims: string;
  private readonly answers: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.claims = `${cassandra.keyspace}.idempotency_keys`;
    this.answers = `${cassandra.keyspace}.idempotency_answers`;
  }

  /** Claims the key; answers undefined when claimed, else the claim that holds it. */
  async claim(source: string, key: string, claim: Claim, ttlSeconds: number): Promise<HeldClaim | undefined> {
    const { rows } = await this.cassandra.execute(
      `INSERT INTO ${this.claims} (source, key, body_hash, state, owner, created_at) VALUES (?, ?, ?, 'in_flight', ?, ?) IF NOT EXISTS USING TTL ?`,
      [source, key, claim.bodyHash, claim.owner, claim.createdAt, ttlSeconds],
    );
    const row = rows[0];
    if (!row || row['[applied]'] === true) return undefined;
    return { bodyHash: row.body_hash, state: row.state === 'failed' ? 'failed' : 'in_flight', owner: row.owner, createdAt: row.created_at };
  }

  /** Takes over the claim of `previous` (a request that failed or died); false when another request took it first. */
  async takeOver(source: string, key: string, claim: Claim, previous: string, ttlSeconds: number): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.claims} USING TTL ? SET body_hash = ?, state = 'in_flight', owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?`,
      [ttlSeconds, claim.bodyHash, claim.owner, claim.createdAt, source, key, previous],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** Marks the owner's request failed (every cell again: a TTL applies per cell). */
  async fail(source: string, key: string, claim: Claim, ttlSeconds: number): Promise<void> {
    await this.cassandra.execute(
      `UPDATE ${this.claims} USING TTL ? SET body_hash = ?, state = 'failed', owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?`,
      [ttlSeconds, claim.bodyHash, claim.owner, claim.createdAt, source, key, claim.owner],
    );
  }

  /** Stores the owner's answer (JSON). */
  async answer(source: string, key: string, owner: string, response: string, ttlSeconds: number): Promise<void> {
    await this.cassandra.execute(`INSERT INTO ${this.answers} (source, key, owner, response) VALUES (?, ?, ?, ?) USING TTL ?`, [
      source,
      key,
      owner,
      response,
      ttlSeconds,
    ]);
  }

  /** The stored answer of the key, if any, with the owner that wrote it. */
  async answerOf(source: string, key: string): Promise<{ owner: string; response: string } | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT owner, response FROM ${this.answers} WHERE source = ? AND key = ?`, [source, key]);
    return rows[0] ? { owner: rows[0].owner, response: rows[0].response } : undefined;
  }
}
