import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { FakeAirflow } from '../airflow/testing/fake-airflow';
import { BatchHistoryRepository } from '../cassandra/batch-history.repository';
import { CassandraClient } from '../cassandra/cassandra.client';
import { EventsRepository, StoredEvent } from '../cassandra/events.repository';
import { StreamHeartbeat } from '../cassandra/stream.repository';
import { InMemoryBatchHistory } from '../cassandra/testing/in-memory-batch-history.repository';
import { InMemoryEventsRepository } from '../cassandra/testing/in-memory-events.repository';
import { InMemoryLeasesRepository } from '../cassandra/testing/in-memory-leases.repository';
import { InMemoryStreamRepository } from '../cassandra/testing/in-memory-stream.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { FakeLivy } from '../livy/testing/fake-livy';
import { BatchesService } from '../processing/batches.service';
import { MetricsService } from '../metrics/metrics.service';
import { STREAM_JOB, StreamingService } from '../processing/streaming.service';
import { PipelineDto, SourceFlowDto } from './dto/pipeline.dto';
import { PipelineService } from './pipeline.service';

const SOURCES = 'sources:\n  users: { topic: users_created }\n  orders: {}\n';
const TOPICS = ['users_created', 'ingest.orders'];
const T0 = new Date('2026-01-02T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

/**
 * The real PipelineService over the shared fakes (Kafka, the events table, the stream rows, Livy,
 * Airflow) and a real StreamingService over the same fakes; Cassandra's own ping is a stand-in.
 */
function setup(env: Record<string, string> = {}) {
  const config = testConfig(env);
  const kafka = new FakeKafkaProducer();
  const cassandra = { ping: jest.fn(async (): Promise<{ releaseVersion: string }> => ({ releaseVersion: '4.1.5' })) };
  const events = new InMemoryEventsRepository();
  const stream = new InMemoryStreamRepository();
  const livy = new FakeLivy();
  const airflow = new FakeAirflow();
  const sources = sourcesRegistry(SOURCES);
  const metrics = new MetricsService();
  const catalog = new JobsCatalog(config);
  const batches = new BatchesService(livy.client, catalog, new InMemoryBatchHistory() as unknown as BatchHistoryRepository, stream.repository, sources, config);
  const streaming = new StreamingService(
    batches,
    livy.client,
    kafka.producer,
    stream.repository,
    new InMemoryLeasesRepository().repository,
    catalog,
    sources,
    config,
  );
  const service = new PipelineService(
    kafka.producer,
    cassandra as unknown as CassandraClient,
    events as unknown as EventsRepository,
    stream.repository,
    livy.client,
    airflow,
    sources,
    streaming,
    metrics,
    config,
  );

  /** The stream was started and its copy reports itself running now, with these fields. */
  const streamRuns = async (fields: Partial<StreamHeartbeat> = {}) => {
    await streaming.start();
    livy.setState(0, 'running');
    reports(fields);
  };
  /** The running copy's heartbeat, as the job writes it. */
  const reports = (fields: Partial<StreamHeartbeat>) =>
    stream.report(STREAM_JOB, {
      runId: 'run-1',
      batchId: stream.stored(STREAM_JOB)?.batchId,
      state: 'running',
      seenAt: new Date(),
      startedAt: T0,
      topics: TOPICS,
      offsets: {},
      ...fields,
    });
  const stored = (source: string, receivedAt: Date): StoredEvent => ({
    eventId: `${source}-${receivedAt.getTime()}`,
    source,
    receivedAt,
    payload: Buffer.from('{}'),
  });
  return { service, kafka, cassandra, events, stream, livy, airflow, streaming, streamRuns, reports, stored, metrics };
}

const source = (dto: PipelineDto, name: string): SourceFlowDto => dto.sources.find((s) => s.source === name)!;

fakeClockAndQuietLogs(T0);

describe('PipelineService.status: lag', () => {
  it('counts per source the events in Kafka the stream has not processed, a partition it never read from its low offset', async () => {
    const { service, kafka, streamRuns } = setup();
    kafka.offsets = {
      users_created: [
        { partition: 0, low: 0, high: 100 },
        { partition: 1, low: 10, high: 50 },
      ],
      'ingest.orders': [
        { partition: 0, low: 0, high: 30 },
        { partition: 1, low: 5, high: 5 },
        { partition: 2, low: 20, high: 80 },
      ],
    };
    await streamRuns({ lastBatchAt: T0, offsets: { users_created: { '0': 90, '1': 50 }, 'ingest.orders': { '0': 30, '1': 5 } } });

    const status = await service.status();

    expect(kafka.endOffsets).toHaveBeenCalledWith(TOPICS);
    expect(
      status.sources.map(({ source, topic, endOffset, processedOffset, lagEvents }) => ({ source, topic, endOffset, processedOffset, lagEvents })),
    ).toEqual([
      { source: 'users', topic: 'users_created', endOffset: 150, processedOffset: 140, lagEvents: 10 },
      { source: 'orders', topic: 'ingest.orders', endOffset: 115, processedOffset: 55, lagEvents: 60 },
    ]);
  });

  it("keeps a processed offset within the partition's range: below low (retention deleted) counts from low, past high counts as high", async () => {
    const { service, kafka, streamRuns } = setup();
    kafka.offsets = {
      users_created: [
        { partition: 0, low: 40, high: 100 },
        { partition: 1, low: 0, high: 50 },
      ],
    };
    await streamRuns({ lastBatchAt: T0, offsets: { users_created: { '0': 25, '1': 70 } } });

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ endOffset: 150, processedOffset: 90, lagEvents: 60 });
  });

  it('counts every stored event of a topic as waiting before the stream ever reported, and nothing for a topic not created yet', async () => {
    const { service, kafka } = setup();
    kafka.offsets = { users_created: [{ partition: 0, low: 3, high: 10 }] };

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ endOffset: 10, processedOffset: 3, lagEvents: 7 });
    expect(source(status, 'orders')).toMatchObject({ endOffset: 0, processedOffset: 0, lagEvents: 0, lagSeconds: 0 });
  });

  it('reports no lag when Kafka cannot be asked for its offsets, and says Kafka is down', async () => {
    const { service, kafka, streamRuns } = setup();
    await streamRuns({ lastBatchAt: T0 });
    kafka.endOffsets.mockRejectedValue(new UpstreamUnavailableError('Kafka', 'Kafka did not answer an offsets request within 3000 ms'));
    kafka.ping.mockRejectedValue(new UpstreamUnavailableError('Kafka', 'Kafka is unavailable: connect ECONNREFUSED 127.0.0.1:9092'));

    const status = await service.status();

    expect(status.sources.map((s) => [s.source, s.lagEvents, s.inPerSecond])).toEqual([
      ['users', 0, undefined],
      ['orders', 0, undefined],
    ]);
    expect(status).toMatchObject({ verdict: 'degraded', reasons: ['kafka is down: Kafka is unavailable: connect ECONNREFUSED 127.0.0.1:9092'] });
  });
});

