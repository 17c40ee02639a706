import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

export interface StoredEvent {
  eventId: string;
  source: string;
  receivedAt: Date;
  key?: string;
  /** The payload's JSON text as stored, as its UTF-8 bytes (read with textAsBlob: never decoded to be encoded again). */
  payload: Buffer;
  processedAt?: Date;
  /** The version of the source's schema the event was checked against at ingest (absent: no schema, or stored before versions). */
  schemaVersion?: number;
  /** The W3C trace id of the request that published the event (absent for events stored before traces). */
  traceId?: string;
  /** The event's Kafka record headers (absent for events stored before headers). */
  headers?: Record<string, string>;
}

export interface MinuteCount {
  minute: Date;
  count: number;
}

/** A non-empty bucket of a source's events: the start of its partition in events_by_bucket, and its size. */
export interface EventBucket {
  start: Date;
  seconds: number;
}

/** Buckets of a day the newest-row lookup looks at: enough for a bucket size that changed that day. */
const NEWEST_BUCKETS = 3;

const NO_BYTES = Buffer.alloc(0);

/**
 * Reads what the streaming job writes: events_by_bucket (one partition per source and time bucket),
 * event_buckets (the non-empty buckets of each source and UTC day) and event_counts_by_minute.
 */
@Injectable()
export class EventsRepository {
  private readonly eventsQuery: string;
  private readonly bucketsQuery: string;
  private readonly newestBucketsQuery: string;
  private readonly newestQuery: string;
  private readonly countsQuery: string;

  constructor(private readonly cassandra: CassandraClient) {
    const ks = cassandra.keyspace;
    this.eventsQuery =
      `SELECT event_id, received_at, key, textAsBlob(payload) AS payload, processed_at, schema_version, trace_id, headers FROM ${ks}.events_by_bucket ` +
      'WHERE source = ? AND bucket = ? AND received_at >= ? AND received_at < ?';
    this.bucketsQuery = `SELECT bucket, bucket_seconds FROM ${ks}.event_buckets WHERE source = ? AND day = ? AND bucket <= ?`;
    this.newestBucketsQuery = `SELECT bucket, bucket_seconds FROM ${ks}.event_buckets WHERE source = ? AND day = ? LIMIT ${NEWEST_BUCKETS}`;
    this.newestQuery = `SELECT received_at FROM ${ks}.events_by_bucket WHERE source = ? AND bucket = ? LIMIT 1`;
    this.countsQuery = `SELECT minute, count FROM ${ks}.event_counts_by_minute WHERE source = ? AND day = ? AND minute >= ? AND minute < ?`;
  }

  /** The non-empty buckets of a source's UTC day that start at or before `until`, newest first. */
  async bucketsOf(source: string, day: string, until: Date): Promise<EventBucket[]> {
    const rows = await this.cassandra.executeAll(this.bucketsQuery, [source, types.LocalDate.fromString(day), until]);
    return rows.map(toBucket);
  }

  /** One page of a bucket partition, newest first. */
  async eventsPage(
    source: string,
    bucket: Date,
    from: Date,
    to: Date,
    fetchSize: number,
    pageState?: string,
  ): Promise<{ events: StoredEvent[]; pageState?: string }> {
    const page = await this.cassandra.execute(this.eventsQuery, [source, bucket, from, to], { fetchSize, pageState });
    return {
      pageState: page.pageState,
      events: page.rows.map((r) => ({
        eventId: r.event_id.toString(),
        source,
        receivedAt: r.received_at,
        key: r.key ?? undefined,
        payload: (r.payload as Buffer | null) ?? NO_BYTES,
        processedAt: r.processed_at ?? undefined,
        schemaVersion: r.schema_version ?? undefined,
        traceId: r.trace_id ?? undefined,
        headers: r.headers ?? undefined,
      })),
    };
  }

  /**
   * When the newest stored event of a UTC day was received, if the day holds any. Looks into the
   * newest bucket, and into the next ones only where they could hold something newer (a bucket of
   * a larger size, from before the source's bucket changed).
   */
  async newestIn(source: string, day: string): Promise<Date | undefined> {
    const { rows } = await this.cassandra.execute(this.newestBucketsQuery, [source, types.LocalDate.fromString(day)]);
    let newest: Date | undefined;
    for (const bucket of rows.map(toBucket)) {
      if (newest && bucket.start.getTime() + bucket.seconds * 1000 <= newest.getTime()) continue;
      const page = await this.cassandra.execute(this.newestQuery, [source, bucket.start]);
      const at: Date | undefined = page.rows[0]?.received_at ?? undefined;
      if (at && (!newest || at > newest)) newest = at;
    }
    return newest;
  }

  /** Per-minute counts of one day partition, oldest first. */
  async minuteCounts(source: string, day: string, from: Date, to: Date): Promise<MinuteCount[]> {
    const page = await this.cassandra.execute(this.countsQuery, [source, types.LocalDate.fromString(day), from, to], { fetchSize: 1440 });
    return page.rows.map((r) => ({ minute: r.minute, count: Number(r.count) }));
  }
}

const toBucket = (r: types.Row): EventBucket => ({ start: r.bucket, seconds: Number(r.bucket_seconds) });
