import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

/**
 * One row of dead_letters, written by the streaming job: an event a quarantining source's ingest
 * refused to pass on (reason `schema`, with its payload), or a Kafka record the job could not read
 * (reason `invalid_json`, ..., with the raw value). The control plane only marks rows replayed.
 */
export interface DeadLetter {
  source: string;
  failedAt: Date;
  /** The event id for a quarantined event; `<topic>:<partition>:<offset>` for an unreadable record. */
  id: string;
  topic?: string;
  partition?: number;
  offset?: number;
  reason: string;
  /** JSON text of the failing fields, `[{field, message}]`. */
  reasons?: string;
  schemaHash?: string;
  /** JSON text of the event's payload. */
  payload?: string;
  /** The Kafka record's value as read, for a record that is not an event. */
  raw?: string;
  eventId?: string;
  receivedAt?: Date;
  replayedAt?: Date;
  replayedEventId?: string;
}

export interface DeadLettersPage {
  deadLetters: DeadLetter[];
  pageState?: string;
}

const COLUMNS =
  'source, failed_at, id, topic, partition, offset, reason, reasons, schema_hash, payload, raw, event_id, received_at, replayed_at, replayed_event_id';
/** Ids per lookup query: one partition scan each, filtered in Cassandra. */
const IDS_PER_QUERY = 100;

/** The dead_letters table: one partition per source, newest first. */
@Injectable()
export class DeadLettersRepository {
  private readonly pageQuery: string;
  private readonly idsQuery: string;
  private readonly markQuery: string;

  constructor(private readonly cassandra: CassandraClient) {
    const table = `${cassandra.keyspace}.dead_letters`;
    this.pageQuery = `SELECT ${COLUMNS} FROM ${table} WHERE source = ? AND failed_at >= ? AND failed_at < ?`;
    // The id is the last clustering column: found by filtering the source's partition, which the
    // volume of dead letters (rare, by design) keeps cheap.
    this.idsQuery = `SELECT ${COLUMNS} FROM ${table} WHERE source = ? AND id IN ? ALLOW FILTERING`;
    // `event_id = ?` too: a lightweight transaction on a row that does not exist would otherwise apply and create it.
    this.markQuery =
      `UPDATE ${table} SET replayed_at = ?, replayed_event_id = ? WHERE source = ? AND failed_at = ? AND id = ? ` + 'IF replayed_at = null AND event_id = ?';
  }

  /** One page of a source's dead letters that failed in [from, to), newest first. */
  async page(source: string, from: Date, to: Date, fetchSize: number, pageState?: string): Promise<DeadLettersPage> {
    const page = await this.cassandra.execute(this.pageQuery, [source, from, to], { fetchSize, pageState });
    return { deadLetters: page.rows.map(toDeadLetter), pageState: page.pageState };
  }

  /** The dead letters of a source with these ids (those that exist), newest first. */
  async byIds(source: string, ids: string[]): Promise<DeadLetter[]> {
    const found: DeadLetter[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const rows = await this.cassandra.executeAll(this.idsQuery, [source, ids.slice(i, i + IDS_PER_QUERY)]);
      found.push(...rows.map(toDeadLetter));
    }
    return found.sort((a, b) => b.failedAt.getTime() - a.failedAt.getTime() || a.id.localeCompare(b.id));
  }

  /**
   * Marks a quarantined event replayed, once: a lightweight transaction that applies only while the
   * row has no replayed_at. False when another replay marked it first.
   */
  async markReplayed(deadLetter: DeadLetter, replayedAt: Date, replayedEventId: string): Promise<boolean> {
    const { rows } = await this.cassandra.execute(this.markQuery, [
      replayedAt,
      replayedEventId,
      deadLetter.source,
      deadLetter.failedAt,
      deadLetter.id,
      deadLetter.eventId,
    ]);
    return rows[0]?.['[applied]'] === true;
  }
}

function toDeadLetter(r: types.Row): DeadLetter {
  return {
    source: r.source,
    failedAt: r.failed_at,
    id: r.id,
    topic: r.topic ?? undefined,
    partition: r.partition ?? undefined,
    offset: r.offset === null || r.offset === undefined ? undefined : Number(r.offset),
    reason: r.reason ?? 'unknown',
    reasons: r.reasons ?? undefined,
    schemaHash: r.schema_hash ?? undefined,
    payload: r.payload ?? undefined,
    raw: r.raw ?? undefined,
    eventId: r.event_id ?? undefined,
    receivedAt: r.received_at ?? undefined,
    replayedAt: r.replayed_at ?? undefined,
    replayedEventId: r.replayed_event_id ?? undefined,
  };
}