describe('PipelineService gauges', () => {
  it('exposes lag, the stream and the verdict as Prometheus gauges, from the same reading as GET /pipeline', async () => {
    const { service, kafka, streamRuns, metrics } = setup();
    kafka.offsets = { users_created: [{ partition: 0, low: 0, high: 100 }], 'ingest.orders': [{ partition: 0, low: 0, high: 30 }] };
    await streamRuns({ lastBatchAt: new Date(), durationMs: 420, offsets: { users_created: { '0': 90 }, 'ingest.orders': { '0': 30 } } });
    service.onApplicationBootstrap();

    const text = await metrics.registry.metrics();
    service.onApplicationShutdown();

    expect(text).toMatch(/^pipeline_lag_events\{source="users"\} 10$/m);
    expect(text).toMatch(/^pipeline_lag_events\{source="orders"\} 0$/m);
    expect(text).toMatch(/^pipeline_stream_up 1$/m);
    expect(text).toMatch(/^pipeline_stream_state\{state="running"\} 1$/m);
    expect(text).toMatch(/^pipeline_stream_state\{state="failed"\} 0$/m);
    expect(text).toMatch(/^pipeline_stream_batch_duration_seconds 0\.42$/m);
    expect(text).toMatch(/^pipeline_dependency_up\{dependency="kafka"\} 1$/m);
    expect(text).toMatch(/^pipeline_verdict\{verdict="flowing"\} 1$/m);
  });
});

