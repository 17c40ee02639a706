import { Inject, Injectable, Logger } from '@nestjs/common';
import { uuidV7 } from '../common/ids/uuid-v7';
import { BatchHistoryRepository, BatchRecord } from '../cassandra/batch-history.repository';
import { StreamHeartbeat, StreamRepository } from '../cassandra/stream.repository';
import { JobsCatalog, Provided, SparkJob } from '../catalogs/jobs.catalog';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ConflictError, NotFoundError, TooManyRequestsError } from '../common/errors/errors';
import { JAVA_INT_MAX } from '../common/http/params';
import { isTerminal, LivyBatch, LivyBatchRequest, LivyClient } from '../livy/livy.client';
import { BatchDto, BatchLogDto } from './dto/processing.dto';
import { freshHeartbeat } from './stream-state';

export interface SubmitOptions {
  args?: Record<string, unknown>;
  conf?: Record<string, string>;
}

/** Batches Livy knows but the control plane did not submit (e.g. sent to Livy directly) are named by Livy's id. */
const LIVY_ONLY = /^livy:(\d{1,10})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What a batch id looks like: the control plane's UUID, or livy:<n> (documented as the id parameter's pattern). */
export const BATCH_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|livy:\d{1,10})$/;

/** When a caller refused for too many batches at once is told to try again: about the time a short batch takes. */
const BUSY_RETRY_SECONDS = 30;

/** Where a batch id leads: a batch in the history (and Livy's copy of it, while Livy still has it), or Livy's alone. */
interface Located {
  record?: BatchRecord;
  livy?: LivyBatch;
  id: string;
}

/**
 * What the stream's heartbeat says of a streaming job's batch that Livy forgot: `alive` with the
 * heartbeat of its copy, which still reports itself; else whether that is `known` (false when the
 * heartbeat could not be read).
 */
interface CopyReport {
  alive?: StreamHeartbeat;
  known: boolean;
}

/** The heartbeat rows read for one answer, by stream: a list asks once per streaming job, not once per batch. */
type Heartbeats = Map<string, Promise<StreamHeartbeat | undefined>>;

/**
 * Spark batches through Livy. Every batch the control plane submits gets its own id (UUID v7) and
 * the Livy name `<job>-<id>`; Livy's id is only an attribute, because Livy numbers batches from 0
 * again after a restart. A Livy batch belongs to a record only when both id and name match.
 */
@Injectable()
export class BatchesService {
  private readonly logger = new Logger(BatchesService.name);
  /** Admissions in this process, one at a time, so a burst of submissions cannot all count the same free places. */
  private admissions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly livy: LivyClient,
    private readonly catalog: JobsCatalog,
    private readonly history: BatchHistoryRepository,
    private readonly stream: StreamRepository,
    private readonly sources: SourcesRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * POST /jobs/{name}/batches (and schedules): a batch job from the catalog, within the bounds on
   * batches running at once. A streaming job has its own lifecycle.
   */
  async submit(jobName: string, options: SubmitOptions = {}): Promise<BatchDto> {
    const job = this.catalog.get(jobName);
    if (job.streaming) {
      throw new ConflictError(
        `Job "${job.name}" is a streaming job: it runs as one supervised copy. Start it with POST /api/v1/streaming/start (and stop it with POST /api/v1/streaming/stop)`,
      );
    }
    const id = uuidV7();
    const request = this.request(job, options, id);
    return this.send(job, request, id, () => this.checkCapacity(job));
  }

  /** Submits the job as a Livy batch under the given (or a new) id, its args and conf checked against the catalog. */
  async launch(job: SparkJob, options: SubmitOptions, id: string = uuidV7()): Promise<BatchDto> {
    return this.send(job, this.request(job, options, id), id);
  }

  /**
   * What Livy is asked to run: the caller's args and conf, each checked against the catalog (400),
   * then the control plane's own settings, which therefore always win.
   */
  private request(job: SparkJob, options: SubmitOptions, id: string): LivyBatchRequest {
    const args = [...JobsCatalog.toCommandLine(job, options.args ?? {}), ...job.provided.flatMap((p) => this.provided(p, id))];
    const { remoteJobsDir, packages } = this.config.spark;
    const conf: Record<string, string> = {
      ...JobsCatalog.toSparkConf(job, options.conf ?? {}),
      ...(packages.length ? { 'spark.jars.packages': packages.join(',') } : {}),
    };
    return {
      file: `${remoteJobsDir}/${job.file}`,
      pyFiles: job.pyFiles.map((f) => `${remoteJobsDir}/${f}`),
      name: `${job.name}-${id}`,
      args,
      conf,
    };
  }

