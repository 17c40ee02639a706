// The console's one API client: every call the pages make, typed with the API's own DTOs (type
// imports only: nothing of the server is bundled). Pages render what these calls return.
import type { IngestResponseDto } from '../../../src/ingestion/dto/ingest-response.dto';
import type { SourcesResponseDto } from '../../../src/ingestion/dto/source.dto';
import type { DagDto, DagRunDto, DagsDto, TaskInstancesDto, TriggerResponseDto } from '../../../src/orchestration/dto/orchestration.dto';
import type { PipelineDto } from '../../../src/pipeline/dto/pipeline.dto';
import type { BatchDto, BatchesDto, BatchLogDto, JobsDto, MicroBatchesDto, StreamingStatusDto } from '../../../src/processing/dto/processing.dto';
import type { RecordsPageDto, StatsDto } from '../../../src/storage/records/dto/records.dto';
import type {
  CreateScheduleDto,
  ScheduleDto,
  SchedulePreviewDto,
  ScheduleRunsDto,
  SchedulesDto,
  UpdateScheduleDto,
} from '../../../src/scheduling/dto/schedules.dto';
import type { CreateSourceDto, SchemaCheckDto, SchemaVersionsDto, SourceResourceDto, UpdateSourceDto } from '../../../src/sources/dto/sources.dto';
import type { CreatedKeyDto, CreateKeyDto, KeysDto, SelfKeyDto } from '../../../src/access/dto/keys.dto';
import type { AuditPageDto } from '../../../src/access/dto/audit.dto';
import type { ViewDefinitionDto, ViewDto, ViewPreviewDto, ViewPreviewRequestDto, ViewResultsPageDto, ViewsDto } from '../../../src/views/dto/views.dto';

export type { BatchDto, DagDto, DagRunDto, MicroBatchesDto, PipelineDto, RecordsPageDto, ScheduleDto, SchedulePreviewDto, StatsDto, StreamingStatusDto };
export type { SourceDto } from '../../../src/ingestion/dto/source.dto';
export type { JobDto, MicroBatchDto } from '../../../src/processing/dto/processing.dto';
export type { RecordDto } from '../../../src/storage/records/dto/records.dto';
export type { ScheduleRunDto } from '../../../src/scheduling/dto/schedules.dto';
export type { TaskInstanceDto } from '../../../src/orchestration/dto/orchestration.dto';
export type { SourceFlowDto, DependencyStatusDto } from '../../../src/pipeline/dto/pipeline.dto';
export type { CreateScheduleDto, UpdateScheduleDto };
export type { CreateSourceDto, SchemaCheckDto, SourceResourceDto, UpdateSourceDto, CreatedKeyDto, CreateKeyDto, SelfKeyDto, AuditPageDto };
export type { SchemaVersionDto } from '../../../src/sources/dto/sources.dto';
export type { KeyDto } from '../../../src/access/dto/keys.dto';
export type { AuditEventDto } from '../../../src/access/dto/audit.dto';
export type { ViewDefinitionDto, ViewDto, ViewPreviewDto, ViewPreviewRequestDto, ViewResultsPageDto, ViewsDto };
export type { ViewProgressDto, ViewResultDto } from '../../../src/views/dto/views.dto';

const BASE = '/api/v1';

/** An answer of the API that is not a success, as its one error shape says it; status 0 when it did not answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly error: string,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Per field (a JSON Pointer such as /day), the problems the API named in `details`. */
  fieldErrors(): Map<string, string[]> {
    const byField = new Map<string, string[]>();
    if (!Array.isArray(this.details)) return byField;
    for (const d of this.details as unknown[]) {
      if (typeof d !== 'object' || d === null) continue;
      const { field, message } = d as { field?: unknown; message?: unknown };
      if (typeof field !== 'string' || typeof message !== 'string') continue;
      byField.set(field, [...(byField.get(field) ?? []), message]);
    }
    return byField;
  }
}

