import { Logger } from '@nestjs/common';
import { isAbsolute } from 'node:path';
import { BatchHistoryRepository, BatchRecord } from '../cassandra/batch-history.repository';
import { StreamHeartbeat } from '../cassandra/stream.repository';
import { InMemoryBatchHistory } from '../cassandra/testing/in-memory-batch-history.repository';
import { InMemoryStreamRepository } from '../cassandra/testing/in-memory-stream.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { BadRequestError, ConflictError, NotFoundError, TooManyRequestsError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { LivyBatchRequest } from '../livy/livy.client';
import { FakeLivy } from '../livy/testing/fake-livy';
import { BatchesService } from './batches.service';

const PACKAGES = 'org.example:kafka-connector_2.12:1.0.0,org.example:cassandra-connector_2.12:2.0.0';
const SOURCES = 'sources:\n  users: { topic: users_created }\n  orders: {}\n';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The real service over the shared Livy fake, the in-memory history and the real catalogs. */
function setup(env: Record<string, string> = {}, sources = SOURCES) {
  const config = testConfig({ SPARK_PACKAGES: PACKAGES, ...env });
  const livy = new FakeLivy();
  const history = new InMemoryBatchHistory();
  const stream = new InMemoryStreamRepository();
  const catalog = new JobsCatalog(config);
  const service = new BatchesService(livy.client, catalog, history as unknown as BatchHistoryRepository, stream.repository, sourcesRegistry(sources), config);
  return { service, livy, history, stream, catalog, config };
}

/** The one request handed to Livy. */
function submitted(livy: FakeLivy): LivyBatchRequest {
  expect(livy.createBatch).toHaveBeenCalledTimes(1);
  return livy.createBatch.mock.calls[0][0];
}

