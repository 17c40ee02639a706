import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

/** A streaming view as the API stores it (table views): its definition as accepted, and who made it when. */
export interface StoredView {
  name: string;
  /** A new id each time the name is created: the streaming job's state and results of the view are keyed by it. */
  id: string;
  source: string;
  /** The body of POST /views, as accepted (src/views/view-definition.ts). */
  definition: Record<string, unknown>;
  createdAt: Date;
  /** The actor the audit trail names for the request that created it. */
  createdBy: string;
}

/** What the streaming job reports of a view (table view_status, written by the job only); an unset column is absent. */
export interface ViewStatus {
  viewId: string;
  /** `backfilling`, `running` or `failed`, as the job writes it. */
  state?: string;
  error?: string;
  /** Events dropped as later than the view's lateness. */
  lateEvents?: number;
  lastEpoch?: number;
  offsetsRead?: number;
  offsetsAvailable?: number;
  watermark?: Date;
  runId?: string;
  updatedAt?: Date;
}

/** One row of view_results: the full values of one (window, group), as the job last upserted them. */
export interface ViewResultRow {
  windowStart: Date;
  windowEnd: Date;
  /** The group's values as a JSON array, in groupBy order: the clustering key. */
  groupKey: string;
  /** `{pointer: value as text, or null}`. */
  groupJson: string;
  /** `{aggregate name: number or null}`. */
  valuesJson: string;
  updatedAt?: Date;
}

/** Ids per status query: `IN` takes them as one bound list. */
const STATUS_CHUNK = 100;

/**
 * Streaming views (tables views, view_status, view_results; migration 15). The API writes `views`
 * only, each creation a lightweight transaction (IF NOT EXISTS), each replacement too (IF id = the
 * one replaced) and each deletion (IF EXISTS), so two callers never both get one name or both replace
 * one definition; it only reads what the streaming job writes.
 */
@Injectable()
export class ViewsRepository {
  private readonly views: string;
  private readonly statusQuery: string;
  private readonly resultsQuery: string;

  constructor(private readonly cassandra: CassandraClient) {
    const ks = cassandra.keyspace;
    this.views = `${ks}.views`;
    this.statusQuery =
      'SELECT view_id, state, error, late_events, last_epoch, offsets_read, offsets_available, watermark, run_id, updated_at ' +
      `FROM ${ks}.view_status WHERE view_id IN ?`;
    this.resultsQuery =
      'SELECT window_start, window_end, group_key, group_json, values_json, updated_at ' +
      `FROM ${ks}.view_results WHERE view_id = ? AND day = ? AND window_start >= ? AND window_start < ?`;
  }

  /** Every view (tens of rows, read whole). */
  async list(): Promise<StoredView[]> {
    const rows = await this.cassandra.executeAll(`SELECT name, id, source, definition, created_at, created_by FROM ${this.views}`, []);
    return rows.map(toView);
  }

  async get(name: string): Promise<StoredView | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT name, id, source, definition, created_at, created_by FROM ${this.views} WHERE name = ?`, [name]);
    return rows[0] ? toView(rows[0]) : undefined;
  }

  /** Creates the view unless its name is taken; false when it is. */
  async create(view: StoredView): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `INSERT INTO ${this.views} (name, id, source, definition, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
      [view.name, view.id, view.source, JSON.stringify(view.definition), view.createdAt, view.createdBy],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /**
   * Replaces the view's definition under a new id, only over the one whose id is `currentId` (a
   * lightweight transaction): false when the view is gone or was replaced meanwhile.
   */
  async replace(view: StoredView, currentId: string): Promise<boolean> {
    const { rows } = await this.cassandra.execute(
      `UPDATE ${this.views} SET id = ?, source = ?, definition = ?, created_at = ?, created_by = ? WHERE name = ? IF id = ?`,
      [view.id, view.source, JSON.stringify(view.definition), view.createdAt, view.createdBy, view.name, currentId],
    );
    return rows[0]?.['[applied]'] === true;
  }

  /** Deletes the view; false when there was none. Its status and results stay, under its id, never read again. */
  async delete(name: string): Promise<boolean> {
    const { rows } = await this.cassandra.execute(`DELETE FROM ${this.views} WHERE name = ? IF EXISTS`, [name]);
    return rows[0]?.['[applied]'] === true;
  }

  /** What the job reports of each of these views, by id; a view it has not picked up yet has no entry. */
  async statuses(viewIds: string[]): Promise<Map<string, ViewStatus>> {
    const out = new Map<string, ViewStatus>();
    for (let i = 0; i < viewIds.length; i += STATUS_CHUNK) {
      const { rows } = await this.cassandra.execute(this.statusQuery, [viewIds.slice(i, i + STATUS_CHUNK)]);
      for (const row of rows) {
        const status = toStatus(row);
        out.set(status.viewId, status);
      }
    }
    return out;
  }

  /**
   * One page of a view's results in one UTC day's partition, window_start in [from, to), newest
   * window first (the clustering order), up to `fetchSize` rows; pageState while more remain.
   */
  async resultsPage(
    viewId: string,
    day: string,
    from: Date,
    to: Date,
    fetchSize: number,
    pageState?: string,
  ): Promise<{ rows: ViewResultRow[]; pageState?: string }> {
    const page = await this.cassandra.execute(this.resultsQuery, [viewId, types.LocalDate.fromString(day), from, to], { fetchSize, pageState });
    return { rows: page.rows.map(toResult), pageState: page.pageState };
  }
}

function toView(r: types.Row): StoredView {
  return {
    name: r.name,
    id: String(r.id),
    source: r.source,
    definition: JSON.parse(r.definition ?? '{}') as Record<string, unknown>,
    createdAt: r.created_at,
    createdBy: r.created_by ?? 'anonymous',
  };
}

const num = (v: types.Long | number | null | undefined): number | undefined => (v === null || v === undefined ? undefined : Number(v));

function toStatus(r: types.Row): ViewStatus {
  const status: ViewStatus = {
    viewId: String(r.view_id),
    state: r.state ?? undefined,
    error: r.error ?? undefined,
    lateEvents: num(r.late_events),
    lastEpoch: num(r.last_epoch),
    offsetsRead: num(r.offsets_read),
    offsetsAvailable: num(r.offsets_available),
    watermark: r.watermark ?? undefined,
    runId: r.run_id ?? undefined,
    updatedAt: r.updated_at ?? undefined,
  };
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined)) as unknown as ViewStatus;
}

function toResult(r: types.Row): ViewResultRow {
  return {
    windowStart: r.window_start,
    windowEnd: r.window_end,
    groupKey: r.group_key,
    groupJson: r.group_json ?? '{}',
    valuesJson: r.values_json ?? '{}',
    ...(r.updated_at ? { updatedAt: r.updated_at as Date } : {}),
  };
}
