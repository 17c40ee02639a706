import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ToInteger } from '../../../common/http/params';

/** A date (its UTC midnight) or a date-time with a zone, both RFC 3339 and real calendar days. */
export const INSTANT_SCHEMA = {
  anyOf: [
    { type: 'string', format: 'date' },
    { type: 'string', format: 'date-time' },
  ],
};
const RANGE_RULE = 'from must be earlier than to, and the range at most RECORDS_MAX_RANGE_DAYS (31 by default) long, whether from, to or both are given';

export class TimeRangeQueryDto {
  @ApiPropertyOptional({
    ...INSTANT_SCHEMA,
    example: '2026-01-01T00:00:00Z',
    description: `Inclusive start: a date (YYYY-MM-DD, UTC) or an RFC 3339 date-time with a zone. ${RANGE_RULE}`,
  })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ ...INSTANT_SCHEMA, example: '2026-01-02T00:00:00Z', description: 'Exclusive end, as from; default now' })
  @IsOptional()
  @IsString()
  to?: string;
}

/** base64url of the cursor, a dot, base64url of its MAC. */
export const PAGE_TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The most rows a page holds, and the longest page token accepted. */
export const MAX_PAGE_LIMIT = 1000;
export const MAX_PAGE_TOKEN_LENGTH = 4096;

/** A page's size: 1 to 1000 rows, 100 by default. */
export const PageLimit = () =>
  applyDecorators(
    ApiPropertyOptional({ type: 'integer', example: 100, minimum: 1, maximum: MAX_PAGE_LIMIT, default: 100 }),
    IsOptional(),
    ToInteger(),
    IsInt(),
    Min(1),
    Max(MAX_PAGE_LIMIT),
  );

/** The token of the next page, as the previous page gave it. */
export const PageToken = () =>
  applyDecorators(
    ApiPropertyOptional({
      pattern: PAGE_TOKEN.source,
      maxLength: MAX_PAGE_TOKEN_LENGTH,
      description: 'nextPageToken of the previous page, unchanged, with the same source, from and to; a token the API did not issue is 400',
    }),
    IsOptional(),
    IsString(),
    MaxLength(MAX_PAGE_TOKEN_LENGTH),
    Matches(PAGE_TOKEN, { message: 'pageToken is not valid: pass the nextPageToken of the previous page unchanged' }),
  );

export class RecordsQueryDto extends TimeRangeQueryDto {
  @PageLimit()
  limit: number = 100;

  @PageToken()
  pageToken?: string;
}

export class RecordDto {
  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11' })
  eventId: string;

  @ApiProperty({ example: 'users' })
  source: string;

  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  receivedAt: string;

  @ApiPropertyOptional({ example: 'ada@example.com' })
  key?: string;

  @ApiProperty({ example: { name: 'Ada', email: 'ada@example.com' }, description: "The caller's JSON, as ingested" })
  payload: unknown;

  @ApiPropertyOptional({ example: '2026-01-01T12:00:00.850Z', description: 'When the streaming job wrote the row' })
  processedAt?: string;

  @ApiPropertyOptional({
    example: 2,
    description:
      "The version of the source's schema the event was checked against at ingest (GET /sources/{name}/schemas/{version}); absent for a source without a schema",
  })
  schemaVersion?: number;

  @ApiPropertyOptional({
    example: '4bf92f3577b34da6a3ce929d0e0e4736',
    description:
      "The W3C trace id of the request that published the event: the caller's traceparent, or the trace the API started (answered in traceresponse); absent for events stored before traces",
  })
  traceId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'x-shop-id': 'shop-42', 'pipeline-source': 'orders', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    description:
      "The event's Kafka record headers: the request headers the source copies (its headers setting) and the pipeline's own (pipeline-source, pipeline-schema-version, pipeline-delivery-id, idempotency-key, traceparent, tracestate)",
  })
  headers?: Record<string, string>;
}

export class RecordsPageDto {
  @ApiProperty({ type: [RecordDto] })
  items: RecordDto[];

  @ApiPropertyOptional({ description: 'Pass as pageToken to get the next page; absent on the last page' })
  nextPageToken?: string;
}

export class MinuteCountDto {
  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  minute: string;

  @ApiProperty({ example: 42 })
  count: number;
}

export class StatsDto {
  @ApiProperty({ example: 'users' })
  source: string;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  from: string;

  @ApiProperty({ example: '2026-01-02T00:00:00.000Z' })
  to: string;

  @ApiProperty({ example: 42 })
  total: number;

  @ApiProperty({ type: [MinuteCountDto] })
  minutes: MinuteCountDto[];
}
