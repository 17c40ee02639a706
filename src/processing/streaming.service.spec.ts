import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { BatchHistoryRepository } from '../cassandra/batch-history.repository';
import { StreamHeartbeat, StreamMicroBatch } from '../cassandra/stream.repository';
import { InMemoryBatchHistory } from '../cassandra/testing/in-memory-batch-history.repository';
import { InMemoryLeasesRepository } from '../cassandra/testing/in-memory-leases.repository';
import { InMemoryStreamRepository } from '../cassandra/testing/in-memory-stream.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { BadRequestError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { NamesContract, readContract } from '../common/testing/contracts';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { FakeLivy } from '../livy/testing/fake-livy';
import { BatchesService } from './batches.service';
import { STREAM_JOB, StreamingService } from './streaming.service';

const SOURCES = 'sources:\n  users: { topic: users_created }\n  orders: {}\n';
const TOPICS = ['users_created', 'ingest.orders'];
/** The bucket sizes of SOURCES, as a copy started with them reports. */
const BUCKETS = { users: 3600, orders: 3600 };
/** contracts/names.json: the job takes the stream's lease under the same name (spark-jobs/pipeline_names.py). */
const NAMES = readContract<NamesContract>('names.json');
const SUPERVISOR_LEASE = NAMES.leases.supervisor;
const STREAM_LEASE = NAMES.leases.stream;
const T0 = new Date('2026-01-02T12:00:00.000Z');
const CASSANDRA_DOWN = 'events_stream: failed: cannot reach Cassandra at 10.9.9.9:9042 (NoHostAvailable)';
const livyDown = () => new UpstreamUnavailableError('Livy', 'Livy is unavailable: connect ECONNREFUSED 127.0.0.1:8998');

/**
 * The real services over the shared fakes: Livy, the batch history, the stream's control and
 * heartbeat rows, the leases, and the real catalogs. `replica()` is another API replica over the
 * same Livy and Cassandra.
 */
function setup(env: Record<string, string> = {}, sourcesYaml = SOURCES) {
  const livy = new FakeLivy();
  const kafka = new FakeKafkaProducer();
  const history = new InMemoryBatchHistory();
  const stream = new InMemoryStreamRepository();
  const leases = new InMemoryLeasesRepository();
  const sources = sourcesRegistry(sourcesYaml);
  const replica = (replicaEnv: Record<string, string> = {}) => {
    const config = testConfig({ STREAMING_STOP_TIMEOUT_SECONDS: '2', ...env, ...replicaEnv });
    const catalog = new JobsCatalog(config);
    const batches = new BatchesService(livy.client, catalog, history as unknown as BatchHistoryRepository, stream.repository, sources, config);
    return new StreamingService(batches, livy.client, kafka.producer, stream.repository, leases.repository, catalog, sources, config);
  };
  const service = replica();

  /** The control plane's id of the batch it started last. */
  const started = (): string => stream.stored(STREAM_JOB)!.batchId!;
  /** Livy's id of a batch the control plane started. */
  const livyIdOf = async (batchId: string): Promise<number> => (await history.get(batchId))!.livyId;
  /** The copy reports itself in its heartbeat, as the job does (by default: the batch started last, running, now). */
  const copyReports = (fields: Partial<StreamHeartbeat> = {}) =>
    stream.report(STREAM_JOB, {
      runId: 'run-1',
      batchId: started(),
      state: 'running',
      seenAt: new Date(),
      topics: TOPICS,
      buckets: BUCKETS,
      offsets: {},
      ...fields,
    });
  /** The started batch runs in Livy and its copy reports itself running. */
  const running = async (fields: Partial<StreamHeartbeat> = {}) => {
    livy.setState(await livyIdOf(started()), 'running');
    copyReports({ startedAt: new Date(), ...fields });
  };
  return { service, replica, livy, kafka, history, stream, leases, sources, started, livyIdOf, copyReports, running };
}

/** Lets the wall clock move on; timers due meanwhile fire. */
const after = (ms: number) => jest.advanceTimersByTimeAsync(ms);
const iso = (ms: number) => new Date(T0.getTime() + ms).toISOString();

fakeClockAndQuietLogs(T0);

describe('the stream job and its leases (contracts/names.json)', () => {
  it('names the job as the catalog and the Python job do', () => {
    expect(STREAM_JOB).toBe(NAMES.stream_job);
  });
});