  private async send(job: SparkJob, request: LivyBatchRequest, id: string, admit?: () => Promise<void>): Promise<BatchDto> {
    const { name, args = [], conf } = request;
    const submittedAt = new Date();
    const create = () => this.livy.createBatch(request);
    const batch = admit
      ? await this.oneAtATime(async () => {
          await admit();
          return create();
        })
      : await create();
    const record: BatchRecord = { id, livyId: batch.id, job: job.name, name, state: batch.state, appId: batch.appId ?? undefined, args, conf, submittedAt };
    // The batch runs whether or not its history is written; a Cassandra hiccup must not hide that.
    await this.history.record(record).catch((err: Error) => this.logger.warn(`batch ${id}: history not recorded (${err.message})`));
    return this.view({ id, record, livy: batch });
  }

  /** Every batch in the history (with Livy's state while Livy has it), and Livy's batches the control plane did not submit. */
  async list(): Promise<BatchDto[]> {
    const askedAt = new Date();
    const [live, records] = await Promise.all([this.livy.listBatches(), this.history.list().catch(() => [] as BatchRecord[])]);
    const liveByName = new Map(live.filter((b) => b.name).map((b) => [b.name!, b]));
    const mine = new Set<LivyBatch>();
    const heartbeats: Heartbeats = new Map();
    const views = await Promise.all(
      records.map(async (record) => {
        const batch = liveByName.get(record.name ?? '');
        if (!batch || batch.id !== record.livyId) return this.forgotten(record, askedAt, heartbeats);
        mine.add(batch);
        return this.observe({ id: record.id, record, livy: batch });
      }),
    );
    const others = live.filter((b) => !mine.has(b)).map((b) => this.view({ id: `livy:${b.id}`, livy: b }));
    views.sort((a, b) => (b.submittedAt ?? '').localeCompare(a.submittedAt ?? ''));
    return [...views, ...others.reverse()];
  }

  async get(id: string): Promise<BatchDto> {
    const askedAt = new Date();
    const found = await this.locate(id);
    if (found.livy) return this.observe(found);
    return this.forgotten(found.record!, askedAt);
  }

  /** A page of the batch's log from line `from`, or with `tail` its last `tail` lines. */
  async log(id: string, from: number, size: number, tail?: number): Promise<BatchLogDto> {
    const { livy } = await this.locate(id);
    let log = livy && (await this.livy.getLog(livy.id, tail === undefined ? from : 0, tail === undefined ? size : 0));
    if (livy && log && tail !== undefined) log = await this.livy.getLog(livy.id, Math.max(0, log.total - tail), tail);
    if (!log) throw new NotFoundError(`Batch ${id} has no log in Livy (Livy has forgotten it: it was killed, or Livy restarted)`);
    return { id, from: log.from, total: log.total, lines: log.log };
  }

  /**
   * DELETE /batches/{id}: kills a batch, but never the streaming job's, which only the streaming
   * routes stop (its supervisor would otherwise start it again at once).
   */
  async kill(id: string): Promise<BatchDto> {
    const found = await this.locate(id);
    const job = found.record?.job ?? this.jobOfName(found.livy?.name ?? undefined);
    if (this.isStreaming(job)) {
      throw new ConflictError(
        `Batch ${id} runs the streaming job "${job}": stop it with POST /api/v1/streaming/stop (killed here, its supervisor would only start it again)`,
      );
    }
    return this.terminate(found);
  }

  /** Kills the streaming job's batch: for the streaming service, which owns that job's lifecycle. */
  async killStreaming(id: string): Promise<BatchDto> {
    return this.terminate(await this.locate(id));
  }

  /** Kills a located batch. Livy forgets a killed batch at once, so its end is recorded in the history. */
  private async terminate(found: Located): Promise<BatchDto> {
    const { id, record, livy } = found;
    if (!livy) return this.forgotten(record!, new Date());
    if (isTerminal(livy.state)) return this.observe(found);
    await this.livy.deleteBatch(livy.id);
    const finishedAt = new Date();
    if (record) {
      await this.history.finish(record, 'killed', finishedAt).catch((err: Error) => this.logger.warn(`batch ${id}: kill not recorded (${err.message})`));
    }
    return { ...this.view(found), state: 'killed', finishedAt: finishedAt.toISOString() };
  }

