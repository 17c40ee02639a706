import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AIRFLOW_API, AirflowApi } from '../airflow/airflow.api';
import { CassandraClient } from '../cassandra/cassandra.client';
import { EventsRepository } from '../cassandra/events.repository';
import { StreamHeartbeat, StreamRepository } from '../cassandra/stream.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { withTimeout } from '../common/async/with-timeout';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { KafkaProducer } from '../kafka/kafka.producer';
import { LivyClient } from '../livy/livy.client';
import { STREAM_JOB, StreamingService } from '../processing/streaming.service';
import { DependencyStatusDto, PipelineDto, SourceFlowDto } from './dto/pipeline.dto';
import { verdict } from './verdict';

const PING_TIMEOUT_MS = 3000;
const SAMPLE_EVERY_MS = 10_000;
/** Rates are taken over the samples of about the last minute. */
const RATE_WINDOW_MS = 60_000;
const DAY_MS = 86_400_000;

interface Sample {
  at: number;
  /** Per topic: sum of end offsets, and of the offsets the stream processed. */
  end: Record<string, number>;
  processed: Record<string, number>;
}

type Offsets = Record<string, { partition: number; low: number; high: number }[]>;

/**
 * The pipeline as a whole, from the HTTP request to the stored row: per source, Kafka's end offsets
 * against the offsets the stream reports it processed (lag), the newest stored event (freshness),
 * rates in and out; the stream's state; each dependency; and a verdict. Readiness stays about the
 * API's own dependencies; this is what an operator watches.
 */