describe('StreamingService.status', () => {
  it('is stopped, and desired stopped, when nothing was ever decided or started', async () => {
    const { service, livy } = setup();

    await expect(service.status()).resolves.toEqual({ state: 'stopped', running: false, desired: 'stopped', topics: TOPICS, restarts: 0, failures: 0 });
    expect(livy.getBatch).not.toHaveBeenCalled();
  });

  it('is starting while the started batch is live in Livy and its copy has not reported', async () => {
    const { service, started, history } = setup();
    await service.start();

    const status = await service.status();

    const record = await history.get(started());
    expect(status).toEqual({
      state: 'starting',
      running: true,
      desired: 'running',
      batchId: started(),
      livyBatchId: 0,
      since: record!.submittedAt.toISOString(),
      topics: TOPICS,
      restarts: 0,
      failures: 0,
    });
  });

  it('is starting while the started copy reports itself starting', async () => {
    const { service, livy, copyReports } = setup();
    await service.start();
    livy.setState(0, 'running');
    copyReports({ state: 'starting' });

    await expect(service.status()).resolves.toMatchObject({ state: 'starting', running: true, runId: 'run-1' });
  });

  it('is running when the started copy reports itself, with what it reports', async () => {
    const { service, started, running } = setup();
    await service.start();
    await after(3_000);
    await running({
      appId: 'application_1_0001',
      host: 'worker-1',
      pid: 4242,
      startedAt: new Date(iso(1_000)),
      lastBatchAt: new Date(iso(2_500)),
      epoch: 12,
    });

    await expect(service.status()).resolves.toEqual({
      state: 'running',
      running: true,
      desired: 'running',
      batchId: started(),
      livyBatchId: 0,
      appId: 'application_1_0001',
      since: iso(1_000),
      topics: TOPICS,
      reading: TOPICS,
      runId: 'run-1',
      host: 'worker-1',
      pid: 4242,
      lastBatchAt: iso(2_500),
      epoch: 12,
      restarts: 0,
      failures: 0,
    });
  });

  it('is running-unmanaged when the fresh heartbeat is of another batch than the one started', async () => {
    const { service, started, running } = setup();
    await service.start();
    const mine = started();
    // A copy submitted to Livy directly holds the stream; the started one waits for the job's lease.
    await running({ runId: 'run-other', batchId: 'submitted-elsewhere' });

    const status = await service.status();

    expect(status).toMatchObject({ state: 'running-unmanaged', running: true, batchId: 'submitted-elsewhere', runId: 'run-other' });
    expect(started()).toBe(mine);
  });

  it('is running-unmanaged when Livy forgot the started batch (Livy restarted) but its copy still reports', async () => {
    const { service, started, livy, running } = setup();
    await service.start();
    await running();
    livy.restart();
    // Livy numbers from 0 again: its new batch 0 is someone else's.
    livy.add({ name: 'adhoc-notebook', state: 'running' });

    await expect(service.status()).resolves.toMatchObject({
      state: 'running-unmanaged',
      running: true,
      batchId: started(),
      livyBatchId: undefined,
      runId: 'run-1',
    });
  });

  it('is stopping when desired stopped while the copy still reports itself', async () => {
    const { service, stream, running } = setup();
    await service.start();
    await running();
    await stream.repository.setDesired(STREAM_JOB, 'stopped', 'another replica');

    await expect(service.status()).resolves.toMatchObject({ state: 'stopping', running: false, desired: 'stopped', runId: 'run-1' });
  });

  it('is stopped since the copy reported its graceful end', async () => {
    const { service, stream, livy, copyReports, running } = setup();
    await service.start();
    await running();
    await stream.repository.setDesired(STREAM_JOB, 'stopped', 'another replica');
    await after(1_000);
    copyReports({ state: 'stopped', seenAt: new Date() });
    livy.setState(0, 'success');

    await expect(service.status()).resolves.toMatchObject({ state: 'stopped', running: false, desired: 'stopped', since: iso(1_000), runId: undefined });
  });

  it('is failed with the error and the next attempt while a failed start backs off, and shows neither otherwise', async () => {
    const { service, stream, livy } = setup();
    await service.start();
    livy.setState(0, 'dead');
    await stream.repository.recordFailure(STREAM_JOB, 2, CASSANDRA_DOWN, new Date(iso(4_000)));

    await expect(service.status()).resolves.toMatchObject({
      state: 'failed',
      running: false,
      desired: 'running',
      failures: 2,
      error: CASSANDRA_DOWN,
      nextAttemptAt: iso(4_000),
    });

    livy.setState(0, 'running');
    const starting = await service.status();
    expect(starting).toMatchObject({ state: 'starting', failures: 2 });
    expect(starting.error).toBeUndefined();
    expect(starting.nextAttemptAt).toBeUndefined();
  });
});

