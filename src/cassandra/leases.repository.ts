import { Injectable } from '@nestjs/common';
import { CassandraClient } from './cassandra.client';

/**
 * Leases: lightweight-transaction locks with a TTL (table leases). Whoever inserts a name first holds
 * it until it expires, is released, or stops being renewed; every replica of the API, and the
 * streaming job itself, agree through the same row.
 */
@Injectable()
export class LeasesRepository {
  private readonly table: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.table = `${cassandra.keyspace}.leases`;
  }

  /** Takes the lease if nobody holds it; true when this holder has it now. */
  async acquire(name: string, holder: string, ttlSeconds: number): Promise<boolean> {
    const { rows } = await this.cassandra.execute(`INSERT INTO ${this.table} (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?`, [
      name,
      holder,
      new Date(),
      ttlSeconds,
    ]);
    return rows[0]?.['[applied]'] === true;
  }

  /**
   * Extends a lease this holder has; false when it lost it (expired, or someone else took it). The
   * holder cell is written again too: a TTL applies per cell, and a holder left with the first TTL
   * would expire under a lease that is being renewed.
   */
  async renew(name: string, holder: string, ttlSeconds: number): Promise<boolean> {
    const { rows } = await this.cassandra.execute(`UPDATE ${this.table} USING TTL ? SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?`, [
      ttlSeconds,
      holder,
      new Date(),
      name,
      holder,
    ]);
    return rows[0]?.['[applied]'] === true;
  }

  /** Takes or keeps the lease: renews it when held, else tries to take it. */
  async hold(name: string, holder: string, ttlSeconds: number): Promise<boolean> {
    return (await this.renew(name, holder, ttlSeconds)) || this.acquire(name, holder, ttlSeconds);
  }

  async release(name: string, holder: string): Promise<void> {
    await this.cassandra.execute(`DELETE FROM ${this.table} WHERE name = ? IF holder = ?`, [name, holder]);
  }

  /** Who holds a lease now, if anyone. */
  async holder(name: string): Promise<string | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT holder FROM ${this.table} WHERE name = ?`, [name]);
    return rows[0]?.holder ?? undefined;
  }
}
