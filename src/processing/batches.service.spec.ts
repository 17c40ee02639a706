import { Logger } from '@nestjs/common';
import { isAbsolute } from 'node:path';
import { BatchHistoryRepository, BatchRecord } from '../cassandra/batch-history.repository';
import { InMemoryBatchHistory } from '../cassandra/testing/in-memory-batch-history.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { BadRequestError, NotFoundError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { LivyBatchRequest } from '../livy/livy.client';
import { FakeLivy } from '../livy/testing/fake-livy';
import { BatchesService } from './batches.service';

const PACKAGES = 'org.example:kafka-connector_2.12:1.0.0,org.example:cassandra-connector_2.12:2.0.0';
const SOURCES = 'sources:\n  users: { topic: users_created }\n  orders: {}\n';

/** The real service over the shared Livy fake, the in-memory history and the real catalogs. */
function setup(env: Record<string, string> = {}) {
  const config = testConfig({ SPARK_PACKAGES: PACKAGES, ...env });
  const livy = new FakeLivy();
  const history = new InMemoryBatchHistory();
  const service = new BatchesService(
    livy.client,
    new JobsCatalog(config),
    history as unknown as BatchHistoryRepository,
    sourcesRegistry(SOURCES),
    config,
  );
  return { service, livy, history, config };
}

/** The one request handed to Livy. */
function submitted(livy: FakeLivy): LivyBatchRequest {
  expect(livy.createBatch).toHaveBeenCalledTimes(1);
  return livy.createBatch.mock.calls[0][0];
}

const at = (iso: string) => new Date(iso);
const record = (fields: Partial<BatchRecord> & { id: number }): BatchRecord => ({
  job: 'daily_rollup',
  name: `daily_rollup-${fields.id.toString(16).padStart(8, '0')}`,
  state: 'starting',
  args: ['--day', '2026-01-01'],
  submittedAt: at('2026-01-02T00:00:00.000Z'),
  ...fields,
});
/** The history row finish() was handed, by id. */
const recordOf = (id: number) => expect.objectContaining({ id, job: 'daily_rollup' });

afterEach(() => jest.restoreAllMocks());