describe('StreamingService.microBatches', () => {
  /** A micro-batch's row as the copy of `batchId` (run `runId`) writes it after the batch, `ms` after T0. */
  const row = (epoch: number, ms: number, batchId: string | undefined, fields: Partial<StreamMicroBatch> = {}): StreamMicroBatch => ({
    stream: STREAM_JOB,
    batchId,
    runId: 'run-1',
    epoch,
    endedAt: new Date(iso(ms)),
    rowsRead: epoch * 10,
    rowsWritten: epoch * 10,
    unreadable: 0,
    quarantined: 0,
    minutes: 1,
    users: 0,
    durationMs: 400 + epoch,
    lagMs: 100 + epoch,
    ...fields,
  });

  it('answers the last micro-batches the job recorded, newest first, each with the batch of the copy that ran it', async () => {
    const { service, stream } = setup();
    stream.recordMicroBatch(row(7, -3_000, 'batch-a'));
    stream.recordMicroBatch(row(8, -2_000, 'batch-b', { runId: 'run-2', unreadable: 2, lagMs: undefined }));
    stream.recordMicroBatch(row(9, -1_000, 'batch-b', { runId: 'run-2' }));

    const answer = await service.microBatches(2);

    expect(answer).toEqual({
      batchId: 'batch-b',
      microBatches: [
        { epoch: 9, at: iso(-1_000), rows: 90, dropped: 0, durationMs: 409, lagMs: 109, batchId: 'batch-b' },
        { epoch: 8, at: iso(-2_000), rows: 80, dropped: 2, durationMs: 408, lagMs: undefined, batchId: 'batch-b' },
      ],
    });
    expect(stream.microBatches).toHaveBeenCalledWith(STREAM_JOB, 2);
  });

  it("answers an adopted copy's micro-batches after Livy forgot it, without asking Livy", async () => {
    const { service, livy, stream, started, running } = setup();
    await service.start();
    await running();
    livy.restart();
    stream.recordMicroBatch(row(12, 0, started()));

    await expect(service.status()).resolves.toMatchObject({ state: 'running-unmanaged' });
    const answer = await service.microBatches(20);

    expect(answer).toEqual({ batchId: started(), microBatches: [expect.objectContaining({ epoch: 12, batchId: started() })] });
    expect(livy.getLog).not.toHaveBeenCalled();
  });

  it('keeps answering while Livy is down', async () => {
    const { service, livy, stream } = setup();
    await service.start();
    livy.getBatch.mockRejectedValue(livyDown());
    livy.getLog.mockRejectedValue(livyDown());
    stream.recordMicroBatch(row(3, 0, 'batch-a'));

    await expect(service.microBatches(20)).resolves.toMatchObject({ microBatches: [{ epoch: 3 }] });
  });

  it('is empty when no micro-batch was recorded', async () => {
    const { service } = setup();

    await expect(service.microBatches(20)).resolves.toEqual({ microBatches: [] });
  });

  it('answers 503 naming Cassandra when the rows cannot be read', async () => {
    const { service, stream } = setup();
    stream.microBatches.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: All host(s) tried for query failed'));

    await expect(service.microBatches(20)).rejects.toMatchObject({ statusCode: 503, upstream: 'Cassandra' });
  });
});

