import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BatchHistoryRepository, BatchRecord } from '../cassandra/batch-history.repository';
import { JobsCatalog, Provided } from '../catalogs/jobs.catalog';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { NotFoundError } from '../common/errors/errors';
import { isTerminal, LivyBatch, LivyClient } from '../livy/livy.client';
import { BatchDto, BatchLogDto } from './dto/processing.dto';

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
    private readonly sources: SourcesRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Validates the args against the catalog and submits the job as a Livy batch. */
  async submit(jobName: string, options: SubmitOptions = {}): Promise<BatchDto> {
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
  async list(): Promise<BatchDto[]> {
    const askedAt = new Date();
    const [live, records] = await Promise.all([this.livy.listBatches(), this.history.list().catch(() => [] as BatchRecord[])]);
    const byId = new Map(records.map((r) => [r.id, r]));
    const views = await Promise.all(live.map((b) => this.observe(b, byId.get(b.id))));
    const liveIds = new Set(live.map((b) => b.id));
    const forgotten = records.filter((r) => !liveIds.has(r.id)).map((r) => this.forgotten(r, askedAt));
    return [...views, ...forgotten].sort((a, b) => b.id - a.id);
  }

  /** The most recent batch of a job in the control plane's history. */
  async latestOf(jobName: string): Promise<BatchDto | undefined> {
    const records = (await this.history.list()).filter((r) => r.job === jobName);
    const latest = records.sort((a, b) => b.submittedAt.getTime() - a.submittedAt.getTime())[0];
    return latest ? this.fromRecord(latest) : undefined;
  }

  async get(id: number): Promise<BatchDto> {
    const askedAt = new Date();
    const [batch, record] = await Promise.all([this.livy.getBatch(id), this.history.get(id).catch(() => undefined)]);
    if (batch) return this.observe(batch, record);
    if (record) return this.forgotten(record, askedAt);
    throw new NotFoundError(`Batch ${id} is not known to Livy or to the control plane`);
  }

  async log(id: number, from: number, size: number): Promise<BatchLogDto> {
    const log = await this.livy.getLog(id, from, size);
    if (!log) throw new NotFoundError(`Batch ${id} has no log in Livy (it is unknown, or Livy has forgotten it)`);
    return { id, from: log.from, total: log.total, lines: log.log };
  }

  /** Kills a batch. Livy forgets a killed batch at once, so its end is recorded in the history. */
  async kill(id: number): Promise<BatchDto> {
    const batch = await this.livy.getBatch(id);
    if (!batch) {
      const record = await this.history.get(id).catch(() => undefined);
      if (record) return this.forgotten(record, new Date());
      throw new NotFoundError(`Batch ${id} is not known to Livy or to the control plane`);
    }
    const record = await this.history.get(id).catch(() => undefined);
    if (isTerminal(batch.state)) return this.observe(batch, record);
    await this.livy.deleteBatch(id);
    const finishedAt = new Date();
    if (record) {
      await this.history.finish(record, 'killed', finishedAt).catch((err: Error) => this.logger.warn(`batch ${id}: kill not recorded (${err.message})`));
    }
    return { ...this.view(batch, record), state: 'killed', finishedAt: finishedAt.toISOString() };
  }

  /** Livy's view, with the finish time recorded the first time a terminal state is seen. */
  private async observe(batch: LivyBatch, record?: BatchRecord): Promise<BatchDto> {
    if (record && isTerminal(batch.state) && !record.finishedAt) {
      record.finishedAt = new Date();
      await this.history.finish(record, batch.state, record.finishedAt).catch(() => undefined);
    }
    return this.view(batch, record);
  }

  private view(batch: LivyBatch, record?: BatchRecord): BatchDto {
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

  /**
   * A batch Livy no longer knows: killed (recorded), or lost in a Livy restart. A lost batch is
   * recorded as finished the first time it is seen lost, so the retention applies to it too; but
   * only one submitted before Livy was asked, since a newer one may simply postdate Livy's answer.
   */
  private forgotten(record: BatchRecord, livyAskedAt: Date): BatchDto {
    if (!record.finishedAt && record.submittedAt < livyAskedAt) {
      void this.history.finish(record, 'lost', livyAskedAt).catch(() => undefined);
    }
    return this.fromRecord(record);
  }

  private fromRecord(record: BatchRecord): BatchDto {
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
        return ['--topics', this.sources.topics().join(',')];
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