describe('PipelineService.status: lagSeconds and freshness', () => {
  const lagging = { users_created: [{ partition: 0, low: 0, high: 100 }] };
  const behind = { users_created: { '0': 60 } };

  it('is 0 without lag, however old the newest stored event', async () => {
    const { service, kafka, events, streamRuns, stored } = setup();
    kafka.offsets = lagging;
    events.insert(stored('users', at(-3_600_000)));
    await streamRuns({ lastBatchAt: at(-3_600_000), offsets: { users_created: { '0': 100 } } });

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ lagEvents: 0, lagSeconds: 0, freshnessSeconds: 3_600 });
  });

  it("is the last micro-batch's lag while micro-batches run (within PIPELINE_STALL_SECONDS)", async () => {
    const { service, kafka, events, streamRuns, stored } = setup();
    kafka.offsets = lagging;
    events.insert(stored('users', at(-90_000)));
    await streamRuns({ lastBatchAt: at(-29_999), lagMs: 1_234, offsets: behind });

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ lagEvents: 40, lagSeconds: 1.23, freshnessSeconds: 90 });
  });

  it('is the age of the newest stored event once micro-batches stopped running', async () => {
    const { service, kafka, events, streamRuns, stored } = setup();
    kafka.offsets = lagging;
    events.insert(stored('users', at(-42_567)), stored('users', at(-100_000)));
    await streamRuns({ lastBatchAt: at(-30_000), lagMs: 1_234, offsets: behind });

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ lagEvents: 40, lagSeconds: 42.57, freshnessSeconds: 42.57, newestReceivedAt: at(-42_567).toISOString() });
  });

  it('is the age of the newest stored event when the stream reports no lag of its own', async () => {
    const { service, kafka, events, streamRuns, stored } = setup();
    kafka.offsets = lagging;
    events.insert(stored('users', at(-5_000)));
    await streamRuns({ lastBatchAt: at(-1_000), lagMs: undefined, offsets: behind });

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ lagEvents: 40, lagSeconds: 5 });
  });

  it('is unknown when events wait and none is stored today or yesterday', async () => {
    const { service, kafka, events, streamRuns, stored } = setup();
    kafka.offsets = lagging;
    events.insert(stored('users', new Date('2025-12-31T23:59:59.000Z')));
    await streamRuns({ lastBatchAt: at(-60_000), offsets: behind });

    const status = await service.status();

    expect(source(status, 'users').lagEvents).toBe(40);
    expect(source(status, 'users').lagSeconds).toBeUndefined();
    expect(source(status, 'users').freshnessSeconds).toBeUndefined();
    expect(source(status, 'users').newestReceivedAt).toBeUndefined();
  });

  it("takes each source's newest stored event of today, else of yesterday (UTC)", async () => {
    jest.setSystemTime(new Date('2026-01-02T00:00:10.000Z'));
    const { service, events, stored } = setup();
    events.insert(
      stored('users', new Date('2026-01-01T23:59:50.000Z')),
      stored('users', new Date('2026-01-01T12:00:00.000Z')),
      stored('orders', new Date('2026-01-01T23:00:00.000Z')),
      stored('orders', new Date('2026-01-02T00:00:05.000Z')),
    );

    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ newestReceivedAt: '2026-01-01T23:59:50.000Z', freshnessSeconds: 20 });
    expect(source(status, 'orders')).toMatchObject({ newestReceivedAt: '2026-01-02T00:00:05.000Z', freshnessSeconds: 5 });
    expect(events.newestIn).toHaveBeenCalledWith('users', '2026-01-02');
    expect(events.newestIn).toHaveBeenCalledWith('users', '2026-01-01');
    expect(events.newestIn).not.toHaveBeenCalledWith('orders', '2026-01-01');
  });

  it('still answers when the events cannot be read: freshness is unknown', async () => {
    const { service, events } = setup();
    events.newestIn.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));

    const status = await service.status();

    expect(status.sources.map((s) => s.freshnessSeconds)).toEqual([undefined, undefined]);
  });
});

