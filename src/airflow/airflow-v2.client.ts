import { Inject, Injectable } from '@nestjs/common';
import axios, { AxiosError, AxiosInstance, AxiosRequestConfig } from 'axios';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import {
  AppError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../common/errors/errors';
import { AirflowApi, AirflowDag, AirflowDagRun, AirflowTaskInstance, DAG_ID, RUN_ID, TriggerRequest } from './airflow.api';

const AIRFLOW = 'Airflow';
const REFRESH_BEFORE_EXPIRY_MS = 60_000;

// Airflow's JSON is read field by field in the to* mappers at the bottom of this file.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/**
 * The one adapter to Airflow 3's REST API (/api/v2). It takes a JWT from POST /auth/token, caches it
 * until shortly before it expires, and on a 401 fetches a new one and retries once.
 */
@Injectable()
export class AirflowV2Client implements AirflowApi {
  private readonly http: AxiosInstance;
  private token?: { value: string; expiresAt: number };
  private tokenRequest?: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.http = axios.create({ baseURL: config.airflow.url, timeout: config.airflow.timeoutMs, headers: { 'Content-Type': 'application/json' } });
  }

  async listDags(): Promise<AirflowDag[]> {
    const dags: AirflowDag[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await this.request<{ dags: Json[]; total_entries: number }>({ method: 'GET', url: '/api/v2/dags', params: { limit: 100, offset } });
      dags.push(...page.dags.map(toDag));
      if (dags.length >= page.total_entries || page.dags.length === 0) return dags;
    }
  }

  async getDag(dagId: string): Promise<AirflowDag> {
    return toDag(await this.request<Json>({ method: 'GET', url: `/api/v2/dags/${dag(dagId)}` }, dagMissing(dagId)));
  }

  async setPaused(dagId: string, paused: boolean): Promise<AirflowDag> {
    return toDag(await this.request<Json>({ method: 'PATCH', url: `/api/v2/dags/${dag(dagId)}`, data: { is_paused: paused } }, dagMissing(dagId)));
  }

  async trigger(dagId: string, req: TriggerRequest): Promise<AirflowDagRun> {
    const body: Json = { logical_date: req.logicalDate ?? null, conf: req.conf ?? {} };
    if (req.runId) body.dag_run_id = req.runId;
    try {
      return toRun(await this.request<Json>({ method: 'POST', url: `/api/v2/dags/${dag(dagId)}/dagRuns`, data: body }, dagMissing(dagId)));
    } catch (err) {
      // Airflow's 409 body is a generic database message; say what it means here.
      if (err instanceof ConflictError) {
        throw new ConflictError(`DAG "${dagId}" already has a run with ${req.runId ? `run id "${req.runId}"` : 'this logical date'}`);
      }
      throw err;
    }
  }

  async listRuns(dagId: string, limit: number): Promise<AirflowDagRun[]> {
    const page = await this.request<{ dag_runs: Json[] }>(
      { method: 'GET', url: `/api/v2/dags/${dag(dagId)}/dagRuns`, params: { limit, order_by: '-run_after' } },
      dagMissing(dagId),
    );
    return page.dag_runs.map(toRun);
  }

  async getRun(dagId: string, runId: string): Promise<AirflowDagRun> {
    return toRun(await this.request<Json>({ method: 'GET', url: `/api/v2/dags/${dag(dagId)}/dagRuns/${run(dagId, runId)}` }, runMissing(dagId, runId)));
  }

  async taskInstances(dagId: string, runId: string): Promise<AirflowTaskInstance[]> {
    const page = await this.request<{ task_instances: Json[] }>(
      { method: 'GET', url: `/api/v2/dags/${dag(dagId)}/dagRuns/${run(dagId, runId)}/taskInstances`, params: { limit: 1000 } },
      runMissing(dagId, runId),
    );
    return page.task_instances.map(toTask);
  }

  async ping(): Promise<Record<string, unknown>> {
    const version = await this.request<Json>({ method: 'GET', url: '/api/v2/version' });
    return { version: version.version };
  }

  /**
   * One authenticated request. A 404 on a route that names a DAG or a run means that thing does
   * not exist: `missing` says which, as a NotFoundError. Every other failure is mapped by mapError.
   */
  private async request<T>(config: AxiosRequestConfig, missing?: NotFoundError): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const token = await this.bearer(attempt > 0);
        return (await this.http.request<T>({ ...config, headers: { Authorization: `Bearer ${token}` } })).data;
      } catch (err) {
        const status = (err as AxiosError).response?.status;
        // Airflow answers 401 for an expired token and 403 for one it cannot verify: take a new one, once.
        if ((status === 401 || status === 403) && attempt === 0) continue;
        if (status === 404 && missing) throw missing;
        throw err instanceof AppError ? err : AirflowV2Client.mapError(err);
      }
    }
  }

  private async bearer(renew: boolean): Promise<string> {
    if (!renew && this.token && Date.now() < this.token.expiresAt - REFRESH_BEFORE_EXPIRY_MS) return this.token.value;
    this.tokenRequest ??= this.fetchToken().finally(() => (this.tokenRequest = undefined));
    return this.tokenRequest;
  }

  private async fetchToken(): Promise<string> {
    const { username, password } = this.config.airflow;
    let value: string;
    try {
      value = (await this.http.post<{ access_token: string }>('/auth/token', { username, password })).data.access_token;
    } catch (err) {
      const status = (err as AxiosError).response?.status;
      if (status === 401 || status === 403) {
        throw new UpstreamRejectedError(AIRFLOW, 'Airflow refused the credentials AIRFLOW_USERNAME/AIRFLOW_PASSWORD');
      }
      throw AirflowV2Client.mapError(err);
    }
    this.token = { value, expiresAt: jwtExpiry(value) ?? Date.now() + 10 * 60_000 };
    return value;
  }

  static mapError(err: unknown): AppError {
    const e = err as AxiosError<unknown>;
    if (e.response) {
      const status = e.response.status;
      const body = e.response.data as { detail?: unknown } | string | undefined;
      const detail = typeof body === 'string' ? body : body?.detail;
      const message = typeof detail === 'string' ? detail : JSON.stringify(detail ?? body);
      if (status === 409) return new ConflictError(`Airflow: ${message}`);
      if (status === 400 || status === 422) return new BadRequestError(`Airflow refused the request: ${message}`, objectsIn(detail));
      return new UpstreamRejectedError(AIRFLOW, `Airflow refused the request (${status}): ${message}`, { status });
    }
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return new UpstreamTimeoutError(AIRFLOW, 'Airflow did not answer in time');
    return new UpstreamUnavailableError(AIRFLOW, `Airflow is unavailable: ${e.message || e.code || 'no answer'}`);
  }
}

