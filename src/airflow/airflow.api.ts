/**
 * What the control plane needs from Airflow, independent of the REST API version. Airflow 3's
 * /api/v2 (JWT) implements it in airflow-v2.client.ts; an Airflow 2 /api/v1 client (basic auth)
 * would be a second implementation of the same interface.
 */
export interface AirflowDag {
  dagId: string;
  description?: string;
  isPaused: boolean;
  schedule?: string;
  tags: string[];
  fileloc?: string;
}

export interface AirflowDagRun {
  dagId: string;
  runId: string;
  state: string;
  runType?: string;
  logicalDate?: string;
  startDate?: string;
  endDate?: string;
  conf: Record<string, unknown>;
}

export interface AirflowTaskInstance {
  taskId: string;
  state?: string;
  tryNumber: number;
  startDate?: string;
  endDate?: string;
  durationSeconds?: number;
  operator?: string;
}

export interface TriggerRequest {
  runId?: string;
  logicalDate?: string;
  conf?: Record<string, unknown>;
}

/** Every method that names a DAG or a run throws NotFoundError when Airflow does not know it. */
export interface AirflowApi {
  listDags(): Promise<AirflowDag[]>;
  getDag(dagId: string): Promise<AirflowDag>;
  setPaused(dagId: string, paused: boolean): Promise<AirflowDag>;
  trigger(dagId: string, request: TriggerRequest): Promise<AirflowDagRun>;
  listRuns(dagId: string, limit: number): Promise<AirflowDagRun[]>;
  getRun(dagId: string, runId: string): Promise<AirflowDagRun>;
  taskInstances(dagId: string, runId: string): Promise<AirflowTaskInstance[]>;
  ping(): Promise<Record<string, unknown>>;
}

export const AIRFLOW_API = Symbol('AIRFLOW_API');

/** Airflow's rule for a DAG id: letters, digits, `_`, `.` and `-`, at most 250. An id outside it cannot exist. */
export const DAG_ID = /^[A-Za-z0-9_.-]{1,250}$/;
/** Run ids Airflow accepts (its default allowed_run_id_pattern), at most 250. */
export const RUN_ID = /^[A-Za-z0-9_.~:+-]{1,250}$/;

/** Dag-run states after which a run never changes again. */
export const TERMINAL_RUN_STATES = new Set(['success', 'failed']);
