import { Inject, Injectable } from '@nestjs/common';
import axios, { AxiosError, AxiosInstance } from 'axios';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { AppError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';

const LIVY = 'Livy';

/** A batch as Livy's REST API describes it. */
export interface LivyBatch {
  id: number;
  name?: string | null;
  appId?: string | null;
  appInfo?: Record<string, string | null>;
  state: string;
  log?: string[];
}

export interface LivyBatchRequest {
  file: string;
  name?: string;
  args?: string[];
  pyFiles?: string[];
  conf?: Record<string, string>;
}

export interface LivyLog {
  id: number;
  from: number;
  total: number;
  log: string[];
}

/**
 * The one adapter to Apache Livy's REST API. It speaks Livy's batch endpoints and maps
 * transport failures and refusals to the project's errors once, here.
 */
@Injectable()
export class LivyClient {
  private readonly http: AxiosInstance;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.http = axios.create({
      baseURL: config.livy.url,
      timeout: config.livy.timeoutMs,
      auth: config.livy.credentials,
      headers: { 'Content-Type': 'application/json', 'X-Requested-By': 'pipeline-control-plane' },
    });
  }

  async listBatches(from = 0, size = 1000): Promise<LivyBatch[]> {
    const res = await this.call(() => this.http.get<{ sessions: LivyBatch[] }>('/batches', { params: { from, size } }));
    return res.sessions ?? [];
  }

  /** The batch, or undefined when Livy does not know it (never submitted, or already forgotten). */
  async getBatch(id: number): Promise<LivyBatch | undefined> {
    return this.call(() => this.http.get<LivyBatch>(`/batches/${id}`), true);
  }

  async getLog(id: number, from: number, size: number): Promise<LivyLog | undefined> {
    return this.call(() => this.http.get<LivyLog>(`/batches/${id}/log`, { params: { from, size } }), true);
  }

  async createBatch(request: LivyBatchRequest): Promise<LivyBatch> {
    return this.call(() => this.http.post<LivyBatch>('/batches', request));
  }

  /** Kills the batch; false when Livy did not know it. */
  async deleteBatch(id: number): Promise<boolean> {
    const res = await this.call(() => this.http.delete<{ msg: string }>(`/batches/${id}`), true);
    return res !== undefined;
  }

  async ping(): Promise<{ batches: number }> {
    const res = await this.call(() => this.http.get<{ total: number }>('/batches', { params: { size: 0 } }));
    return { batches: res.total };
  }

  private async call<T>(request: () => Promise<{ data: T }>, notFoundIsUndefined: true): Promise<T | undefined>;
  private async call<T>(request: () => Promise<{ data: T }>, notFoundIsUndefined?: false): Promise<T>;
  private async call<T>(request: () => Promise<{ data: T }>, notFoundIsUndefined = false): Promise<T | undefined> {
    try {
      return (await request()).data;
    } catch (err) {
      if (notFoundIsUndefined && (err as AxiosError).response?.status === 404) return undefined;
      throw LivyClient.mapError(err);
    }
  }

  static mapError(err: unknown): AppError {
    const e = err as AxiosError<unknown>;
    if (e.response) {
      const body = e.response.data;
      const message =
        typeof body === 'string' ? body : ((body as { msg?: string } | undefined)?.msg ?? JSON.stringify(body));
      if (e.response.status >= 500) {
        return new UpstreamRejectedError(LIVY, `Livy failed (${e.response.status}): ${message}`, { status: e.response.status });
      }
      return new UpstreamRejectedError(LIVY, `Livy refused the request (${e.response.status}): ${message}`, {
        status: e.response.status,
      });
    }
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') {
      return new UpstreamTimeoutError(LIVY, 'Livy did not answer in time');
    }
    return new UpstreamUnavailableError(LIVY, `Livy is unavailable: ${e.message || e.code || 'no answer'}`);
  }
}
