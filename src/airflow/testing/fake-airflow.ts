import { ConflictError, NotFoundError } from '../../common/errors/errors';
import { AirflowApi, AirflowDag, AirflowDagRun, AirflowTaskInstance, TriggerRequest } from '../airflow.api';

export const dag = (dagId: string, fields: Partial<AirflowDag> = {}): AirflowDag => ({ dagId, isPaused: false, tags: [], ...fields });
export const dagRun = (dagId: string, runId: string, state: string, fields: Partial<AirflowDagRun> = {}): AirflowDagRun => ({
  dagId,
  runId,
  state,
  conf: {},
  ...fields,
});

const dagMissing = (dagId: string) => new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);

/**
 * Unit-test stand-in for the Airflow adapter, with its not-found policy: every method naming an
 * unknown DAG or run throws NotFoundError. It knows a few DAGs and their runs (newest last in
 * `runs`); a run that is queued or running moves through `progression`, one state per getRun; a
 * run id the DAG already has is a ConflictError, as Airflow's 409. Every method is a jest mock.
 */
export class FakeAirflow implements AirflowApi {
  dags = new Map<string, AirflowDag>([
    ['user_profiles_ingest', dag('user_profiles_ingest', { schedule: '*/5 * * * *', tags: ['ingest'] })],
    ['never_ran', dag('never_ran')],
    ['paused_dag', dag('paused_dag', { isPaused: true })],
  ]);
  runs = new Map<string, AirflowDagRun[]>([
    ['user_profiles_ingest', [dagRun('user_profiles_ingest', 'scheduled__1', 'success'), dagRun('user_profiles_ingest', 'scheduled__2', 'running')]],
    ['never_ran', []],
    ['paused_dag', []],
  ]);
  /** States a followed run reports on successive getRun calls; the last one repeats. */
  progression: string[] = ['running'];
  private polls = 0;
  private triggered = 0;

  listDags = jest.fn(async (): Promise<AirflowDag[]> => [...this.dags.values()].map((d) => ({ ...d })));

  getDag = jest.fn(async (dagId: string): Promise<AirflowDag> => ({ ...this.known(dagId) }));

  setPaused = jest.fn(async (dagId: string, paused: boolean): Promise<AirflowDag> => {
    const found = this.known(dagId);
    found.isPaused = paused;
    return { ...found };
  });

  trigger = jest.fn(async (dagId: string, req: TriggerRequest): Promise<AirflowDagRun> => {
    this.known(dagId);
    const runs = this.runs.get(dagId)!;
    const runId = req.runId ?? `manual__${++this.triggered}`;
    if (runs.some((r) => r.runId === runId)) {
      throw new ConflictError(`DAG "${dagId}" already has a run with run id "${runId}"`);
    }
    const created = dagRun(dagId, runId, 'queued', { conf: req.conf ?? {}, logicalDate: req.logicalDate });
    runs.push(created);
    return { ...created };
  });

  listRuns = jest.fn(async (dagId: string, limit: number): Promise<AirflowDagRun[]> => {
    this.known(dagId);
    return [...this.runs.get(dagId)!]
      .reverse()
      .slice(0, limit)
      .map((r) => ({ ...r }));
  });

  getRun = jest.fn(async (dagId: string, runId: string): Promise<AirflowDagRun> => {
    const found = this.runs.get(dagId)?.find((r) => r.runId === runId);
    if (!found) throw new NotFoundError(`Run "${runId}" of DAG "${dagId}" does not exist in Airflow`);
    if (found.state === 'queued' || found.state === 'running') found.state = this.progression[Math.min(this.polls++, this.progression.length - 1)];
    return { ...found };
  });

  taskInstances = jest.fn(async (dagId: string, runId: string): Promise<AirflowTaskInstance[]> => {
    await this.getRun(dagId, runId);
    return [{ taskId: 'fetch_users', state: 'success', tryNumber: 1 }];
  });

  ping = jest.fn(async (): Promise<Record<string, unknown>> => ({ version: '3.1.0' }));

  private known(dagId: string): AirflowDag {
    const found = this.dags.get(dagId);
    if (!found) throw dagMissing(dagId);
    return found;
  }
}
