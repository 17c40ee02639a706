import { AggregatorRegistry, register } from 'prom-client';
import { MetricsService } from './metrics.service';
import { metricValue } from './testing/metric-value';

/** What the primary answers for these workers: their registries combined as prom-client's AggregatorRegistry does. */
async function combined(...workers: MetricsService[]): Promise<string> {
  return AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()))).metrics();
}

/** The value of one exposition line, `name{labels} value`. */
function line(text: string, series: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${series} `));
  return found === undefined ? undefined : Number(found.slice(series.length + 1));
}

describe('MetricsService', () => {
  it("exposes the control plane's metrics with their help and type, and the process' default metrics", async () => {
    const text = await new MetricsService().scrape();

    for (const [name, type] of [
      ['http_requests_total', 'counter'],
      ['http_request_duration_seconds', 'histogram'],
      ['pipeline_events_accepted_total', 'counter'],
      ['pipeline_events_rejected_total', 'counter'],
      ['pipeline_events_deduplicated_total', 'counter'],
      ['pipeline_events_quarantined_total', 'counter'],
      ['pipeline_events_replayed_total', 'counter'],
      ['pipeline_kafka_produce_duration_seconds', 'histogram'],
      ['pipeline_kafka_produce_batch_records', 'histogram'],
      ['pipeline_schedule_fires_total', 'counter'],
      ['pipeline_upstream_errors_total', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_active_handles', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
      expect(text).toMatch(new RegExp(`# HELP ${name} \\S`));
    }
  });

  it('leaves out the default gauges named like counters, which Prometheus rejects', async () => {
    const text = await new MetricsService().scrape();

    expect(text).not.toMatch(/^# TYPE \S+_total gauge$/m);
    expect(text).not.toContain('nodejs_active_handles_total');
  });

  it("keeps its own registry: two services never share a value, and prom-client's global registry stays empty", async () => {
    const a = new MetricsService();
    const b = new MetricsService();

    a.accepted('clicks', 3);
    a.quarantined('orders', 2);
    a.replayed('orders', 1);

    expect(await metricValue(a, 'pipeline_events_accepted_total', { source: 'clicks' })).toBe(3);
    expect(await metricValue(a, 'pipeline_events_quarantined_total', { source: 'orders' })).toBe(2);
    expect(await metricValue(a, 'pipeline_events_replayed_total', { source: 'orders' })).toBe(1);
    expect(await metricValue(b, 'pipeline_events_accepted_total', { source: 'clicks' })).toBe(0);
    expect(await metricValue(b, 'pipeline_events_quarantined_total', { source: 'orders' })).toBe(0);
    expect(await register.getMetricsAsJSON()).toEqual([]);
  });

  it('counts and times an HTTP request under the same labels', async () => {
    const metrics = new MetricsService();

    metrics.httpRequest('/api/v1/sources', 'GET', 200, 0.002);
    metrics.httpRequest('/api/v1/sources', 'GET', 200, 0.004);
    metrics.httpRequest('/api/v1/sources', 'GET', 401, 0.0005);

    const ok = { route: '/api/v1/sources', method: 'GET', status: '200' };
    expect(await metricValue(metrics, 'http_requests_total', ok)).toBe(2);
    expect(await metricValue(metrics, 'http_request_duration_seconds_count', ok)).toBe(2);
    expect(await metricValue(metrics, 'http_request_duration_seconds_sum', ok)).toBeCloseTo(0.006);
    expect(await metricValue(metrics, 'http_request_duration_seconds_bucket', { ...ok, le: 0.0025 })).toBe(1);
    expect(await metricValue(metrics, 'http_request_duration_seconds_bucket', { ...ok, le: 0.005 })).toBe(2);
    expect(await metricValue(metrics, 'http_requests_total', { status: '401' })).toBe(1);
  });

  it('names upstreams in lower case', async () => {
    const metrics = new MetricsService();

    metrics.upstreamError('Cassandra', 504);

    expect(await metricValue(metrics, 'pipeline_upstream_errors_total', { upstream: 'cassandra', status: '504' })).toBe(1);
  });

  it('shows schedule fires and upstream errors at 0 before the first one, so the first shows as an increase', async () => {
    const text = await new MetricsService().scrape();

    expect(line(text, 'pipeline_schedule_fires_total{outcome="triggered"}')).toBe(0);
    expect(line(text, 'pipeline_schedule_fires_total{outcome="failed"}')).toBe(0);
    for (const upstream of ['kafka', 'cassandra', 'livy', 'airflow']) {
      for (const status of ['502', '503', '504']) expect(line(text, `pipeline_upstream_errors_total{upstream="${upstream}",status="${status}"}`)).toBe(0);
    }
  });

  it('lets another module register a gauge computed at scrape time', async () => {
    const metrics = new MetricsService();
    let lag = 42;
    metrics.gauge({
      name: 'pipeline_stream_lag_records',
      help: 'Records in Kafka not yet read by the streaming job',
      labelNames: ['source'],
      collect() {
        this.set({ source: 'users' }, lag);
      },
    });

    expect(line(await metrics.scrape(), 'pipeline_stream_lag_records{source="users"}')).toBe(42);
    lag = 7;
    expect(line(await metrics.scrape(), 'pipeline_stream_lag_records{source="users"}')).toBe(7);
  });

  it("combines workers as the primary does: their counts and histograms summed, a module's gauge not", async () => {
    const workers = [new MetricsService(), new MetricsService()];
    workers.forEach((w, i) => {
      w.httpRequest('/api/v1/ingest/:source', 'POST', 202, 0.01);
      w.accepted('clicks', 10 * (i + 1));
      w.kafkaProduce(0.02, 100, 'acked');
      // Every worker reads the same lag from Kafka, and one more source on the second.
      w.gauge({ name: 'pipeline_stream_lag_records', help: 'lag', labelNames: ['source'] }).set({ source: 'users' }, 5 + i);
      w.gauge({ name: 'pipeline_streams_running', help: 'a gauge that is meant to be summed', aggregator: 'sum' }).set(1);
    });

    const text = await combined(...workers);

    expect(line(text, 'http_requests_total{route="/api/v1/ingest/:source",method="POST",status="202"}')).toBe(2);
    expect(line(text, 'pipeline_events_accepted_total{source="clicks"}')).toBe(30);
    expect(line(text, 'pipeline_kafka_produce_batch_records_sum')).toBe(200);
    expect(line(text, 'pipeline_kafka_produce_duration_seconds_count{outcome="acked"}')).toBe(2);
    expect(line(text, 'pipeline_stream_lag_records{source="users"}')).toBe(6);
    expect(line(text, 'pipeline_streams_running')).toBe(2);
  });
});
