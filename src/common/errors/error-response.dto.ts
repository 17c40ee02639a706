import { STATUS_CODES } from 'node:http';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorDetail } from './errors';

/** The dependencies an error can name as `upstream`. */
export const UPSTREAMS = ['Kafka', 'Cassandra', 'Livy', 'Airflow'] as const;

/** The one error shape every route answers with (readiness aside, which answers its own report). */
export class ErrorResponseDto {
  @ApiProperty({ example: 400, type: 'integer' })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request', description: 'The reason phrase of the status' })
  error: string;

  @ApiProperty({ example: 'event 2 does not match the schema of source "orders": /amount must be number' })
  message: string;

  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11', description: 'Also sent as the X-Request-Id header' })
  requestId: string;

  @ApiPropertyOptional({
    description: 'Structured detail, one object per problem: a failing field or event, the signature check, a refusal of a dependency, ...',
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ index: 2, field: '/amount', message: 'must be number' }],
  })
  details?: ErrorDetail[];

  @ApiPropertyOptional({
    description: 'The dependency at fault, on a 502, 503 or 504 that a dependency caused',
    enum: UPSTREAMS,
    example: 'Kafka',
  })
  upstream?: string;
}

/** Builds the one error shape; `details` and `upstream` appear only when there are some. */
export function errorBody(statusCode: number, message: string, requestId: string, details?: ErrorDetail[], upstream?: string): ErrorResponseDto {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    requestId,
    ...(details === undefined ? {} : { details }),
    ...(upstream === undefined ? {} : { upstream }),
  };
}
