import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The one error shape every route answers with. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiProperty({ example: 'event 2 does not match the schema of source "orders": /amount must be number' })
  message: string;

  @ApiPropertyOptional({
    description: 'Structured detail: failing fields, the dependency that failed, ...',
    example: [{ index: 2, field: '/amount', message: 'must be number' }],
  })
  details?: unknown;

  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11', description: 'Also sent as the X-Request-Id header' })
  requestId: string;
}
