import { Inject, Injectable } from '@nestjs/common';
import { AIRFLOW_API, AirflowApi, AirflowDag, AirflowDagRun, TERMINAL_RUN_STATES, TriggerRequest } from '../airflow/airflow.api';
import { mapLimited } from '../common/async/map-limited';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, ConflictError, NotFoundError } from '../common/errors/errors';
import { parseDateTime } from '../common/time/instant';
import { DagDto, DagRunDto, TaskInstanceDto } from './dto/orchestration.dto';

export interface TriggerResult {
  run: DagRunDto;
  /** true when the caller asked to wait and the run ended within the bound */
  finished: boolean;
}

/** Airflow requests in flight at once while GET /dags looks up each DAG's last run. */
const LAST_RUN_CONCURRENCY = 8;
const POLL_MS = 1000;

@Injectable()
export class OrchestrationService {
  constructor(
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async listDags(): Promise<DagDto[]> {
    const dags = await this.airflow.listDags();
    return mapLimited(dags, LAST_RUN_CONCURRENCY, (dag) => this.withLastRun(dag));
  }

  async getDag(dagId: string): Promise<DagDto> {
    return this.withLastRun(await this.airflow.getDag(dagId));
  }

  async setPaused(dagId: string, paused: boolean): Promise<DagDto> {
    return toDag(await this.airflow.setPaused(dagId, paused));
  }

  /** Triggers a run; with waitSeconds, follows it until it ends or the bound elapses. */
  async trigger(dagId: string, request: TriggerRequest, waitSeconds?: number): Promise<TriggerResult> {
    if (request.logicalDate !== undefined && parseDateTime(request.logicalDate) === undefined) {
      throw new BadRequestError(`logicalDate must be a real RFC 3339 date-time with a zone, e.g. 2026-01-01T00:00:00Z; got "${request.logicalDate}"`, [
        { field: 'logicalDate', message: 'must be an RFC 3339 date-time with a zone' },
      ]);
    }
    if (waitSeconds !== undefined) {
      const dag = await this.airflow.getDag(dagId);
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

  listRuns(dagId: string, limit: number): Promise<DagRunDto[]> {
    return this.airflow.listRuns(dagId, limit);
  }

  getRun(dagId: string, runId: string): Promise<DagRunDto> {
    return this.airflow.getRun(dagId, runId);
  }

  taskInstances(dagId: string, runId: string): Promise<TaskInstanceDto[]> {
    return this.airflow.taskInstances(dagId, runId);
  }

  private async withLastRun(dag: AirflowDag): Promise<DagDto> {
    return { ...toDag(dag), lastRun: (await this.airflow.listRuns(dag.dagId, 1))[0] };
  }

  private async follow(dagId: string, run: AirflowDagRun, deadline: number): Promise<TriggerResult> {
    let current = run;
    while (!TERMINAL_RUN_STATES.has(current.state) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
      current = await this.airflow.getRun(dagId, run.runId).catch((err: unknown) => {
        // A run deleted while followed: report what was last seen.
        if (err instanceof NotFoundError) return current;
        throw err;
      });
    }
    return { run: current, finished: TERMINAL_RUN_STATES.has(current.state) };
  }
}

/** The API's view of a DAG: Airflow's, without where its file lives on Airflow's machine. */
function toDag({ dagId, description, isPaused, schedule, tags }: AirflowDag): DagDto {
  return { dagId, description, isPaused, schedule, tags };
}
