import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { INSTANT_SCHEMA, PageLimit, PageToken } from '../../storage/records/dto/records.dto';
import {
  AGGREGATE_NAME,
  DEFAULT_LATENESS,
  FILTER_OPERATORS,
  FilterOperator,
  FilterValue,
  MAX_AGGREGATES,
  MAX_FILTERS,
  MAX_GROUP_BY,
  MAX_IN_VALUES,
  VIEW_FUNCTIONS,
  VIEW_NAME,
  ViewFunction,
} from '../view-definition';
import { MAX_PREVIEW_EVENTS, MAX_PREVIEW_ITEMS, MAX_PREVIEW_PAIRS } from '../view-compute';

/*
 * The body of POST /views is checked by viewDefinitionErrors (view-definition.ts), which names every
 * broken rule at once, nested ones by their path (`aggregates/1/field`), as the streaming job judges
 * them. The classes here document it; their properties are @Allow()ed only, so that the global
 * ValidationPipe still refuses an unknown top-level property (and JsonBodyMiddleware a body that is
 * not an object) but leaves every rule to that one function.
 */

/** A JSON Pointer (RFC 6901) into the payload, whose field names the job can quote: no empty one, none with ', \, [ or ]. */
const POINTER = "^(/([^/~'\\\\\\[\\]]|~[01])+)+$";
const DURATION = '^[1-9][0-9]*[smhd]$';
const SCALAR: { type: 'string' | 'number' | 'boolean' }[] = [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }];

export class ViewFilterDto {
  @ApiProperty({ example: '/status', pattern: POINTER, description: 'The payload field compared, as a JSON Pointer' })
  @Allow()
  field: string;

  @ApiProperty({
    enum: FILTER_OPERATORS,
    example: '=',
    description:
      'A number compares as a number, anything else as text; an event without the field matches no comparison (!= included). ' +
      'in: the field equals one of the values; exists: the event has the field (not null)',
  })
  @Allow()
  op: FilterOperator;

  @ApiPropertyOptional({
    oneOf: [...SCALAR, { type: 'array', minItems: 1, maxItems: MAX_IN_VALUES, items: { oneOf: SCALAR } }],
    example: 'paid',
    description: `The value compared with: a string, number or boolean; for in, an array of 1 to ${MAX_IN_VALUES} of them; for exists, left out`,
  })
  @Allow()
  value?: FilterValue | FilterValue[];
}

export class ViewAggregateDto {
  @ApiProperty({
    enum: VIEW_FUNCTIONS,
    example: 'sum',
    description:
      'count: events (with a field: events that have it); sum, avg, min, max: of a number field (text that is no number is left out); ' +
      'distinct: approximate count of distinct values; p50, p95, p99: approximate percentiles of a number field',
  })
  @Allow()
  fn: ViewFunction;

  @ApiPropertyOptional({
    example: '/amount',
    pattern: POINTER,
    description: 'The payload field aggregated, as a JSON Pointer; required for every fn but count',
  })
  @Allow()
  field?: string;

  @ApiPropertyOptional({
    example: 'revenue',
    pattern: AGGREGATE_NAME.source,
    description:
      'The name of the value in each result (default: fn for a bare count, else <fn>_<field names joined by _>: sum of /amount is sum_amount); unique within the view',
  })
  @Allow()
  as?: string;
}

/** A view's definition: the body of POST /views, and the `definition` of a view as stored. */
export class ViewDefinitionDto {
  @ApiProperty({
    example: 'revenue_per_currency',
    pattern: VIEW_NAME.source,
    description: 'Lower-case letters, digits and _, starting with a letter, at most 63; taken until the view is deleted (409)',
  })
  @Allow()
  name: string;

  @ApiProperty({ example: 'orders', description: 'A live source (GET /sources) whose events the view aggregates; an unknown or archived one is 400' })
  @Allow()
  source: string;

  @ApiProperty({
    example: '1m',
    pattern: DURATION,
    description: 'The span of each window of event time: <n>s, <n>m, <n>h or <n>d, from 1s to 1d, dividing a day evenly (7m does not)',
  })
  @Allow()
  window: string;

