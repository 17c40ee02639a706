import { rejection } from '../common/testing/rejection';
import { AppConfig, toAppConfig } from '../common/config/app-config';
import { validateEnvironment } from '../common/config/env.schema';
import { BadRequestError, ConflictError, NotFoundError, UpstreamUnavailableError } from '../common/errors/errors';
import { AirflowApi, AirflowDag, AirflowDagRun, AirflowTaskInstance, TriggerRequest } from './airflow.api';
import { OrchestrationService } from './orchestration.service';

function configWith(env: Record<string, string> = {}): AppConfig {
  return toAppConfig(validateEnvironment({ API_KEYS: 'k'.repeat(16), ...env }));
}

const dag = (dagId: string, fields: Partial<AirflowDag> = {}): AirflowDag => ({ dagId, isPaused: false, tags: [], ...fields });
const run = (dagId: string, runId: string, state: string, fields: Partial<AirflowDagRun> = {}): AirflowDagRun => ({ dagId, runId, state, conf: {}, ...fields });

/**
 * Stands in for Airflow behind the AirflowApi interface: knows a few DAGs and their runs (newest
 * last in `runs`); a triggered run goes through the states in `progression`, one per getRun.
 */
class FakeAirflow implements AirflowApi {
  dags = new Map<string, AirflowDag>([
    ['user_profiles_ingest', dag('user_profiles_ingest', { schedule: '*/5 * * * *', tags: ['ingest'] })],
    ['never_ran', dag('never_ran')],
    ['paused_dag', dag('paused_dag', { isPaused: true })],
  ]);
  runs = new Map<string, AirflowDagRun[]>([
    ['user_profiles_ingest', [run('user_profiles_ingest', 'scheduled__1', 'success'), run('user_profiles_ingest', 'scheduled__2', 'running')]],
    ['never_ran', []],
    ['paused_dag', []],
  ]);
  /** States a triggered run reports on successive getRun calls; the last one repeats. */
  progression: string[] = ['running'];
  private polls = 0;

  listDags = jest.fn(async (): Promise<AirflowDag[]> => [...this.dags.values()]);
  getDag = jest.fn(async (dagId: string): Promise<AirflowDag | undefined> => this.dags.get(dagId));
  setPaused = jest.fn(async (dagId: string, paused: boolean): Promise<AirflowDag> => {
    const found = this.dags.get(dagId);
    if (!found) throw new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);
    found.isPaused = paused;
    return found;
  });
  trigger = jest.fn(async (dagId: string, req: TriggerRequest): Promise<AirflowDagRun> => {
    if (!this.dags.has(dagId)) throw new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);
    const created = run(dagId, req.runId ?? 'manual__1', 'queued', { conf: req.conf ?? {}, logicalDate: req.logicalDate });
    this.runs.get(dagId)!.push(created);
    return created;
  });
  listRuns = jest.fn(async (dagId: string, limit: number): Promise<AirflowDagRun[]> => {
    const runs = this.runs.get(dagId);
    if (!runs) throw new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);
    return [...runs].reverse().slice(0, limit);
  });
  getRun = jest.fn(async (dagId: string, runId: string): Promise<AirflowDagRun | undefined> => {
    const found = this.runs.get(dagId)?.find((r) => r.runId === runId);
    if (!found) return undefined;
    if (found.state === 'queued' || found.state === 'running') found.state = this.progression[Math.min(this.polls++, this.progression.length - 1)];
    return { ...found };
  });
  taskInstances = jest.fn(async (): Promise<AirflowTaskInstance[]> => [{ taskId: 'fetch_users', state: 'success', tryNumber: 1 }]);
  ping = jest.fn(async (): Promise<Record<string, unknown>> => ({ version: '3.1.0' }));
}

function setup(env: Record<string, string> = {}) {
  const airflow = new FakeAirflow();
  const service = new OrchestrationService(airflow, configWith(env));
  return { service, airflow };
}


