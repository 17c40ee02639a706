import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsObject, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { RUN_ID } from '../../airflow/airflow.api';
import { OptionalNotNull, ToBoolean, ToInteger } from '../../common/http/params';

export class DagRunDto {
  @ApiProperty({ example: 'user_profiles_ingest' })
  dagId: string;

  @ApiProperty({ example: 'manual__2026-01-01T00:00:00+00:00' })
  runId: string;

  @ApiProperty({ example: 'success', description: 'queued, running, success or failed' })
  state: string;

  @ApiPropertyOptional({ example: 'manual' })
  runType?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:00Z' })
  logicalDate?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:01Z' })
  startDate?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:09Z' })
  endDate?: string;

  @ApiProperty({ example: { count: 3 } })
  conf: Record<string, unknown>;
}

export class DagDto {
  @ApiProperty({ example: 'user_profiles_ingest' })
  dagId: string;

  @ApiPropertyOptional({ example: 'Fetch user profiles and ingest them through the control plane' })
  description?: string;

  @ApiProperty({ example: true })
  isPaused: boolean;

  @ApiPropertyOptional({ example: '* * * * *' })
  schedule?: string;

  @ApiProperty({ example: ['demo'] })
  tags: string[];

  @ApiPropertyOptional({ type: DagRunDto })
  lastRun?: DagRunDto;
}

export class DagsDto {
  @ApiProperty({ type: [DagDto] })
  dags: DagDto[];
}

export class PatchDagDto {
  @ApiProperty({ example: false, description: 'Pause (true) or unpause (false) the DAG' })
  @IsBoolean()
  isPaused: boolean;
}

export class TriggerDagDto {
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { count: 3 }, description: 'The run configuration (dag_run.conf)' })
  @OptionalNotNull()
  @IsObject()
  conf?: Record<string, unknown>;

  @ApiPropertyOptional({
    format: 'date-time',
    example: '2026-01-01T00:00:00Z',
    description: 'Logical date (RFC 3339, with a zone); default: none (Airflow 3 runs it now)',
  })
  @OptionalNotNull()
  @IsString()
  logicalDate?: string;

  @ApiPropertyOptional({ example: 'backfill-2026-01-01', pattern: RUN_ID.source, description: 'Your run id; 409 when the DAG already has it' })
  @OptionalNotNull()
  @IsString()
  @Matches(RUN_ID, { message: "runId must be 1 to 250 letters, digits, '_', '.', '~', ':', '+' or '-'" })
  runId?: string;
}

export class TriggerQueryDto {
  @ApiPropertyOptional({ type: 'boolean', example: true, description: 'Wait, bounded, until the run ends' })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  wait?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 3600,
    example: 120,
    default: 120,
    description: 'With wait=true: how long to wait at most, in seconds (capped by AIRFLOW_WAIT_MAX_SECONDS)',
  })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(3600)
  timeoutSeconds?: number;
}

export class TriggerResponseDto extends DagRunDto {
  @ApiProperty({ example: true, description: 'With wait=true: whether the run ended within the bound' })
  finished: boolean;
}

export class RunsQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, example: 25, default: 25 })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 25;
}

export class DagRunsDto {
  @ApiProperty({ type: [DagRunDto] })
  runs: DagRunDto[];
}

export class TaskInstanceDto {
  @ApiProperty({ example: 'post_to_ingest' })
  taskId: string;

  @ApiPropertyOptional({ example: 'success' })
  state?: string;

  @ApiProperty({ example: 1 })
  tryNumber: number;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:01Z' })
  startDate?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:03Z' })
  endDate?: string;

  @ApiPropertyOptional({ example: 1.8 })
  durationSeconds?: number;

  @ApiPropertyOptional({ example: '_PythonDecoratedOperator' })
  operator?: string;
}

export class TaskInstancesDto {
  @ApiProperty({ type: [TaskInstanceDto] })
  tasks: TaskInstanceDto[];
}
