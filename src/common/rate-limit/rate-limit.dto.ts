import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, IsPositive, Max } from 'class-validator';
import { OptionalNotNull } from '../http/params';
import { MAX_RATE, RateLimit } from './rate-limit';

const NUMBER = { allowNaN: false, allowInfinity: false };

export class RateLimitDto implements RateLimit {
  @ApiPropertyOptional({ example: 100, exclusiveMinimum: true, minimum: 0, maximum: MAX_RATE, description: 'Requests per second, over every API process' })
  @OptionalNotNull()
  @IsNumber(NUMBER)
  @IsPositive()
  @Max(MAX_RATE)
  requestsPerSecond?: number;

  @ApiPropertyOptional({
    example: 2000,
    exclusiveMinimum: true,
    minimum: 0,
    maximum: MAX_RATE,
    description: 'Events per second on ingest (a batch of 100 is 100 events), over every API process',
  })
  @OptionalNotNull()
  @IsNumber(NUMBER)
  @IsPositive()
  @Max(MAX_RATE)
  eventsPerSecond?: number;

  @ApiPropertyOptional({
    example: 50,
    exclusiveMinimum: true,
    minimum: 0,
    maximum: MAX_RATE,
    description: 'The most requests (and events) accepted at once after an idle spell; default half a second of each rate',
  })
  @OptionalNotNull()
  @IsNumber(NUMBER)
  @IsPositive()
  @Max(MAX_RATE)
  burst?: number;
}