describe('PipelineService.status: verdict and stream', () => {
  const caughtUp = { users_created: [{ partition: 0, low: 0, high: 100 }], 'ingest.orders': [{ partition: 0, low: 0, high: 30 }] };

  it('is flowing, with every dependency up and the stream as the supervisor and its heartbeat report it', async () => {
    const { service, kafka, streamRuns } = setup();
    kafka.offsets = caughtUp;
    await streamRuns({ lastBatchAt: at(-500), durationMs: 420, offsets: { users_created: { '0': 100 }, 'ingest.orders': { '0': 30 } } });

    const status = await service.status();

    expect(status).toMatchObject({
      verdict: 'flowing',
      reasons: [],
      checkedAt: T0.toISOString(),
      stream: { state: 'running', desired: 'running', lastBatchAt: at(-500).toISOString(), lastBatchDurationMs: 420, restarts: 0 },
      dependencies: [
        { name: 'kafka', up: true },
        { name: 'cassandra', up: true },
        { name: 'livy', up: true },
        { name: 'airflow', up: true },
      ],
    });
  });

  it('is lagging when a source is further behind than PIPELINE_LAG_SECONDS', async () => {
    const { service, kafka, streamRuns } = setup({ PIPELINE_LAG_SECONDS: '10' });
    kafka.offsets = caughtUp;
    await streamRuns({ lastBatchAt: at(-500), lagMs: 12_600, offsets: { users_created: { '0': 100 }, 'ingest.orders': { '0': 10 } } });

    const status = await service.status();

    expect(status).toMatchObject({ verdict: 'lagging', reasons: ['orders is 13 s behind (20 event(s) wait; threshold 10 s)'] });
    expect(source(status, 'orders')).toMatchObject({ lagEvents: 20, lagSeconds: 12.6 });
  });

  it('is stalled when events wait and no micro-batch ran for PIPELINE_STALL_SECONDS', async () => {
    const { service, kafka, streamRuns } = setup({ PIPELINE_STALL_SECONDS: '30' });
    kafka.offsets = caughtUp;
    await streamRuns({ lastBatchAt: at(-45_000), offsets: { users_created: { '0': 97 }, 'ingest.orders': { '0': 30 } } });

    const status = await service.status();

    expect(status).toMatchObject({ verdict: 'stalled', reasons: ['no micro-batch for 45 s while 3 event(s) of users wait in Kafka'] });
  });

  it('is stopped when the stream is stopped on request, with the failure and restarts the supervisor recorded', async () => {
    const { service, kafka, streaming, stream } = setup();
    kafka.offsets = caughtUp;
    await stream.repository.recordFailure(STREAM_JOB, 2, 'events_stream: failed: exit 2', at(60_000));
    await stream.repository.claimStart(STREAM_JOB, undefined, 'b1', 'sources changed (+ingest.orders)', true, 0);
    await streaming.stop();

    const status = await service.status();

    expect(status).toMatchObject({
      verdict: 'stopped',
      reasons: [
        'the stream is stopped on request (state stopped); POST /api/v1/streaming/start resumes it',
        '100 event(s) of users wait in Kafka',
        '30 event(s) of orders wait in Kafka',
      ],
      stream: { state: 'stopped', desired: 'stopped', restarts: 1, lastRestartReason: 'sources changed (+ingest.orders)' },
    });
  });

  it("carries the stream's error when it failed though desired running", async () => {
    const { service, kafka, livy, stream, streaming } = setup();
    kafka.offsets = caughtUp;
    await streaming.start();
    livy.setState(0, 'dead');
    await stream.repository.recordFailure(STREAM_JOB, 2, 'events_stream: failed: cannot reach Kafka', at(4_000));

    const status = await service.status();

    expect(status).toMatchObject({
      verdict: 'stalled',
      reasons: ['the stream failed: events_stream: failed: cannot reach Kafka', '100 event(s) of users wait in Kafka', '30 event(s) of orders wait in Kafka'],
      stream: { state: 'failed', desired: 'running', error: 'events_stream: failed: cannot reach Kafka' },
    });
  });

  it('is degraded when a dependency is down, with its message', async () => {
    const { service, kafka, airflow, streamRuns } = setup();
    kafka.offsets = caughtUp;
    await streamRuns({ lastBatchAt: at(-500), offsets: { users_created: { '0': 100 }, 'ingest.orders': { '0': 30 } } });
    airflow.ping.mockRejectedValue(new UpstreamUnavailableError('Airflow', 'Airflow is unavailable: connect ECONNREFUSED 127.0.0.1:8080'));

    const status = await service.status();

    expect(status.dependencies).toContainEqual({ name: 'airflow', up: false, message: 'Airflow is unavailable: connect ECONNREFUSED 127.0.0.1:8080' });
    expect(status.dependencies.filter((d) => d.up).map((d) => d.name)).toEqual(['kafka', 'cassandra', 'livy']);
    expect(status).toMatchObject({ verdict: 'degraded', reasons: ['airflow is down: Airflow is unavailable: connect ECONNREFUSED 127.0.0.1:8080'] });
  });

  it('calls a dependency down when its ping does not answer within 3 s, instead of hanging', async () => {
    const { service, cassandra, stream } = setup();
    cassandra.ping.mockImplementation(() => new Promise(() => undefined));
    stream.control.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));
    stream.heartbeat.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));

    const answer = service.status();
    await jest.advanceTimersByTimeAsync(3_000);
    const status = await answer;

    expect(status.dependencies).toContainEqual({ name: 'cassandra', up: false, message: 'no answer within 3000 ms' });
    expect(status).toMatchObject({
      verdict: 'degraded',
      reasons: ['cassandra is down: no answer within 3000 ms'],
      stream: { state: 'unknown', desired: 'unknown' },
    });
  });
});

