import { ScheduleRecord, ScheduleRunRecord, SchedulesRepository } from '../schedules.repository';

/** A row as the driver hands it out: a fresh object each time, never shared with the table. */
const copySchedule = (s: ScheduleRecord): ScheduleRecord => ({
  ...s,
  target: { ...s.target, params: JSON.parse(JSON.stringify(s.target.params)) as Record<string, unknown> },
  createdAt: new Date(s.createdAt),
  updatedAt: new Date(s.updatedAt),
});
const copyRun = (r: ScheduleRunRecord): ScheduleRunRecord => ({ ...r, fireTime: new Date(r.fireTime), recordedAt: new Date(r.recordedAt) });

/**
 * Unit-test stand-in for the schedules, schedule_runs and leases tables, shared by every replica
 * that is given it: reads return copies; runs are keyed by (schedule, fire time) like the table;
 * acquireLease is the lightweight transaction, so the first caller per name wins. `writes` keeps
 * every recordRun call, so a second write of the same fire shows even though the table keeps one row.
 */
export class InMemorySchedulesRepository implements Pick<SchedulesRepository, 'save' | 'get' | 'list' | 'delete' | 'acquireLease' | 'recordRun' | 'runs'> {
  readonly rows = new Map<string, ScheduleRecord>();
  readonly leases = new Map<string, string>();
  readonly writes: ScheduleRunRecord[] = [];
  private runRows: ScheduleRunRecord[] = [];

  save = jest.fn(async (s: ScheduleRecord): Promise<void> => {
    this.rows.set(s.id, copySchedule(s));
  });
  get = jest.fn(async (id: string): Promise<ScheduleRecord | undefined> => {
    const row = this.rows.get(id);
    return row && copySchedule(row);
  });
  list = jest.fn(async (): Promise<ScheduleRecord[]> =>
    [...this.rows.values()].map(copySchedule).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
  );
  delete = jest.fn(async (id: string): Promise<void> => {
    this.rows.delete(id);
    this.runRows = this.runRows.filter((r) => r.scheduleId !== id);
  });
  acquireLease = jest.fn(async (name: string, holder: string): Promise<boolean> => {
    if (this.leases.has(name)) return false;
    this.leases.set(name, holder);
    return true;
  });
  recordRun = jest.fn(async (run: ScheduleRunRecord): Promise<void> => {
    this.writes.push(copyRun(run));
    const sameFire = (r: ScheduleRunRecord) => r.scheduleId === run.scheduleId && r.fireTime.getTime() === run.fireTime.getTime();
    this.runRows = [...this.runRows.filter((r) => !sameFire(r)), copyRun(run)];
  });
  runs = jest.fn(async (scheduleId: string, limit: number): Promise<ScheduleRunRecord[]> =>
    this.runRows
      .filter((r) => r.scheduleId === scheduleId)
      .sort((a, b) => b.fireTime.getTime() - a.fireTime.getTime())
      .slice(0, limit)
      .map(copyRun),
  );
}