  /** The batch an id names, or 404. Livy's batch is taken only when its name is the recorded one. */
  async locate(id: string): Promise<Located> {
    const livyOnly = LIVY_ONLY.exec(id);
    // Livy's ids are Java ints: a larger one names no batch, and Livy would fail on it rather than say so.
    if (livyOnly && Number(livyOnly[1]) <= JAVA_INT_MAX) {
      const livy = await this.livy.getBatch(Number(livyOnly[1]));
      if (!livy) throw new NotFoundError(`Batch ${id} is not known to Livy`);
      return { id, livy };
    }
    const record = UUID.test(id) ? await this.history.get(id) : undefined;
    if (!record) throw new NotFoundError(`Batch ${id} is not known to the control plane (ids come from POST /jobs/{name}/batches or GET /batches)`);
    const livy = await this.livy.getBatch(record.livyId);
    return { id, record, livy: livy && livy.name === record.name ? livy : undefined };
  }

  /** Livy's view, with the finish time recorded the first time a terminal state is seen. */
  private async observe(found: Located): Promise<BatchDto> {
    const { record, livy } = found;
    if (record && livy && isTerminal(livy.state) && !record.finishedAt) {
      record.finishedAt = new Date();
      await this.history.finish(record, livy.state, record.finishedAt).catch(() => undefined);
    }
    return this.view(found);
  }

  private view({ id, record, livy }: Located): BatchDto {
    return {
      id,
      livyId: livy?.id ?? record?.livyId,
      job: record?.job ?? this.jobOfName(livy?.name ?? undefined),
      name: livy?.name ?? record?.name,
      state: livy?.state ?? 'unknown',
      appId: livy?.appId ?? record?.appId,
      appInfo: livy?.appInfo,
      args: record?.args,
      conf: record?.conf,
      submittedAt: record?.submittedAt.toISOString(),
      finishedAt: record?.finishedAt?.toISOString(),
    };
  }

  /**
   * A batch Livy no longer knows: killed (recorded), or lost in a Livy restart. A lost batch is
   * recorded as finished the first time it is seen lost, so the retention applies to it too; but
   * only one submitted before Livy was asked, since a newer one may simply postdate Livy's answer.
   * The streaming job's copy outlives a Livy restart (its driver goes on, and the supervisor adopts
   * it): while its heartbeat says it runs, it is running, adopted, and nothing is recorded; nor while
   * the heartbeat cannot be read.
   */
  private async forgotten(record: BatchRecord, livyAskedAt: Date, heartbeats: Heartbeats = new Map()): Promise<BatchDto> {
    const copy = await this.copyReport(record, heartbeats);
    if (copy.alive) {
      return { ...this.recordView(record), state: 'running', adopted: true, appId: copy.alive.appId ?? record.appId };
    }
    if (copy.known && !record.finishedAt && record.submittedAt < livyAskedAt) {
      void this.history.finish(record, 'lost', livyAskedAt).catch(() => undefined);
    }
    // Livy no longer knows the batch: either it was killed (recorded) or Livy restarted and lost it.
    return { ...this.recordView(record), state: record.finishedAt ? (record.state ?? 'unknown') : 'lost' };
  }

  /**
   * Whether an unfinished batch of a streaming job still runs though Livy forgot it: its copy
   * reports itself in the stream's heartbeat under this batch's id, and recently, which is how the
   * streaming service judges a copy alive (the job writes that row only while it holds the stream's lease).
   */
  private async copyReport(record: BatchRecord, heartbeats: Heartbeats): Promise<CopyReport> {
    if (record.finishedAt || !this.isStreaming(record.job)) return { known: true };
    let read = heartbeats.get(record.job);
    if (!read) heartbeats.set(record.job, (read = this.stream.heartbeat(record.job)));
    let heartbeat: StreamHeartbeat | undefined;
    try {
      heartbeat = await read;
    } catch (err) {
      this.logger.warn(`batch ${record.id}: the stream's heartbeat could not be read (${(err as Error).message}); not recorded as lost`);
      return { known: false };
    }
    const fresh = freshHeartbeat({ heartbeat, now: new Date(), staleMs: this.config.streaming.heartbeatStaleSeconds * 1000 });
    return { alive: fresh?.batchId === record.id ? fresh : undefined, known: true };
  }

