import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

export interface StoredEvent {
  eventId: string;
  source: string;
  receivedAt: Date;
  key?: string;
  payload: string;
  processedAt?: Date;
}

export interface MinuteCount {
  minute: Date;
  count: number;
}

/** Reads what the streaming job writes: events_by_source and event_counts_by_minute. */
@Injectable()
export class EventsRepository {
  private readonly eventsQuery: string;
  private readonly countsQuery: string;
  private readonly newestQuery: string;

  constructor(private readonly cassandra: CassandraClient) {
    const ks = cassandra.keyspace;
    this.eventsQuery =
      `SELECT event_id, received_at, key, payload, processed_at FROM ${ks}.events_by_source ` +
      'WHERE source = ? AND day = ? AND received_at >= ? AND received_at < ?';
    this.newestQuery = `SELECT received_at FROM ${ks}.events_by_source WHERE source = ? AND day = ? LIMIT 1`;
    this.countsQuery =
      `SELECT minute, count FROM ${ks}.event_counts_by_minute WHERE source = ? AND day = ? AND minute >= ? AND minute < ?`;
  }

  /** One page of a day partition, newest first. */
  async eventsPage(
    source: string,
    day: string,
    from: Date,
    to: Date,
    fetchSize: number,
    pageState?: string,
  ): Promise<{ events: StoredEvent[]; pageState?: string }> {
    const page = await this.cassandra.execute(this.eventsQuery, [source, types.LocalDate.fromString(day), from, to], {
      fetchSize,
      pageState,
    });
    return {
      pageState: page.pageState,
      events: page.rows.map((r) => ({
        eventId: r.event_id.toString(),
        source,
        receivedAt: r.received_at,
        key: r.key ?? undefined,
        payload: r.payload,
        processedAt: r.processed_at ?? undefined,
      })),
    };
  }

  /** When the newest stored event of a day partition was received, if it holds any. */
  async newestIn(source: string, day: string): Promise<Date | undefined> {
    const page = await this.cassandra.execute(this.newestQuery, [source, types.LocalDate.fromString(day)]);
    return page.rows[0]?.received_at ?? undefined;
  }

  /** Per-minute counts of one day partition, oldest first. */
  async minuteCounts(source: string, day: string, from: Date, to: Date): Promise<MinuteCount[]> {
    const page = await this.cassandra.execute(this.countsQuery, [source, types.LocalDate.fromString(day), from, to], { fetchSize: 1440 });
    return page.rows.map((r) => ({ minute: r.minute, count: Number(r.count) }));
  }
}
