import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { NotFoundError } from '../common/errors/errors';
import { BatchHistoryRepository, BatchRecord } from '../storage/batch-history.repository';
import { IngestionService } from '../ingestion/ingestion.service';
import { JobsCatalog, Provided, SparkJob } from './jobs.catalog';
import { LivyBatch, LivyClient } from './livy.client';

/** Livy states after which a batch never changes again. */
export const TERMINAL_STATES = new Set(['success', 'dead', 'killed', 'error']);

export interface BatchView {
  id: number;
  job?: string;
  name?: string;
  state: string;
  appId?: string;
  appInfo?: Record<string, string | null>;
  args?: string[];
  submittedAt?: string;
  finishedAt?: string;
}

export interface SubmitOptions {
  args?: Record<string, unknown>;
  conf?: Record<string, string>;
  /** A fixed Livy batch name; Livy refuses a second live batch with the same name. */
  name?: string;
}

@Injectable()
export class BatchesService {
  private readonly logger = new Logger(BatchesService.name);

  constructor(
    private readonly livy: LivyClient,
    private readonly catalog: JobsCatalog,
    private readonly history: BatchHistoryRepository,
    private readonly ingestion: IngestionService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Livy's answer to a small list request, for readiness. */
  pingLivy(): Promise<{ batches: number }> {
    return this.livy.ping();
  }

  jobs(): SparkJob[] {
    return this.catalog.list();
  }

  job(name: string): SparkJob {
    return this.catalog.get(name);
  }

  /** Validates the args against the catalog and submits the job as a Livy batch. */
  async submit(jobName: string, options: SubmitOptions = {}): Promise<BatchView> {
    const job = this.catalog.get(jobName);
    const args = [...JobsCatalog.toCommandLine(job, options.args ?? {}), ...job.provided.flatMap((p) => this.provided(p))];
    const { remoteJobsDir, packages } = this.config.spark;
    const conf: Record<string, string> = {
      ...(packages.length ? { 'spark.jars.packages': packages.join(',') } : {}),
      ...(options.conf ?? {}),
    };
    const name = options.name ?? `${job.name}-${randomBytes(4).toString('hex')}`;
    const submittedAt = new Date();
    const batch = await this.livy.createBatch({
      file: `${remoteJobsDir}/${job.file}`,
      pyFiles: job.pyFiles.map((f) => `${remoteJobsDir}/${f}`),
      name,
      args,
      conf,
    });
    const record: BatchRecord = { id: batch.id, job: job.name, name, state: batch.state, appId: batch.appId ?? undefined, args, submittedAt };
    // The batch runs whether or not its history is written; a Cassandra hiccup must not hide that.
    await this.history.record(record).catch((err: Error) => this.logger.warn(`batch ${batch.id}: history not recorded (${err.message})`));
    return this.view(batch, record);
  }

  /** Livy's batches, plus the ones Livy has forgotten (killed, or lost in a Livy restart) from the history. */
  async list(): Promise<BatchView[]> {
    const [live, records] = await Promise.all([this.livy.listBatches(), this.history.list().catch(() => [] as BatchRecord[])]);
    const byId = new Map(records.map((r) => [r.id, r]));
    const views = await Promise.all(live.map((b) => this.observe(b, byId.get(b.id))));
    const liveIds = new Set(live.map((b) => b.id));
    const forgotten = records.filter((r) => !liveIds.has(r.id)).map((r) => this.fromRecord(r));
    return [...views, ...forgotten].sort((a, b) => b.id - a.id);
  }

  /** The most recent batch of a job in the control plane's history. */
  async latestOf(jobName: string): Promise<BatchView | undefined> {
    const records = (await this.history.list()).filter((r) => r.job === jobName);
    const latest = records.sort((a, b) => b.submittedAt.getTime() - a.submittedAt.getTime())[0];
    return latest ? this.fromRecord(latest) : undefined;
  }

  async get(id: number): Promise<BatchView> {
    const [batch, record] = await Promise.all([this.livy.getBatch(id), this.history.get(id).catch(() => undefined)]);
    if (batch) return this.observe(batch, record);
    if (record) return this.fromRecord(record);
    throw new NotFoundError(`Batch ${id} is not known to Livy or to the control plane`);
  }

  async log(id: number, from: number, size: number): Promise<{ id: number; from: number; total: number; lines: string[] }> {
    const log = await this.livy.getLog(id, from, size);
    if (!log) throw new NotFoundError(`Batch ${id} has no log in Livy (it is unknown, or Livy has forgotten it)`);
    return { id, from: log.from, total: log.total, lines: log.log };
  }

  /** Kills a batch. Livy forgets a killed batch at once, so its end is recorded in the history. */
  async kill(id: number): Promise<BatchView> {
    const batch = await this.livy.getBatch(id);
    if (!batch) {
      const record = await this.history.get(id).catch(() => undefined);
      if (record) return this.fromRecord(record);
      throw new NotFoundError(`Batch ${id} is not known to Livy or to the control plane`);
    }
    const record = await this.history.get(id).catch(() => undefined);
    if (TERMINAL_STATES.has(batch.state)) return this.observe(batch, record);
    await this.livy.deleteBatch(id);
    const finishedAt = new Date();
    await this.history.finish(id, 'killed', finishedAt).catch((err: Error) => this.logger.warn(`batch ${id}: kill not recorded (${err.message})`));
    return { ...this.view(batch, record), state: 'killed', finishedAt: finishedAt.toISOString() };
  }

  /** Livy's view, with the finish time recorded the first time a terminal state is seen. */
  private async observe(batch: LivyBatch, record?: BatchRecord): Promise<BatchView> {
    if (record && TERMINAL_STATES.has(batch.state) && !record.finishedAt) {
      record.finishedAt = new Date();
      await this.history.finish(batch.id, batch.state, record.finishedAt).catch(() => undefined);
    }
    return this.view(batch, record);
  }

  private view(batch: LivyBatch, record?: BatchRecord): BatchView {
    return {
      id: batch.id,
      job: record?.job ?? this.jobOfName(batch.name ?? undefined),
      name: batch.name ?? record?.name,
      state: batch.state,
      appId: batch.appId ?? record?.appId,
      appInfo: batch.appInfo,
      args: record?.args,
      submittedAt: record?.submittedAt.toISOString(),
      finishedAt: record?.finishedAt?.toISOString(),
    };
  }

  private fromRecord(record: BatchRecord): BatchView {
    return {
      id: record.id,
      job: record.job,
      name: record.name,
      // Livy no longer knows the batch: either it was killed (recorded) or Livy restarted and lost it.
      state: record.finishedAt ? (record.state ?? 'unknown') : 'lost',
      appId: record.appId,
      args: record.args,
      submittedAt: record.submittedAt.toISOString(),
      finishedAt: record.finishedAt?.toISOString(),
    };
  }

  /** Addresses, topics and directories come from the control plane's configuration, never from the caller. */
  private provided(what: Provided): string[] {
    const { streaming, cassandra } = this.config;
    switch (what) {
      case 'topics':
        return ['--topics', this.ingestion.listSources().map((s) => s.topic).join(',')];
      case 'kafka':
        return ['--kafka-bootstrap', streaming.kafkaBootstrap.join(',')];
      case 'cassandra':
        return [
          '--cassandra-host', streaming.cassandraHosts.map((h) => h.split(':')[0]).join(','),
          '--cassandra-port', streaming.cassandraHosts[0].split(':')[1] ?? '9042',
          '--keyspace', cassandra.keyspace,
        ];
      case 'checkpoint':
        return ['--checkpoint-dir', streaming.checkpointDir];
    }
  }

  private jobOfName(name?: string): string | undefined {
    if (!name) return undefined;
    return this.catalog.list().find((j) => name === j.name || name.startsWith(`${j.name}-`))?.name;
  }
}
