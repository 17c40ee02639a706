import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class TimeRangeQueryDto {
  @ApiPropertyOptional({ example: '2026-01-01T00:00:00Z', description: 'Inclusive start (ISO 8601)' })
  @IsOptional() @IsString()
  from?: string;

  @ApiPropertyOptional({ example: '2026-01-02T00:00:00Z', description: 'Exclusive end (ISO 8601); default now' })
  @IsOptional() @IsString()
  to?: string;
}

export class RecordsQueryDto extends TimeRangeQueryDto {
  @ApiPropertyOptional({ example: 100, minimum: 1, maximum: 1000, default: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit: number = 100;

  @ApiPropertyOptional({ description: 'nextPageToken of the previous page' })
  @IsOptional() @IsString() @MaxLength(4096)
  pageToken?: string;
}

export class RecordDto {
  @ApiProperty({ example: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11' })
  eventId: string;

  @ApiProperty({ example: 'users' })
  source: string;

  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  receivedAt: string;

  @ApiPropertyOptional({ example: 'ada@example.com' })
  key?: string;

  @ApiProperty({ example: { name: 'Ada', email: 'ada@example.com' }, description: "The caller's JSON, as ingested" })
  payload: unknown;

  @ApiPropertyOptional({ example: '2026-01-01T12:00:00.850Z', description: 'When the streaming job wrote the row' })
  processedAt?: string;
}

export class RecordsPageDto {
  @ApiProperty({ type: [RecordDto] })
  items: RecordDto[];

  @ApiPropertyOptional({ description: 'Pass as pageToken to get the next page; absent on the last page' })
  nextPageToken?: string;
}

export class MinuteCountDto {
  @ApiProperty({ example: '2026-01-01T12:00:00.000Z' })
  minute: string;

  @ApiProperty({ example: 42 })
  count: number;
}

export class StatsDto {
  @ApiProperty({ example: 'users' })
  source: string;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  from: string;

  @ApiProperty({ example: '2026-01-02T00:00:00.000Z' })
  to: string;

  @ApiProperty({ example: 42 })
  total: number;

  @ApiProperty({ type: [MinuteCountDto] })
  minutes: MinuteCountDto[];
}
