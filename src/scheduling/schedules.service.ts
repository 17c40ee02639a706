import { Injectable } from '@nestjs/common';
import { CronTime, validateCronExpression } from 'cron';
import { randomUUID } from 'node:crypto';
import { AppError, BadRequestError, NotFoundError } from '../common/errors/errors';
import { OrchestrationService } from '../orchestration/orchestration.service';
import { BatchesService } from '../processing/batches.service';
import { JobsCatalog } from '../processing/jobs.catalog';
import { ScheduleRecord, ScheduleRunRecord, SchedulesRepository, ScheduleTarget } from '../storage/schedules.repository';

export interface ScheduleInput {
  name?: string;
  cron?: string;
  timezone?: string;
  enabled?: boolean;
  target?: { kind: 'dag' | 'job'; name: string; conf?: Record<string, unknown>; args?: Record<string, unknown> };
}

export interface ScheduleView extends Omit<ScheduleRecord, 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
  nextFireAt?: string;
}

/** Schedules: validated definitions in Cassandra. Firing them is the scheduler's job (scheduler.service.ts). */
@Injectable()
export class SchedulesService {
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly repository: SchedulesRepository,
    private readonly orchestration: OrchestrationService,
    private readonly batches: BatchesService,
  ) {}

  /** Called after every change, so this replica applies it at once (others pick it up on their next sync). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async list(): Promise<ScheduleView[]> {
    return (await this.repository.list()).map(toView);
  }

  async get(id: string): Promise<ScheduleView> {
    return toView(await this.record(id));
  }

  async create(input: ScheduleInput): Promise<ScheduleView> {
    if (!input.name || !input.cron || !input.target) throw new BadRequestError('name, cron and target are required');
    const now = new Date();
    const record: ScheduleRecord = {
      id: randomUUID(),
      name: input.name,
      cron: input.cron,
      timezone: input.timezone ?? 'UTC',
      enabled: input.enabled ?? true,
      target: toTarget(input.target),
      createdAt: now,
      updatedAt: now,
    };
    await this.validate(record);
    await this.repository.save(record);
    this.changed();
    return toView(record);
  }

  async update(id: string, input: ScheduleInput): Promise<ScheduleView> {
    const current = await this.record(id);
    const record: ScheduleRecord = {
      ...current,
      name: input.name ?? current.name,
      cron: input.cron ?? current.cron,
      timezone: input.timezone ?? current.timezone,
      enabled: input.enabled ?? current.enabled,
      target: input.target ? toTarget(input.target) : current.target,
      updatedAt: new Date(),
    };
    await this.validate(record, input.target !== undefined);
    await this.repository.save(record);
    this.changed();
    return toView(record);
  }

  async remove(id: string): Promise<void> {
    await this.record(id);
    await this.repository.delete(id);
    this.changed();
  }

  async runs(id: string, limit: number): Promise<ScheduleRunRecord[]> {
    await this.record(id);
    return this.repository.runs(id, limit);
  }

  private async record(id: string): Promise<ScheduleRecord> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new NotFoundError(`Schedule "${id}" does not exist`);
    const record = await this.repository.get(id);
    if (!record) throw new NotFoundError(`Schedule "${id}" does not exist`);
    return record;
  }

  /** Cron, time zone and target are checked before anything is stored; the target must exist. */
  private async validate(record: ScheduleRecord, checkTarget = true): Promise<void> {
    const cron = validateCronExpression(record.cron);
    if (!cron.valid) {
      throw new BadRequestError(
        `cron "${record.cron}" is not valid (${cron.error?.message ?? 'unparseable'}): use 5 fields (minute hour day month weekday) or 6 with seconds first`,
      );
    }
    if (!isTimeZone(record.timezone)) {
      throw new BadRequestError(`timezone "${record.timezone}" is not an IANA time zone, e.g. UTC or Europe/Paris`);
    }
    try {
      new CronTime(record.cron, record.timezone).sendAt();
    } catch (err) {
      throw new BadRequestError(`cron "${record.cron}" never fires (${(err as Error).message})`);
    }
    if (!checkTarget) return;
    const { kind, name, params } = record.target;
    if (kind === 'dag') {
      if (!(await this.orchestration.dagExists(name))) throw new BadRequestError(`target: DAG "${name}" does not exist in Airflow`);
      return;
    }
    try {
      JobsCatalog.toCommandLine(this.batches.job(name), params);
    } catch (err) {
      if (err instanceof NotFoundError) throw new BadRequestError(`target: ${err.message}`);
      if (err instanceof AppError) throw new BadRequestError(`target: ${err.message}`, err.details);
      throw err;
    }
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function toTarget(t: NonNullable<ScheduleInput['target']>): ScheduleTarget {
  return { kind: t.kind, name: t.name, params: (t.kind === 'dag' ? t.conf : t.args) ?? {} };
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The next fire time, or undefined when the schedule is disabled. */
export function nextFire(record: ScheduleRecord): Date | undefined {
  if (!record.enabled) return undefined;
  return new CronTime(record.cron, record.timezone).sendAt().toJSDate();
}

function toView(record: ScheduleRecord): ScheduleView {
  return {
    ...record,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    nextFireAt: nextFire(record)?.toISOString(),
  };
}
