import { Inject, Injectable } from '@nestjs/common';
import { CronTime, validateCronExpression } from 'cron';
import { randomUUID } from 'node:crypto';
import { AIRFLOW_API, AirflowApi } from '../airflow/airflow.api';
import { ScheduleRecord, SchedulesRepository, ScheduleTarget } from '../cassandra/schedules.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, ConflictError, NotFoundError } from '../common/errors/errors';
import { CreateScheduleDto, ScheduleDto, SchedulePreviewDto, ScheduleRunDto, ScheduleTargetDto, UpdateScheduleDto } from './dto/schedules.dto';

/** Schedules: validated definitions in Cassandra. Firing them is the scheduler's job (scheduler.service.ts). */
@Injectable()
export class SchedulesService {
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly repository: SchedulesRepository,
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
    private readonly catalog: JobsCatalog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Called after every change, so this replica applies it at once (others pick it up on their next sync). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async list(): Promise<ScheduleDto[]> {
    return (await this.repository.list()).map(toView);
  }

  async get(id: string): Promise<ScheduleDto> {
    return toView(await this.record(id));
  }

  async create(input: CreateScheduleDto): Promise<ScheduleDto> {
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
    this.checkInterval(record);
    await this.checkRoom();
    await this.repository.save(record);
    this.changed();
    return toView(record);
  }

  async update(id: string, input: UpdateScheduleDto): Promise<ScheduleDto> {
    if (!Object.values(input ?? {}).some((v) => v !== undefined)) {
      throw new BadRequestError('The body must be a JSON object with at least one of name, cron, timezone, enabled, target', [
        { field: 'body', message: 'must change at least one field' },
      ]);
    }
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
    // A schedule stored before the minimum existed keeps firing as it did until its timing or target changes.
    if (input.cron !== undefined || input.timezone !== undefined || input.target !== undefined) this.checkInterval(record);
    await this.repository.save(record);
    this.changed();
    return toView(record);
  }

  async remove(id: string): Promise<void> {
    await this.record(id);
    await this.repository.delete(id);
    this.changed();
  }

  async runs(id: string, limit: number): Promise<ScheduleRunDto[]> {
    await this.record(id);
    return (await this.repository.runs(id, limit)).map((r) => ({
      fireTime: r.fireTime.toISOString(),
      status: r.status,
      runRef: r.runRef,
      error: r.error,
      holder: r.holder,
      recordedAt: r.recordedAt.toISOString(),
    }));
  }

  /**
   * The next fire times of a cron in a time zone, as the scheduler will fire it: each instant, and the
   * same instant as a wall-clock time of the zone. Invalid cron or zone: 400, as for a schedule.
   */
  preview(cron: string, timezone = 'UTC', count = 5): SchedulePreviewDto {
    checkCron(cron, timezone);
    const times = nextFires(new CronTime(cron, timezone), count);
    return {
      cron,
      timezone,
      fires: times.map((t) => ({ at: t.toUTC().toISO()!, local: t.setZone(timezone).toISO({ suppressMilliseconds: true })! })),
    };
  }

