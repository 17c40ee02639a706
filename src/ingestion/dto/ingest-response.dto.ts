import { ApiProperty } from '@nestjs/swagger';

export class IngestResponseDto {
  @ApiProperty({ example: 2, description: 'How many events Kafka acknowledged (all of the request)' })
  accepted: number;

  @ApiProperty({
    example: ['0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11', '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12'],
    description: 'One id per event, in request order',
  })
  eventIds: string[];
}
