import { Logger } from '@nestjs/common';
import { BatchHistoryRepository, BatchRecord } from '../cassandra/batch-history.repository';
import { InMemoryBatchHistory } from '../cassandra/testing/in-memory-batch-history.repository';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { BadRequestError, ConflictError, UpstreamRejectedError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { LivyBatch, LivyClient } from '../livy/livy.client';
import { FakeLivy } from '../livy/testing/fake-livy';
import { BatchesService } from './batches.service';
import { StreamingService } from './streaming.service';

const SOURCES = 'sources:\n  users: { topic: users_created }\n  orders: {}\n';
const TOPICS = ['users_created', 'ingest.orders'];

/** The real BatchesService over the shared Livy fake and the in-memory history, so the streaming service is exercised through it. */
function setup(env: Record<string, string> = {}) {
  const config = testConfig(env);
  const livy = new FakeLivy();
  const history = new InMemoryBatchHistory();
  const sources = sourcesRegistry(SOURCES);
  const batches = new BatchesService(livy.client, new JobsCatalog(config), history as unknown as BatchHistoryRepository, sources, config);
  const service = new StreamingService(batches, livy.client, sources, config);
  return { service, livy, history };
}

const streamRecord = (fields: Partial<BatchRecord> & { id: number }): BatchRecord => ({
  job: 'events_stream',
  name: 'events_stream',
  state: 'starting',
  args: [],
  submittedAt: new Date('2026-01-02T00:00:00.000Z'),
  ...fields,
});

beforeEach(() => {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('StreamingService.status', () => {
  it('is stopped, with no batch, when neither Livy nor the history has run the job', async () => {
    const { service } = setup();

    await expect(service.status()).resolves.toEqual({ state: 'stopped', running: false, topics: TOPICS });
  });

  it('names the last batch and when it stopped after Livy forgot the killed batch', async () => {
    const { service, history } = setup();
    history.seed(
      streamRecord({ id: 2, submittedAt: new Date('2026-01-01T00:00:00.000Z'), state: 'dead', finishedAt: new Date('2026-01-01T06:00:00.000Z') }),
      streamRecord({ id: 7, state: 'killed', finishedAt: new Date('2026-01-02T03:00:00.000Z') }),
    );

    await expect(service.status()).resolves.toEqual({
      state: 'stopped',
      running: false,
      batchId: 7,
      since: '2026-01-02T03:00:00.000Z',
      topics: TOPICS,
    });
  });

  it('reports the live copy, running since its submission, over an older dead one', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 1, name: 'events_stream', state: 'dead' });
    livy.add({ id: 4, name: 'daily_rollup-00000004', state: 'running' });
    livy.add({ id: 3, name: 'events_stream', state: 'running', appId: 'application_1_0003' });
    history.seed(streamRecord({ id: 3 }));

    await expect(service.status()).resolves.toEqual({
      state: 'running',
      running: true,
      batchId: 3,
      appId: 'application_1_0003',
      since: '2026-01-02T00:00:00.000Z',
      topics: TOPICS,
    });
  });

  it('reports a copy that died in Livy as stopped since it was first seen dead', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 3, name: 'events_stream', state: 'dead' });
    history.seed(streamRecord({ id: 3, state: 'running' }));

    const status = await service.status();

    expect(status).toMatchObject({ state: 'stopped', running: false, batchId: 3, since: expect.any(String) });
    await expect(history.get(3)).resolves.toMatchObject({ state: 'dead', finishedAt: new Date(status.since!) });
  });
});

