import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Matches, Min, ValidateNested } from 'class-validator';
import { COMPATIBILITY_MODES, Compatibility } from '../../catalogs/schema-compatibility';
import { ON_INVALID, OnInvalid, SOURCE_NAME } from '../../catalogs/sources.registry';
import { OptionalNotNull } from '../../common/http/params';
import { RateLimitDto } from '../../common/rate-limit/rate-limit.dto';

const ORDER_SCHEMA = {
  type: 'object',
  required: ['order_id', 'amount'],
  properties: { order_id: { type: 'string', minLength: 1 }, amount: { type: 'number', minimum: 0 } },
};

/**
 * A source's settings, as one entry of config/sources.yaml (the fields and rules of that file; the
 * registry's parser checks them as it checks the file). PUT replaces all of them: a field left out
 * takes its default.
 */
export class SourceSettingsDto {
  @ApiPropertyOptional({ example: 'ingest.orders', description: 'The Kafka topic (default ingest.<name>); it cannot change once the source exists' })
  @OptionalNotNull()
  @IsString()
  topic?: string;

  @ApiPropertyOptional({ example: 'Orders from the shop backend' })
  @OptionalNotNull()
  @IsString()
  description?: string;

  @ApiPropertyOptional({ example: 'order_id', description: 'Payload field whose value becomes the Kafka key (default: the event id)' })
  @OptionalNotNull()
  @IsString()
  keyField?: string;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 16,
    example: ['X-Shop-Id', 'User-Agent'],
    description:
      "Request headers copied into each event's Kafka record headers (lower-cased names, UTF-8 values of at most 4 KB), stored with the event and returned by GET /records. Not the pipeline's own (traceparent, tracestate, idempotency-key, pipeline-*) nor credentials (authorization, cookie, x-api-key)",
  })
  @OptionalNotNull()
  @IsArray()
  @IsString({ each: true })
  headers?: string[];

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    example: 1048576,
    description: 'Largest accepted request body, in bytes (default INGEST_MAX_BODY_BYTES)',
  })
  @OptionalNotNull()
  @IsInt()
  @Min(1)
  maxBodyBytes?: number;

  @ApiPropertyOptional({
    example: ORDER_SCHEMA,
    description: 'JSON Schema (2020-12; the subset the registry checks compatibility on) every event payload must match. A change makes a new schema version',
  })
  @OptionalNotNull()
  @IsObject()
  schema?: Record<string, unknown>;

  @ApiPropertyOptional({
    enum: COMPATIBILITY_MODES,
    example: 'backward',
    description:
      'How a new schema must relate to the current one: backward (default) accepts every event the current one accepted; forward, the current one accepts every event the new one accepts; full, both; none, no check',
  })
  @OptionalNotNull()
  @IsIn(COMPATIBILITY_MODES)
  compatibility?: Compatibility;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { scheme: 'standard-webhooks', secrets: ['${WEBHOOKS_SIGNING_SECRET}'] },
    description: 'Deliveries are signed by the sender (docs/api.md, Webhooks). secrets name environment variables of the API (${NAME}), never secret values',
  })
  @OptionalNotNull()
  @IsObject()
  signature?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: ON_INVALID, example: 'reject', description: 'An event that fails the schema: refused (400), or quarantined (needs a schema)' })
  @OptionalNotNull()
  @IsIn(ON_INVALID)
  onInvalid?: OnInvalid;

  @ApiPropertyOptional({ example: 'ingest.orders.dlq', description: 'With onInvalid quarantine: the topic of the quarantined events (default <topic>.dlq)' })
  @OptionalNotNull()
  @IsString()
  deadLetterTopic?: string;

  @ApiPropertyOptional({
    example: '1h',
    description: "The time span of one storage partition of the source's events: <n>s, <n>m, <n>h or <n>d, dividing a day",
  })
  @OptionalNotNull()
  @IsString()
  bucket?: string;

  @ApiPropertyOptional({ example: 100, description: "The source's peak rate, to derive (or check) the bucket" })
  @OptionalNotNull()
  @IsNumber()
  peakEventsPerSecond?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, example: 512, description: 'With peakEventsPerSecond, the stored size of one event (default 1024)' })
  @OptionalNotNull()
  @IsInt()
  @Min(1)
  eventBytes?: number;

  @ApiPropertyOptional({
    type: RateLimitDto,
    example: { requestsPerSecond: 200, eventsPerSecond: 3000 },
    description: 'Limits on ingest to this source, whatever the key (signed deliveries too), shared by every API process (docs/api.md, Rate limits)',
  })
  @OptionalNotNull()
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;
}