  @ApiPropertyOptional({
    example: '30s',
    pattern: DURATION,
    description: 'Hopping windows: a new window starts every slide (at most the window, and dividing it). Default: tumbling windows, one after the other',
  })
  @Allow()
  slide?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: MAX_GROUP_BY,
    uniqueItems: true,
    example: ['/currency'],
    description: `Up to ${MAX_GROUP_BY} distinct JSON Pointers into the payload: one result per window and combination of their values (as text; null where absent)`,
  })
  @Allow()
  groupBy?: string[];

  @ApiPropertyOptional({
    type: [ViewFilterDto],
    maxItems: MAX_FILTERS,
    example: [{ field: '/status', op: '=', value: 'paid' }],
    description: `Up to ${MAX_FILTERS} conditions an event must all meet to count`,
  })
  @Allow()
  filter?: ViewFilterDto[];

  @ApiProperty({
    type: [ViewAggregateDto],
    minItems: 1,
    maxItems: MAX_AGGREGATES,
    example: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
    description: `1 to ${MAX_AGGREGATES} values computed per window and group, each under its own name`,
  })
  @Allow()
  aggregates: ViewAggregateDto[];

  @ApiPropertyOptional({
    example: '/paid_at',
    pattern: POINTER,
    description:
      'The payload field holding the event time (an ISO 8601 date-time with a zone, or epoch milliseconds); an event without a readable one is left out. Default: receivedAt',
  })
  @Allow()
  timeField?: string;

  @ApiPropertyOptional({
    example: DEFAULT_LATENESS,
    pattern: DURATION,
    default: DEFAULT_LATENESS,
    description:
      'How late an event may arrive, from 1s to 7d: an event older than the watermark (the latest event time seen, minus this) is dropped and counted in lateEvents',
  })
  @Allow()
  lateness?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-01T00:00:00Z',
    description:
      "An RFC 3339 date-time with a zone, not in the future: the job reads the source's topic from that time on. Default: everything Kafka still holds of it",
  })
  @Allow()
  backfillFrom?: string;
}

export const VIEW_STATES = ['pending', 'backfilling', 'running', 'failed'] as const;
export type ViewState = (typeof VIEW_STATES)[number];

export class ViewProgressDto {
  @ApiProperty({ example: 120_400, description: "Kafka offsets of the source's topic the view has read, over every partition" })
  offsetsRead: number;

  @ApiProperty({ example: 120_512, description: 'Kafka offsets the topic holds, over every partition, when last looked' })
  offsetsAvailable: number;
}

export class ViewDto {
  @ApiProperty({ example: 'revenue_per_currency' })
  name: string;

  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11', description: 'New each time the name is created: a view created again starts afresh' })
  id: string;

  @ApiProperty({ example: 'orders' })
  source: string;

  @ApiProperty({ type: ViewDefinitionDto, description: 'The definition as accepted (defaults are not filled in)' })
  definition: ViewDefinitionDto;

  @ApiProperty({ example: '2026-12-01T12:00:00.000Z' })
  createdAt: string;

  @ApiProperty({
    example: '3f9a0c1b2d4e',
    description: 'Who created it: the key id, or bootstrap:<4 hex> for a key of API_KEYS (as the audit trail names actors)',
  })
  createdBy: string;

  @ApiProperty({
    enum: VIEW_STATES,
    example: 'running',
    description:
      'pending: the streaming job has not picked the view up yet; backfilling: it reads what the topic already holds; running: it keeps up with new events; failed: see error',
  })
  state: ViewState;

  @ApiPropertyOptional({ example: 'StreamingQueryException: ...', description: 'Why the view failed, as the streaming job reports it' })
  error?: string;

  @ApiProperty({ example: 3, description: 'Events dropped as later than the lateness (0 until the job reports)' })
  lateEvents: number;

  @ApiPropertyOptional({ example: '2026-12-01T11:59:30.000Z', description: "The view's watermark: windows that end before it take no more events" })
  watermark?: string;

  @ApiPropertyOptional({ type: ViewProgressDto, description: "How far the view has read its source's topic" })
  progress?: ViewProgressDto;

  @ApiPropertyOptional({ example: '2026-12-01T12:00:01.000Z', description: 'When the streaming job last reported on the view' })
  updatedAt?: string;
}

export class ViewsDto {
  @ApiProperty({ type: [ViewDto], description: 'By name' })
  items: ViewDto[];
}