describe('StreamingService.start', () => {
  it('sets the desired state to running, with the args, and submits exactly one batch that carries its id', async () => {
    const { service, livy, stream, started } = setup();

    const status = await service.start({ trigger_ms: 1000 });

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    const request = livy.createBatch.mock.calls[0][0];
    expect(request.name).toBe(`events_stream-${started()}`);
    expect(request.file).toMatch(/\/events_stream\.py$/);
    expect(request.args?.slice(0, 2)).toEqual(['--trigger-ms', '1000']);
    expect(request.args?.[request.args.indexOf('--topics') + 1]).toBe('users_created,ingest.orders');
    expect(request.args?.[request.args.indexOf('--batch-id') + 1]).toBe(started());
    expect(stream.stored(STREAM_JOB)).toMatchObject({ desired: 'running', args: { trigger_ms: 1000 }, batchId: started(), restarts: 0, failures: 0 });
    expect(status).toMatchObject({ state: 'starting', running: true, desired: 'running', batchId: started() });
  });

  it('submits nothing while a copy is starting or running', async () => {
    const { service, livy, running } = setup();
    await service.start();

    await expect(service.start()).resolves.toMatchObject({ state: 'starting' });
    await running();
    await expect(service.start()).resolves.toMatchObject({ state: 'running' });

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });

  it('shares one reconciliation between concurrent calls on one replica', async () => {
    const { service, livy } = setup();

    const [a, b] = await Promise.all([service.start(), service.start()]);

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(a).toEqual(b);
  });

  it('submits one batch when two replicas reconcile at once: the claim lets one of them start', async () => {
    const { replica, livy, stream, started } = setup();
    const [a, b] = [replica(), replica()];
    await stream.repository.setDesired(STREAM_JOB, 'running', 'test');

    await Promise.all([a.reconcile(), b.reconcile()]);

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    // Both decided to start; the lightweight transaction admitted one.
    expect(stream.claimStart).toHaveBeenCalledTimes(2);
    expect((await Promise.all(stream.claimStart.mock.results.map((r) => r.value))).sort()).toEqual([false, true]);
    expect(livy.createBatch.mock.calls[0][0].name).toBe(`events_stream-${started()}`);
  });

  it('answers bad args with 400, deciding and submitting nothing', async () => {
    const { service, livy, stream } = setup();

    await expect(service.start({ trigger_ms: 1 })).rejects.toBeInstanceOf(BadRequestError);
    expect(stream.setDesired).not.toHaveBeenCalled();
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  it('counts a submission Livy refuses as a failed start and retries after the backoff', async () => {
    const { service, livy } = setup();
    livy.createBatch.mockRejectedValueOnce(livyDown());

    const status = await service.start();

    expect(status).toMatchObject({
      state: 'failed',
      running: false,
      desired: 'running',
      failures: 1,
      error: 'submit refused: Livy is unavailable: connect ECONNREFUSED 127.0.0.1:8998',
      nextAttemptAt: iso(2_000),
    });
    await after(1_999);
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);

    await after(1);
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    await expect(service.status()).resolves.toMatchObject({ state: 'starting', restarts: 1, lastRestartReason: expect.stringContaining('submit refused') });
  });
});

describe('StreamingService autostart (STREAMING_AUTOSTART)', () => {
  it('sets the desired state to running when none was ever set, and the supervisor starts a copy', async () => {
    const { replica, livy, stream } = setup();
    const service = replica({ STREAMING_AUTOSTART: 'true' });

    await service.supervise();

    expect(stream.stored(STREAM_JOB)).toMatchObject({ desired: 'running', desiredBy: expect.stringContaining('(STREAMING_AUTOSTART)') });
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
  });

  it('never undoes a stop stored by another replica (or before a restart)', async () => {
    const { service, replica, livy, stream } = setup();
    await service.stop();
    const autostarting = replica({ STREAMING_AUTOSTART: 'true' });

    await autostarting.supervise();

    expect(stream.stored(STREAM_JOB)).toMatchObject({ desired: 'stopped' });
    await expect(stream.initDesired.mock.results[0].value).resolves.toBe(false);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  it('sets it once per start-up: a later stop stands', async () => {
    const { service, replica, livy, stream } = setup();
    const autostarting = replica({ STREAMING_AUTOSTART: 'true' });
    await autostarting.supervise();
    await service.stop();
    livy.createBatch.mockClear();

    await after(5_000);
    await autostarting.supervise();

    expect(stream.initDesired).toHaveBeenCalledTimes(1);
    expect(stream.stored(STREAM_JOB)).toMatchObject({ desired: 'stopped' });
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  it('decides nothing without it', async () => {
    const { service, livy, stream } = setup();

    await service.supervise();

    expect(stream.initDesired).not.toHaveBeenCalled();
    expect(stream.stored(STREAM_JOB)).toBeUndefined();
    expect(livy.createBatch).not.toHaveBeenCalled();
  });
});

describe('StreamingService.supervise', () => {
  it('acts only on the replica holding the supervisor lease', async () => {
    const { replica, livy, stream, leases, started, livyIdOf } = setup();
    const [a, b] = [replica(), replica()];
    await stream.repository.setDesired(STREAM_JOB, 'running', 'test');

    await a.supervise();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    const holder = await leases.holder(SUPERVISOR_LEASE);
    expect(holder).toEqual(expect.any(String));

    // The copy dies: only the holder notices and starts another.
    livy.setState(await livyIdOf(started()), 'dead');
    await b.supervise();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(stream.recordFailure).not.toHaveBeenCalled();
    await expect(leases.holder(SUPERVISOR_LEASE)).resolves.toBe(holder);

    await a.supervise();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });

  it('is taken over by another replica once the holder stops renewing (lease TTL: 3 rounds, at least 10 s)', async () => {
    const { replica, livy, stream, started, livyIdOf } = setup();
    const [a, b] = [replica(), replica()];
    await stream.repository.setDesired(STREAM_JOB, 'running', 'test');
    await a.supervise();
    livy.setState(await livyIdOf(started()), 'dead');

    await after(14_999);
    await b.supervise();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);

    await after(1);
    await b.supervise();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });

  it('is handed over at once when the holder shuts down', async () => {
    const { replica, livy, stream, leases, started, livyIdOf } = setup();
    const [a, b] = [replica(), replica()];
    await stream.repository.setDesired(STREAM_JOB, 'running', 'test');
    await a.supervise();
    livy.setState(await livyIdOf(started()), 'dead');

    await a.onApplicationShutdown();
    await expect(leases.holder(SUPERVISOR_LEASE)).resolves.toBeUndefined();
    await b.supervise();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });

  it('runs at start-up and every STREAMING_SUPERVISE_SECONDS until shutdown', async () => {
    const { replica, leases } = setup();
    const service = replica({ STREAMING_SUPERVISE_SECONDS: '5' });

    service.onApplicationBootstrap();
    await after(0);
    expect(leases.hold).toHaveBeenCalledTimes(1);
    await after(5_000);
    expect(leases.hold).toHaveBeenCalledTimes(2);

    await service.onApplicationShutdown();
    await after(60_000);
    expect(leases.hold).toHaveBeenCalledTimes(2);
  });

  it('kills a copy that does not report within STREAMING_START_TIMEOUT_SECONDS', async () => {
    const { replica, livy, livyIdOf, started, history } = setup();
    const service = replica({ STREAMING_START_TIMEOUT_SECONDS: '30' });
    await service.start();
    const first = started();
    livy.setState(await livyIdOf(first), 'running');

    await after(30_000);
    await service.supervise();
    expect(livy.deleteBatch).not.toHaveBeenCalled();

    await after(1);
    await service.supervise();
    expect(livy.deleteBatch).toHaveBeenCalledWith(await livyIdOf(first));
    await expect(history.get(first)).resolves.toMatchObject({ state: 'killed' });
  });
});

describe('StreamingService: a copy that ends on its own', () => {
  const KAFKA_DOWN = 'events_stream: failed: cannot reach Kafka at kafka:29092';

  it('is a failure: restarted at once the first time, then after a growing backoff, each time saying why', async () => {
    const { service, livy, started, livyIdOf, running, copyReports } = setup();
    await service.start({ trigger_ms: 1000 });
    await running();

    // 1st: the job says why in its last heartbeat.
    const first = started();
    livy.setState(await livyIdOf(first), 'dead');
    copyReports({ state: 'failed', lastError: CASSANDRA_DOWN, seenAt: new Date() });
    await service.reconcile();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    expect(started()).not.toBe(first);
    expect(livy.createBatch.mock.calls[1][0].args?.slice(0, 2)).toEqual(['--trigger-ms', '1000']);
    await expect(service.status()).resolves.toMatchObject({
      state: 'starting',
      failures: 1,
      restarts: 1,
      lastRestartAt: iso(0),
      lastRestartReason: `the job ended: ${CASSANDRA_DOWN}`,
    });

    // 2nd: the new copy dies before reporting; its Livy log says why. It is retried after 2 s.
    const second = started();
    livy.setState(await livyIdOf(second), 'dead');
    livy.setLog(await livyIdOf(second), ['INFO SparkContext: Running Spark version 3.5.7', KAFKA_DOWN, 'INFO ShutdownHookManager: Shutdown hook called']);
    await after(1_000);
    await service.reconcile();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    await expect(service.status()).resolves.toMatchObject({ state: 'failed', running: false, failures: 2, error: KAFKA_DOWN, nextAttemptAt: iso(3_000) });
    await after(1_999);
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    await after(1);
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(3);
    await expect(service.status()).resolves.toMatchObject({ state: 'starting', failures: 2, restarts: 2, lastRestartReason: `retry 2 after: ${KAFKA_DOWN}` });

    // 3rd: no word from the job at all: Livy's state. The backoff doubles.
    livy.setState(await livyIdOf(started()), 'dead');
    await service.reconcile();
    await expect(service.status()).resolves.toMatchObject({
      state: 'failed',
      failures: 3,
      error: 'Livy reports the batch dead',
      nextAttemptAt: iso(3_000 + 4_000),
    });
    expect(livy.createBatch).toHaveBeenCalledTimes(3);
  });

  it('starts no new copy while a silent copy Livy forgot still holds the stream lease, and one once the lease expired', async () => {
    const { service, livy, leases, running } = setup();
    await service.start();
    await running();
    // The copy holds the stream's lease (the job takes it itself); then Livy restarts and the copy goes silent.
    await leases.acquire(STREAM_LEASE, 'run-1', 30);
    livy.restart();
    await after(20_000);

    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);

    await after(10_001); // the lease's TTL has run out
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });

  it('starts a new copy at once when the lease holder is known gone: its own batch ended in Livy (the driver was killed)', async () => {
    const { service, livy, leases, started, livyIdOf, running } = setup();
    await service.start();
    await running();
    await leases.acquire(STREAM_LEASE, 'run-1', 30);
    livy.setState(await livyIdOf(started()), 'dead');

    await service.reconcile();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    // The dead copy's lease is released for it: the new copy takes it at once instead of waiting out the TTL.
    expect(leases.release).toHaveBeenCalledWith(STREAM_LEASE, 'run-1');
    await expect(leases.holder(STREAM_LEASE)).resolves.toBeUndefined();
  });

  it('says the batch is gone when Livy forgot it and its heartbeat went stale', async () => {
    const { service, livy, started, running } = setup();
    await service.start();
    await running();
    const first = started();
    livy.restart();

    await after(14_999);
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);

    await after(1);
    await service.reconcile();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    await expect(service.status()).resolves.toMatchObject({
      failures: 1,
      lastRestartReason: `the job ended: the job's batch ${first} is gone from Livy (Livy restarted, or the driver was killed)`,
    });
  });

  it('clears the failures once the new copy has run a micro-batch', async () => {
    const { service, livy, stream, started, livyIdOf, running, copyReports } = setup();
    await service.start();
    livy.setState(await livyIdOf(started()), 'dead');
    await service.reconcile();
    expect(stream.stored(STREAM_JOB)).toMatchObject({ failures: 1 });

    await running({ runId: 'run-2' });
    await service.reconcile();
    expect(stream.stored(STREAM_JOB)).toMatchObject({ failures: 1 });

    copyReports({ runId: 'run-2', lastBatchAt: new Date(), seenAt: new Date() });
    await service.reconcile();
    expect(stream.stored(STREAM_JOB)).toMatchObject({ failures: 0 });
    await expect(service.status()).resolves.toMatchObject({ state: 'running', failures: 0, restarts: 1 });
  });

  it('clears the failures once the new copy has been up 30 s, even without data to process', async () => {
    const { service, livy, stream, started, livyIdOf, running, copyReports } = setup();
    await service.start();
    livy.setState(await livyIdOf(started()), 'dead');
    await service.reconcile();
    await running({ runId: 'run-2' });

    await after(30_000);
    copyReports({ runId: 'run-2', seenAt: new Date() });
    await service.reconcile();
    expect(stream.stored(STREAM_JOB)).toMatchObject({ failures: 1 });

    await after(1);
    copyReports({ runId: 'run-2', seenAt: new Date() });
    await service.reconcile();
    expect(stream.stored(STREAM_JOB)).toMatchObject({ failures: 0 });
  });
});

describe('StreamingService: orphans', () => {
  it('adopts a copy that Livy forgot (Livy restarted) while it still reports: no second batch', async () => {
    const { service, livy, started, running } = setup();
    await service.start();
    await running();
    const mine = started();
    livy.restart();

    await service.supervise();
    const status = await service.start();

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(status).toMatchObject({ state: 'running-unmanaged', running: true, batchId: mine, runId: 'run-1' });
    expect(started()).toBe(mine);
  });

  it('adopts a copy submitted to Livy directly when the control plane started none', async () => {
    const { service, livy, stream } = setup();
    livy.add({ name: 'events_stream', state: 'running' });
    stream.report(STREAM_JOB, { runId: 'run-x', state: 'running', seenAt: new Date(), topics: TOPICS, buckets: BUCKETS, offsets: {} });

    const status = await service.start();

    expect(livy.createBatch).not.toHaveBeenCalled();
    expect(status).toMatchObject({ state: 'running-unmanaged', running: true, runId: 'run-x', batchId: undefined });
  });
});

describe('StreamingService: the sources changed', () => {
  it('asks the running copy to stop once, then starts a new one with the new topics when it has stopped', async () => {
    const { service, livy, stream, started, livyIdOf, running, copyReports } = setup();
    await service.start();
    await running({ topics: ['users_created', 'ingest.retired'] });
    const first = started();

    await service.reconcile();
    await service.reconcile();

    expect(stream.requestStop).toHaveBeenCalledTimes(1);
    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', 'sources changed (+ingest.orders)');
    await expect(service.status()).resolves.toMatchObject({ state: 'stopping', running: false, desired: 'running' });
    expect(livy.createBatch).toHaveBeenCalledTimes(1);

    // The job reads stop_run, ends its query after the current micro-batch and exits.
    copyReports({ state: 'stopped', seenAt: new Date() });
    livy.setState(await livyIdOf(first), 'success');
    await service.reconcile();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    const request = livy.createBatch.mock.calls[1][0];
    expect(request.args?.[request.args.indexOf('--topics') + 1]).toBe('users_created,ingest.orders');
    expect(stream.recordFailure).not.toHaveBeenCalled();
    expect(stream.stored(STREAM_JOB)).toMatchObject({ stopRun: undefined, failures: 0 });
    await expect(service.status()).resolves.toMatchObject({
      state: 'starting',
      batchId: started(),
      restarts: 1,
      lastRestartReason: 'sources changed (+ingest.orders)',
      failures: 0,
    });
  });

  it("restarts a copy that does not read a source's dead-letter topic, and reports that topic among those the stream reads", async () => {
    const quarantining = `${SOURCES}  payments:\n    onInvalid: quarantine\n    schema: { type: object }\n`;
    const { service, stream, running } = setup({}, quarantining);
    await service.start();
    await running({ topics: [...TOPICS, 'ingest.payments'] });

    await service.reconcile();

    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', 'sources changed (+ingest.payments.dlq)');
    expect((await service.status()).topics).toEqual([...TOPICS, 'ingest.payments', 'ingest.payments.dlq']);
  });

  it('leaves a copy alone that reads more topics than this replica has (another replica may have them): no restarts in turn', async () => {
    const { service, stream, running } = setup();
    await service.start();
    await running({ topics: [...TOPICS, 'ingest.only_elsewhere'] });

    await service.reconcile();
    await service.reconcile();

    expect(stream.requestStop).not.toHaveBeenCalled();
  });

  it('restarts the copy as soon as a source is added through the API (the registry swapped in), without waiting for the next round', async () => {
    const { replica, stream, sources, running } = setup();
    const service = replica({ STREAMING_SUPERVISE_SECONDS: '300' });
    await service.start();
    await running();
    service.onApplicationBootstrap();
    await after(0);
    expect(stream.requestStop).not.toHaveBeenCalled();

    const [payments] = SourcesRegistry.parse('sources:\n  payments: {}\n', 'the registry', 1048576);
    sources.replace([...sources.list(), payments]);
    await after(0);

    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', 'sources changed (+ingest.payments)');
    await service.onApplicationShutdown();
  });

  it('leaves a copy reading the configured topics alone', async () => {
    const { service, stream, running } = setup();
    await service.start();
    await running({ topics: [...TOPICS].reverse() });

    await service.reconcile();

    expect(stream.requestStop).not.toHaveBeenCalled();
  });
});

describe('StreamingService: a copy that stands still (STREAMING_STUCK_SECONDS)', () => {
  /** users_created holds 40 events in two partitions, ingest.orders 5 in one. */
  const STORED = { users_created: { '0': 30, '1': 7 }, 'ingest.orders': { '0': 5 } };
  const IN_KAFKA = {
    users_created: [
      { partition: 0, low: 0, high: 30 },
      { partition: 1, low: 0, high: 10 },
    ],
    'ingest.orders': [{ partition: 0, low: 0, high: 5 }],
  };
  const ALL_STORED = { users_created: { '0': 30, '1': 10 }, 'ingest.orders': { '0': 5 } };

  /** A running copy that started at T0 and reports what it stored, its heartbeat fresh each round. */
  async function standing(env: Record<string, string> = {}) {
    const ctx = setup();
    const service = ctx.replica({ STREAMING_STUCK_SECONDS: '60', STREAMING_STOP_TIMEOUT_SECONDS: '10', ...env });
    ctx.kafka.offsets = IN_KAFKA;
    await service.start();
    await ctx.running({ startedAt: new Date(), lastBatchAt: new Date(), offsets: STORED });
    let runId = 'run-1';
    /** The copy's heartbeat, written again now (merged into its row, as the job's are). */
    const seen = (fields: Partial<StreamHeartbeat> = {}) => {
      runId = fields.runId ?? runId;
      ctx.stream.report(STREAM_JOB, { runId, seenAt: new Date(), ...fields });
    };
    /** `ms` later, the copy reports again and `supervisor` (default: this replica) runs a round. */
    const roundAfter = async (ms: number, supervisor = service) => {
      await after(ms);
      seen();
      await supervisor.reconcile();
    };
    return { ...ctx, service, seen, roundAfter };
  }

  const STUCK_60S = 'it ran no micro-batch for 60 s while 3 event(s) waited in Kafka';
  /** The status once a new copy was started in place of the one that stood still. */
  const restarted = { state: 'starting', restarts: 1, failures: 0, lastRestartReason: STUCK_60S };

  it('asks a copy that ran no micro-batch for STREAMING_STUCK_SECONDS while events wait to end, naming how long and how many', async () => {
    const { stream, roundAfter } = await standing();

    await roundAfter(60_000 - 1);
    expect(stream.requestStop).not.toHaveBeenCalled();

    await roundAfter(1);
    expect(stream.requestStop).toHaveBeenCalledTimes(1);
    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', STUCK_60S);
  });

  it('leaves a copy alone that stored everything in Kafka, however long ago its last micro-batch ran', async () => {
    const { service, stream, seen } = await standing();
    await after(600_000);
    seen({ offsets: ALL_STORED });

    await service.reconcile();

    expect(stream.requestStop).not.toHaveBeenCalled();
  });

  it('counts from the micro-batch that ran last, and from the start of a copy that has run none', async () => {
    const { service, stream, started, seen, roundAfter } = await standing();
    await after(50_000);
    seen({ lastBatchAt: new Date() });
    await roundAfter(50_000);
    expect(stream.requestStop).not.toHaveBeenCalled();

    // A new copy (started 50 s ago, no micro-batch yet) whose predecessor's last one is older.
    seen({ runId: 'run-2', batchId: started(), state: 'running', topics: TOPICS, buckets: BUCKETS, offsets: STORED, startedAt: new Date(iso(50_000)) });
    await service.reconcile();
    expect(stream.requestStop).not.toHaveBeenCalled();
    await roundAfter(10_000);
    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-2', STUCK_60S);
  });

  it('decides nothing while Kafka does not answer: no copy could move on without it', async () => {
    const { service, stream, kafka, seen } = await standing();
    await after(120_000);
    seen();
    kafka.endOffsets.mockRejectedValueOnce(new Error('Kafka did not answer an offsets request within 3000 ms'));

    await service.reconcile();

    expect(stream.requestStop).not.toHaveBeenCalled();
  });

  it('starts a new copy as a restart, no failure, once the asked copy ended gracefully', async () => {
    const { service, stream, livy, livyIdOf, started, seen, roundAfter } = await standing();
    const first = started();
    await roundAfter(60_000);

    seen({ state: 'stopped' });
    livy.setState(await livyIdOf(first), 'success');
    await service.reconcile();

    expect(started()).not.toBe(first);
    expect(stream.recordFailure).not.toHaveBeenCalled();
    expect(livy.deleteBatch).not.toHaveBeenCalled();
    await expect(service.status()).resolves.toMatchObject(restarted);
  });

  it('kills a copy through Livy that has not ended STREAMING_STOP_TIMEOUT_SECONDS after it was asked, then starts a new one as a restart', async () => {
    const { service, stream, livy, livyIdOf, started, history, leases, roundAfter } = await standing();
    const first = started();
    // The copy holds the stream's lease for 5 minutes; its kill frees it, the next copy need not wait it out.
    await leases.acquire(STREAM_LEASE, 'run-1', 300);
    await roundAfter(60_000);

    await roundAfter(10_000 - 1);
    expect(livy.deleteBatch).not.toHaveBeenCalled();

    await roundAfter(1);
    expect(livy.deleteBatch).toHaveBeenCalledWith(await livyIdOf(first));
    await expect(history.get(first)).resolves.toMatchObject({ state: 'killed' });

    // Its last heartbeat ages out (as after any kill); then a new copy starts.
    await after(15_000);
    await service.reconcile();
    expect(started()).not.toBe(first);
    expect(stream.requestStop).toHaveBeenCalledTimes(1);
    expect(stream.recordFailure).not.toHaveBeenCalled();
    expect(leases.release).toHaveBeenCalledWith(STREAM_LEASE, 'run-1');
    await expect(service.status()).resolves.toMatchObject(restarted);
  });

  it('a replica that takes over supervision waits the stop timeout from when it first sees the request', async () => {
    const { replica, livy, roundAfter } = await standing();
    await roundAfter(60_000);
    const other = replica({ STREAMING_STUCK_SECONDS: '60', STREAMING_STOP_TIMEOUT_SECONDS: '10' });

    await roundAfter(9_000, other);
    await roundAfter(9_000, other);
    expect(livy.deleteBatch).not.toHaveBeenCalled();

    await roundAfter(1_000, other);
    expect(livy.deleteBatch).toHaveBeenCalledTimes(1);
  });
});

describe('StreamingService: the bucket sizes changed', () => {
  it('restarts a copy that reports no bucket sizes (it predates buckets), then starts one with them', async () => {
    const { service, livy, stream, started, livyIdOf, running, copyReports } = setup();
    await service.start();
    await running({ buckets: undefined });
    const first = started();

    await service.reconcile();
    await service.reconcile();

    expect(stream.requestStop).toHaveBeenCalledTimes(1);
    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', 'bucket sizes changed (not bucketed)');

    copyReports({ state: 'stopped', seenAt: new Date(), buckets: undefined });
    livy.setState(await livyIdOf(first), 'success');
    await service.reconcile();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    const request = livy.createBatch.mock.calls[1][0];
    expect(request.args?.[request.args.indexOf('--bucket-seconds') + 1]).toBe('users=3600,orders=3600');
    await expect(service.status()).resolves.toMatchObject({ restarts: 1, lastRestartReason: 'bucket sizes changed (not bucketed)', failures: 0 });
  });

  it('restarts a copy storing a source in buckets of another size, naming the sizes', async () => {
    const { service, stream, running } = setup({}, 'sources:\n  users: { topic: users_created, bucket: 10m }\n  orders: {}\n');
    await service.start();
    await running({ buckets: { users: 3600, orders: 3600 } });

    await service.reconcile();

    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', 'bucket sizes changed (users 1h→10m)');
  });

  it('names both changes when the topics and the bucket sizes changed', async () => {
    const { service, stream, running } = setup({}, 'sources:\n  users: { topic: users_created }\n  orders: {}\n  clicks: { bucket: 1m }\n');
    await service.start();
    await running();

    await service.reconcile();

    expect(stream.requestStop).toHaveBeenCalledWith(STREAM_JOB, 'run-1', 'sources changed (+ingest.clicks); bucket sizes changed (clicks 1h→1m)');
  });

  it('leaves alone a copy with the configured sizes, a source it was not told of counting as 1 h, as the job does', async () => {
    const { service, stream, running } = setup();
    await service.start();
    await running({ buckets: { users: 3600, elsewhere: 60 } });

    await service.reconcile();

    expect(stream.requestStop).not.toHaveBeenCalled();
  });
});

describe('StreamingService.stop', () => {
  it('sets the desired state to stopped and answers stopped once the copy ended gracefully, killing nothing', async () => {
    const { service, livy, stream, running, copyReports } = setup();
    await service.start();
    await running();

    const stopping = service.stop();
    await after(0);
    expect(stream.stored(STREAM_JOB)).toMatchObject({ desired: 'stopped' });
    // The job sees the desired state and ends its query.
    copyReports({ state: 'stopped', seenAt: new Date() });
    livy.setState(0, 'success');
    await after(500);

    await expect(stopping).resolves.toMatchObject({ state: 'stopped', running: false, desired: 'stopped' });
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });

  it('kills the copy through Livy when it does not stop within STREAMING_STOP_TIMEOUT_SECONDS', async () => {
    const { service, livy, history, started, running } = setup();
    await service.start();
    await running();
    const batchId = started();

    const stopping = service.stop();
    await after(1_500);
    expect(livy.deleteBatch).not.toHaveBeenCalled();
    await after(500);
    const status = await stopping;

    expect(livy.deleteBatch).toHaveBeenCalledWith(0);
    await expect(history.get(batchId)).resolves.toMatchObject({ state: 'killed', finishedAt: new Date(iso(2_000)) });
    // Its last heartbeat is still fresh: stopping, not up; stopped once that ages out.
    expect(status).toMatchObject({ state: 'stopping', running: false, desired: 'stopped' });
    await after(15_000);
    await expect(service.status()).resolves.toMatchObject({ state: 'stopped', running: false, since: iso(2_000) });
  });

  it('kills a copy still starting at once: it does not read its control row yet', async () => {
    const { service, livy, history, started } = setup();
    await service.start();

    const status = await service.stop();

    expect(livy.deleteBatch).toHaveBeenCalledWith(0);
    await expect(history.get(started())).resolves.toMatchObject({ state: 'killed' });
    expect(status).toMatchObject({ state: 'stopped', running: false, desired: 'stopped', since: iso(0) });
  });

  it('calls nothing in Livy when no copy runs', async () => {
    const { service, livy } = setup();

    await expect(service.stop()).resolves.toMatchObject({ state: 'stopped', running: false, desired: 'stopped' });
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });

  it('leaves a copy that already died alone, and the supervisor does not start another', async () => {
    const { service, livy, started, livyIdOf } = setup();
    await service.start();
    livy.setState(await livyIdOf(started()), 'dead');

    await expect(service.stop()).resolves.toMatchObject({ state: 'stopped', running: false });
    await service.supervise();

    expect(livy.deleteBatch).not.toHaveBeenCalled();
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
  });

  it('can start again after a stop, which is no restart', async () => {
    const { service, livy, started } = setup();
    await service.start();
    await service.stop();
    const first = started();
    await after(1_000);

    const status = await service.start();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    expect(started()).not.toBe(first);
    expect(status).toMatchObject({ state: 'starting', running: true, desired: 'running', restarts: 0, failures: 0 });
  });
});

describe('StreamingService when Livy is unavailable', () => {
  it('reports the state from the heartbeat alone, saying Livy could not be asked', async () => {
    const { service, livy, started, running } = setup();
    await service.start();
    await running({ appId: 'application_1_0001' });
    livy.getBatch.mockRejectedValue(livyDown());

    await expect(service.status()).resolves.toMatchObject({
      state: 'running',
      running: true,
      batchId: started(),
      livyBatchId: undefined,
      appId: 'application_1_0001',
      runId: 'run-1',
      livy: 'unavailable: Livy is unavailable: connect ECONNREFUSED 127.0.0.1:8998',
    });
  });

  it('starts nothing while it cannot tell whether the copy runs', async () => {
    const { service, livy, stream, started, livyIdOf } = setup();
    await service.start();
    livy.setState(await livyIdOf(started()), 'dead');
    livy.getBatch.mockRejectedValue(livyDown());

    await service.supervise();
    const status = await service.start();

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(stream.recordFailure).not.toHaveBeenCalled();
    expect(status).toMatchObject({ running: false, failures: 0, livy: expect.stringMatching(/^unavailable: /) });

    livy.getBatch.mockRestore();
    await service.supervise();
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });
});