describe('StreamingService.start', () => {
  it("submits the job under its fixed name with every source's topic and reports it", async () => {
    const { service, livy } = setup();

    const status = await service.start({ trigger_ms: 1000 });

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    const request = livy.createBatch.mock.calls[0][0];
    expect(request.name).toBe('events_stream');
    expect(request.file).toMatch(/\/events_stream\.py$/);
    expect(request.args?.slice(0, 2)).toEqual(['--trigger-ms', '1000']);
    expect(request.args?.[request.args.indexOf('--topics') + 1]).toBe('users_created,ingest.orders');
    expect(status).toMatchObject({ state: 'starting', running: true, batchId: 0, since: expect.any(String), topics: TOPICS });
  });

  it('does not submit a second copy while one is live, answering with the live one', async () => {
    const { service, livy } = setup();
    livy.add({ id: 3, name: 'events_stream', state: 'running' });

    const status = await service.start();

    expect(livy.createBatch).not.toHaveBeenCalled();
    expect(livy.deleteBatch).not.toHaveBeenCalled();
    expect(status).toMatchObject({ state: 'running', running: true, batchId: 3 });
  });

  it('removes a dead copy to free the name, then submits a new one', async () => {
    const { service, livy } = setup();
    livy.add({ id: 3, name: 'events_stream', state: 'dead' });

    const status = await service.start();

    expect(livy.deleteBatch).toHaveBeenCalledWith(3);
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(livy.deleteBatch.mock.invocationCallOrder[0]).toBeLessThan(livy.createBatch.mock.invocationCallOrder[0]);
    expect(livy.createBatch.mock.calls[0][0].name).toBe('events_stream');
    expect(status).toMatchObject({ running: true, batchId: 4 });
  });

  it('shares one attempt between concurrent calls', async () => {
    const { service, livy } = setup();

    const [a, b] = await Promise.all([service.start(), service.start()]);

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ running: true, batchId: 0 });
  });

  it('starts a new attempt once the previous one has settled', async () => {
    const { service, livy } = setup();
    livy.createBatch.mockRejectedValueOnce(new UpstreamUnavailableError('Livy', 'Livy is unavailable: connect ECONNREFUSED'));

    await expect(service.start()).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(service.start()).resolves.toMatchObject({ running: true });
    expect(livy.createBatch).toHaveBeenCalledTimes(2);
  });

  it("answers with the other replica's copy when Livy refuses the name as a conflict", async () => {
    const { service, livy } = setup();
    const submit = livy.createBatch.getMockImplementation()!;
    livy.createBatch.mockImplementationOnce((req) => {
      // Another API replica submitted between our look at Livy and our submission.
      livy.add({ id: 40, name: 'events_stream', state: 'running', appId: 'application_1_0040' });
      return submit(req);
    });

    const status = await service.start();

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    await expect(livy.createBatch.mock.results[0].value).rejects.toBeInstanceOf(ConflictError);
    expect(status).toMatchObject({ state: 'running', running: true, batchId: 40, appId: 'application_1_0040' });
  });

  it('passes on any other refusal from Livy', async () => {
    const { service, livy } = setup();
    livy.createBatch.mockImplementationOnce(async () => {
      throw LivyClient.mapError({ response: { status: 400, data: { msg: 'Local path /x is not allowed' } } });
    });

    await expect(service.start()).rejects.toBeInstanceOf(UpstreamRejectedError);
  });

  // The bug the typed error fixes: the service used to swallow any 502 whose message said "duplicate".
  it('passes on a 502 from Livy that merely mentions a duplicate', async () => {
    const { service, livy } = setup();
    livy.createBatch.mockImplementationOnce(async () => {
      throw LivyClient.mapError({
        response: { status: 500, data: { msg: 'java.lang.IllegalStateException: Duplicate key 12 (attempted merging values a and b)' } },
      });
    });

    const err = await rejection(service.start());

    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err).toMatchObject({ statusCode: 502, upstream: 'Livy' });
    expect(err.message).toContain('Duplicate key 12');
  });

  it('answers bad args with 400 without submitting', async () => {
    const { service, livy } = setup();

    await expect(service.start({ trigger_ms: 1 })).rejects.toBeInstanceOf(BadRequestError);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });
});