describe('BatchesService.submit', () => {
  const rollupArgs = { day: '2026-01-01', sources: ['users', 'orders'] };

  it('submits the job file with its pyFiles, the configured packages, the user flags and then the provided ones', async () => {
    const { service, livy } = setup({ SPARK_JOBS_REMOTE_DIR: '/opt/spark-jobs/' });

    await service.submit('daily_rollup', { args: rollupArgs });

    const request = submitted(livy);
    expect(request).toEqual({
      file: '/opt/spark-jobs/daily_rollup.py',
      pyFiles: ['/opt/spark-jobs/pipeline_transforms.py'],
      name: expect.stringMatching(/^daily_rollup-[0-9a-f]{8}$/),
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

  it('gives each submission its own generated name', async () => {
    const { service, livy } = setup();

    await service.submit('daily_rollup', { args: rollupArgs });
    await service.submit('daily_rollup', { args: rollupArgs });

    const [first, second] = livy.createBatch.mock.calls.map(([req]) => req.name);
    expect(first).not.toBe(second);
  });

  it("merges the caller's conf into the packages, the caller winning on the same key", async () => {
    const { service, livy } = setup();

    await service.submit('daily_rollup', { args: rollupArgs, conf: { 'spark.driver.memory': '2g' } });
    await service.submit('daily_rollup', { args: rollupArgs, conf: { 'spark.jars.packages': 'org.other:lib:9' } });

    expect(livy.createBatch.mock.calls[0][0].conf).toEqual({ 'spark.jars.packages': PACKAGES, 'spark.driver.memory': '2g' });
    expect(livy.createBatch.mock.calls[1][0].conf).toEqual({ 'spark.jars.packages': 'org.other:lib:9' });
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

  it('records the submission in the history under the id Livy gave, and returns its view', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 4, name: 'adhoc', state: 'success' });
    const before = Date.now();

    const view = await service.submit('daily_rollup', { args: rollupArgs });

    expect(view).toMatchObject({ id: 5, job: 'daily_rollup', state: 'starting', name: expect.stringMatching(/^daily_rollup-[0-9a-f]{8}$/) });
    expect(view.args).toEqual(expect.arrayContaining(['--day', '2026-01-01', '--keyspace', 'pipeline']));
    const submittedAt = Date.parse(view.submittedAt!);
    expect(submittedAt).toBeGreaterThanOrEqual(before);
    expect(submittedAt).toBeLessThanOrEqual(Date.now());
    expect(view.finishedAt).toBeUndefined();

    const stored = await history.get(5);
    expect(stored).toMatchObject({ id: 5, job: 'daily_rollup', name: view.name, state: 'starting', args: view.args });
    expect(stored?.submittedAt.toISOString()).toBe(view.submittedAt);
  });

  it('still answers with the batch when the history cannot be written: the batch runs', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 4, name: 'adhoc', state: 'success' });
    history.record.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    const view = await service.submit('daily_rollup', { args: rollupArgs });

    expect(view).toMatchObject({ id: 5, job: 'daily_rollup', state: 'starting' });
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('batch 5'));
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

  it("passes the streaming job every source's topic, the Kafka bootstrap and an absolute checkpoint directory", async () => {
    const { service, livy } = setup({ STREAMING_KAFKA_BOOTSTRAP: 'kafka:29092' });

    await service.submit('events_stream', { name: 'events_stream' });

    const { args, name } = submitted(livy);
    expect(name).toBe('events_stream');
    expect(args?.slice(0, 6)).toEqual(['--trigger-ms', '250', '--starting-offsets', 'earliest', '--max-offsets-per-trigger', '20000']);
    const flag = (f: string) => args![args!.indexOf(f) + 1];
    expect(flag('--topics')).toBe('users_created,ingest.orders');
    expect(flag('--kafka-bootstrap')).toBe('kafka:29092');
    expect(flag('--cassandra-host')).toBe('127.0.0.1');
    expect(isAbsolute(flag('--checkpoint-dir'))).toBe(true);
    expect(flag('--checkpoint-dir')).toMatch(/checkpoints\/events_stream$/);
  });
});

describe('BatchesService.get', () => {
  it("prefers Livy's state and app id, and takes job, args and times from the history", async () => {
    const { service, livy, history } = setup();
    history.seed(record({ id: 4, state: 'starting' }));
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'running', appId: 'application_1_0004' });

    const view = await service.get(4);

    expect(view).toEqual({
      id: 4,
      job: 'daily_rollup',
      name: 'daily_rollup-00000004',
      state: 'running',
      appId: 'application_1_0004',
      args: ['--day', '2026-01-01'],
      submittedAt: '2026-01-02T00:00:00.000Z',
    });
    expect(history.finish).not.toHaveBeenCalled();
  });

  it('records the finish once, the first time it sees a terminal state, and keeps that time', async () => {
    const { service, livy, history } = setup();
    history.seed(record({ id: 4, state: 'running' }));
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'success' });

    const first = await service.get(4);
    const second = await service.get(4);

    expect(first.state).toBe('success');
    expect(first.finishedAt).toEqual(expect.any(String));
    expect(history.finish).toHaveBeenCalledTimes(1);
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'success', new Date(first.finishedAt!));
    expect(second.finishedAt).toBe(first.finishedAt);
    await expect(history.get(4)).resolves.toMatchObject({ state: 'success', finishedAt: new Date(first.finishedAt!) });
  });

  it('answers from the history when Livy has forgotten a killed batch, which stays killed', async () => {
    const { service, history } = setup();
    history.seed(record({ id: 4, state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') }));

    await expect(service.get(4)).resolves.toMatchObject({ id: 4, job: 'daily_rollup', state: 'killed', finishedAt: '2026-01-02T00:05:00.000Z' });
    expect(history.finish).not.toHaveBeenCalled();
    await expect(history.get(4)).resolves.toMatchObject({ state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') });
  });

  it("calls a batch 'lost' when Livy forgot it before it was seen to finish", async () => {
    const { service, history } = setup();
    history.seed(record({ id: 4, state: 'running' }));

    await expect(service.get(4)).resolves.toMatchObject({ id: 4, state: 'lost', finishedAt: undefined });
  });

  it("records a lost batch as finished with state 'lost' the first time it is seen, so the retention applies", async () => {
    const { service, history } = setup();
    history.seed(record({ id: 4, state: 'running' }));
    const before = Date.now();

    await service.get(4);
    const later = await service.get(4);

    expect(history.finish).toHaveBeenCalledTimes(1);
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'lost', expect.any(Date));
    const finishedAt = history.finish.mock.calls[0][2];
    expect(finishedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(later).toMatchObject({ id: 4, state: 'lost', finishedAt: finishedAt.toISOString() });
    await expect(history.get(4)).resolves.toMatchObject({ state: 'lost', finishedAt });
  });

  it('does not call a batch lost when it was submitted after Livy was asked (its answer may predate it)', async () => {
    const { service, history } = setup();
    const submittedAt = new Date(Date.now() + 60_000);
    history.seed(record({ id: 4, state: 'starting', submittedAt }));

    const [listed] = await service.list();

    expect(listed).toMatchObject({ id: 4 });
    expect(history.finish).not.toHaveBeenCalled();
    await expect(history.get(4)).resolves.toMatchObject({ finishedAt: undefined });
  });

  it('answers 404 when neither Livy nor the history knows the batch', async () => {
    const { service } = setup();

    const err = await rejection(service.get(4));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain('4');
  });

  it("still answers with Livy's view when the history cannot be read", async () => {
    const { service, livy, history } = setup();
    history.get.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'running' });

    await expect(service.get(4)).resolves.toMatchObject({ id: 4, state: 'running', job: 'daily_rollup' });
  });

  it.each([
    ['daily_rollup-1a2b3c4d', 'daily_rollup'],
    ['events_stream', 'events_stream'],
    ['adhoc-notebook', undefined],
  ])('names the job of a batch submitted elsewhere from its Livy name %s', async (name, job) => {
    const { service, livy } = setup();
    livy.add({ id: 8, name, state: 'running' });

    const view = await service.get(8);

    expect(view.job).toBe(job);
    expect(view.submittedAt).toBeUndefined();
  });
});

describe('BatchesService.kill', () => {
  it('kills a running batch in Livy and records the kill', async () => {
    const { service, livy, history } = setup();
    history.seed(record({ id: 4, state: 'running' }));
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'running' });

    const view = await service.kill(4);

    expect(livy.deleteBatch).toHaveBeenCalledWith(4);
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'killed', expect.any(Date));
    expect(view).toMatchObject({ id: 4, job: 'daily_rollup', state: 'killed', finishedAt: expect.any(String) });
    await expect(history.get(4)).resolves.toMatchObject({ state: 'killed', finishedAt: new Date(view.finishedAt!) });
  });

  it('remembers the kill after Livy forgets the batch', async () => {
    const { service, livy, history } = setup();
    history.seed(record({ id: 4, state: 'running' }));
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'running' });

    const killed = await service.kill(4);
    const later = await service.get(4);

    await expect(livy.getBatch(4)).resolves.toBeUndefined();
    expect(later).toMatchObject({ id: 4, state: 'killed', finishedAt: killed.finishedAt });
    expect(history.finish).toHaveBeenCalledTimes(1);
  });

  it('kills a batch submitted elsewhere without writing a history it does not have', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 8, name: 'adhoc-notebook', state: 'running' });

    const view = await service.kill(8);

    expect(livy.deleteBatch).toHaveBeenCalledWith(8);
    expect(history.finish).not.toHaveBeenCalled();
    expect(view).toMatchObject({ id: 8, state: 'killed', finishedAt: expect.any(String) });
  });

  it('leaves a batch that already finished alone', async () => {
    const { service, livy, history } = setup();
    history.seed(record({ id: 4, state: 'running' }));
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'success' });

    const view = await service.kill(4);

    expect(livy.deleteBatch).not.toHaveBeenCalled();
    expect(view.state).toBe('success');
    await expect(history.get(4)).resolves.toMatchObject({ state: 'success' });
  });

  it('answers from the history for a batch Livy has forgotten, without calling Livy to delete', async () => {
    const { service, livy, history } = setup();
    history.seed(record({ id: 4, state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') }));

    await expect(service.kill(4)).resolves.toMatchObject({ state: 'killed', finishedAt: '2026-01-02T00:05:00.000Z' });
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });

  it('answers 404 for a batch nobody knows', async () => {
    const { service, livy } = setup();

    await expect(service.kill(4)).rejects.toBeInstanceOf(NotFoundError);
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });
});

describe('BatchesService.list', () => {
  it("merges Livy's batches with the ones it forgot, newest id first, each once", async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 1, name: 'daily_rollup-00000001', state: 'success' });
    livy.add({ id: 3, name: 'events_stream', state: 'running' });
    livy.add({ id: 6, name: 'adhoc', state: 'running' });
    history.seed(
      record({ id: 1, state: 'running' }),
      record({ id: 2, state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') }),
      record({ id: 3, job: 'events_stream', name: 'events_stream', state: 'starting' }),
      record({ id: 4, state: 'running' }),
    );

    const views = await service.list();

    expect(views.map((v) => [v.id, v.job, v.state])).toEqual([
      [6, undefined, 'running'],
      [4, 'daily_rollup', 'lost'],
      [3, 'events_stream', 'running'],
      [2, 'daily_rollup', 'killed'],
      [1, 'daily_rollup', 'success'],
    ]);
    // 1 is seen finished for the first time; 4 is seen lost for the first time; 2 was already recorded.
    expect(history.finish).toHaveBeenCalledTimes(2);
    expect(history.finish).toHaveBeenCalledWith(recordOf(1), 'success', expect.any(Date));
    expect(history.finish).toHaveBeenCalledWith(recordOf(4), 'lost', expect.any(Date));
    await expect(history.get(2)).resolves.toMatchObject({ state: 'killed', finishedAt: at('2026-01-02T00:05:00.000Z') });
  });

  it("lists Livy's batches when the history cannot be read", async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 3, name: 'events_stream', state: 'running' });
    history.list.mockRejectedValue(new UpstreamUnavailableError('Cassandra', 'down'));

    await expect(service.list()).resolves.toEqual([expect.objectContaining({ id: 3, job: 'events_stream', state: 'running' })]);
  });
});