export class CreateSourceDto extends SourceSettingsDto {
  @ApiProperty({
    example: 'orders',
    pattern: SOURCE_NAME.source,
    description: 'Lower-case letters, digits, _ and -, starting with a letter: also a component of the default topic',
  })
  @IsString()
  @Matches(SOURCE_NAME, { message: `name must match ${SOURCE_NAME.source}: lower-case letters, digits, '_' or '-', starting with a letter, at most 64` })
  name: string;
}

/** PUT's body: the settings, and optionally the name (which must be the one in the path). */
export class UpdateSourceDto extends SourceSettingsDto {
  @ApiPropertyOptional({ example: 'orders', description: 'If given, the name in the path' })
  @IsOptional()
  @IsString()
  name?: string;
}

export class SourceResourceDto extends SourceSettingsDto {
  @ApiProperty({ example: 'orders' })
  name: string;

  @ApiProperty({ example: 'ingest.orders', description: 'The Kafka topic (the default, ingest.<name>, when none was given)' })
  declare topic: string;

  @ApiProperty({ enum: COMPATIBILITY_MODES, example: 'backward' })
  declare compatibility: Compatibility;

  @ApiProperty({ example: 3, description: 'Bumped by every change; the ETag is this version, quoted' })
  version: number;

  @ApiPropertyOptional({ example: 2, description: 'The version of the current schema (GET /sources/{name}/schemas/{version}); absent without a schema' })
  schemaVersion?: number;

  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-02T08:30:00.000Z' })
  updatedAt: string;

  @ApiPropertyOptional({
    example: '2026-01-03T09:00:00.000Z',
    description: 'Set once archived: ingest answers 410, stored records stay readable, the name is not reused',
  })
  archivedAt?: string;
}

export class SchemaVersionDto {
  @ApiProperty({ example: 'orders' })
  source: string;

  @ApiProperty({ example: 2 })
  version: number;

  @ApiProperty({ example: ORDER_SCHEMA })
  schema: Record<string, unknown>;

  @ApiProperty({ example: '3f6c1e0b9a5d4c7e8f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e', description: "sha256 of the schema's canonical JSON" })
  schemaHash: string;

  @ApiProperty({ enum: COMPATIBILITY_MODES, example: 'backward', description: 'The mode the version was checked under when it was made' })
  compatibility: string;

  @ApiProperty({ example: '2026-01-02T08:30:00.000Z' })
  createdAt: string;
}

export class SchemaVersionsDto {
  @ApiProperty({ type: [SchemaVersionDto], description: 'Newest first' })
  versions: SchemaVersionDto[];
}

export class SchemaCheckRequestDto {
  @ApiProperty({ example: ORDER_SCHEMA, description: 'The candidate schema' })
  @IsObject()
  schema: Record<string, unknown>;
}

export class IncompatibilityDto {
  @ApiProperty({ example: '/properties/amount/type', description: 'Where in the schema (a JSON Pointer)' })
  field: string;

  @ApiProperty({ example: 'narrowed from number to integer' })
  message: string;
}

export class RefusedEventDto {
  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11' })
  eventId: string;

  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  receivedAt: string;

  @ApiProperty({ example: '/amount' })
  field: string;

  @ApiProperty({ example: 'must be integer' })
  message: string;
}

export class SchemaCheckDto {
  @ApiProperty({ example: false, description: "Whether the candidate may follow the current schema under the source's compatibility mode" })
  compatible: boolean;

  @ApiProperty({ enum: COMPATIBILITY_MODES, example: 'backward' })
  compatibility: Compatibility;

  @ApiProperty({ type: [IncompatibilityDto], description: 'One entry per incompatible path; empty when compatible' })
  incompatibilities: IncompatibilityDto[];

  @ApiProperty({ example: 1000, description: "How many of the source's most recent stored events were checked (at most 1000)" })
  checked: number;

  @ApiProperty({ example: 12, description: 'How many of them the candidate refuses' })
  refused: number;

  @ApiProperty({ type: [RefusedEventDto], description: 'The first few refused events (newest first), with the first reason of each' })
  reasons: RefusedEventDto[];
}
