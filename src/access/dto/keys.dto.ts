import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { OptionalNotNull } from '../../common/http/params';
import { RateLimitDto } from '../../common/rate-limit/rate-limit.dto';
import { SCOPE_FORMAT, SCOPE_PATTERN } from '../scopes';

/** The longest grace a rotation may give the secret it replaces: a week. */
export const MAX_GRACE_SECONDS = 604_800;

export class CreateKeyDto {
  @ApiProperty({ example: 'orders webhook sender', minLength: 1, maxLength: 200, description: 'Who holds the key, for the listing and the audit trail' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({
    type: [String],
    example: ['ingest:orders'],
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
    items: { type: 'string', pattern: SCOPE_PATTERN.source },
    description: `What the key may do: ${SCOPE_FORMAT}. An unknown scope is 400`,
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(SCOPE_PATTERN, { each: true, message: `each of scopes must be one of ${SCOPE_FORMAT}` })
  scopes: string[];

  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    example: '2027-01-01T00:00:00Z',
    description: 'When the key stops working (an RFC 3339 date-time with a zone, in the future); default: never',
  })
  @IsOptional()
  @IsString()
  expiresAt?: string;

  @ApiPropertyOptional({
    type: RateLimitDto,
    example: { requestsPerSecond: 100, eventsPerSecond: 2000 },
    description: 'Limits shared by every API process (docs/api.md, Rate limits): past one, 429 with Retry-After; default: none',
  })
  @OptionalNotNull()
  @IsObject()
  @ValidateNested()
  @Type(() => RateLimitDto)
  rateLimit?: RateLimitDto;
}

export class RotateKeyDto {
  @ApiPropertyOptional({
    type: 'integer',
    example: 3600,
    minimum: 0,
    maximum: MAX_GRACE_SECONDS,
    default: 0,
    description: 'How long the secret being replaced keeps working beside the new one, in seconds (0: it stops at once)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_GRACE_SECONDS)
  graceSeconds?: number;
}

export class KeyDto {
  @ApiProperty({ example: '3f9a0c1b2d4e', description: 'The key id: the part of the key after pk_' })
  id: string;

  @ApiProperty({ example: 'orders webhook sender' })
  name: string;

  @ApiProperty({ type: [String], example: ['ingest:orders'] })
  scopes: string[];

  @ApiProperty({ example: 'pk_3f9a0c1b2d4e_', description: 'How every secret of this key starts: search logs and repositories for it to find a leaked copy' })
  prefix: string;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  createdAt: string;

  @ApiPropertyOptional({ example: '2027-01-01T00:00:00.000Z', description: 'When it stops working, if ever' })
  expiresAt?: string;

  @ApiPropertyOptional({ example: '2026-03-01T00:00:00.000Z', description: 'The last rotation' })
  rotatedAt?: string;

  @ApiPropertyOptional({ example: '2026-03-01T01:00:00.000Z', description: 'Until when the secret the last rotation replaced still works' })
  previousSecretValidUntil?: string;

  @ApiPropertyOptional({ example: '2026-04-01T00:00:00.000Z', description: 'When it was revoked; a revoked key works nowhere' })
  revokedAt?: string;

  @ApiPropertyOptional({
    example: '2026-03-02T10:00:00.000Z',
    description: 'When a request last used it, to about a minute (each API process records it at most once a minute)',
  })
  lastUsedAt?: string;

  @ApiPropertyOptional({ type: RateLimitDto, example: { requestsPerSecond: 100, eventsPerSecond: 2000 }, description: 'Its rate limit, if any' })
  rateLimit?: RateLimitDto;
}

export class CreatedKeyDto extends KeyDto {
  @ApiProperty({
    example: 'pk_3f9a0c1b2d4e_2bY0cM8xQ1s7T3nq9VJ5oZ0uE4kR6wH8dF2gA1lP7iU',
    description: 'The secret, shown this once: only its hash is stored. Send it as "X-API-Key: <key>" or "Authorization: Bearer <key>"',
  })
  key: string;
}

export class KeysDto {
  @ApiProperty({ type: [KeyDto], description: 'Every key, revoked ones included, oldest first; never a secret' })
  keys: KeyDto[];
}

export class SelfKeyDto {
  @ApiProperty({ example: '3f9a0c1b2d4e', description: 'The key id, or bootstrap:<4 hex of its SHA-256> for a key of API_KEYS' })
  id: string;

  @ApiProperty({ example: 'ops laptop', description: "The key's name (bootstrap for a key of API_KEYS)" })
  name: string;

  @ApiProperty({ type: [String], example: ['read:*', 'operate'], description: 'What the key may do (a key of API_KEYS: admin)' })
  scopes: string[];
}
