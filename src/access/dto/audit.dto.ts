import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ToInteger } from '../../common/http/params';

/** An action (`key.revoke`) or every action of one resource (`key.*`). */
const ACTION_FILTER = /^[a-z][a-z-]*(\.([a-z][a-z-]*|\*))?$/;

const INSTANT = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}(T.*)?$' } as const;

export class AuditQueryDto {
  @ApiPropertyOptional({
    ...INSTANT,
    example: '2026-01-01T00:00:00Z',
    description: 'Inclusive start (a date or an RFC 3339 date-time with a zone); default: 7 days before to',
  })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ ...INSTANT, example: '2026-01-02T00:00:00Z', description: 'Exclusive end, as from; default: now' })
  @IsOptional()
  @IsString()
  to?: string;

  @ApiPropertyOptional({ example: '3f9a0c1b2d4e', maxLength: 100, description: 'Only this caller: a key id, or bootstrap:<4 hex> for a key of API_KEYS' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  actor?: string;

  @ApiPropertyOptional({
    example: 'key.revoke',
    pattern: ACTION_FILTER.source,
    description: 'Only this action, or every action of a resource with `key.*`',
  })
  @IsOptional()
  @IsString()
  @Matches(ACTION_FILTER, { message: 'action must be an action such as key.revoke, or key.* for every action on keys' })
  action?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'Most events per page' })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;

  @ApiPropertyOptional({ description: 'The nextPageToken of the previous page, unchanged, with the same from, to, actor and action' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  pageToken?: string;
}

export class AuditEventDto {
  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  at: string;

  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12' })
  id: string;

  @ApiProperty({ example: '3f9a0c1b2d4e', description: 'The key id, or bootstrap:<4 hex of its SHA-256> for a key of API_KEYS' })
  actor: string;

  @ApiProperty({ example: 'ops laptop', description: "The key's name (bootstrap for a key of API_KEYS)" })
  actorName: string;

  @ApiProperty({ example: 'schedule.delete' })
  action: string;

  @ApiPropertyOptional({
    example: '2f1d0c52-4f0e-4b8e-9d0b-1f2e3d4c5b6a',
    description: 'What the action was on (a key id, a schedule id, a source, a DAG id, ...)',
  })
  target?: string;

  @ApiPropertyOptional({ example: 'req-42', description: 'The X-Request-Id of the request, as in the request log' })
  requestId?: string;

  @ApiProperty({ example: 204, description: 'The status the request was answered with: refusals (4xx) and failures (5xx) are recorded too' })
  outcome: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { cron: '0 3 * * *' },
    description: 'What the request asked to change (its body, secrets left out)',
  })
  changes?: Record<string, unknown>;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEventDto], description: 'Newest first' })
  events: AuditEventDto[];

  @ApiPropertyOptional({ description: 'Present while more events may match: pass it as pageToken (a page may hold fewer than limit events)' })
  nextPageToken?: string;
}
