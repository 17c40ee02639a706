import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ArrayMaxSize, ArrayNotEmpty, ArrayUnique, IsArray, IsBoolean, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { FieldErrorDto } from '../../../common/errors/field-error.dto';
import { INSTANT_SCHEMA, PageLimit, PageToken } from '../../records/dto/records.dto';

/** Most dead letters one replay request may name by id. */
export const MAX_REPLAY_IDS = 1000;

export class DeadLettersQueryDto {
  @ApiPropertyOptional({
    ...INSTANT_SCHEMA,
    example: '2026-01-01T00:00:00Z',
    description:
      'Inclusive start of failedAt: a date (YYYY-MM-DD, UTC) or an RFC 3339 date-time with a zone; default: the first dead letter. from must be earlier than to',
  })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ ...INSTANT_SCHEMA, example: '2026-01-02T00:00:00Z', description: 'Exclusive end of failedAt, as from; default: the last one' })
  @IsOptional()
  @IsString()
  to?: string;

  @PageLimit()
  limit: number = 100;

  @PageToken()
  pageToken?: string;
}

const REPLAY_IDS: SchemaObject = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_REPLAY_IDS,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 400 },
  description: `These dead letters (ids from GET /dead-letters/{source}), at most ${MAX_REPLAY_IDS}; an unknown id answers 404 and nothing is replayed`,
};

/** The replay body as the document states it: exactly one of its three selections. */
export const REPLAY_REQUEST_SCHEMA: SchemaObject = {
  oneOf: [
    { type: 'object', title: 'ids', required: ['ids'], additionalProperties: false, properties: { ids: REPLAY_IDS } },
    {
      type: 'object',
      title: 'range',
      minProperties: 1,
      additionalProperties: false,
      description: 'The dead letters that failed in [from, to): from, to or both; from must be earlier than to',
      properties: {
        from: { ...INSTANT_SCHEMA, description: 'At or after this instant (a date or an RFC 3339 date-time with a zone)' },
        to: { ...INSTANT_SCHEMA, description: 'Before this instant' },
      },
    },
    {
      type: 'object',
      title: 'all',
      required: ['all'],
      additionalProperties: false,
      properties: { all: { type: 'boolean', enum: [true], description: 'Every dead letter of the source not replayed yet' } },
    },
  ],
};

export class DeadLetterDto {
  @ApiProperty({
    example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12',
    description: 'The event id of a quarantined event; <topic>:<partition>:<offset> of a Kafka record the stream could not read',
  })
  id: string;

  @ApiProperty({ example: 'orders' })
  source: string;

  @ApiProperty({ example: '2026-01-01T12:00:00.000Z', description: "When it failed: a quarantined event's receivedAt, an unreadable record's Kafka timestamp" })
  failedAt: string;

  @ApiProperty({
    example: 'schema',
    description:
      'schema: quarantined by POST /ingest (see reasons); else why the stream could not read the record: invalid_json, ' +
      'missing_event_id, invalid_event_id, missing_source, invalid_received_at, invalid_payload',
  })
  reason: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'reason schema: every field that failed' })
  reasons?: FieldErrorDto[];

  @ApiPropertyOptional({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12', description: 'reason schema: the event id, which a replay keeps' })
  eventId?: string;

  @ApiPropertyOptional({ example: '2026-01-01T12:00:00.000Z', description: 'reason schema: when POST /ingest received it' })
  receivedAt?: string;

  @ApiPropertyOptional({ example: { order_id: 'o-3', amount: 'ten', currency: 'EUR' }, description: "reason schema: the caller's JSON, as ingested" })
  payload?: unknown;

  @ApiPropertyOptional({ example: '{"eventId":', description: 'An unreadable record: its value as the stream read it' })
  raw?: string;

  @ApiPropertyOptional({ description: 'sha256 of the schema it failed (compare with schemaHash in GET /sources)' })
  schemaHash?: string;

  @ApiPropertyOptional({ example: 'ingest.orders.dlq', description: 'The Kafka topic the stream read it from' })
  topic?: string;

  @ApiPropertyOptional({ example: 0 })
  partition?: number;

  @ApiPropertyOptional({ example: 42 })
  offset?: number;

  @ApiPropertyOptional({ example: '2026-01-02T09:00:00.000Z', description: "When a replay published it to its source's topic" })
  replayedAt?: string;

  @ApiPropertyOptional({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12', description: 'The event id it was replayed under (its own)' })
  replayedEventId?: string;
}

export class DeadLettersPageDto {
  @ApiProperty({ type: [DeadLetterDto] })
  items: DeadLetterDto[];

  @ApiPropertyOptional({ description: 'Pass as pageToken to get the next page; absent on the last page' })
  nextPageToken?: string;
}

/** Which dead letters to replay: exactly one of ids, a range of failedAt (from and/or to), or all. */
export class ReplayRequestDto {
  @ApiPropertyOptional({
    example: ['0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12'],
    description: `These dead letters (ids from GET /dead-letters/{source}), at most ${MAX_REPLAY_IDS}; an unknown id answers 404 and nothing is replayed`,
  })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_REPLAY_IDS)
  @ArrayUnique()
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(400, { each: true })
  ids?: string[];

  @ApiPropertyOptional({ example: '2026-01-01T00:00:00Z', description: 'The dead letters that failed at or after this instant (ISO 8601)' })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ example: '2026-01-02T00:00:00Z', description: 'The dead letters that failed before this instant (ISO 8601)' })
  @IsOptional()
  @IsString()
  to?: string;

  @ApiPropertyOptional({ example: true, description: 'Every dead letter of the source not replayed yet' })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}

export class StillFailingDto {
  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12', description: 'The dead letter' })
  id: string;

  @ApiProperty({ type: [FieldErrorDto], description: "Why it is not replayed: the fields that fail the source's current schema" })
  reasons: FieldErrorDto[];
}

export class ReplayResponseDto {
  @ApiProperty({ example: 1, description: "Dead letters this request published to the source's topic (Kafka acknowledged them) and marked replayed" })
  replayed: number;

  @ApiProperty({ example: ['0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12'], description: 'Their event ids: the ids they were quarantined under' })
  eventIds: string[];

  @ApiProperty({ example: 0, description: 'Selected dead letters that a replay had already published: left alone' })
  alreadyReplayed: number;

  @ApiProperty({ type: [StillFailingDto], description: 'Selected dead letters not replayed, and why: they still fail the schema, or hold no event' })
  stillFailing: StillFailingDto[];
}