describe('PipelineService.status: rates', () => {
  const offsets = (users: number, orders: number) => ({
    users_created: [{ partition: 0, low: 0, high: users }],
    'ingest.orders': [{ partition: 0, low: 0, high: orders }],
  });

  it('has none from a single sample', async () => {
    const { service, kafka } = setup();
    kafka.offsets = offsets(100, 30);

    const status = await service.status();

    expect(status.sources.map((s) => [s.inPerSecond, s.outPerSecond])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });

  it('gives events/s in and out per source between two samples', async () => {
    const { service, kafka, streamRuns, reports } = setup();
    kafka.offsets = offsets(100, 30);
    await streamRuns({ lastBatchAt: T0, offsets: { users_created: { '0': 90 }, 'ingest.orders': { '0': 30 } } });
    await service.status();

    await jest.advanceTimersByTimeAsync(8_000);
    kafka.offsets = offsets(150, 33);
    reports({ seenAt: new Date(), lastBatchAt: new Date(), offsets: { users_created: { '0': 130 }, 'ingest.orders': { '0': 33 } } });
    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ inPerSecond: 6.25, outPerSecond: 5 });
    expect(source(status, 'orders')).toMatchObject({ inPerSecond: 0.38, outPerSecond: 0.38 });
  });

  it('needs samples at least 5 s apart', async () => {
    const { service, kafka } = setup();
    kafka.offsets = offsets(100, 30);
    await service.status();

    await jest.advanceTimersByTimeAsync(4_999);
    kafka.offsets = offsets(150, 30);
    const status = await service.status();

    expect(source(status, 'users').inPerSecond).toBeUndefined();
  });

  it('keeps samples for about a minute (70 s) only', async () => {
    const { service, kafka } = setup();
    kafka.offsets = offsets(100, 30);
    await service.status();
    await jest.advanceTimersByTimeAsync(70_000);
    kafka.offsets = offsets(170, 30);
    await expect(service.status()).resolves.toMatchObject({ sources: [expect.objectContaining({ inPerSecond: 1 }), expect.anything()] });

    const fresh = setup();
    fresh.kafka.offsets = offsets(100, 30);
    await fresh.service.status();
    await jest.advanceTimersByTimeAsync(70_001);
    fresh.kafka.offsets = offsets(170, 30);
    const status = await fresh.service.status();

    expect(source(status, 'users').inPerSecond).toBeUndefined();
  });

  it('never reports a negative rate (a topic recreated with fewer events)', async () => {
    const { service, kafka } = setup();
    kafka.offsets = offsets(100, 30);
    await service.status();

    await jest.advanceTimersByTimeAsync(10_000);
    kafka.offsets = offsets(20, 30);
    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ inPerSecond: 0, outPerSecond: 0 });
  });

  it('samples every 10 s from start-up until shutdown, so the first answer already has rates', async () => {
    const { service, kafka } = setup();
    kafka.offsets = offsets(100, 30);

    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(kafka.endOffsets).toHaveBeenCalledTimes(1);
    kafka.offsets = offsets(300, 30);
    await jest.advanceTimersByTimeAsync(10_000);
    const status = await service.status();

    expect(source(status, 'users')).toMatchObject({ inPerSecond: 20 });

    service.onApplicationShutdown();
    const calls = kafka.endOffsets.mock.calls.length;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(kafka.endOffsets).toHaveBeenCalledTimes(calls);
  });
});
