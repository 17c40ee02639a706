import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import cluster from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, GaugeConfiguration, Histogram, Registry } from 'prom-client';
import { PrimaryMetricsClient } from './cluster-metrics';

/** The source label of an ingest request naming no configured source: names sent by callers must not become label values. */
export const UNKNOWN_SOURCE = 'unknown';

/** Why an ingest request was refused (see IngestionService). */
export type RejectionReason =
  | 'unknown_source'
  | 'bad_signature'
  | 'unsupported_media_type'
  | 'too_large'
  | 'rate_limited'
  | 'bytes_in_flight'
  | 'unreadable_body'
  | 'bad_encoding'
  | 'bad_idempotency_key'
  | 'bad_utf8'
  | 'bad_json'
  | 'too_deep'
  | 'bad_number'
  | 'schema'
  | 'bad_header'
  | 'idempotency_key_reused'
  | 'idempotency_key_in_flight'
  | 'kafka_unavailable'
  | 'cassandra_unavailable'
  | 'internal';

export type ScheduleOutcome = 'triggered' | 'failed';

/** The dependencies whose errors are counted, as their adapters name them (lower-cased in the label). */
const UPSTREAMS = ['Kafka', 'Cassandra', 'Livy', 'Airflow'];
const UPSTREAM_STATUSES = [502, 503, 504];

/** Request durations from a millisecond to the longest deadline the API waits for (Airflow's ?wait aside). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Records per produce request: from a lone event to a full coalesced flush (~1 MB). */
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/**
 * prom-client's default gauges whose names end in _total, which Prometheus reserves for counters
 * (promtool rejects them). Their per-type breakdowns (nodejs_active_handles, ...) stay.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** A gauge another module keeps up to date, typically read at scrape time through `collect`. */
export type GaugeOptions<L extends string> = Pick<GaugeConfiguration<L>, 'name' | 'help' | 'labelNames' | 'collect'> & {
  /**
   * How the values of several API workers combine into the one scraped value. A gauge that every
   * worker computes alike (a Kafka lag, a freshness) must not be summed: the default is the highest.
   */
  aggregator?: 'max' | 'min' | 'first' | 'average' | 'sum';
};

/**
 * The control plane's Prometheus registry and every metric in it. Other modules record through
 * this service (never through prom-client's global registry), so a test reads exactly what the
 * code under test recorded.
 *
 * With API_WORKERS > 1 each worker process keeps its own registry; `scrape()` asks the primary
 * process, which sums the workers' registries (see cluster-metrics.ts).
 */
@Injectable()
export class MetricsService implements OnApplicationShutdown {
  readonly registry = new Registry();
  private readonly primary?: PrimaryMetricsClient;

  private readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request reaching the API to the last byte of its response',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly eventsAccepted = new Counter({
    name: 'pipeline_events_accepted_total',
    help: 'Events acknowledged by Kafka and answered 202, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private readonly eventsDeduplicated = new Counter({
    name: 'pipeline_events_deduplicated_total',
    help: 'Events of requests answered with the stored answer of an earlier request with the same idempotency key (published once), by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private readonly eventsRejected = new Counter({
    name: 'pipeline_events_rejected_total',
    help: 'Events refused by POST /ingest, by source and reason; a request refused before its body was split into events counts as one',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly eventsQuarantined = new Counter({
    name: 'pipeline_events_quarantined_total',
    help: 'Events that failed the schema of a quarantining source, acknowledged by Kafka in its dead-letter topic and answered 202, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private readonly eventsReplayed = new Counter({
    name: 'pipeline_events_replayed_total',
    help: "Dead letters published again to their source's topic by POST /dead-letters/{source}/replay, by source",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  private readonly produceDuration = new Histogram({
    name: 'pipeline_kafka_produce_duration_seconds',
    help: 'Duration of one produce request to Kafka (acks=all), by outcome',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly produceBatch = new Histogram({
    name: 'pipeline_kafka_produce_batch_records',
    help: 'Records in one produce request to Kafka (concurrent ingest requests share one)',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  private readonly scheduleFires = new Counter({
    name: 'pipeline_schedule_fires_total',
    help: 'Schedule fires by this API (only the replica that took the lease counts one), by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly upstreamErrors = new Counter({
    name: 'pipeline_upstream_errors_total',
    help: 'Requests answered 502/503/504 because a dependency refused, was unavailable or timed out, by dependency and status',
    labelNames: ['upstream', 'status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(name);
    // Series that exist from the start, at 0, so that the first failure shows as an increase.
    for (const outcome of ['triggered', 'failed'] as const) this.scheduleFires.inc({ outcome }, 0);
    for (const upstream of UPSTREAMS) for (const status of UPSTREAM_STATUSES) this.upstreamError(upstream, status, 0);
    if (cluster.isWorker) {
      // prom-client answers the primary's collection requests from the registries named here; its
      // listener in this worker is installed by the AggregatorRegistry constructor.
      AggregatorRegistry.setRegistries(this.registry);
      new AggregatorRegistry();
      this.primary = new PrimaryMetricsClient(process);
    }
  }

  /** The exposition text a scrape answers: this process's metrics, or with workers, their sum over all of them. */
  async scrape(): Promise<string> {
    return this.primary ? this.primary.clusterMetrics() : this.registry.metrics();
  }

  /** One answered HTTP request; `route` is the route pattern (see http-metrics.middleware.ts). */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  accepted(source: string, events: number): void {
    this.eventsAccepted.inc({ source }, events);
  }

  /** A retry answered with its first answer: its events were counted accepted once, by the first request. */
  deduplicated(source: string, events: number): void {
    this.eventsDeduplicated.inc({ source }, events);
  }

  rejected(source: string, reason: RejectionReason, events: number): void {
    this.eventsRejected.inc({ source, reason }, events);
  }

  /** Events accepted into a source's dead-letter topic instead of its own (onInvalid: quarantine). */
  quarantined(source: string, events: number): void {
    this.eventsQuarantined.inc({ source }, events);
  }

  /** Dead letters a replay published to their source's topic and marked replayed. */
  replayed(source: string, events: number): void {
    this.eventsReplayed.inc({ source }, events);
  }

  /** One produce request to Kafka: how long it took and how many records it carried. */
  kafkaProduce(seconds: number, records: number, outcome: 'acked' | 'failed'): void {
    this.produceDuration.observe({ outcome }, seconds);
    this.produceBatch.observe(records);
  }

  scheduleFired(outcome: ScheduleOutcome): void {
    this.scheduleFires.inc({ outcome });
  }

  /** A 502/503/504 answered to a caller because of a dependency, named as its adapter names it (Kafka, Cassandra, ...). */
  upstreamError(upstream: string, status: number, count = 1): void {
    this.upstreamErrors.inc({ upstream: upstream.toLowerCase(), status: String(status) }, count);
  }

  /**
   * Registers a gauge owned by another module (stream lag, freshness, ...). Pass `collect` to
   * compute it at scrape time. With several workers the values are combined by `aggregator`
   * (default: the highest), never summed unless asked.
   */
  gauge<L extends string>({ aggregator = 'max', ...options }: GaugeOptions<L>): Gauge<L> {
    return new Gauge<L>({ ...options, aggregator, registers: [this.registry] });
  }

  onApplicationShutdown(): void {
    this.primary?.close();
  }
}
