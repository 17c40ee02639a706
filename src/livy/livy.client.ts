import { Inject, Injectable } from '@nestjs/common';
import axios, { AxiosError, AxiosInstance } from 'axios';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { AppError, ConflictError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';
import { JobDirs, jobFileForLivy } from './job-file';

const LIVY = 'Livy';
/** Batches asked for per page when listing; Livy keeps finished batches for a while, so there may be many. */
const PAGE_SIZE = 500;

/** Livy's batch states after which a batch never changes again. */
const TERMINAL_STATES: ReadonlySet<string> = new Set(['success', 'dead', 'killed', 'error']);

/** Whether a Livy batch state is final (success, dead, killed, error). */
export const isTerminal = (state: string): boolean => TERMINAL_STATES.has(state);

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
  private readonly jobDirs: JobDirs;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.jobDirs = config.spark;
    this.http = axios.create({
      baseURL: config.livy.url,
      timeout: config.livy.timeoutMs,
      auth: config.livy.credentials,
      // On every request: Livy's CSRF filter (livy.server.csrf-protection.enabled) answers 400 to a
      // POST or DELETE without it.
      headers: { 'Content-Type': 'application/json', 'X-Requested-By': 'pipeline-control-plane' },
    });
  }

  /** Every batch Livy knows, oldest first, read page by page. */
  async listBatches(): Promise<LivyBatch[]> {
    const batches: LivyBatch[] = [];
    for (;;) {
      const page = await this.call(() =>
        this.http.get<{ total?: number; sessions?: LivyBatch[] }>('/batches', { params: { from: batches.length, size: PAGE_SIZE } }),
      );
      const sessions = page.sessions ?? [];
      batches.push(...sessions);
      if (sessions.length < PAGE_SIZE || (page.total !== undefined && batches.length >= page.total)) return batches;
    }
  }

  /** The batch, or undefined when Livy does not know it (never submitted, or already forgotten). */
  async getBatch(id: number): Promise<LivyBatch | undefined> {
    return this.call(() => this.http.get<LivyBatch>(`/batches/${id}`), true);
  }

  async getLog(id: number, from: number, size: number): Promise<LivyLog | undefined> {
    return this.call(() => this.http.get<LivyLog>(`/batches/${id}/log`, { params: { from, size } }), true);
  }

  /**
   * Submits a batch; a name that a live batch already holds is a ConflictError. `file` and `pyFiles`
   * must be files inside the jobs directory (see jobFileForLivy); anything else is refused before
   * Livy is asked.
   */
  async createBatch(request: LivyBatchRequest): Promise<LivyBatch> {
    const checked: LivyBatchRequest = {
      ...request,
      file: jobFileForLivy(request.file, this.jobDirs),
      ...(request.pyFiles ? { pyFiles: request.pyFiles.map((f) => jobFileForLivy(f, this.jobDirs)) } : {}),
    };
    return this.call(() => this.http.post<LivyBatch>('/batches', checked));
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
      const message = typeof body === 'string' ? body : ((body as { msg?: string } | undefined)?.msg ?? JSON.stringify(body));
      // Livy refuses a second live batch with a name in use; that is how one named copy is kept.
      if (e.response.status === 400 && /^Duplicate session name/i.test(message)) return new ConflictError(`Livy: ${message}`);
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
