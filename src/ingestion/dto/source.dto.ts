import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SIGNATURE_SCHEMES, SignatureScheme } from '../../catalogs/source-signature';

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
    enum: SIGNATURE_SCHEMES,
    example: 'standard-webhooks',
    description: "Set for a signed source: its deliveries carry this scheme's signature instead of an API key",
  })
  signatureScheme?: SignatureScheme;
}

export class SourcesResponseDto {
  @ApiProperty({ type: [SourceDto] })
  sources: SourceDto[];
}