  /** What the history says of a batch. */
  private recordView(record: BatchRecord): BatchDto {
    return {
      id: record.id,
      livyId: record.livyId,
      job: record.job,
      name: record.name,
      state: record.state ?? 'unknown',
      appId: record.appId,
      args: record.args,
      conf: record.conf,
      submittedAt: record.submittedAt.toISOString(),
      finishedAt: record.finishedAt?.toISOString(),
    };
  }

  /** Addresses, topics and directories come from the control plane's configuration, never from the caller. */
  private provided(what: Provided, batchId: string): string[] {
    const { streaming, cassandra } = this.config;
    switch (what) {
      case 'topics': {
        // Every topic, the dead-letter ones included, and whose each is: the job files a record it
        // cannot read under its topic's source, and reads the dead-letter topics as quarantined events.
        const deadLetters = this.sources.deadLetterTopics();
        return [
          '--topics',
          this.sources.allTopics().join(','),
          '--topic-sources',
          this.sources
            .topicSources()
            .map(({ topic, source }) => `${topic}=${source}`)
            .join(','),
          ...(deadLetters.length > 0 ? ['--dead-letter-topics', deadLetters.join(',')] : []),
          // The time bucket of each source's events partitions (events_by_bucket).
          '--bucket-seconds',
          this.sources
            .bucketSeconds()
            .map(({ source, seconds }) => `${source}=${seconds}`)
            .join(','),
        ];
      }
      case 'kafka':
        return ['--kafka-bootstrap', streaming.kafkaBootstrap.join(',')];
      case 'cassandra':
        return [
          '--cassandra-host',
          streaming.cassandraHosts.map((h) => h.split(':')[0]).join(','),
          '--cassandra-port',
          streaming.cassandraHosts[0].split(':')[1] ?? '9042',
          '--keyspace',
          cassandra.keyspace,
        ];
      case 'checkpoint':
        return ['--checkpoint-dir', streaming.checkpointDir];
      case 'batch':
        return ['--batch-id', batchId];
    }
  }

  /**
   * 429 when the job already has SPARK_MAX_CONCURRENT_BATCHES_PER_JOB batches not ended in Livy, or
   * Livy SPARK_MAX_CONCURRENT_BATCHES in all. The streaming job's copy is not counted: it is always
   * meant to run, and the limits are for the batches beside it. Batches submitted to Livy directly are.
   */
  private async checkCapacity(job: SparkJob): Promise<void> {
    const { maxConcurrentBatches, maxConcurrentBatchesPerJob } = this.config.spark.limits;
    const streaming = new Set(
      this.catalog
        .list()
        .filter((j) => j.streaming)
        .map((j) => j.name),
    );
    const active = (await this.livy.listBatches()).filter((b) => !isTerminal(b.state) && !streaming.has(this.jobOfName(b.name ?? undefined) ?? ''));
    const ofJob = active.filter((b) => b.name?.startsWith(`${job.name}-`)).length;
    if (ofJob >= maxConcurrentBatchesPerJob) {
      throw new TooManyRequestsError(
        `Job "${job.name}" already has ${ofJob} batches starting or running, its most at once (SPARK_MAX_CONCURRENT_BATCHES_PER_JOB=${maxConcurrentBatchesPerJob}); retry when one has ended`,
        BUSY_RETRY_SECONDS,
      );
    }
    if (active.length >= maxConcurrentBatches) {
      throw new TooManyRequestsError(
        `${active.length} Spark batches are already starting or running, the most at once (SPARK_MAX_CONCURRENT_BATCHES=${maxConcurrentBatches}); retry when one has ended`,
        BUSY_RETRY_SECONDS,
      );
    }
  }

  /** Runs the admissions of this process one after the other (the next starts when the previous settled). */
  private oneAtATime<T>(admission: () => Promise<T>): Promise<T> {
    const run = this.admissions.then(admission, admission);
    this.admissions = run.catch(() => undefined);
    return run;
  }

  private isStreaming(job?: string): boolean {
    return job !== undefined && this.catalog.list().some((j) => j.name === job && j.streaming);
  }

  private jobOfName(name?: string): string | undefined {
    if (!name) return undefined;
    return this.catalog.list().find((j) => name === j.name || name.startsWith(`${j.name}-`))?.name;
  }
}
