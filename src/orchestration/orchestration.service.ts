import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, ConflictError, NotFoundError } from '../common/errors/errors';
import { AIRFLOW_API, AirflowApi, AirflowDag, AirflowDagRun, AirflowTaskInstance, TERMINAL_RUN_STATES, TriggerRequest } from './airflow.api';

export interface DagView extends AirflowDag {
  lastRun?: AirflowDagRun;
}

export interface TriggerResult {
  run: AirflowDagRun;
  /** true when the caller asked to wait and the run ended within the bound */
  finished: boolean;
}

const POLL_MS = 1000;

@Injectable()
export class OrchestrationService {
  constructor(
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async listDags(): Promise<DagView[]> {
    const dags = await this.airflow.listDags();
    return Promise.all(dags.map(async (dag) => ({ ...dag, lastRun: (await this.airflow.listRuns(dag.dagId, 1))[0] })));
  }

  async getDag(dagId: string): Promise<DagView> {
    const dag = await this.airflow.getDag(dagId);
    if (!dag) throw new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);
    return { ...dag, lastRun: (await this.airflow.listRuns(dagId, 1))[0] };
  }

  /** Whether a DAG exists, for callers that validate references to it (schedules). */
  async dagExists(dagId: string): Promise<boolean> {
    return (await this.airflow.getDag(dagId)) !== undefined;
  }

  setPaused(dagId: string, paused: boolean): Promise<AirflowDag> {
    return this.airflow.setPaused(dagId, paused);
  }

  /** Triggers a run; with waitSeconds, follows it until it ends or the bound elapses. */
  async trigger(dagId: string, request: TriggerRequest, waitSeconds?: number): Promise<TriggerResult> {
    if (request.logicalDate !== undefined && Number.isNaN(Date.parse(request.logicalDate))) {
      throw new BadRequestError(`logicalDate must be an ISO 8601 date-time; got "${request.logicalDate}"`);
    }
    if (waitSeconds !== undefined) {
      const dag = await this.airflow.getDag(dagId);
      if (!dag) throw new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);
      // A paused DAG queues the run but never starts it: waiting would only time out.
      if (dag.isPaused) {
        throw new ConflictError(`DAG "${dagId}" is paused, so the run would not start: unpause it with PATCH /api/v1/dags/${dagId} {"isPaused": false}`);
      }
    }
    const run = await this.airflow.trigger(dagId, request);
    if (waitSeconds === undefined) return { run, finished: TERMINAL_RUN_STATES.has(run.state) };
    const bound = Math.min(waitSeconds, this.config.airflow.waitMaxSeconds);
    return this.follow(dagId, run, Date.now() + bound * 1000);
  }

  listRuns(dagId: string, limit: number): Promise<AirflowDagRun[]> {
    return this.airflow.listRuns(dagId, limit);
  }

  async getRun(dagId: string, runId: string): Promise<AirflowDagRun> {
    const run = await this.airflow.getRun(dagId, runId);
    if (!run) throw new NotFoundError(`Run "${runId}" of DAG "${dagId}" does not exist in Airflow`);
    return run;
  }

  taskInstances(dagId: string, runId: string): Promise<AirflowTaskInstance[]> {
    return this.airflow.taskInstances(dagId, runId);
  }

  ping(): Promise<Record<string, unknown>> {
    return this.airflow.ping();
  }

  private async follow(dagId: string, run: AirflowDagRun, deadline: number): Promise<TriggerResult> {
    let current = run;
    while (!TERMINAL_RUN_STATES.has(current.state) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
      current = (await this.airflow.getRun(dagId, run.runId)) ?? current;
    }
    return { run: current, finished: TERMINAL_RUN_STATES.has(current.state) };
  }
}