describe('BatchesService.log', () => {
  it("maps Livy's log page to lines", async () => {
    const { service, livy } = setup();
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'success' });
    livy.setLog(4, [...Array.from({ length: 10 }, (_, i) => `line ${i}`), 'stdout: ', 'rolled up 42 minutes']);

    await expect(service.log(4, 10, 2)).resolves.toEqual({ id: 4, from: 10, total: 12, lines: ['stdout: ', 'rolled up 42 minutes'] });
    expect(livy.getLog).toHaveBeenCalledWith(4, 10, 2);
  });

  it('answers 404 when Livy has no log for the batch', async () => {
    const { service } = setup();

    await expect(service.log(4, 0, 100)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('BatchesService.latestOf', () => {
  it("returns the job's most recently submitted batch from the history", async () => {
    const { service, history } = setup();
    history.seed(
      record({ id: 9, job: 'events_stream', submittedAt: at('2026-01-01T00:00:00.000Z') }),
      record({ id: 2, job: 'events_stream', submittedAt: at('2026-01-03T00:00:00.000Z'), state: 'killed', finishedAt: at('2026-01-03T01:00:00.000Z') }),
      record({ id: 10, job: 'daily_rollup', submittedAt: at('2026-01-04T00:00:00.000Z') }),
    );

    await expect(service.latestOf('events_stream')).resolves.toMatchObject({ id: 2, state: 'killed' });
    await expect(service.latestOf('other')).resolves.toBeUndefined();
  });
});
