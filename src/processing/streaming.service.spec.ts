import { InMemoryBatchHistory } from '../storage/testing/in-memory-batch-history.repository';
import { Logger } from '@nestjs/common';
import { AppConfig, toAppConfig } from '../common/config/app-config';
import { validateEnvironment } from '../common/config/env.schema';
import { BadRequestError, UpstreamRejectedError, UpstreamUnavailableError } from '../common/errors/errors';
import { IngestionService } from '../ingestion/ingestion.service';
import { Source } from '../ingestion/sources.registry';
import { BatchHistoryRepository, BatchRecord } from '../storage/batch-history.repository';
import { BatchesService } from './batches.service';
import { JobsCatalog } from './jobs.catalog';
import { LivyBatch, LivyBatchRequest, LivyClient, LivyLog } from './livy.client';
import { StreamingService } from './streaming.service';

function configWith(env: Record<string, string> = {}): AppConfig {
  return toAppConfig(validateEnvironment({ API_KEYS: 'k'.repeat(16), ...env }));
}

/**
 * Stands in for Livy's batch sessions: ids count up, a name stays taken while any session carrying
 * it exists (Livy answers "Duplicate session name" with 400, as the real client maps it), and a
 * deleted (killed) session is forgotten at once.
 */
class FakeLivy {
  private readonly sessions = new Map<number, LivyBatch>();
  private nextId = 0;

  listBatches = jest.fn(async (): Promise<LivyBatch[]> => [...this.sessions.values()].map((b) => ({ ...b })));

  getBatch = jest.fn(async (id: number): Promise<LivyBatch | undefined> => {
    const b = this.sessions.get(id);
    return b && { ...b };
  });

  getLog = jest.fn(async (): Promise<LivyLog | undefined> => undefined);

  createBatch = jest.fn((req: LivyBatchRequest): Promise<LivyBatch> => this.create(req));

  deleteBatch = jest.fn(async (id: number): Promise<boolean> => this.sessions.delete(id));

  ping = jest.fn(async () => ({ batches: this.sessions.size }));

  add(batch: Omit<LivyBatch, 'id'> & { id?: number }): LivyBatch {
    const added = { ...batch, id: batch.id ?? this.nextId++ };
    this.nextId = Math.max(this.nextId, added.id + 1);
    this.sessions.set(added.id, added);
    return added;
  }

  setState(id: number, state: string): void {
    this.sessions.get(id)!.state = state;
  }

  async create(req: LivyBatchRequest): Promise<LivyBatch> {
    if (req.name && [...this.sessions.values()].some((b) => b.name === req.name)) {
      throw LivyClient.mapError({ response: { status: 400, data: { msg: `Duplicate session name: ${req.name}` } } });
    }
    return { ...this.add({ name: req.name, state: 'starting', appId: null }) };
  }
}


const SOURCES: Source[] = [
  { name: 'users', topic: 'users_created', maxBodyBytes: 1_048_576 },
  { name: 'orders', topic: 'ingest.orders', maxBodyBytes: 1_048_576 },
];
const TOPICS = ['users_created', 'ingest.orders'];
const fakeIngestion = { listSources: () => SOURCES } as Pick<IngestionService, 'listSources'> as IngestionService;

/** The real BatchesService over fake Livy and history, so the streaming service is exercised through it. */
function setup(env: Record<string, string> = {}) {
  const config = configWith(env);
  const livy = new FakeLivy();
  const history = new InMemoryBatchHistory();
  const client = livy as unknown as LivyClient;
  const batches = new BatchesService(client, new JobsCatalog(config), history as unknown as BatchHistoryRepository, fakeIngestion, config);
  const service = new StreamingService(batches, client, fakeIngestion, config);
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

  it("answers with the other replica's copy when Livy refuses the name as a duplicate", async () => {
    const { service, livy } = setup();
    livy.createBatch.mockImplementationOnce((req) => {
      // Another API replica submitted between our look at Livy and our submission.
      livy.add({ id: 40, name: 'events_stream', state: 'running', appId: 'application_1_0040' });
      return livy.create(req);
    });

    const status = await service.start();

    expect(livy.createBatch).toHaveBeenCalledTimes(1);
    expect(status).toMatchObject({ state: 'running', running: true, batchId: 40, appId: 'application_1_0040' });
  });

  it('passes on any other refusal from Livy', async () => {
    const { service, livy } = setup();
    livy.createBatch.mockImplementationOnce(async () => {
      throw LivyClient.mapError({ response: { status: 400, data: { msg: 'Local path /x is not allowed' } } });
    });

    await expect(service.start()).rejects.toBeInstanceOf(UpstreamRejectedError);
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
