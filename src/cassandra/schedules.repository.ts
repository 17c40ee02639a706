import { Injectable } from '@nestjs/common';
import { types } from 'cassandra-driver';
import { CassandraClient } from './cassandra.client';

export interface ScheduleTarget {
  kind: 'dag' | 'job';
  name: string;
  /** dag: the run's conf; job: the batch's args */
  params: Record<string, unknown>;
}

export interface ScheduleRecord {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  target: ScheduleTarget;
  createdAt: Date;
  updatedAt: Date;
}

export interface ScheduleRunRecord {
  scheduleId: string;
  fireTime: Date;
  status: 'triggered' | 'failed';
  runRef?: string;
  error?: string;
  holder?: string;
  recordedAt: Date;
}

/** Schedules, their runs, and the leases that make one replica fire each (schedule, fire time). */
@Injectable()
export class SchedulesRepository {
  private readonly ks: string;

  constructor(private readonly cassandra: CassandraClient) {
    this.ks = cassandra.keyspace;
  }

  async save(s: ScheduleRecord): Promise<void> {
    await this.cassandra.execute(
      `INSERT INTO ${this.ks}.schedules (id, name, cron, timezone, enabled, target_kind, target_name, target_params, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [s.id, s.name, s.cron, s.timezone, s.enabled, s.target.kind, s.target.name, JSON.stringify(s.target.params), s.createdAt, s.updatedAt],
    );
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.ks}.schedules WHERE id = ?`, [id]);
    return rows[0] ? toSchedule(rows[0]) : undefined;
  }

  async list(): Promise<ScheduleRecord[]> {
    const rows = await this.cassandra.executeAll(`SELECT * FROM ${this.ks}.schedules`, []);
    return rows.map(toSchedule).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async delete(id: string): Promise<void> {
    await this.cassandra.execute(`DELETE FROM ${this.ks}.schedules WHERE id = ?`, [id]);
    await this.cassandra.execute(`DELETE FROM ${this.ks}.schedule_runs WHERE schedule_id = ?`, [id]);
  }

  /**
   * Takes the lease for one fire of a schedule with a lightweight transaction: exactly one caller
   * gets true, whichever replica asks first. Leases expire after a week.
   */
  async acquireLease(name: string, holder: string): Promise<boolean> {
    const { rows } = await this.cassandra.execute(`INSERT INTO ${this.ks}.leases (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL 604800`, [
      name,
      holder,
      new Date(),
    ]);
    return rows[0]?.['[applied]'] === true;
  }

  async recordRun(run: ScheduleRunRecord): Promise<void> {
    await this.cassandra.execute(
      `INSERT INTO ${this.ks}.schedule_runs (schedule_id, fire_time, status, run_ref, error, holder, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [run.scheduleId, run.fireTime, run.status, run.runRef ?? null, run.error ?? null, run.holder ?? null, run.recordedAt],
    );
  }

  async runs(scheduleId: string, limit: number): Promise<ScheduleRunRecord[]> {
    const { rows } = await this.cassandra.execute(`SELECT * FROM ${this.ks}.schedule_runs WHERE schedule_id = ? LIMIT ?`, [scheduleId, limit]);
    return rows.map((r) => ({
      scheduleId: r.schedule_id.toString(),
      fireTime: r.fire_time,
      status: r.status,
      runRef: r.run_ref ?? undefined,
      error: r.error ?? undefined,
      holder: r.holder ?? undefined,
      recordedAt: r.finished_at,
    }));
  }
}

function toSchedule(r: types.Row): ScheduleRecord {
  return {
    id: r.id.toString(),
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    enabled: r.enabled,
    target: { kind: r.target_kind, name: r.target_name, params: r.target_params ? JSON.parse(r.target_params) : {} },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