const at = (iso: string) => new Date(iso);
/** A control plane batch id (a UUID v7), numbered for the test. */
const idOf = (n: number) => `01900000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
/** A history row of batch idOf(n), submitted as Livy batch n unless said otherwise. */
const record = (n: number, fields: Partial<BatchRecord> = {}): BatchRecord => ({
  id: idOf(n),
  livyId: n,
  job: 'daily_rollup',
  name: `daily_rollup-${idOf(n)}`,
  state: 'starting',
  args: ['--day', '2026-01-01'],
  submittedAt: at('2026-01-02T00:00:00.000Z'),
  ...fields,
});
/** The history row finish() was handed. */
const recordOf = (n: number) => expect.objectContaining({ id: idOf(n), livyId: n, job: 'daily_rollup' });

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('BatchesService.submit', () => {
  const rollupArgs = { day: '2026-01-01', sources: ['users', 'orders'] };

  it('submits the job file with its pyFiles, the configured packages, the user flags and then the provided ones', async () => {
    const { service, livy } = setup({ SPARK_JOBS_REMOTE_DIR: '/opt/spark-jobs/' });

    const view = await service.submit('daily_rollup', { args: rollupArgs });

    const request = submitted(livy);
    expect(request).toEqual({
      file: '/opt/spark-jobs/daily_rollup.py',
      pyFiles: ['/opt/spark-jobs/pipeline_names.py', '/opt/spark-jobs/job_args.py', '/opt/spark-jobs/pipeline_transforms.py'],
      name: `daily_rollup-${view.id}`,
      conf: { 'spark.jars.packages': PACKAGES },
      args: ['--day', '2026-01-01', '--sources', 'users,orders', '--cassandra-host', '127.0.0.1', '--cassandra-port', '9042', '--keyspace', 'pipeline'],
    });
  });

  it('uses the local jobs directory as the remote one when none is configured', async () => {
    const { service, livy, config } = setup();

    await service.submit('daily_rollup', { args: rollupArgs });

    expect(isAbsolute(config.spark.remoteJobsDir)).toBe(true);
    expect(submitted(livy).file).toBe(`${config.spark.remoteJobsDir}/daily_rollup.py`);
  });

  it('gives each submission its own id (UUID v7) and the Livy name <job>-<id>', async () => {
    const { service, livy } = setup();

    const first = await service.submit('daily_rollup', { args: rollupArgs });
    const second = await service.submit('daily_rollup', { args: rollupArgs });

    expect(first.id).toMatch(UUID_V7);
    expect(second.id).toMatch(UUID_V7);
    expect(first.id).not.toBe(second.id);
    expect(livy.createBatch.mock.calls.map(([req]) => req.name)).toEqual([`daily_rollup-${first.id}`, `daily_rollup-${second.id}`]);
  });

  it("passes the caller's allowed conf to Livy with the configured packages, and records it in the history", async () => {
    const { service, livy, history } = setup();
    const conf = {
      'spark.driver.memory': '1g',
      'spark.executor.memory': '2g',
      'spark.executor.instances': '4',
      'spark.executor.cores': '2',
      'spark.sql.shuffle.partitions': '64',
    };

    const view = await service.submit('daily_rollup', { args: rollupArgs, conf });

    expect(submitted(livy).conf).toEqual({ ...conf, 'spark.jars.packages': PACKAGES });
    expect(view.conf).toEqual({ ...conf, 'spark.jars.packages': PACKAGES });
    await expect(history.get(view.id)).resolves.toMatchObject({ conf: { ...conf, 'spark.jars.packages': PACKAGES } });
    await expect(service.get(view.id)).resolves.toMatchObject({ conf: view.conf });
  });

  it('leaves spark.jars.packages out when no packages are configured', async () => {
    const { service, livy } = setup({ SPARK_PACKAGES: '' });

    await service.submit('daily_rollup', { args: rollupArgs });

    expect(submitted(livy).conf).toEqual({});
  });

  it('passes the configured Cassandra hosts without ports, the port of the first, and the keyspace', async () => {
    const { service, livy } = setup({ STREAMING_CASSANDRA_HOSTS: 'cass-a:9142,cass-b:9142', CASSANDRA_KEYSPACE: 'analytics' });

    await service.submit('daily_rollup', { args: rollupArgs });

    expect(submitted(livy).args?.slice(4)).toEqual(['--cassandra-host', 'cass-a,cass-b', '--cassandra-port', '9142', '--keyspace', 'analytics']);
  });

  it("records the submission in the history under its own id with Livy's id beside it, and returns its view", async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 4, name: 'adhoc', state: 'success' });
    const before = Date.now();

    const view = await service.submit('daily_rollup', { args: rollupArgs });

    expect(view).toMatchObject({ id: expect.stringMatching(UUID_V7), livyId: 5, job: 'daily_rollup', state: 'starting', name: `daily_rollup-${view.id}` });
    expect(view.args).toEqual(expect.arrayContaining(['--day', '2026-01-01', '--keyspace', 'pipeline']));
    const submittedAt = Date.parse(view.submittedAt!);
    expect(submittedAt).toBeGreaterThanOrEqual(before);
    expect(submittedAt).toBeLessThanOrEqual(Date.now());
    expect(view.finishedAt).toBeUndefined();

    const stored = await history.get(view.id);
    expect(stored).toMatchObject({ id: view.id, livyId: 5, job: 'daily_rollup', name: view.name, state: 'starting', args: view.args });
    expect(stored?.submittedAt.toISOString()).toBe(view.submittedAt);
  });

  it('still answers with the batch when the history cannot be written: the batch runs', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 4, name: 'adhoc', state: 'success' });
    history.record.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    const view = await service.submit('daily_rollup', { args: rollupArgs });

    expect(view).toMatchObject({ livyId: 5, job: 'daily_rollup', state: 'starting' });
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`batch ${view.id}`));
  });

  it('records nothing when Livy refuses the batch', async () => {
    const { service, livy, history } = setup();
    livy.createBatch.mockRejectedValueOnce(new UpstreamUnavailableError('Livy', 'Livy is unavailable'));

    await expect(service.submit('daily_rollup', { args: rollupArgs })).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(history.record).not.toHaveBeenCalled();
  });

  it('answers bad args with 400 and never calls Livy', async () => {
    const { service, livy } = setup();

    const err = await rejection(service.submit('daily_rollup', { args: { day: 'yesterday' } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.statusCode).toBe(400);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  it('answers an unknown job with 404 and never calls Livy', async () => {
    const { service, livy } = setup();

    await expect(service.submit('nope')).rejects.toBeInstanceOf(NotFoundError);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  it('refuses the streaming job with 409, pointing to /streaming/start, and never calls Livy', async () => {
    const { service, livy, history } = setup();

    const err = await rejection(service.submit('events_stream'));

    expect(err).toBeInstanceOf(ConflictError);
    expect(err.statusCode).toBe(409);
    expect(err.message).toContain('POST /api/v1/streaming/start');
    expect(livy.createBatch).not.toHaveBeenCalled();
    expect(history.record).not.toHaveBeenCalled();
  });
});

describe("BatchesService.submit: the caller's Spark conf", () => {
  const rollupArgs = { day: '2026-01-01', sources: ['users'] };
  const refusal = async (conf: Record<string, string>, env: Record<string, string> = {}) => {
    const { service, livy, history } = setup(env);
    const err = await rejection(service.submit('daily_rollup', { args: rollupArgs, conf }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.statusCode).toBe(400);
    expect(livy.createBatch).not.toHaveBeenCalled();
    expect(history.record).not.toHaveBeenCalled();
    return err;
  };

  it.each([
    ['spark.driver.extraJavaOptions', '-XX:OnOutOfMemoryError=touch /tmp/pwned'],
    ['spark.executor.extraJavaOptions', '-XX:OnOutOfMemoryError=id'],
    ['spark.driver.defaultJavaOptions', '-Dx=1'],
    ['spark.driver.extraClassPath', '/tmp/evil'],
    ['spark.executor.extraLibraryPath', '/tmp/evil'],
    ['spark.jars.packages', 'evil:evil:1'],
    ['spark.jars', 'http://evil.example/evil.jar'],
    ['spark.jars.repositories', 'http://evil.example/maven'],
    ['spark.files', 'http://evil.example/payload'],
    ['spark.archives', 'http://evil.example/env.tgz'],
    ['spark.submit.pyFiles', 'http://evil.example/evil.py'],
    ['spark.pyspark.python', '/tmp/evil'],
    ['spark.pyspark.driver.python', '/tmp/evil'],
    ['spark.executorEnv.PYSPARK_PYTHON', '/tmp/evil'],
    ['spark.master', 'spark://evil.example:7077'],
    ['spark.driver.host', 'evil.example'],
    ['spark.eventLog.dir', 'hdfs://evil.example/logs'],
    ['spark.hadoop.fs.defaultFS', 'hdfs://evil.example'],
    ['spark.sql.catalog.evil', 'org.evil.Catalog'],
    ['spark.plugins', 'org.evil.Plugin'],
    ['spark.extraListeners', 'org.evil.Listener'],
    ['spark.kubernetes.container.image', 'evil/image'],
  ])('refuses %s with 400 naming it as never accepted, and what the job accepts', async (key, value) => {
    const err = await refusal({ [key]: value });

    expect(err.message).toContain(`conf.${key}`);
    expect(err.details).toEqual([{ field: `conf.${key}`, message: expect.stringContaining('is never accepted') }]);
    expect((err.details as { message: string }[])[0].message).toContain('spark.executor.memory (a memory size from 512m to 2g)');
  });

  it('refuses a setting the job does not list with 400, listing those it does', async () => {
    const err = await refusal({ 'spark.speculation': 'true' });

    expect(err.details).toEqual([
      {
        field: 'conf.spark.speculation',
        message: expect.stringMatching(
          /^is not a setting job "daily_rollup" accepts; it accepts only spark\.driver\.memory .*spark\.sql\.shuffle\.partitions \(an integer from 1 to 1000\)$/,
        ),
      },
    ]);
  });

  it.each([
    ['a URL for a memory size', 'spark.executor.memory', 'http://evil.example/2g', /memory size such as 512m or 2g/],
    ['a URL for a number', 'spark.sql.shuffle.partitions', 'http://evil.example/', /whole number/],
    ['memory over the max', 'spark.executor.memory', '4g', /^must be a memory size from 512m to 2g; not 4g$/],
    ['memory under the min', 'spark.driver.memory', '256m', /from 512m to 2g; not 256m/],
    ['a malformed memory size', 'spark.driver.memory', '1 g', /memory size such as 512m or 2g/],
    ['a memory size without a unit', 'spark.driver.memory', '1024', /memory size such as 512m or 2g/],
    ['a negative memory size', 'spark.driver.memory', '-1g', /memory size such as 512m or 2g/],
    ['executors over the max', 'spark.executor.instances', '5', /^must be an integer from 1 to 4; not 5$/],
    ['no executors', 'spark.executor.instances', '0', /from 1 to 4; not 0/],
    ['cores over the max', 'spark.executor.cores', '3', /from 1 to 2; not 3/],
    ['a fractional number', 'spark.executor.instances', '1.5', /whole number/],
    ['a number with spaces', 'spark.executor.instances', ' 2', /whole number/],
  ])('refuses %s with 400 naming the key and its bounds', async (_case, key, value, message) => {
    const err = await refusal({ [key]: value });

    expect(err.details).toEqual([{ field: `conf.${key}`, message: expect.stringMatching(message) }]);
  });

  it('reports every refused key at once', async () => {
    const err = await refusal({ 'spark.executor.memory': '1g', 'spark.jars': 'x.jar', 'spark.executor.instances': '99' });

    expect((err.details as { field: string }[]).map((d) => d.field)).toEqual(['conf.spark.jars', 'conf.spark.executor.instances']);
  });

  it("applies the operator's ceilings where they are stricter than the catalog's", async () => {
    const env = { SPARK_MAX_EXECUTOR_MEMORY_MB: '1024', SPARK_MAX_DRIVER_MEMORY_MB: '768', SPARK_MAX_EXECUTORS: '2', SPARK_MAX_EXECUTOR_CORES: '1' };

    expect((await refusal({ 'spark.executor.memory': '2g' }, env)).details).toEqual([
      { field: 'conf.spark.executor.memory', message: 'must be a memory size from 512m to 1024m; not 2g' },
    ]);
    expect((await refusal({ 'spark.driver.memory': '1g' }, env)).message).toContain('from 512m to 768m');
    expect((await refusal({ 'spark.executor.instances': '3' }, env)).message).toContain('an integer from 1 to 2');
    expect((await refusal({ 'spark.executor.cores': '2' }, env)).message).toContain('an integer from 1 to 1');

    const { service, livy } = setup(env);
    await service.submit('daily_rollup', {
      args: rollupArgs,
      conf: { 'spark.executor.memory': '1g', 'spark.driver.memory': '768m', 'spark.executor.instances': '2' },
    });
    expect(submitted(livy).conf).toMatchObject({ 'spark.executor.memory': '1g', 'spark.driver.memory': '768m', 'spark.executor.instances': '2' });
  });

  it('refuses any conf for the streaming job, which allows none', async () => {
    const { service, livy, catalog } = setup();

    const err = await rejection(service.launch(catalog.get('events_stream'), { conf: { 'spark.executor.memory': '1g' } }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toEqual([{ field: 'conf.spark.executor.memory', message: expect.stringContaining('it accepts no Spark setting') }]);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });
});

describe('BatchesService.submit: batches running at once', () => {
  const rollupArgs = { day: '2026-01-01', sources: ['users'] };

  it('answers 429 with Retry-After past SPARK_MAX_CONCURRENT_BATCHES_PER_JOB batches of the job not ended in Livy', async () => {
    const { service, livy, history } = setup();
    livy.add({ name: `daily_rollup-${idOf(1)}`, state: 'running' });
    livy.add({ name: `daily_rollup-${idOf(2)}`, state: 'starting' });
    livy.add({ name: `daily_rollup-${idOf(3)}`, state: 'success' });

    const err = await rejection(service.submit('daily_rollup', { args: rollupArgs }));

    expect(err).toBeInstanceOf(TooManyRequestsError);
    expect(err.statusCode).toBe(429);
    expect(err.headers).toEqual({ 'Retry-After': '30' });
    expect(err.message).toContain('Job "daily_rollup" already has 2 batches starting or running');
    expect(err.message).toContain('SPARK_MAX_CONCURRENT_BATCHES_PER_JOB=2');
    expect(livy.createBatch).not.toHaveBeenCalled();
    expect(history.record).not.toHaveBeenCalled();
  });

  it('submits again once one of them ended', async () => {
    const { service, livy } = setup();
    const running = livy.add({ name: `daily_rollup-${idOf(1)}`, state: 'running' });
    livy.add({ name: `daily_rollup-${idOf(2)}`, state: 'running' });
    await expect(service.submit('daily_rollup', { args: rollupArgs })).rejects.toBeInstanceOf(TooManyRequestsError);

    livy.setState(running.id, 'dead');

    await expect(service.submit('daily_rollup', { args: rollupArgs })).resolves.toMatchObject({ state: 'starting' });
  });

  it("answers 429 past SPARK_MAX_CONCURRENT_BATCHES in all, counting batches submitted elsewhere but not the streaming job's", async () => {
    const { service, livy, catalog } = setup({ SPARK_MAX_CONCURRENT_BATCHES: '3' });
    livy.add({ name: `events_stream-${idOf(1)}`, state: 'running' });
    livy.add({ name: 'adhoc-notebook', state: 'running' });
    livy.add({ name: null, state: 'starting' });
    await service.submit('daily_rollup', { args: rollupArgs });

    const err = await rejection(service.submit('daily_rollup', { args: rollupArgs }));

    expect(err).toBeInstanceOf(TooManyRequestsError);
    expect(err.headers['Retry-After']).toBe('30');
    expect(err.message).toContain('3 Spark batches are already starting or running');
    expect(err.message).toContain('SPARK_MAX_CONCURRENT_BATCHES=3');
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    // The supervisor starts the streaming job through launch, which the bounds never hold back.
    await expect(service.launch(catalog.get('events_stream'), {})).resolves.toMatchObject({ job: 'events_stream', state: 'starting' });
  });

  it('admits no more than the bound from a burst of simultaneous submissions', async () => {
    const { service, livy } = setup();

    const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => service.submit('daily_rollup', { args: rollupArgs })));

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.map((o) => o.reason)).toEqual([expect.any(TooManyRequestsError), expect.any(TooManyRequestsError)]);
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });
});

describe('BatchesService.launch', () => {
  it("passes the streaming job every source's topic, the Kafka bootstrap, an absolute checkpoint directory and its batch id", async () => {
    const { service, livy, catalog } = setup({ STREAMING_KAFKA_BOOTSTRAP: 'kafka:29092' });
    const id = idOf(42);

    const view = await service.launch(catalog.get('events_stream'), {}, id);

    const { args, name } = submitted(livy);
    expect(name).toBe(`events_stream-${id}`);
    expect(args?.slice(0, 6)).toEqual(['--trigger-ms', '250', '--starting-offsets', 'earliest', '--max-offsets-per-trigger', '20000']);
    const flag = (f: string) => args![args!.indexOf(f) + 1];
    expect(flag('--topics')).toBe('users_created,ingest.orders');
    expect(flag('--topic-sources')).toBe('users_created=users,ingest.orders=orders');
    expect(args).not.toContain('--dead-letter-topics');
    expect(flag('--bucket-seconds')).toBe('users=3600,orders=3600');
    expect(flag('--kafka-bootstrap')).toBe('kafka:29092');
    expect(flag('--cassandra-host')).toBe('127.0.0.1');
    expect(isAbsolute(flag('--checkpoint-dir'))).toBe(true);
    expect(flag('--checkpoint-dir')).toMatch(/checkpoints\/events_stream$/);
    // The job reports under this id in its heartbeat: how the supervisor tells its copy from others.
    expect(args).toContain('--batch-id');
    expect(flag('--batch-id')).toBe(id);
    expect(view).toMatchObject({ id, livyId: 0, job: 'events_stream', name: `events_stream-${id}`, state: 'starting' });
  });

  it('passes the streaming job the dead-letter topics too, whose source each is, and which of them hold dead letters', async () => {
    const quarantining = 'sources:\n  users: { topic: users_created }\n  orders:\n    onInvalid: quarantine\n    schema: { type: object }\n';
    const { service, livy, catalog } = setup({}, quarantining);

    await service.launch(catalog.get('events_stream'), {}, idOf(43));

    const { args } = submitted(livy);
    const flag = (f: string) => args![args!.indexOf(f) + 1];
    expect(flag('--topics')).toBe('users_created,ingest.orders,ingest.orders.dlq');
    expect(flag('--topic-sources')).toBe('users_created=users,ingest.orders=orders,ingest.orders.dlq=orders');
    expect(flag('--dead-letter-topics')).toBe('ingest.orders.dlq');
  });

  it("passes the streaming job each source's bucket size in seconds, declared or derived", async () => {
    const sized = 'sources:\n  users: { topic: users_created, bucket: 10m }\n  clicks: { peakEventsPerSecond: 2000 }\n  orders: {}\n';
    const { service, livy, catalog } = setup({}, sized);

    await service.launch(catalog.get('events_stream'), {}, idOf(44));

    const { args } = submitted(livy);
    expect(args![args!.indexOf('--bucket-seconds') + 1]).toBe('users=600,clicks=30,orders=3600');
  });

  it('generates the id when none is given, and records the batch under it', async () => {
    const { service, history, catalog } = setup();

    const view = await service.launch(catalog.get('events_stream'), { args: { trigger_ms: 1000 } });

    expect(view.id).toMatch(UUID_V7);
    expect(view.args?.slice(0, 2)).toEqual(['--trigger-ms', '1000']);
    await expect(history.get(view.id)).resolves.toMatchObject({ id: view.id, livyId: 0, job: 'events_stream', name: `events_stream-${view.id}` });
  });

  it('validates the args against the catalog', async () => {
    const { service, livy, catalog } = setup();

    await expect(service.launch(catalog.get('events_stream'), { args: { trigger_ms: 1 } })).rejects.toBeInstanceOf(BadRequestError);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });
});

describe('BatchesService.get', () => {
  it("prefers Livy's state and app id, and takes job, args and times from the history", async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'starting' }));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'running', appId: 'application_1_0004' });

    const view = await service.get(idOf(4));

    expect(view).toEqual({
      id: idOf(4),
      livyId: 4,
      job: 'daily_rollup',
      name: `daily_rollup-${idOf(4)}`,
      state: 'running',
      appId: 'application_1_0004',
      args: ['--day', '2026-01-01'],
      submittedAt: '2026-01-02T00:00:00.000Z',
    });
    expect(history.finish).not.toHaveBeenCalled();
  });

  it('records the finish once, the first time it sees a terminal state, and keeps that time', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'running' }));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'success' });

    const first = await service.get(idOf(4));
    const second = await service.get(idOf(4));

    expect(first.state).toBe('success');
    expect(first.finishedAt).toEqual(expect.any(String));
    expect(history.finish).toHaveBeenCalledTimes(1);
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'success', new Date(first.finishedAt!));
    expect(second.finishedAt).toBe(first.finishedAt);
    await expect(history.get(idOf(4))).resolves.toMatchObject({ state: 'success', finishedAt: new Date(first.finishedAt!) });
  });

  it('answers from the history when Livy has forgotten a killed batch, which stays killed', async () => {
    const { service, history } = setup();
    history.seed(record(4, { state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') }));

    await expect(service.get(idOf(4))).resolves.toMatchObject({ id: idOf(4), job: 'daily_rollup', state: 'killed', finishedAt: '2026-01-02T00:05:00.000Z' });
    expect(history.finish).not.toHaveBeenCalled();
    await expect(history.get(idOf(4))).resolves.toMatchObject({ state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') });
  });

  it("calls a batch 'lost' when Livy forgot it before it was seen to finish", async () => {
    const { service, history } = setup();
    history.seed(record(4, { state: 'running' }));

    await expect(service.get(idOf(4))).resolves.toMatchObject({ id: idOf(4), livyId: 4, state: 'lost', finishedAt: undefined });
  });

  it("records a lost batch as finished with state 'lost' the first time it is seen, so the retention applies", async () => {
    const { service, history } = setup();
    history.seed(record(4, { state: 'running' }));
    const before = Date.now();

    await service.get(idOf(4));
    const later = await service.get(idOf(4));

    expect(history.finish).toHaveBeenCalledTimes(1);
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'lost', expect.any(Date));
    const finishedAt = history.finish.mock.calls[0][2];
    expect(finishedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(later).toMatchObject({ id: idOf(4), state: 'lost', finishedAt: finishedAt.toISOString() });
    await expect(history.get(idOf(4))).resolves.toMatchObject({ state: 'lost', finishedAt });
  });

  it('does not call a batch lost when it was submitted after Livy was asked (its answer may predate it)', async () => {
    const { service, history } = setup();
    const submittedAt = new Date(Date.now() + 60_000);
    history.seed(record(4, { state: 'starting', submittedAt }));

    const [listed] = await service.list();

    expect(listed).toMatchObject({ id: idOf(4) });
    expect(history.finish).not.toHaveBeenCalled();
    await expect(history.get(idOf(4))).resolves.toMatchObject({ finishedAt: undefined });
  });

  // The bug the own ids fix: Livy numbers from 0 again after a restart, and a new batch with a
  // recorded batch's Livy id used to overwrite that batch's history and be shown as it.
  it('does not take another batch that Livy gave the recorded Livy id after a restart: the recorded batch is lost', async () => {
    jest.useFakeTimers({ now: at('2026-01-02T00:00:00.000Z'), doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    const { service, livy, history } = setup();
    const rollupArgs = { day: '2026-01-01', sources: ['users'] };
    const before = await service.submit('daily_rollup', { args: rollupArgs });
    livy.setState(before.livyId!, 'running');
    jest.setSystemTime(at('2026-01-02T01:00:00.000Z'));
    livy.restart();
    const after = await service.submit('daily_rollup', { args: { ...rollupArgs, day: '2026-01-02' } });
    livy.setState(after.livyId!, 'running');
    expect(after.livyId).toBe(before.livyId);
    jest.setSystemTime(at('2026-01-02T01:00:01.000Z'));

    const old = await service.get(before.id);
    const current = await service.get(after.id);

    expect(old).toMatchObject({ id: before.id, livyId: 0, name: before.name, state: 'lost', args: before.args });
    expect(current).toMatchObject({ id: after.id, livyId: 0, name: after.name, state: 'running', args: after.args });
    expect(history.finish).toHaveBeenCalledTimes(1);
    expect(history.finish).toHaveBeenCalledWith(expect.objectContaining({ id: before.id }), 'lost', expect.any(Date));
    await expect(history.get(after.id)).resolves.toMatchObject({ args: after.args, finishedAt: undefined });
  });

  it('answers 404 when neither Livy nor the history knows the batch', async () => {
    const { service } = setup();

    const err = await rejection(service.get(idOf(4)));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain(idOf(4));
  });

  it.each([
    '4',
    '2147483648',
    'livy:',
    'livy:x',
    'livy:-1',
    'livy:2147483648',
    'livy:9999999999',
    'livy:12345678901',
    'not-a-uuid',
    `${idOf(4)}0`,
    idOf(0xabc).toUpperCase(),
    '',
  ])('answers 404 for the malformed id %p (or a Livy id no Java int holds) without asking the history or Livy', async (id) => {
    const { service, livy, history } = setup();
    history.seed(record(4));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'running' });

    await expect(service.get(id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.kill(id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.log(id, 0, 10)).rejects.toBeInstanceOf(NotFoundError);
    expect(history.get).not.toHaveBeenCalled();
    expect(livy.getBatch).not.toHaveBeenCalled();
  });

  it('asks Livy for livy:2147483647, the largest id Livy can hold', async () => {
    const { service, livy } = setup();

    await expect(service.get('livy:2147483647')).rejects.toBeInstanceOf(NotFoundError);
    expect(livy.getBatch).toHaveBeenCalledWith(2147483647);
  });

  it('answers 404 for livy:<n> when Livy has no batch n', async () => {
    const { service } = setup();

    const err = await rejection(service.get('livy:4'));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain('livy:4');
  });

  it("answers a batch submitted elsewhere by Livy's id, from Livy alone", async () => {
    const { service, livy, history } = setup();
    history.get.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));
    livy.add({ id: 4, name: 'daily_rollup-20260101', state: 'running', appId: 'application_1_0004' });

    await expect(service.get('livy:4')).resolves.toEqual({
      id: 'livy:4',
      livyId: 4,
      job: 'daily_rollup',
      name: 'daily_rollup-20260101',
      state: 'running',
      appId: 'application_1_0004',
    });
    expect(history.get).not.toHaveBeenCalled();
  });

  it("answers 503, not 404, for the control plane's id when the history cannot be read", async () => {
    const { service, history } = setup();
    history.get.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));

    await expect(service.get(idOf(4))).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it.each([
    ['daily_rollup-1a2b3c4d', 'daily_rollup'],
    ['events_stream', 'events_stream'],
    [`events_stream-${idOf(1)}`, 'events_stream'],
    ['adhoc-notebook', undefined],
  ])('names the job of a batch submitted elsewhere from its Livy name %s', async (name, job) => {
    const { service, livy } = setup();
    livy.add({ id: 8, name, state: 'running' });

    const view = await service.get('livy:8');

    expect(view.job).toBe(job);
    expect(view.submittedAt).toBeUndefined();
  });
});

describe('BatchesService.kill', () => {
  it('kills a running batch in Livy and records the kill', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'running' }));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'running' });

    const view = await service.kill(idOf(4));

    expect(livy.deleteBatch).toHaveBeenCalledWith(4);
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'killed', expect.any(Date));
    expect(view).toMatchObject({ id: idOf(4), livyId: 4, job: 'daily_rollup', state: 'killed', finishedAt: expect.any(String) });
    await expect(history.get(idOf(4))).resolves.toMatchObject({ state: 'killed', finishedAt: new Date(view.finishedAt!) });
  });

  it('remembers the kill after Livy forgets the batch', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'running' }));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'running' });

    const killed = await service.kill(idOf(4));
    const later = await service.get(idOf(4));

    await expect(livy.getBatch(4)).resolves.toBeUndefined();
    expect(later).toMatchObject({ id: idOf(4), state: 'killed', finishedAt: killed.finishedAt });
    expect(history.finish).toHaveBeenCalledTimes(1);
  });

  it("kills a batch submitted elsewhere by Livy's id without writing a history it does not have", async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 8, name: 'adhoc-notebook', state: 'running' });

    const view = await service.kill('livy:8');

    expect(livy.deleteBatch).toHaveBeenCalledWith(8);
    expect(history.finish).not.toHaveBeenCalled();
    expect(view).toMatchObject({ id: 'livy:8', livyId: 8, state: 'killed', finishedAt: expect.any(String) });
    await expect(livy.getBatch(8)).resolves.toBeUndefined();
  });

  it('leaves a batch that already finished alone', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'running' }));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'success' });

    const view = await service.kill(idOf(4));

    expect(livy.deleteBatch).not.toHaveBeenCalled();
    expect(view.state).toBe('success');
    await expect(history.get(idOf(4))).resolves.toMatchObject({ state: 'success' });
  });

  it('answers from the history for a batch Livy has forgotten, without calling Livy to delete', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') }));

    await expect(service.kill(idOf(4))).resolves.toMatchObject({ state: 'killed', finishedAt: '2026-01-02T00:05:00.000Z' });
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });

  it('never kills the batch that now carries a lost batch’s Livy id', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4, { state: 'running' }));
    livy.add({ id: 4, name: `daily_rollup-${idOf(99)}`, state: 'running' });

    const view = await service.kill(idOf(4));

    expect(livy.deleteBatch).not.toHaveBeenCalled();
    expect(view).toMatchObject({ id: idOf(4), state: 'lost' });
    await expect(livy.getBatch(4)).resolves.toMatchObject({ state: 'running' });
  });

  it("refuses the streaming job's batch with 409, pointing to POST /streaming/stop, by the control plane's id or Livy's", async () => {
    const { service, livy, history } = setup();
    history.seed(record(3, { job: 'events_stream', name: `events_stream-${idOf(3)}`, state: 'running' }));
    livy.add({ id: 3, name: `events_stream-${idOf(3)}`, state: 'running' });
    livy.add({ id: 8, name: `events_stream-${idOf(8)}`, state: 'running' });

    for (const id of [idOf(3), 'livy:3', 'livy:8']) {
      const err = await rejection(service.kill(id));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.statusCode).toBe(409);
      expect(err.message).toContain('POST /api/v1/streaming/stop');
    }
    expect(livy.deleteBatch).not.toHaveBeenCalled();
    expect(history.finish).not.toHaveBeenCalled();
    await expect(livy.getBatch(3)).resolves.toMatchObject({ state: 'running' });
  });

  it("kills the streaming job's batch for the streaming service, which owns its lifecycle", async () => {
    const { service, livy, history } = setup();
    history.seed(record(3, { job: 'events_stream', name: `events_stream-${idOf(3)}`, state: 'running' }));
    livy.add({ id: 3, name: `events_stream-${idOf(3)}`, state: 'running' });

    await expect(service.killStreaming(idOf(3))).resolves.toMatchObject({ id: idOf(3), job: 'events_stream', state: 'killed' });
    expect(livy.deleteBatch).toHaveBeenCalledWith(3);
  });

  it.each([idOf(4), 'livy:4', '4'])('answers 404 for %s, which nobody knows', async (id) => {
    const { service, livy } = setup();

    await expect(service.kill(id)).rejects.toBeInstanceOf(NotFoundError);
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });
});

describe('BatchesService.list', () => {
  it("lists the history newest first, with Livy's state where Livy has the batch by id and name, then Livy's other batches, newest first", async () => {
    const { service, livy, history } = setup();
    const submitted = (n: number) => at(`2026-01-02T00:0${n}:00.000Z`);
    livy.add({ id: 1, name: `daily_rollup-${idOf(1)}`, state: 'success' });
    livy.add({ id: 3, name: `events_stream-${idOf(3)}`, state: 'running' });
    livy.add({ id: 5, name: 'adhoc', state: 'running' });
    // Livy restarted since batch 6 was recorded and gave its Livy id to a batch submitted elsewhere.
    livy.add({ id: 6, name: 'notebook', state: 'running' });
    history.seed(
      record(1, { state: 'running', submittedAt: submitted(1) }),
      record(2, { state: 'killed', submittedAt: submitted(2), finishedAt: at('2026-01-02T00:05:00.000Z') }),
      record(3, { job: 'events_stream', name: `events_stream-${idOf(3)}`, state: 'starting', submittedAt: submitted(3) }),
      record(4, { state: 'running', submittedAt: submitted(4) }),
      record(6, { state: 'running', submittedAt: submitted(6) }),
    );

    const views = await service.list();

    expect(views.map((v) => [v.id, v.livyId, v.job, v.state])).toEqual([
      [idOf(6), 6, 'daily_rollup', 'lost'],
      [idOf(4), 4, 'daily_rollup', 'lost'],
      [idOf(3), 3, 'events_stream', 'running'],
      [idOf(2), 2, 'daily_rollup', 'killed'],
      [idOf(1), 1, 'daily_rollup', 'success'],
      ['livy:6', 6, undefined, 'running'],
      ['livy:5', 5, undefined, 'running'],
    ]);
    // 1 is seen finished for the first time; 4 and 6 are seen lost for the first time; 2 was already recorded.
    expect(history.finish).toHaveBeenCalledTimes(3);
    expect(history.finish).toHaveBeenCalledWith(recordOf(1), 'success', expect.any(Date));
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'lost', expect.any(Date));
    expect(history.finish).toHaveBeenCalledWith(recordOf(6), 'lost', expect.any(Date));
    await expect(history.get(idOf(2))).resolves.toMatchObject({ state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') });
  });

  it("lists Livy's batches by Livy's id when the history cannot be read", async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 3, name: `events_stream-${idOf(3)}`, state: 'running' });
    history.list.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));

    await expect(service.list()).resolves.toEqual([expect.objectContaining({ id: 'livy:3', livyId: 3, job: 'events_stream', state: 'running' })]);
  });
});

describe("BatchesService: the streaming job's copy that Livy forgot", () => {
  /** The history row of the stream's copy started as batch idOf(n) (Livy forgot it: it restarted). */
  const streamRecord = (n: number) =>
    record(n, { job: 'events_stream', name: `events_stream-${idOf(n)}`, state: 'running', submittedAt: at(`2026-01-02T00:0${n}:00.000Z`) });
  /** The copy's heartbeat, as the job writes it: by default the copy of batch idOf(3), running, seen now. */
  const reports = (stream: InMemoryStreamRepository, fields: Partial<StreamHeartbeat> = {}) =>
    stream.report('events_stream', {
      runId: 'run-1',
      batchId: idOf(3),
      appId: 'local-1767225600000',
      state: 'running',
      seenAt: new Date(),
      topics: ['users_created'],
      offsets: {},
      ...fields,
    });

  it('is running, adopted, while its copy reports itself, and is not recorded as lost', async () => {
    const { service, history, stream } = setup();
    history.seed(streamRecord(3));
    reports(stream);

    const view = await service.get(idOf(3));
    const [listed] = await service.list();

    const adopted = { id: idOf(3), job: 'events_stream', state: 'running', adopted: true, appId: 'local-1767225600000', finishedAt: undefined };
    expect(view).toMatchObject(adopted);
    expect(listed).toMatchObject(adopted);
    expect(history.finish).not.toHaveBeenCalled();
    await expect(history.get(idOf(3))).resolves.toMatchObject({ finishedAt: undefined });
  });

  it.each<[string, Partial<StreamHeartbeat>]>([
    ['its copy went silent', { seenAt: new Date(Date.now() - 60_000) }],
    ['its copy failed', { state: 'failed' }],
    ['its copy stopped', { state: 'stopped' }],
    ['the live copy is of another batch', { batchId: idOf(5) }],
  ])('is lost, and recorded so, once %s', async (_case, fields) => {
    const { service, history, stream } = setup();
    history.seed(streamRecord(3));
    reports(stream, fields);

    const view = await service.get(idOf(3));

    expect(view).toMatchObject({ id: idOf(3), state: 'lost' });
    expect(view.adopted).toBeUndefined();
    expect(history.finish).toHaveBeenCalledWith(expect.objectContaining({ id: idOf(3) }), 'lost', expect.any(Date));
  });

  it('is lost without a heartbeat at all', async () => {
    const { service, history } = setup();
    history.seed(streamRecord(3));

    await expect(service.get(idOf(3))).resolves.toMatchObject({ state: 'lost' });
    expect(history.finish).toHaveBeenCalledTimes(1);
  });

  it('is not recorded as lost while the heartbeat cannot be read', async () => {
    const { service, history, stream } = setup();
    history.seed(streamRecord(3));
    stream.heartbeat.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    await expect(service.get(idOf(3))).resolves.toMatchObject({ state: 'lost' });
    expect(history.finish).not.toHaveBeenCalled();
  });

  it("reads the heartbeat once per list, and never for a batch job's batches", async () => {
    const { service, history, stream } = setup();
    history.seed(streamRecord(3), streamRecord(2), record(4, { state: 'running', submittedAt: at('2026-01-02T00:04:00.000Z') }));
    reports(stream);

    const views = await service.list();

    expect(views.map((v) => [v.id, v.state, v.adopted])).toEqual([
      [idOf(4), 'lost', undefined],
      [idOf(3), 'running', true],
      [idOf(2), 'lost', undefined],
    ]);
    expect(stream.heartbeat).toHaveBeenCalledTimes(1);
    expect(stream.heartbeat).toHaveBeenCalledWith('events_stream');
  });
});

describe('BatchesService.log', () => {
  const lines = [...Array.from({ length: 10 }, (_, i) => `line ${i}`), 'stdout: ', 'rolled up 42 minutes'];

  it("maps Livy's log page to lines", async () => {
    const { service, livy, history } = setup();
    history.seed(record(4));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'success' });
    livy.setLog(4, lines);

    await expect(service.log(idOf(4), 10, 2)).resolves.toEqual({ id: idOf(4), from: 10, total: 12, lines: ['stdout: ', 'rolled up 42 minutes'] });
    expect(livy.getLog).toHaveBeenCalledWith(4, 10, 2);
  });

  it("reads the log of a batch submitted elsewhere by Livy's id", async () => {
    const { service, livy } = setup();
    livy.add({ id: 8, name: 'adhoc-notebook', state: 'success' });
    livy.setLog(8, lines);

    await expect(service.log('livy:8', 0, 1)).resolves.toEqual({ id: 'livy:8', from: 0, total: 12, lines: ['line 0'] });
    expect(livy.getLog).toHaveBeenCalledWith(8, 0, 1);
  });

  it('answers the last lines with tail, whatever from and size say', async () => {
    const { service, livy, history } = setup();
    history.seed(record(4));
    livy.add({ id: 4, name: `daily_rollup-${idOf(4)}`, state: 'running' });
    livy.setLog(4, lines);

    await expect(service.log(idOf(4), 0, 100, 3)).resolves.toEqual({ id: idOf(4), from: 9, total: 12, lines: ['line 9', 'stdout: ', 'rolled up 42 minutes'] });
    await expect(service.log(idOf(4), 0, 100, 50)).resolves.toEqual({ id: idOf(4), from: 0, total: 12, lines });
  });

  it('answers 404 when Livy has no log for the batch', async () => {
    const { service, history } = setup();
    history.seed(record(4));

    await expect(service.log(idOf(4), 0, 100)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("never shows the log of the batch that now carries a lost batch's Livy id", async () => {
    const { service, livy, history } = setup();
    history.seed(record(4));
    livy.add({ id: 4, name: 'adhoc-notebook', state: 'running' });
    livy.setLog(4, lines);

    await expect(service.log(idOf(4), 0, 100)).rejects.toBeInstanceOf(NotFoundError);
    expect(livy.getLog).not.toHaveBeenCalled();
  });

  it.each([idOf(4), 'livy:4', 'four'])('answers 404 for %s, which nobody knows', async (id) => {
    const { service } = setup();

    await expect(service.log(id, 0, 100)).rejects.toBeInstanceOf(NotFoundError);
  });
});
