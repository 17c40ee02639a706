import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

/** One change of state made through the API, or refused after the caller was authenticated. */
export interface AuditEvent {
  /** The UTC day of `at` (YYYY-MM-DD): the partition. */
  day: string;
  /** Strictly increasing within a process (AuditService), so that newest first is the order a process made them in. */
  at: Date;
  /** Unique per event, so two events of the same millisecond (from two processes) are both kept. */
  id: string;
  /** The key id, or `bootstrap:<hash prefix>` for a key of API_KEYS. */
  actor: string;
  actorName: string;
  action: string;
  target?: string;
  requestId?: string;
  /** The HTTP status the request was answered with. */
  outcome: number;
  /** JSON text: what the request asked to change, secrets left out. */
  changes?: string;
}

export interface AuditEventsPage {
  events: AuditEvent[];
  pageState?: string;
}

/** The audit_events table: one partition per UTC day, newest first, each row expiring after the retention. */
@Injectable()
export class AuditEventsRepository {
  private readonly insertQuery: string;
  private readonly pageQuery: string;

  constructor(private readonly cassandra: CassandraClient) {
    const table = `${cassandra.keyspace}.audit_events`;
    this.insertQuery =
      `INSERT INTO ${table} (day, at, id, actor, actor_name, action, target, request_id, outcome, changes) ` +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?';
    this.pageQuery = `SELECT * FROM ${table} WHERE day = ? AND at >= ? AND at < ?`;
  }

  async insert(e: AuditEvent, ttlSeconds: number): Promise<void> {
    await this.cassandra.execute(this.insertQuery, [
      e.day,
      e.at,
      e.id,
      e.actor,
      e.actorName,
      e.action,
      e.target ?? null,
      e.requestId ?? null,
      e.outcome,
      e.changes ?? null,
      ttlSeconds,
    ]);
  }

  /** One page of a day's events at [from, to), newest first. */
  async page(day: string, from: Date, to: Date, fetchSize: number, pageState?: string): Promise<AuditEventsPage> {
    const page = await this.cassandra.execute(this.pageQuery, [day, from, to], { fetchSize, pageState });
    return { events: page.rows.map(toEvent), pageState: page.pageState };
  }
}

function toEvent(r: types.Row): AuditEvent {
  return {
    day: r.day,
    at: r.at,
    id: r.id,
    actor: r.actor,
    actorName: r.actor_name,
    action: r.action,
    target: r.target ?? undefined,
    requestId: r.request_id ?? undefined,
    outcome: r.outcome,
    changes: r.changes ?? undefined,
  };
}