  private async record(id: string): Promise<ScheduleRecord> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new NotFoundError(`Schedule "${id}" does not exist`);
    const record = await this.repository.get(id);
    if (!record) throw new NotFoundError(`Schedule "${id}" does not exist`);
    return record;
  }

  /** Cron, time zone and target are checked before anything is stored; the target must exist. */
  private async validate(record: ScheduleRecord, checkTarget = true): Promise<void> {
    checkCron(record.cron, record.timezone);
    if (!checkTarget) return;
    const { kind, name, params } = record.target;
    try {
      if (kind === 'dag') await this.airflow.getDag(name);
      else JobsCatalog.toCommandLine(this.catalog.get(name), params);
    } catch (err) {
      // The target is part of the request: a missing DAG or job, or bad args, is the caller's to fix.
      if (err instanceof NotFoundError) throw new BadRequestError(`target: ${err.message}`);
      if (err instanceof BadRequestError) throw new BadRequestError(`target: ${err.message}`, err.details);
      throw err;
    }
  }

  /**
   * 400 naming `cron` when a schedule of a Spark job would fire more often than
   * SCHEDULES_MIN_INTERVAL_SECONDS (each fire starts a driver JVM). DAG schedules are not bound:
   * Airflow queues their runs.
   */
  private checkInterval(record: ScheduleRecord): void {
    if (record.target.kind !== 'job') return;
    const min = this.config.schedules.minIntervalSeconds;
    const gap = smallestGapSeconds(new CronTime(record.cron, record.timezone));
    if (gap === undefined || gap >= min) return;
    throw new BadRequestError(
      `cron "${record.cron}" fires ${gap} s apart at times: a schedule of a Spark job may fire at most once every ${min} s (SCHEDULES_MIN_INTERVAL_SECONDS)`,
      [{ field: 'cron', message: `must not fire a Spark job more than once every ${min} s; it fires ${gap} s apart` }],
    );
  }

  /** 409 when SCHEDULES_MAX schedules exist already. */
  private async checkRoom(): Promise<void> {
    const { max } = this.config.schedules;
    const count = (await this.repository.list()).length;
    if (count >= max) {
      throw new ConflictError(`There are already ${count} schedules, the most there may be (SCHEDULES_MAX=${max}): delete one before creating another`);
    }
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function toTarget(t: ScheduleTargetDto): ScheduleTarget {
  // A DAG target's params are its run conf, a job target's its args (never Spark settings: those are not scheduled).
  return { kind: t.kind, name: t.name, params: (t.kind === 'dag' ? t.conf : t.args) ?? {} };
}

/** A cron the scheduler can fire in an IANA time zone, or a 400 naming what is wrong. */
function checkCron(cron: string, timezone: string): void {
  const valid = validateCronExpression(cron);
  if (!valid.valid) {
    throw new BadRequestError(
      `cron "${cron}" is not valid (${valid.error?.message ?? 'unparseable'}): use 5 fields (minute hour day month weekday) or 6 with seconds first`,
    );
  }
  if (!isTimeZone(timezone)) {
    throw new BadRequestError(`timezone "${timezone}" is not an IANA time zone, e.g. UTC or Europe/Paris`);
  }
  try {
    new CronTime(cron, timezone).sendAt();
  } catch (err) {
    throw new BadRequestError(`cron "${cron}" never fires (${(err as Error).message})`);
  }
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
/** A fire time as the cron library gives it (a Luxon DateTime). */
type FireTime = ReturnType<CronTime['getNextDateFrom']>;

/**
 * Up to `count` fire times from now, each the next after the previous. The cron library looks no
 * further than 8 years ahead, so a rare cron (yearly) yields fewer: the list ends there.
 */
function nextFires(time: CronTime, count: number): FireTime[] {
  const fires: FireTime[] = [];
  // The first from now on the schedule's own clock (checkCron made sure there is one), then each after the previous.
  for (let next: FireTime | undefined = time.sendAt(); next && fires.length < count; next = after(time, next)) fires.push(next);
  return fires;
}

/** The fire after `previous`, or none within the cron library's horizon. */
function after(time: CronTime, previous: FireTime): FireTime | undefined {
  try {
    return time.getNextDateFrom(previous);
  } catch {
    return undefined;
  }
}

/** Fires looked at for the smallest gap: enough to cover a minute of a 6-field cron that fires every second, and its edges. */
const GAP_SAMPLE = 128;

/** The smallest gap in seconds between the next GAP_SAMPLE fires, or undefined when it fires once at most. */
function smallestGapSeconds(time: CronTime): number | undefined {
  const fires = nextFires(time, GAP_SAMPLE).map((t) => t.toMillis());
  const gaps = fires.slice(1).map((t, i) => (t - fires[i]) / 1000);
  return gaps.length ? Math.min(...gaps) : undefined;
}

export function nextFire(record: ScheduleRecord): Date | undefined {
  if (!record.enabled) return undefined;
  return new CronTime(record.cron, record.timezone).sendAt().toJSDate();
}

function toView(record: ScheduleRecord): ScheduleDto {
  const { kind, name, params } = record.target;
  return {
    ...record,
    target: kind === 'dag' ? { kind, name, conf: params } : { kind, name, args: params },
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    nextFireAt: nextFire(record)?.toISOString(),
  };
}
