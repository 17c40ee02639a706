import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { AIRFLOW_API, AirflowApi } from '../airflow/airflow.api';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { BatchesService } from '../processing/batches.service';
import { ScheduleRecord, SchedulesRepository } from '../cassandra/schedules.repository';
import { SchedulesService } from './schedules.service';

/**
 * Fires schedules. Every replica keeps a cron job per enabled schedule and re-reads the table every
 * SCHEDULES_SYNC_SECONDS, so a change made through any replica applies without a restart. Each fire
 * first takes a lease keyed by (schedule, fire time) with a Cassandra lightweight transaction: one
 * replica wins and triggers; the others skip.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SchedulerService.name);
  private readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  /** schedule id -> the version its cron job was made from; the jobs live in Nest's SchedulerRegistry */
  private readonly versions = new Map<string, string>();
  private syncTimer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private syncAgain = false;
  private stopped = false;

  constructor(
    private readonly repository: SchedulesRepository,
    private readonly schedules: SchedulesService,
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
    private readonly batches: BatchesService,
    private readonly registry: SchedulerRegistry,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedules.onChange(() => void this.sync());
    void this.sync();
    this.syncTimer = setInterval(() => void this.sync(), this.config.schedules.syncSeconds * 1000);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.syncTimer);
    for (const id of this.versions.keys()) this.unregister(id);
  }

  /** Brings this replica's cron jobs in line with the schedules table. */
  sync(): Promise<void> {
    if (this.syncing) {
      // A change may have landed after the running sync read the table: read it once more afterwards.
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = this.reconcile()
      .catch((err: Error) => this.logger.warn(`schedules not synced (${err.message}); retrying in ${this.config.schedules.syncSeconds} s`))
      .finally(() => {
        this.syncing = undefined;
        if (this.syncAgain) {
          this.syncAgain = false;
          void this.sync();
        }
      });
    return this.syncing;
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map((await this.repository.list()).filter((s) => s.enabled).map((s) => [s.id, s]));
    for (const [id, v] of this.versions) {
      const schedule = wanted.get(id);
      if (!schedule || version(schedule) !== v) this.unregister(id);
    }
    for (const [id, schedule] of wanted) {
      if (this.versions.has(id) || this.stopped) continue;
      // One bad row (e.g. written by an older version) must not keep the others from being registered.
      try {
        const job = CronJob.from({ cronTime: schedule.cron, timeZone: schedule.timezone, onTick: () => void this.fire(schedule) });
        this.registry.addCronJob(jobName(id), job);
        job.start();
        this.versions.set(id, version(schedule));
      } catch (err) {
        this.unregister(id);
        this.logger.warn(`schedule "${schedule.name}" (${id}) not registered: ${(err as Error).message}`);
      }
    }
  }

  private unregister(id: string): void {
    if (this.registry.doesExist('cron', jobName(id))) this.registry.deleteCronJob(jobName(id));
    this.versions.delete(id);
  }

  /** One tick: the replica that takes the lease triggers the target and records the outcome. */
  async fire(schedule: ScheduleRecord, at = new Date()): Promise<void> {
    // Cron ticks land within milliseconds of the second; rounding gives every replica the same key.
    const fireTime = new Date(Math.round(at.getTime() / 1000) * 1000);
    const lease = `schedule:${schedule.id}:${fireTime.toISOString()}`;
    let won: boolean;
    try {
      won = await this.repository.acquireLease(lease, this.holder);
    } catch (err) {
      this.logger.warn(`schedule "${schedule.name}" at ${fireTime.toISOString()}: lease not taken (${(err as Error).message}); skipped`);
      return;
    }
    if (!won) return;
    let runRef: string | undefined;
    let error: string | undefined;
    try {
      runRef = await this.trigger(schedule, fireTime);
    } catch (err) {
      error = (err as Error).message;
    }
    this.metrics.scheduleFired(error ? 'failed' : 'triggered');
    await this.repository
      .recordRun({ scheduleId: schedule.id, fireTime, status: error ? 'failed' : 'triggered', runRef, error, holder: this.holder, recordedAt: new Date() })
      .catch((err: Error) => this.logger.warn(`schedule "${schedule.name}": run not recorded (${err.message})`));
    if (error) this.logger.warn(`schedule "${schedule.name}" at ${fireTime.toISOString()} failed: ${error}`);
  }

  private async trigger(schedule: ScheduleRecord, fireTime: Date): Promise<string> {
    const { kind, name, params } = schedule.target;
    if (kind === 'dag') {
      // A run id derived from the fire time: Airflow itself refuses a second run with it.
      const runId = `schedule__${schedule.id.slice(0, 8)}__${fireTime.toISOString().replace(/[-:.]/g, '')}`;
      const conf = { ...params, scheduleId: schedule.id, fireTime: fireTime.toISOString() };
      return (await this.airflow.trigger(name, { runId, conf })).runId;
    }
    const batch = await this.batches.submit(name, { args: params });
    return `batch:${batch.id}`;
  }
}

const jobName = (id: string) => `schedule:${id}`;
const version = (s: ScheduleRecord) => `${s.cron}|${s.timezone}|${s.updatedAt.getTime()}`;