@Injectable()
export class PipelineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private samples: Sample[] = [];
  private sampler?: NodeJS.Timeout;

  constructor(
    private readonly kafka: KafkaProducer,
    private readonly cassandra: CassandraClient,
    private readonly events: EventsRepository,
    private readonly stream: StreamRepository,
    private readonly livy: LivyClient,
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
    private readonly sources: SourcesRegistry,
    private readonly streaming: StreamingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Rates need a history: each replica samples offsets every 10 s (one offsets request, one heartbeat read). */
  onApplicationBootstrap(): void {
    this.sampler = setInterval(() => void this.sample().catch(() => undefined), SAMPLE_EVERY_MS);
    this.sampler.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sampler);
  }

  async status(): Promise<PipelineDto> {
    const topics = this.sources.topics();
    const [dependencies, stream, offsets, heartbeat] = await Promise.all([
      this.dependencies(),
      this.streaming.status().catch(() => undefined),
      this.kafka.endOffsets(topics).catch(() => undefined),
      this.stream.heartbeat(STREAM_JOB).catch(() => undefined),
    ]);
    const now = Date.now();
    const current = offsets && this.record(now, offsets, heartbeat);
    const lastBatchAt = heartbeat?.lastBatchAt?.getTime();
    const batchRecent = lastBatchAt !== undefined && now - lastBatchAt < this.config.pipeline.stallSeconds * 1000;

    const sources: SourceFlowDto[] = await Promise.all(
      this.sources.list().map(async ({ name, topic }) => {
        const newest = await this.newestStored(name).catch(() => undefined);
        const freshnessSeconds = newest && Math.max(0, (now - newest.getTime()) / 1000);
        const partitions = offsets?.[topic] ?? [];
        const done = heartbeat?.offsets[topic] ?? {};
        let endOffset = 0;
        let processedOffset = 0;
        for (const p of partitions) {
          endOffset += p.high;
          processedOffset += Math.min(p.high, Math.max(p.low, done[String(p.partition)] ?? p.low));
        }
        const lagEvents = offsets ? endOffset - processedOffset : 0;
        let lagSeconds: number | undefined = 0;
        if (lagEvents > 0) lagSeconds = batchRecent && heartbeat?.lagMs !== undefined ? heartbeat.lagMs / 1000 : freshnessSeconds;
        return {
          source: name,
          topic,
          endOffset,
          processedOffset,
          lagEvents,
          lagSeconds: lagSeconds === undefined ? undefined : round(lagSeconds),
          newestReceivedAt: newest?.toISOString(),
          freshnessSeconds: freshnessSeconds === undefined ? undefined : round(freshnessSeconds),
          ...(current ? this.rates(topic, current) : {}),
        };
      }),
    );

    const down = dependencies.filter((d) => !d.up);
    const decided = verdict({
      streamState: stream?.state ?? 'unknown',
      desired: stream?.desired ?? 'running',
      streamError: stream?.error,
      down,
      sources: sources.map((s) => ({ source: s.source, lagEvents: s.lagEvents, lagSeconds: s.lagSeconds })),
      sinceLastBatchSeconds: lastBatchAt === undefined ? undefined : (now - lastBatchAt) / 1000,
      lagThresholdSeconds: this.config.pipeline.lagSeconds,
      stallSeconds: this.config.pipeline.stallSeconds,
    });
    return {
      ...decided,
      checkedAt: new Date(now).toISOString(),
      stream: {
        state: stream?.state ?? 'unknown',
        desired: stream?.desired ?? 'unknown',
        lastBatchAt: heartbeat?.lastBatchAt?.toISOString(),
        lastBatchDurationMs: heartbeat?.durationMs,
        restarts: stream?.restarts ?? 0,
        lastRestartReason: stream?.lastRestartReason,
        error: stream?.error,
      },
      dependencies,
      sources,
    };
  }

  private async dependencies(): Promise<DependencyStatusDto[]> {
    const pings: [string, () => Promise<unknown>][] = [
      ['kafka', () => this.kafka.ping()],
      ['cassandra', () => this.cassandra.ping()],
      ['livy', () => this.livy.ping()],
      ['airflow', () => this.airflow.ping()],
    ];
    return Promise.all(
      pings.map(async ([name, ping]) => {
        try {
          await withTimeout(ping(), PING_TIMEOUT_MS, `no answer within ${PING_TIMEOUT_MS} ms`);
          return { name, up: true };
        } catch (err) {
          return { name, up: false, message: (err as Error).message };
        }
      }),
    );
  }

  /** The newest stored event of a source, today or yesterday (UTC): older than that is not fresh anyway. */
  private async newestStored(source: string): Promise<Date | undefined> {
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);
    return (await this.events.newestIn(source, today)) ?? this.events.newestIn(source, yesterday);
  }

  private async sample(): Promise<void> {
    const [offsets, heartbeat] = await Promise.all([this.kafka.endOffsets(this.sources.topics()), this.stream.heartbeat(STREAM_JOB)]);
    this.record(Date.now(), offsets, heartbeat);
  }

  private record(at: number, offsets: Offsets, heartbeat?: StreamHeartbeat): Sample {
    const sample: Sample = { at, end: {}, processed: {} };
    for (const [topic, partitions] of Object.entries(offsets)) {
      const done = heartbeat?.offsets[topic] ?? {};
      sample.end[topic] = partitions.reduce((sum, p) => sum + p.high, 0);
      sample.processed[topic] = partitions.reduce((sum, p) => sum + Math.min(p.high, Math.max(p.low, done[String(p.partition)] ?? p.low)), 0);
    }
    this.samples = [...this.samples.filter((s) => at - s.at <= RATE_WINDOW_MS + SAMPLE_EVERY_MS), sample];
    return sample;
  }

  private rates(topic: string, current: Sample): { inPerSecond?: number; outPerSecond?: number } {
    const oldest = this.samples.find((s) => current.at - s.at >= 5_000 && s.end[topic] !== undefined);
    if (!oldest) return {};
    const seconds = (current.at - oldest.at) / 1000;
    return {
      inPerSecond: round(Math.max(0, current.end[topic] - oldest.end[topic]) / seconds),
      outPerSecond: round(Math.max(0, current.processed[topic] - oldest.processed[topic]) / seconds),
    };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