export class ViewResultsQueryDto {
  @ApiPropertyOptional({
    ...INSTANT_SCHEMA,
    example: '2026-12-01T00:00:00Z',
    description:
      'Windows starting at or after this: a date (YYYY-MM-DD, UTC) or an RFC 3339 date-time with a zone. Default: 24 hours before to. from must be earlier than to, at most 31 days before it',
  })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({
    ...INSTANT_SCHEMA,
    example: '2026-12-02T00:00:00Z',
    description: 'Windows starting before this, as from. Default: now plus one window, so the current window is in',
  })
  @IsOptional()
  @IsString()
  to?: string;

  @ApiPropertyOptional({
    example: '{"/currency":"EUR"}',
    maxLength: 2048,
    description:
      "A JSON object {pointer: value} (URL-encoded): only the groups whose value of each pointer is that value, compared as text (null: the field is absent). Each pointer must be one of the view's groupBy",
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  group?: string;

  @PageLimit()
  limit: number = 100;

  @PageToken()
  pageToken?: string;
}

export class ViewResultDto {
  @ApiProperty({ example: '2026-12-01T12:00:00.000Z' })
  windowStart: string;

  @ApiProperty({ example: '2026-12-01T12:01:00.000Z', description: 'Exclusive' })
  windowEnd: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', nullable: true },
    example: { '/currency': 'EUR' },
    description: "The group: each groupBy pointer and the field's value as text (null where absent); {} without groupBy",
  })
  group: Record<string, string | null>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number', nullable: true },
    example: { count: 42, revenue: 1234.5 },
    description: 'Each aggregate by name; null where nothing fed it (a sum over no number)',
  })
  values: Record<string, number | null>;
}

export class ViewResultsPageDto {
  @ApiProperty({ type: [ViewResultDto], description: 'Newest window first, then by group' })
  items: ViewResultDto[];

  @ApiPropertyOptional({
    description: 'Pass as pageToken to get the next page; absent on the last page. A page may hold fewer items than limit and still have one',
  })
  nextPageToken?: string;
}

/** The longest from..to of POST /views/preview. */
export const MAX_PREVIEW_RANGE_HOURS = 24;

export class ViewPreviewRequestDto {
  @ApiProperty({
    type: ViewDefinitionDto,
    description:
      'A view definition, exactly as the body of POST /views, checked by the same rules (each broken one named definition/<its path>); ' +
      'a name already taken is no error here, since nothing is created',
  })
  @IsObject({ message: 'definition must be a view definition: a JSON object, as the body of POST /views' })
  definition: ViewDefinitionDto;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-07T11:00:00Z',
    description: `The events received at or after this (an RFC 3339 date-time with a zone). Default: one hour before to. At most ${MAX_PREVIEW_RANGE_HOURS} hours before to`,
  })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-12-07T12:00:00Z',
    description: 'The events received before this, as from. Default: now',
  })
  @IsOptional()
  @IsString()
  to?: string;
}

export class ViewPreviewDto {
  @ApiProperty({
    type: [ViewResultDto],
    description:
      `One item per window and group, as GET /views/{name}/results answers them, newest window first, then by group (at most ${MAX_PREVIEW_ITEMS}): ` +
      'the view computed over the events counted. Windows are those of the events, whatever their times (an event time outside from..to included); ' +
      'every event counts, however late (lateness plays no part). distinct and the percentiles are exact, where the view approximates them; ' +
      'a value that is no finite number (a sum over the text NaN) is null',
  })
  items: ViewResultDto[];

  @ApiProperty({ example: 1423, description: "The source's stored events the items are computed over (before the filter), the newest of the range" })
  events: number;

  @ApiProperty({
    example: false,
    description:
      `Whether the range held more events than were counted: at most ${MAX_PREVIEW_EVENTS}, newest first (with hopping windows at most ` +
      `${MAX_PREVIEW_PAIRS} / (window / slide)), and no more than make ${MAX_PREVIEW_ITEMS} items. Then from is the receivedAt of the oldest event counted`,
  })
  truncated: boolean;

  @ApiProperty({
    example: '2026-12-07T11:00:00.000Z',
    description: 'The start of what was counted: from, or when truncated the receivedAt of the oldest event counted',
  })
  from: string;

  @ApiProperty({ example: '2026-12-07T12:00:00.000Z', description: 'The end of what was read (exclusive)' })
  to: string;
}
