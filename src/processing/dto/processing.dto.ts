import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, Max, Min } from 'class-validator';

export class JobDto {
  @ApiProperty({ example: 'daily_rollup' })
  name: string;

  @ApiProperty({ example: "Recomputes one day's per-minute counts from events_by_source" })
  description: string;

  @ApiProperty({ example: 'daily_rollup.py' })
  file: string;

  @ApiProperty({ example: false, description: 'A streaming job runs until stopped' })
  streaming: boolean;

  @ApiProperty({
    description: 'JSON Schema of the accepted args; each property becomes --<kebab-case-name> <value>',
    example: { type: 'object', required: ['day', 'sources'], properties: { day: { type: 'string', format: 'date' } } },
  })
  args: Record<string, unknown>;
}

export class JobsDto {
  @ApiProperty({ type: [JobDto] })
  jobs: JobDto[];
}

export class SubmitBatchDto {
  @ApiPropertyOptional({ example: { day: '2026-01-01', sources: ['users'] }, description: "Checked against the job's args schema" })
  @IsOptional() @IsObject()
  args?: Record<string, unknown>;

  @ApiPropertyOptional({ example: { 'spark.driver.memory': '1g' }, description: 'Spark configuration for this batch' })
  @IsOptional() @IsObject()
  conf?: Record<string, string>;
}

export class StartStreamingDto {
  @ApiPropertyOptional({ example: { trigger_ms: 500 }, description: "Checked against the events_stream job's args schema" })
  @IsOptional() @IsObject()
  args?: Record<string, unknown>;
}

export class BatchDto {
  @ApiProperty({ example: 3 })
  id: number;

  @ApiPropertyOptional({ example: 'daily_rollup' })
  job?: string;

  @ApiPropertyOptional({ example: 'daily_rollup-5f3a9c1e' })
  name?: string;

  @ApiProperty({
    example: 'running',
    description: "Livy's state (not_started, starting, running, success, dead, killed, error), or lost when Livy forgot it unfinished",
  })
  state: string;

  @ApiPropertyOptional({ example: 'local-1767225600000' })
  appId?: string;

  @ApiPropertyOptional({ example: { driverLogUrl: null, sparkUiUrl: null } })
  appInfo?: Record<string, string | null>;

  @ApiPropertyOptional({ example: ['--day', '2026-01-01', '--sources', 'users'] })
  args?: string[];

  @ApiPropertyOptional({ example: '2026-01-01T00:00:00.000Z' })
  submittedAt?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:12.000Z', description: 'When the control plane first saw it finished' })
  finishedAt?: string;
}

export class BatchesDto {
  @ApiProperty({ type: [BatchDto] })
  batches: BatchDto[];
}

export class LogQueryDto {
  @ApiPropertyOptional({ example: 0, default: 0, description: 'First line (0-based)' })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  from: number = 0;

  @ApiPropertyOptional({ example: 100, default: 100, maximum: 1000 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  size: number = 100;
}

export class BatchLogDto {
  @ApiProperty({ example: 3 })
  id: number;

  @ApiProperty({ example: 0 })
  from: number;

  @ApiProperty({ example: 57, description: 'Lines Livy holds for this batch' })
  total: number;

  @ApiProperty({ example: ['rollup source=users day=2026-01-01 minutes=12 events=345'] })
  lines: string[];
}

export class StreamingStatusDto {
  @ApiProperty({ example: 'running', description: 'stopped, or the Livy state of the live batch' })
  state: string;

  @ApiProperty({ example: true })
  running: boolean;

  @ApiPropertyOptional({ example: 0 })
  batchId?: number;

  @ApiPropertyOptional({ example: 'local-1767225600000' })
  appId?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:00.000Z', description: 'Submitted at (running) or stopped at (stopped)' })
  since?: string;

  @ApiProperty({ example: ['users_created', 'ingest.orders'] })
  topics: string[];
}
