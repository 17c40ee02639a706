import { ApiProperty } from '@nestjs/swagger';

/** One field of an event that fails its source's schema: shared by the ingest answer and the dead letters. */
export class FieldErrorDto {
  @ApiProperty({ example: '/amount', description: 'JSON Pointer of the failing field in the payload ("/" for the payload itself)' })
  field: string;

  @ApiProperty({ example: 'must be number' })
  message: string;
}