/**
 * A DAG id as a path segment. One outside Airflow's rule cannot exist, and sent as it is ("a/b")
 * Airflow would answer for another route (405): it is a missing DAG, decided here.
 */
function dag(dagId: string): string {
  if (!DAG_ID.test(dagId)) throw dagMissing(dagId);
  return encodeURIComponent(dagId);
}

function run(dagId: string, runId: string): string {
  if (!RUN_ID.test(runId)) throw runMissing(dagId, runId);
  return encodeURIComponent(runId);
}

const dagMissing = (dagId: string) => new NotFoundError(`DAG "${dagId}" does not exist in Airflow`);
const runMissing = (dagId: string, runId: string) => new NotFoundError(`Run "${runId}" of DAG "${dagId}" does not exist in Airflow`);
/** Airflow's validation errors (a list of {loc, msg, type}), kept as the error's details; anything else is in the message. */
const objectsIn = (detail: unknown): object[] | undefined =>
  Array.isArray(detail) && detail.length > 0 && detail.every((d) => typeof d === 'object' && d !== null) ? (detail as object[]) : undefined;
const opt = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

function jwtExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp?: number };
    return payload.exp ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function toDag(d: Json): AirflowDag {
  return {
    dagId: d.dag_id,
    description: opt(d.description),
    isPaused: Boolean(d.is_paused),
    schedule: opt(d.timetable_summary ?? d.timetable_description),
    tags: Array.isArray(d.tags) ? d.tags.map((t: Json | string) => (typeof t === 'string' ? t : t.name)) : [],
    fileloc: opt(d.fileloc),
  };
}

function toRun(r: Json): AirflowDagRun {
  return {
    dagId: r.dag_id,
    runId: r.dag_run_id ?? r.run_id,
    state: r.state,
    runType: opt(r.run_type),
    logicalDate: opt(r.logical_date),
    startDate: opt(r.start_date),
    endDate: opt(r.end_date),
    conf: (r.conf as Record<string, unknown>) ?? {},
  };
}

function toTask(t: Json): AirflowTaskInstance {
  return {
    taskId: t.task_id,
    state: opt(t.state),
    tryNumber: Number(t.try_number ?? 0),
    startDate: opt(t.start_date),
    endDate: opt(t.end_date),
    durationSeconds: t.duration === null || t.duration === undefined ? undefined : Number(t.duration),
    operator: opt(t.operator),
  };
}