describe('StreamingService.stop', () => {
  it('kills the live copy and reports it stopped, with the kill time from the history', async () => {
    const { service, livy, history } = setup();
    const started = await service.start();

    const status = await service.stop();

    expect(livy.deleteBatch).toHaveBeenCalledWith(started.batchId);
    await expect(livy.getBatch(started.batchId!)).resolves.toBeUndefined();
    const recorded = await history.get(started.batchId!);
    expect(recorded).toMatchObject({ state: 'killed', finishedAt: expect.any(Date) });
    expect(status).toEqual({ state: 'stopped', running: false, batchId: started.batchId, since: recorded!.finishedAt!.toISOString(), topics: TOPICS });
  });

  it('can start again after a stop', async () => {
    const { service, livy } = setup();
    await service.start();
    await service.stop();

    const status = await service.start();

    expect(livy.createBatch).toHaveBeenCalledTimes(2);
    expect(status).toMatchObject({ running: true, batchId: 1 });
  });

  it('calls nothing in Livy when no copy runs', async () => {
    const { service, livy } = setup();

    await expect(service.stop()).resolves.toMatchObject({ state: 'stopped', running: false });
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });

  it('leaves a copy that already died alone', async () => {
    const { service, livy, history } = setup();
    livy.add({ id: 3, name: 'events_stream', state: 'dead' });
    history.seed(streamRecord({ id: 3, state: 'running' }));

    await expect(service.stop()).resolves.toMatchObject({ state: 'stopped', running: false, batchId: 3 });
    expect(livy.deleteBatch).not.toHaveBeenCalled();
  });
});

describe('StreamingService autostart', () => {
  const unavailable = () => new UpstreamUnavailableError('Livy', 'Livy is unavailable: connect ECONNREFUSED 127.0.0.1:8998');

  it('does nothing at start-up unless STREAMING_AUTOSTART is set', async () => {
    jest.useFakeTimers();
    const { service, livy } = setup();

    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(60_000);

    expect(livy.listBatches).not.toHaveBeenCalled();
  });

  it('retries every 5 s until Livy answers, then submits once', async () => {
    jest.useFakeTimers();
    const { service, livy } = setup({ STREAMING_AUTOSTART: 'true' });
    livy.listBatches.mockRejectedValueOnce(unavailable());

    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(livy.listBatches).toHaveBeenCalledTimes(1);
    expect(livy.createBatch).not.toHaveBeenCalled();

    await jest.advanceTimersByTimeAsync(4_999);
    expect(livy.createBatch).not.toHaveBeenCalled();

    await jest.advanceTimersByTimeAsync(1);
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(livy.createBatch.mock.calls[0][0].name).toBe('events_stream');

    const calls = livy.listBatches.mock.calls.length;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(livy.listBatches).toHaveBeenCalledTimes(calls);
    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    service.onApplicationShutdown();
  });

  it('stops retrying at shutdown', async () => {
    jest.useFakeTimers();
    const { service, livy } = setup({ STREAMING_AUTOSTART: 'true' });
    livy.listBatches.mockRejectedValue(unavailable());

    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    service.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(60_000);

    expect(livy.listBatches).toHaveBeenCalledTimes(1);
    expect(livy.createBatch).not.toHaveBeenCalled();
  });

  // Fails against the current code: autostart() arms a new retry timer when an attempt that was
  // in flight at shutdown fails afterwards, so a shut-down replica submits the job 5 s later.
  it('does not retry after shutdown when an attempt in flight at shutdown fails', async () => {
    jest.useFakeTimers();
    const { service, livy } = setup({ STREAMING_AUTOSTART: 'true' });
    let fail!: (err: Error) => void;
    livy.listBatches.mockImplementationOnce(() => new Promise<LivyBatch[]>((_resolve, reject) => (fail = reject)));

    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    service.onApplicationShutdown();
    fail(unavailable());
    await jest.advanceTimersByTimeAsync(60_000);

    expect(livy.createBatch).not.toHaveBeenCalled();
    expect(livy.listBatches).toHaveBeenCalledTimes(1);
  });
});