/** Reads an error answer: the API's error shape when it is one, else what can be said about it. */
export function toApiError(status: number, statusText: string, body: string, headerRequestId: string | null): ApiError {
  let parsed: { message?: unknown; error?: unknown; requestId?: unknown; details?: unknown } | undefined;
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const message = typeof parsed?.message === 'string' ? parsed.message : body.trim().slice(0, 500) || statusText || `HTTP ${status}`;
  const error = typeof parsed?.error === 'string' ? parsed.error : statusText;
  const requestId = typeof parsed?.requestId === 'string' && parsed.requestId ? parsed.requestId : (headerRequestId ?? undefined);
  return new ApiError(status, message, error, requestId, parsed?.details);
}

export interface Answer<T> {
  status: number;
  body: T;
  /** The ETag of the resource answered, for a later If-Match. */
  etag?: string;
}

/** A resource with the ETag it was read with: a change sends it back as If-Match. */
export interface Tagged<T> {
  body: T;
  etag?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface ApiOptions {
  /** The signed-in key; sent as X-API-Key, never in a URL. */
  key: () => string | undefined;
  /** Called for a 401 on any call but the sign-in check: the key expired or was withdrawn. */
  onUnauthorized: (err: ApiError) => void;
  fetch?: typeof fetch;
}

export function pathOf(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return `${BASE}${path}${qs ? `?${qs}` : ''}`;
}

const seg = encodeURIComponent;

export function createApi({ key, onUnauthorized, fetch: fetchFn = (...args) => fetch(...args) }: ApiOptions) {
  async function call<T>(
    method: string,
    path: string,
    { query, body, withKey, signIn, ifMatch }: { query?: Query; body?: unknown; withKey?: string; signIn?: boolean; ifMatch?: string } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const apiKey = withKey ?? key();
    if (apiKey) headers['X-API-Key'] = apiKey;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (ifMatch !== undefined) headers['If-Match'] = ifMatch;
    let res: Response;
    try {
      res = await fetchFn(pathOf(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, `The API did not answer: ${(err as Error).message}`, 'Network error');
    }
    const text = await res.text();
    if (!res.ok) {
      const error = toApiError(res.status, res.statusText, text, res.headers.get('X-Request-Id'));
      if (res.status === 401 && !signIn) onUnauthorized(error);
      throw error;
    }
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, etag: res.headers.get('ETag') ?? undefined };
  }
  const get = async <T>(path: string, query?: Query) => (await call<T>('GET', path, { query })).body;
  const tagged = <T>({ body, etag }: Answer<T>): Tagged<T> => ({ body, etag });

  return {
    /** Checks a key before keeping it: asks what the key is, which any valid key may read, whatever its scopes. */
    checkKey: (candidate: string) => call<SelfKeyDto>('GET', '/keys/self', { withKey: candidate, signIn: true }).then(() => undefined),
    /** The signed-in key: its scopes decide what the console offers. */
    self: () => get<SelfKeyDto>('/keys/self'),

    pipeline: () => get<PipelineDto>('/pipeline'),
    sources: () => get<SourcesResponseDto>('/sources'),
    records: (source: string, query: { from?: string; to?: string; limit?: number; pageToken?: string }) =>
      get<RecordsPageDto>(`/records/${seg(source)}`, query),
    stats: (source: string, from: string, to: string) => get<StatsDto>(`/stats/${seg(source)}`, { from, to }),
    source: (name: string) => call<SourceResourceDto>('GET', `/sources/${seg(name)}`).then(tagged),
    createSource: (body: CreateSourceDto) => call<SourceResourceDto>('POST', '/sources', { body }).then(tagged),
    updateSource: (name: string, body: UpdateSourceDto, etag?: string) =>
      call<SourceResourceDto>('PUT', `/sources/${seg(name)}`, { body, ifMatch: etag }).then(tagged),
    archiveSource: (name: string, etag?: string) => call<SourceResourceDto>('DELETE', `/sources/${seg(name)}`, { ifMatch: etag }).then(tagged),
    schemaVersions: (name: string) => get<SchemaVersionsDto>(`/sources/${seg(name)}/schemas`),
    schemaCheck: (name: string, schema: Record<string, unknown>) =>
      call<SchemaCheckDto>('POST', `/sources/${seg(name)}/schema-check`, { body: { schema } }).then((a) => a.body),
    ingest: (source: string, event: unknown) => call<IngestResponseDto>('POST', `/ingest/${seg(source)}`, { body: event }),

    streaming: () => get<StreamingStatusDto>('/streaming'),
    startStream: () => call<StreamingStatusDto>('POST', '/streaming/start', { body: {} }).then((a) => a.body),
    stopStream: () => call<StreamingStatusDto>('POST', '/streaming/stop', { body: {} }).then((a) => a.body),
    microBatches: (limit = 20) => get<MicroBatchesDto>('/streaming/micro-batches', { limit }),

    jobs: () => get<JobsDto>('/jobs'),
    submitJob: (name: string, args: Record<string, unknown>) => call<BatchDto>('POST', `/jobs/${seg(name)}/batches`, { body: { args } }),
    batches: () => get<BatchesDto>('/batches'),
    batchLog: (id: string, tail = 200) => get<BatchLogDto>(`/batches/${seg(id)}/log`, { tail }),
    killBatch: (id: string) => call<BatchDto>('DELETE', `/batches/${seg(id)}`).then((a) => a.body),

    dags: () => get<DagsDto>('/dags'),
    setPaused: (dagId: string, isPaused: boolean) => call<DagDto>('PATCH', `/dags/${seg(dagId)}`, { body: { isPaused } }).then((a) => a.body),
    trigger: (dagId: string, conf: Record<string, unknown>) => call<TriggerResponseDto>('POST', `/dags/${seg(dagId)}/runs`, { body: { conf } }),
    run: (dagId: string, runId: string) => get<DagRunDto>(`/dags/${seg(dagId)}/runs/${seg(runId)}`),
    tasks: (dagId: string, runId: string) => get<TaskInstancesDto>(`/dags/${seg(dagId)}/runs/${seg(runId)}/tasks`),

    schedules: () => get<SchedulesDto>('/schedules'),
    createSchedule: (body: CreateScheduleDto) => call<ScheduleDto>('POST', '/schedules', { body }).then((a) => a.body),
    updateSchedule: (id: string, body: UpdateScheduleDto) => call<ScheduleDto>('PATCH', `/schedules/${seg(id)}`, { body }).then((a) => a.body),
    deleteSchedule: (id: string) => call<void>('DELETE', `/schedules/${seg(id)}`).then(() => undefined),
    scheduleRuns: (id: string) => get<ScheduleRunsDto>(`/schedules/${seg(id)}/runs`, { limit: 20 }),
    previewSchedule: (cron: string, timezone: string) => get<SchedulePreviewDto>('/schedules/preview', { cron, timezone, count: 5 }),

    keys: () => get<KeysDto>('/keys'),
    createKey: (body: CreateKeyDto) => call<CreatedKeyDto>('POST', '/keys', { body }).then((a) => a.body),
    rotateKey: (id: string, graceSeconds: number) => call<CreatedKeyDto>('POST', `/keys/${seg(id)}/rotate`, { body: { graceSeconds } }).then((a) => a.body),
    revokeKey: (id: string) => call<void>('DELETE', `/keys/${seg(id)}`).then(() => undefined),

    views: () => get<ViewsDto>('/views'),
    view: (name: string) => get<ViewDto>(`/views/${seg(name)}`),
    createView: (body: ViewDefinitionDto) => call<ViewDto>('POST', '/views', { body }).then((a) => a.body),
    previewView: (body: ViewPreviewRequestDto) => call<ViewPreviewDto>('POST', '/views/preview', { body }).then((a) => a.body),
    deleteView: (name: string) => call<void>('DELETE', `/views/${seg(name)}`).then(() => undefined),
    viewResults: (name: string, query: { from?: string; to?: string; group?: string; limit?: number; pageToken?: string }) =>
      get<ViewResultsPageDto>(`/views/${seg(name)}/results`, query),

    audit: (query: { from?: string; to?: string; actor?: string; action?: string; limit?: number; pageToken?: string }) => get<AuditPageDto>('/audit', query),
  };
}

export type Api = ReturnType<typeof createApi>;
