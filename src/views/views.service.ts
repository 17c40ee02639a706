import { Inject, Injectable } from '@nestjs/common';
import { StoredView, ViewResultRow, ViewsRepository, ViewStatus } from '../cassandra/views.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, ConflictError, NotFoundError, PreconditionFailedError } from '../common/errors/errors';
import { ifMatchAllows } from '../common/http/if-match';
import { uuidV7 } from '../common/ids/uuid-v7';
import { pageTokenKey } from '../common/paging/page-token';
import { parseDateTime } from '../common/time/instant';
import { daysNewestFirst, parseInstant, TimeRange } from '../common/time/time-range';
import { RecordsService } from '../storage/records/records.service';
import {
  MAX_PREVIEW_RANGE_HOURS,
  VIEW_STATES,
  ViewDefinitionDto,
  ViewDto,
  ViewPreviewDto,
  ViewPreviewRequestDto,
  ViewResultDto,
  ViewResultsPageDto,
  ViewResultsQueryDto,
  ViewsDto,
  ViewState,
} from './dto/views.dto';
import { computeView, MAX_PREVIEW_ITEMS, previewEventLimit, windowsPerEvent } from './view-compute';
import { decodeViewResultsToken, encodeViewResultsToken, ViewResultsCursor } from './view-results-token';
import { FieldError, VIEW_NAME, ViewDefinition, viewDefinitionErrors, ViewSource, windowSeconds } from './view-definition';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The longest from..to of GET /views/{name}/results: one partition per day, read one after the other. */
export const MAX_RESULTS_RANGE_DAYS = 31;
/**
 * Reads one page of results may make: every day partition of the longest range once, and then
 * some; with a group filter that matches little, a page comes back short (with a token) rather than late.
 */
const MAX_READS_PER_PAGE = 40;

/**
 * Streaming views as resources: a definition checked by the rules the streaming job shares
 * (view-definition.ts), stored in Cassandra, picked up by the job within seconds of a change, and
 * shown with the state the job reports of it; their results as the job upserts them, a window and
 * group per row. Every read goes to Cassandra, so every API process answers alike at once.
 */
@Injectable()
export class ViewsService {
  private readonly tokenKey: Buffer;

  constructor(
    private readonly repository: ViewsRepository,
    private readonly sources: SourcesRegistry,
    private readonly records: RecordsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.tokenKey = pageTokenKey(config.records.pageTokenSecret());
  }

  /** Creates a view from its definition, stored as given; 400 naming every broken rule, 409 for a taken name. */
  async create(body: ViewDefinitionDto, createdBy: string): Promise<ViewDto> {
    const now = new Date();
    const row: StoredView = { name: body.name, id: uuidV7(), source: body.source, definition: this.checked(body, now), createdAt: now, createdBy };
    if (!(await this.repository.create(row))) {
      throw new ConflictError(`view "${row.name}" already exists: delete it first, or choose another name`, [
        { field: 'name', message: `"${row.name}" is taken` },
      ]);
    }
    return toDto(row, undefined);
  }

  /**
   * Redefines a view: the definition replaces the current one under a new id, so the streaming job
   * stops the old query and starts the new one from its backfillFrom (or everything Kafka holds), with
   * a checkpoint of its own; the old results stay under the old id, never read again. With If-Match
   * (the ETag of GET /views/{name}), only over that definition (412 otherwise).
   */
  async replace(name: string, body: ViewDefinitionDto, replacedBy: string, ifMatch?: string): Promise<ViewDto> {
    if (body.name !== name) {
      throw new BadRequestError(`name "${body.name}" is not the view in the path ("${name}"): a view cannot be renamed; create one under the new name`, [
        { field: 'name', message: 'must be the name in the path' },
      ]);
    }
    const current = await this.stored(name);
    checkIfMatch(current, ifMatch);
    const now = new Date();
    const row: StoredView = { name, id: uuidV7(), source: body.source, definition: this.checked(body, now), createdAt: now, createdBy: replacedBy };
    if (!(await this.repository.replace(row, current.id))) {
      throw new PreconditionFailedError(`view "${name}" changed or was deleted while this change was being made: read it again and reapply the change`, [
        { field: 'If-Match', message: 'the view changed meanwhile' },
      ]);
    }
    return toDto(row, undefined);
  }

