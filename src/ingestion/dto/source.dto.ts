import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SIGNATURE_SCHEMES, SignatureScheme } from '../../catalogs/source-signature';
import { ON_INVALID, OnInvalid } from '../../catalogs/sources.registry';

export class SourceDto {
  @ApiProperty({ example: 'users' })
  name: string;

  @ApiProperty({ example: 'users_created', description: 'The Kafka topic events of this source are published to' })
  topic: string;

  @ApiPropertyOptional({ example: 'User profiles' })
  description?: string;

  @ApiPropertyOptional({ example: 'email', description: 'Payload field used as the Kafka key' })
  keyField?: string;

  @ApiProperty({ example: 1048576, description: 'Largest accepted request body, in bytes' })
  maxBodyBytes: number;

  @ApiPropertyOptional({ description: 'JSON Schema every event payload must match', example: { type: 'object' } })
  schema?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: '3f6c1e0b9a5d4c7e8f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e',
    description: "sha256 (hex) of the schema's canonical JSON, as dead letters record the schema they failed",
  })
  schemaHash?: string;

  @ApiProperty({
    enum: ON_INVALID,
    example: 'quarantine',
    description:
      'An event that fails the schema: reject refuses the request with 400; quarantine accepts the request and publishes that event to deadLetterTopic',
  })
  onInvalid: OnInvalid;

  @ApiPropertyOptional({ example: 'ingest.orders.dlq', description: 'With onInvalid quarantine: the topic of the quarantined events' })
  deadLetterTopic?: string;

  @ApiPropertyOptional({
    enum: SIGNATURE_SCHEMES,
    example: 'standard-webhooks',
    description: "Set for a signed source: its deliveries carry this scheme's signature instead of an API key",
  })
  signatureScheme?: SignatureScheme;

  @ApiProperty({
    example: '1h',
    description:
      "The time span of one storage partition of this source's events (sources.yaml `bucket`, or derived from `peakEventsPerSecond`), " +
      'written as <n>s, <n>m, <n>h or <n>d',
  })
  bucket: string;

  @ApiProperty({ example: 3600, minimum: 1, maximum: 86400, description: 'bucket, in seconds (it divides a day evenly)' })
  bucketSeconds: number;
}

export class SourcesResponseDto {
  @ApiProperty({ type: [SourceDto] })
  sources: SourceDto[];
}
