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
import { MetricsService } from '../metrics/metrics.service';
import { STREAM_JOB, StreamingService } from '../processing/streaming.service';
import { DependencyStatusDto, PipelineDto, SourceFlowDto } from './dto/pipeline.dto';
import { verdict } from './verdict';
import { topicProgress } from '../common/offsets/topic-progress';

const PING_TIMEOUT_MS = 3000;
const SAMPLE_EVERY_MS = 10_000;
/** Rates are taken over the samples of about the last minute. */
const RATE_WINDOW_MS = 60_000;
const DAY_MS = 86_400_000;
/** A scrape reuses a status this recent, so the gauges of one scrape are one consistent reading. */
const GAUGE_STATUS_MAX_AGE_MS = 5_000;
const STREAM_STATES = ['running', 'running-unmanaged', 'starting', 'stopping', 'stopped', 'failed'];
const VERDICTS = ['flowing', 'lagging', 'stalled', 'stopped', 'degraded'];

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
  private latest?: { at: number; status: Promise<PipelineDto> };

  constructor(
    private readonly kafka: KafkaProducer,
    private readonly cassandra: CassandraClient,
    private readonly events: EventsRepository,
    private readonly stream: StreamRepository,
    private readonly livy: LivyClient,
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
    private readonly sources: SourcesRegistry,
    private readonly streaming: StreamingService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Rates need a history: each replica samples offsets every 10 s (one offsets request, one heartbeat read). */
  onApplicationBootstrap(): void {
    this.sampler = setInterval(() => void this.sample().catch(() => undefined), SAMPLE_EVERY_MS);
    this.sampler.unref();
    this.registerGauges();
  }

  /** The status, computed at most once per GAUGE_STATUS_MAX_AGE_MS for the gauges of a scrape. */
  private recentStatus(): Promise<PipelineDto> {
    if (!this.latest || Date.now() - this.latest.at > GAUGE_STATUS_MAX_AGE_MS) {
      this.latest = { at: Date.now(), status: this.status() };
      this.latest.status.catch(() => (this.latest = undefined));
    }
    return this.latest.status;
  }

  /**
   * The pipeline's gauges, read at scrape time from the same status GET /pipeline answers. Every
   * worker computes the same values, so they are combined by max, never summed.
   */
  private registerGauges(): void {
    const perSource = (name: string, help: string, value: (s: SourceFlowDto) => number | undefined) =>
      this.metrics.gauge({
        name,
        help,
        labelNames: ['source'],
        collect: async function (this: { set: (labels: { source: string }, v: number) => void; reset: () => void }) {
          this.reset();
          for (const s of (await status()).sources) {
            const v = value(s);
            if (v !== undefined) this.set({ source: s.source }, v);
          }
        },
      });
    const status = () => this.recentStatus();
    perSource('pipeline_lag_events', 'Events in Kafka not yet stored by the stream, per source', (s) => s.lagEvents);
    perSource('pipeline_lag_seconds', 'How far behind the stored data is, per source (see GET /api/v1/pipeline)', (s) => s.lagSeconds);
    perSource('pipeline_freshness_seconds', 'Seconds since the newest stored event of the source was received', (s) => s.freshnessSeconds);
    this.metrics.gauge({
      name: 'pipeline_stream_up',
      help: '1 while a copy of the streaming job runs (running or running-unmanaged), else 0',
      collect: async function (this: { set: (v: number) => void }) {
        this.set(['running', 'running-unmanaged'].includes((await status()).stream.state) ? 1 : 0);
      },
    });
    this.metrics.gauge({
      name: 'pipeline_stream_state',
      help: "The streaming job's state: 1 for the current one",
      labelNames: ['state'],
      collect: async function (this: { set: (labels: { state: string }, v: number) => void }) {
        const { state } = (await status()).stream;
        for (const s of STREAM_STATES) this.set({ state: s }, s === state ? 1 : 0);
      },
    });
    this.metrics.gauge({
      name: 'pipeline_stream_batch_duration_seconds',
      help: "Duration of the streaming job's last micro-batch",
      collect: async function (this: { set: (v: number) => void; reset: () => void }) {
        const ms = (await status()).stream.lastBatchDurationMs;
        if (ms === undefined) this.reset();
        else this.set(ms / 1000);
      },
    });
    this.metrics.gauge({
      name: 'pipeline_stream_restarts',
      help: 'Copies of the streaming job the supervisor started again since the stream was first started',
      collect: async function (this: { set: (v: number) => void }) {
        this.set((await status()).stream.restarts);
      },
    });
    this.metrics.gauge({
      name: 'pipeline_dependency_up',
      help: '1 when the dependency answered its last check, else 0',
      labelNames: ['dependency'],
      collect: async function (this: { set: (labels: { dependency: string }, v: number) => void }) {
        for (const d of (await status()).dependencies) this.set({ dependency: d.name }, d.up ? 1 : 0);
      },
    });
    this.metrics.gauge({
      name: 'pipeline_verdict',
      help: "The pipeline's verdict: 1 for the current one (flowing, lagging, stalled, stopped, degraded)",
      labelNames: ['verdict'],
      collect: async function (this: { set: (labels: { verdict: string }, v: number) => void }) {
        const { verdict: current } = await status();
        for (const v of VERDICTS) this.set({ verdict: v }, v === current ? 1 : 0);
      },
    });
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
        const { endOffset, processedOffset } = topicProgress(partitions, heartbeat?.offsets[topic] ?? {});
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