/** Tracks whether a promise has settled, so a test can check it has not yet. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false };
  void promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('OrchestrationService reading DAGs', () => {
  it("lists every DAG with its newest run as lastRun, and none for a DAG that never ran", async () => {
    const { service, airflow } = setup();

    const dags = await service.listDags();

    expect(dags.map((d) => [d.dagId, d.lastRun?.runId])).toEqual([
      ['user_profiles_ingest', 'scheduled__2'],
      ['never_ran', undefined],
      ['paused_dag', undefined],
    ]);
    expect(dags[0]).toMatchObject({ schedule: '*/5 * * * *', tags: ['ingest'], lastRun: { state: 'running' } });
    expect(airflow.listRuns.mock.calls).toEqual([
      ['user_profiles_ingest', 1],
      ['never_ran', 1],
      ['paused_dag', 1],
    ]);
  });

  it('fails the listing when Airflow fails to list runs', async () => {
    const { service, airflow } = setup();
    airflow.listRuns.mockRejectedValueOnce(new UpstreamUnavailableError('Airflow', 'Airflow is unavailable'));

    await expect(service.listDags()).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it('returns one DAG with its last run', async () => {
    const { service } = setup();

    await expect(service.getDag('user_profiles_ingest')).resolves.toMatchObject({ dagId: 'user_profiles_ingest', lastRun: { runId: 'scheduled__2' } });
  });

  it('answers 404 for an unknown DAG without asking for its runs', async () => {
    const { service, airflow } = setup();

    const err = await rejection(service.getDag('x'));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain('"x"');
    expect(airflow.listRuns).not.toHaveBeenCalled();
  });

  it('tells whether a DAG exists', async () => {
    const { service } = setup();

    await expect(service.dagExists('user_profiles_ingest')).resolves.toBe(true);
    await expect(service.dagExists('x')).resolves.toBe(false);
  });

  it('answers 404 for an unknown run and returns a known one', async () => {
    const { service } = setup();

    await expect(service.getRun('user_profiles_ingest', 'scheduled__1')).resolves.toMatchObject({ state: 'success' });
    await expect(service.getRun('user_profiles_ingest', 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('OrchestrationService.trigger', () => {
  afterEach(() => jest.useRealTimers());

  it('without wait, returns the queued run as not finished and never polls', async () => {
    const { service, airflow } = setup();

    const result = await service.trigger('user_profiles_ingest', { conf: { count: 3 } });

    expect(result).toEqual({ run: expect.objectContaining({ runId: 'manual__1', state: 'queued', conf: { count: 3 } }), finished: false });
    expect(airflow.trigger).toHaveBeenCalledWith('user_profiles_ingest', { conf: { count: 3 } });
    expect(airflow.getDag).not.toHaveBeenCalled();
    expect(airflow.getRun).not.toHaveBeenCalled();
  });

  it('without wait, reports a run Airflow already ended as finished', async () => {
    const { service, airflow } = setup();
    airflow.trigger.mockResolvedValueOnce(run('user_profiles_ingest', 'r', 'success'));

    await expect(service.trigger('user_profiles_ingest', {})).resolves.toMatchObject({ finished: true });
  });

  it('with wait, polls about once a second until the run ends, and returns it finished', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.progression = ['running', 'running', 'success'];

    const promise = service.trigger('user_profiles_ingest', { runId: 'r1' }, 30);
    const progress = track(promise);
    await jest.advanceTimersByTimeAsync(2000);
    expect(progress.settled).toBe(false);
    expect(airflow.getRun).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);

    await expect(promise).resolves.toEqual({ run: expect.objectContaining({ runId: 'r1', state: 'success' }), finished: true });
    expect(airflow.getRun).toHaveBeenCalledTimes(3);
    expect(airflow.getRun).toHaveBeenLastCalledWith('user_profiles_ingest', 'r1');
  });

  it('with wait, treats a failed run as finished too', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.progression = ['failed'];

    const promise = service.trigger('user_profiles_ingest', {}, 30);
    await jest.advanceTimersByTimeAsync(1000);

    await expect(promise).resolves.toMatchObject({ run: { state: 'failed' }, finished: true });
  });

  it('with wait, returns the last state seen, not finished, when the bound elapses', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.progression = ['running'];

    const promise = service.trigger('user_profiles_ingest', {}, 3);
    await jest.advanceTimersByTimeAsync(3000);

    await expect(promise).resolves.toEqual({ run: expect.objectContaining({ state: 'running' }), finished: false });
    expect(airflow.getRun).toHaveBeenCalledTimes(3);
  });

  it('keeps the last state seen when the run cannot be read while waiting', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.getRun.mockResolvedValue(undefined);

    const promise = service.trigger('user_profiles_ingest', {}, 2);
    await jest.advanceTimersByTimeAsync(2000);

    await expect(promise).resolves.toMatchObject({ run: { runId: 'manual__1', state: 'queued' }, finished: false });
  });

  it('caps the wait at AIRFLOW_WAIT_MAX_SECONDS', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup({ AIRFLOW_WAIT_MAX_SECONDS: '1' });

    const promise = service.trigger('user_profiles_ingest', {}, 600);
    const progress = track(promise);
    await jest.advanceTimersByTimeAsync(1000);

    expect(progress.settled).toBe(true);
    await expect(promise).resolves.toMatchObject({ run: { state: 'running' }, finished: false });
    expect(airflow.getRun).toHaveBeenCalledTimes(1);
  });

  it('refuses to wait on a paused DAG with 409 saying how to unpause, and triggers nothing', async () => {
    const { service, airflow } = setup();

    const err = await rejection(service.trigger('paused_dag', {}, 30));

    expect(err).toBeInstanceOf(ConflictError);
    expect(err.statusCode).toBe(409);
    expect(err.message).toContain('PATCH /api/v1/dags/paused_dag');
    expect(airflow.trigger).not.toHaveBeenCalled();
  });

  it('triggers a paused DAG when not asked to wait (Airflow queues the run)', async () => {
    const { service, airflow } = setup();

    await expect(service.trigger('paused_dag', {})).resolves.toMatchObject({ run: { state: 'queued' }, finished: false });
    expect(airflow.trigger).toHaveBeenCalledTimes(1);
  });

  it('answers 404 when asked to wait on an unknown DAG, and triggers nothing', async () => {
    const { service, airflow } = setup();

    await expect(service.trigger('x', {}, 30)).rejects.toBeInstanceOf(NotFoundError);
    expect(airflow.trigger).not.toHaveBeenCalled();
  });

  it.each(['yesterday', '2026-13-45T00:00:00Z', ''])('answers 400 for the logicalDate %p before calling Airflow', async (logicalDate) => {
    const { service, airflow } = setup();

    const err = await rejection(service.trigger('user_profiles_ingest', { logicalDate }, 30));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain('logicalDate');
    expect(airflow.getDag).not.toHaveBeenCalled();
    expect(airflow.trigger).not.toHaveBeenCalled();
  });

  it('passes a valid logicalDate on to Airflow', async () => {
    const { service, airflow } = setup();

    await service.trigger('user_profiles_ingest', { logicalDate: '2026-03-01T00:00:00Z' });

    expect(airflow.trigger).toHaveBeenCalledWith('user_profiles_ingest', { logicalDate: '2026-03-01T00:00:00Z' });
  });
});

describe('OrchestrationService pass-throughs', () => {
  it('pauses through Airflow and returns the changed DAG', async () => {
    const { service, airflow } = setup();

    await expect(service.setPaused('user_profiles_ingest', true)).resolves.toMatchObject({ isPaused: true });
    expect(airflow.setPaused).toHaveBeenCalledWith('user_profiles_ingest', true);
  });

  it('lists runs with the limit, task instances and ping from Airflow', async () => {
    const { service, airflow } = setup();

    await expect(service.listRuns('user_profiles_ingest', 1)).resolves.toEqual([expect.objectContaining({ runId: 'scheduled__2' })]);
    await expect(service.taskInstances('user_profiles_ingest', 'scheduled__1')).resolves.toEqual([expect.objectContaining({ taskId: 'fetch_users' })]);
    await expect(service.ping()).resolves.toEqual({ version: '3.1.0' });
    expect(airflow.taskInstances).toHaveBeenCalledWith('user_profiles_ingest', 'scheduled__1');
  });
});
