import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { FieldErrorDto } from '../../common/errors/field-error.dto';

export class QuarantinedEventDto {
  @ApiProperty({ example: 1, description: 'Position of the event in the request (0-based)' })
  index: number;

  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12', description: 'Its event id, also in eventIds; a replay keeps it' })
  eventId: string;

  @ApiProperty({ type: [FieldErrorDto], description: 'Every field that fails the schema' })
  reasons: FieldErrorDto[];
}

export class IngestResponseDto {
  @ApiProperty({
    example: 2,
    description: "How many events Kafka acknowledged in the source's topic: all of the request, but those quarantined",
  })
  accepted: number;

  @ApiProperty({
    example: ['0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11', '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12'],
    description: 'One id per event, in request order, quarantined events included',
  })
  eventIds: string[];

  @ApiPropertyOptional({
    example: 1,
    description: "For a source with onInvalid: quarantine: how many events failed the schema and were acknowledged in the source's dead-letter topic instead",
  })
  quarantined?: number;

  @ApiPropertyOptional({ type: [QuarantinedEventDto], description: 'For a source with onInvalid: quarantine: each quarantined event and why' })
  quarantinedEvents?: QuarantinedEventDto[];
}
