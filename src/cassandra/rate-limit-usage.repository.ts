import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

/** One process's report for one rate-limited subject: what it was asked and accepted per second over its last sync. */
export interface UsageReport {
  subject: string;
  process: string;
  /** The report's sync slot (its time divided by RATE_LIMIT_SYNC_MS): the newest slot of a process is its current report. */
  slot: number;
  asked: number;
  accepted: number;
}

/**
 * The rate_limit_usage table: each API process's recent demand per limited subject (a key's or a
 * source's requests or events), so that every process can size its share of each limit. Rows live a
 * few sync intervals (TTL): a process that stopped asking, or stopped altogether, drops out by itself.
 */
@Injectable()
export class RateLimitUsageRepository {
  private readonly table: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.table = `${cassandra.keyspace}.rate_limit_usage`;
  }

  async report(r: UsageReport, ttlSeconds: number): Promise<void> {
    await this.cassandra.execute(`INSERT INTO ${this.table} (subject, slot, process, asked, accepted) VALUES (?, ?, ?, ?, ?) USING TTL ?`, [
      r.subject,
      r.slot,
      r.process,
      r.asked,
      r.accepted,
      ttlSeconds,
    ]);
  }

  /**
   * The live reports of a subject from slot `since` on: each process's newest only. The lower bound
   * keeps the read off the expired rows of older slots (tombstones until compaction drops them), which
   * a read of the whole partition would scan every sync.
   */
  async read(subject: string, since: number): Promise<UsageReport[]> {
    const rows = await this.cassandra.executeAll(`SELECT subject, slot, process, asked, accepted FROM ${this.table} WHERE subject = ? AND slot >= ?`, [
      subject,
      types.Long.fromNumber(since),
    ]);
    const newest = new Map<string, UsageReport>();
    for (const r of rows) {
      const report: UsageReport = {
        subject: r.subject,
        slot: (r.slot as types.Long).toNumber(),
        process: r.process,
        asked: r.asked ?? 0,
        accepted: r.accepted ?? 0,
      };
      const seen = newest.get(report.process);
      if (seen === undefined || seen.slot < report.slot) newest.set(report.process, report);
    }
    return [...newest.values()];
  }
}
