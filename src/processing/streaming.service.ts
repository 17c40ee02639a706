import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { ConflictError } from '../common/errors/errors';
import { isTerminal, LivyClient } from '../livy/livy.client';
import { BatchesService } from './batches.service';
import { StreamingStatusDto } from './dto/processing.dto';

/** The catalog job that streams Kafka into Cassandra, and the Livy batch name that marks its one copy. */
export const STREAM_JOB = 'events_stream';
const AUTOSTART_RETRY_MS = 5000;

/**
 * Lifecycle of the streaming job. At most one copy runs: the batch carries a fixed Livy name, and
 * Livy refuses a second live session with the same name, which also holds across API replicas.
 */
@Injectable()
export class StreamingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StreamingService.name);
  private pending?: Promise<StreamingStatusDto>;
  private autostartTimer?: NodeJS.Timeout;
  private shuttingDown = false;

  constructor(
    private readonly batches: BatchesService,
    private readonly livy: LivyClient,
    private readonly sources: SourcesRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.streaming.autostart) this.autostart();
  }

  onApplicationShutdown(): void {
    this.shuttingDown = true;
    clearTimeout(this.autostartTimer);
  }

  async status(): Promise<StreamingStatusDto> {
    const current = await this.current();
    const topics = this.sources.topics();
    if (!current) {
      // Livy forgets a killed batch at once; the history still knows which batch it was and when it stopped.
      const last = await this.batches.latestOf(STREAM_JOB).catch(() => undefined);
      return { state: 'stopped', running: false, batchId: last?.id, appId: last?.appId, since: last?.finishedAt, topics };
    }
    const view = await this.batches.get(current.id);
    return {
      state: isTerminal(view.state) ? 'stopped' : view.state,
      running: !isTerminal(view.state),
      batchId: view.id,
      appId: view.appId,
      since: isTerminal(view.state) ? view.finishedAt : view.submittedAt,
      topics,
    };
  }

  /** Starts the job unless a copy is already live; concurrent calls share one attempt. */
  start(args: Record<string, unknown> = {}): Promise<StreamingStatusDto> {
    this.pending ??= this.startOnce(args).finally(() => (this.pending = undefined));
    return this.pending;
  }

  async stop(): Promise<StreamingStatusDto> {
    const current = await this.current();
    if (current && !isTerminal(current.state)) {
      await this.batches.kill(current.id);
      this.logger.log(`streaming job stopped (batch ${current.id})`);
    }
    return this.status();
  }

  private async startOnce(args: Record<string, unknown>): Promise<StreamingStatusDto> {
    const current = await this.current();
    if (current && !isTerminal(current.state)) return this.status();
    // A finished batch keeps its name in Livy for a while; remove it so the name is free again.
    if (current) await this.livy.deleteBatch(current.id);
    try {
      const batch = await this.batches.submit(STREAM_JOB, { args, name: STREAM_JOB });
      this.logger.log(`streaming job submitted (batch ${batch.id})`);
    } catch (err) {
      // Another replica won the race: its copy is the one copy.
      if (!(err instanceof ConflictError)) throw err;
    }
    return this.status();
  }

  private async current(): Promise<{ id: number; state: string } | undefined> {
    const named = (await this.livy.listBatches()).filter((b) => b.name === STREAM_JOB);
    return named.find((b) => !isTerminal(b.state)) ?? named.sort((a, b) => b.id - a.id)[0];
  }

  /** Keeps trying in the background until Livy takes the job, so the API starts even before Livy does. */
  private autostart(): void {
    this.start().then(
      (s) => this.logger.log(`streaming job ${s.running ? 'running' : s.state} (batch ${s.batchId})`),
      (err: Error) => {
        if (this.shuttingDown) return;
        this.logger.warn(`streaming job not started yet (${err.message}); retrying in ${AUTOSTART_RETRY_MS} ms`);
        this.autostartTimer = setTimeout(() => this.autostart(), AUTOSTART_RETRY_MS);
      },
    );
  }
}