  async list(): Promise<ViewsDto> {
    const rows = (await this.repository.list()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const statuses = await this.repository.statuses(rows.map((r) => r.id));
    return { items: rows.map((r) => toDto(r, statuses.get(r.id))) };
  }

  async get(name: string): Promise<ViewDto> {
    const row = await this.stored(name);
    return toDto(row, (await this.repository.statuses([row.id])).get(row.id));
  }

  /** Deletes a view: the streaming job stops its query within seconds; its results stay under its id, never read again. */
  async delete(name: string): Promise<void> {
    if (!VIEW_NAME.test(name) || !(await this.repository.delete(name))) throw unknownView(name);
  }

  /**
   * A page of a view's results, newest window first. Walks the UTC day partitions from `to`'s back
   * to `from`'s, reading each page by page in its clustering order (window_start descending, then
   * group); the token carries the query, the day and the driver's paging state, so every row comes
   * once. The group filter is applied to the rows read: each read asks for exactly what the page
   * still misses, so the paging state never skips a row.
   */
  async results(name: string, query: ViewResultsQueryDto): Promise<ViewResultsPageDto> {
    const view = await this.stored(name);
    const definition = view.definition as unknown as ViewDefinition;
    const groupBy = definition.groupBy ?? [];
    const group = groupFilter(query.group, groupBy);
    const from = query.from === undefined ? undefined : parseInstant('from', query.from);
    const to = query.to === undefined ? undefined : parseInstant('to', query.to);
    let cursor: ViewResultsCursor | undefined;
    let range: TimeRange;
    if (query.pageToken !== undefined) {
      cursor = decodeViewResultsToken(query.pageToken, this.tokenKey);
      const sameQuery =
        cursor.viewId === view.id &&
        cursor.group === group.text &&
        (from === undefined || from.getTime() === cursor.from) &&
        (to === undefined || to.getTime() === cursor.to);
      if (!sameQuery) {
        throw new BadRequestError('pageToken belongs to a different query: keep the view, from, to and group unchanged while paging', [
          { field: 'pageToken', message: 'belongs to a different query' },
        ]);
      }
      range = checkedRange(new Date(cursor.from), new Date(cursor.to));
    } else {
      const end = to ?? new Date(Date.now() + windowSeconds(definition) * 1000);
      range = checkedRange(from ?? new Date(end.getTime() - DAY_MS), end);
    }

    const days = daysNewestFirst(range);
    let index = 0;
    let pageState: string | undefined;
    if (cursor !== undefined) {
      index = days.indexOf(cursor.day);
      if (index < 0) throw new BadRequestError('pageToken is not valid for this range', [{ field: 'pageToken', message: 'belongs to a different query' }]);
      pageState = cursor.pageState;
    }
    const items: ViewResultDto[] = [];
    for (let reads = 0; index < days.length && items.length < query.limit && reads < MAX_READS_PER_PAGE; reads++) {
      const page = await this.repository.resultsPage(view.id, days[index], range.from, range.to, query.limit - items.length, pageState);
      for (const row of page.rows) {
        const item = toResult(row, groupBy);
        if (group.matches(item.group)) items.push(item);
      }
      pageState = page.pageState;
      if (pageState === undefined) index++;
    }
    const nextPageToken =
      index < days.length
        ? encodeViewResultsToken(
            { viewId: view.id, from: range.from.getTime(), to: range.to.getTime(), group: group.text, day: days[index], pageState },
            this.tokenKey,
          )
        : undefined;
    return { items, ...(nextPageToken === undefined ? {} : { nextPageToken }) };
  }

  /**
   * A dry run of a definition: checked by the rules of POST /views (each broken one named
   * definition/<its path>, beside from and to; a taken name is fine, nothing is created), then
   * computed as the streaming job would compute it over the source's stored events received in
   * [from, to), read newest first: at most previewEventLimit of them, and only as many as make at
   * most MAX_PREVIEW_ITEMS items. Fewer than the range holds is `truncated`, from the oldest one counted.
   */
  async preview(body: ViewPreviewRequestDto): Promise<ViewPreviewDto> {
    const now = new Date();
    const errors = viewDefinitionErrors(body.definition, (name) => this.source(name), now).map((e) => ({
      field: e.field === 'body' ? 'definition' : `definition/${e.field}`,
      message: e.message,
    }));
    // What the rules make of the body once they find nothing wrong with it.
    const definition: ViewDefinition = body.definition;
    // Every window of an event is an item: past the bound of items, not even one event could be computed.
    const windows = errors.length ? 0 : windowsPerEvent(definition);
    if (windows > MAX_PREVIEW_ITEMS) {
      errors.push({
        field: 'definition/slide',
        message: `puts each event in ${windows} windows (window / slide); a preview computes at most ${MAX_PREVIEW_ITEMS}: preview with a larger slide`,
      });
    }
    const range = previewRange(body.from, body.to, now, errors);
    if (errors.length || range === undefined) throw new BadRequestError(errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
    const { events, more } = await this.records.newestEvents(definition.source, range, previewEventLimit(definition));
    const { items, counted } = computeView(
      definition,
      events.map((e) => ({ eventId: e.eventId, receivedAt: e.receivedAt, payload: e.payload.toString('utf8') })),
      now,
    );
    const truncated = more || counted < events.length;
    // Read newest first bucket by bucket: the oldest event computed over is the smallest receivedAt of them, wherever it came.
    const oldest = events.slice(0, counted).reduce((at, e) => Math.min(at, e.receivedAt.getTime()), range.to.getTime());
    const from = truncated && counted > 0 ? oldest : range.from.getTime();
    return { items, events: counted, truncated, from: new Date(from).toISOString(), to: range.to.toISOString() };
  }

  /**
   * The definition as it is stored, once it breaks no rule (400 naming each one otherwise): exactly as
   * accepted, since the streaming job fills in the defaults itself.
   */
  private checked(body: ViewDefinitionDto, now: Date): Record<string, unknown> {
    const errors = viewDefinitionErrors(body, (name) => this.source(name), now);
    if (errors.length) throw new BadRequestError(errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
    return JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  }

  /** A source as a view sees it: live (with its schema) or archived; undefined for a name the registry does not know. */
  private source(name: string): ViewSource | undefined {
    const live = this.sources.find(name);
    if (live) return { archived: false, ...(live.schema ? { schema: live.schema } : {}) };
    return this.sources.archived().some((s) => s.name === name) ? { archived: true } : undefined;
  }

  private async stored(name: string): Promise<StoredView> {
    const row = VIEW_NAME.test(name) ? await this.repository.get(name) : undefined;
    if (!row) throw unknownView(name);
    return row;
  }
}

const unknownView = (name: string) => new NotFoundError(`Unknown view "${name}" (GET /api/v1/views lists them)`);

function checkedRange(from: Date, to: Date): TimeRange {
  if (from.getTime() >= to.getTime()) throw new BadRequestError('from must be earlier than to', [{ field: 'from', message: 'must be earlier than to' }]);
  if (to.getTime() - from.getTime() > MAX_RESULTS_RANGE_DAYS * DAY_MS) {
    throw new BadRequestError(`The range from..to spans more than ${MAX_RESULTS_RANGE_DAYS} days: narrow it`, [
      { field: 'from', message: `more than ${MAX_RESULTS_RANGE_DAYS} days before to` },
    ]);
  }
  return { from, to };
}

/** The from..to of a preview (default: the hour before now), or undefined with what is wrong added to `errors`. */
function previewRange(fromText: string | undefined, toText: string | undefined, now: Date, errors: FieldError[]): TimeRange | undefined {
  const instant = (field: string, text: string | undefined, byDefault: () => Date | undefined): Date | undefined => {
    if (text === undefined) return byDefault();
    const at = parseDateTime(text);
    if (!at) errors.push({ field, message: 'must be an RFC 3339 date-time with a zone, such as 2026-12-07T11:00:00Z' });
    return at;
  };
  const to = instant('to', toText, () => now);
  const from = instant('from', fromText, () => (to === undefined ? undefined : new Date(to.getTime() - HOUR_MS)));
  if (from === undefined || to === undefined) return undefined;
  if (from.getTime() >= to.getTime()) errors.push({ field: 'from', message: 'must be earlier than to' });
  else if (to.getTime() - from.getTime() > MAX_PREVIEW_RANGE_HOURS * HOUR_MS)
    errors.push({ field: 'from', message: `must be at most ${MAX_PREVIEW_RANGE_HOURS} hours before to` });
  return { from, to };
}

interface GroupFilter {
  /** The filter as canonical JSON (its pointers sorted), as a page token keeps it; null without one. */
  text: string | null;
  matches: (group: Record<string, string | null>) => boolean;
}

/** ?group: a JSON object {pointer: value} over the view's groupBy pointers, each value compared as text (null: absent). */
function groupFilter(text: string | undefined, groupBy: string[]): GroupFilter {
  if (text === undefined) return { text: null, matches: () => true };
  const refuse = (message: string) => new BadRequestError(`group ${message}`, [{ field: 'group', message }]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw refuse('must be a JSON object {pointer: value}, such as {"/currency":"EUR"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw refuse('must be a JSON object {pointer: value}, such as {"/currency":"EUR"}');
  const wanted: [string, string | null][] = [];
  for (const [pointer, value] of Object.entries(parsed)) {
    if (!groupBy.includes(pointer)) {
      throw refuse(`names ${pointer}, which the view does not group by (${groupBy.length ? `it groups by ${groupBy.join(', ')}` : 'it has no groupBy'})`);
    }
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw refuse(`gives ${pointer} a value that is not a string, a number, a boolean or null`);
    }
    wanted.push([pointer, value === null ? null : String(value)]);
  }
  if (wanted.length === 0) return { text: null, matches: () => true };
  wanted.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { text: JSON.stringify(Object.fromEntries(wanted)), matches: (group) => wanted.every(([pointer, value]) => group[pointer] === value) };
}

function toResult(row: ViewResultRow, groupBy: string[]): ViewResultDto {
  const stored = objectOf(row.groupJson);
  // The job may leave out a field that is absent (Spark's to_json drops nulls): every groupBy pointer is shown, null where absent.
  const group: Record<string, string | null> = {};
  for (const pointer of groupBy) {
    const value = stored[pointer];
    group[pointer] = value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    group,
    values: objectOf(row.valuesJson) as Record<string, number | null>,
  };
}

function objectOf(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The ETag of a view: the id of its current definition, quoted (every redefinition makes a new one). */
export const viewEtag = (view: { id: string }): string => `"${view.id}"`;

function checkIfMatch(current: StoredView, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (ifMatchAllows(ifMatch, viewEtag(current))) return;
  throw new PreconditionFailedError(
    `If-Match ${ifMatch} does not match the current definition of view "${current.name}" (ETag ${viewEtag(current)}): read it again and reapply the change`,
    [{ field: 'If-Match', message: `expected ${viewEtag(current)}` }],
  );
}

function toDto(row: StoredView, status: ViewStatus | undefined): ViewDto {
  const state: ViewState = status?.state !== undefined && (VIEW_STATES as readonly string[]).includes(status.state) ? (status.state as ViewState) : 'pending';
  return {
    name: row.name,
    id: row.id,
    source: row.source,
    definition: row.definition as unknown as ViewDefinitionDto,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    state,
    ...(status?.error ? { error: status.error } : {}),
    lateEvents: status?.lateEvents ?? 0,
    ...(status?.watermark ? { watermark: status.watermark.toISOString() } : {}),
    ...(status?.offsetsRead !== undefined && status.offsetsAvailable !== undefined
      ? { progress: { offsetsRead: status.offsetsRead, offsetsAvailable: status.offsetsAvailable } }
      : {}),
    ...(status?.updatedAt ? { updatedAt: status.updatedAt.toISOString() } : {}),
  };
}
