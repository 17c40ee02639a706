import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { DAG_ID } from '../../airflow/airflow.api';
import { OptionalNotNull, ToInteger } from '../../common/http/params';

/** The IANA time zones a schedule may name (Intl's canonical list, and UTC). */
export const TIME_ZONES: readonly string[] = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])];

export class ScheduleTargetDto {
  @ApiProperty({ enum: ['dag', 'job'], example: 'dag', description: 'Trigger an Airflow DAG or submit a Spark job' })
  @IsIn(['dag', 'job'])
  kind: 'dag' | 'job';

  @ApiProperty({
    example: 'user_profiles_ingest',
    pattern: DAG_ID.source,
    description: 'DAG id (GET /dags) or job name (GET /jobs); one that does not exist is 400',
  })
  @IsString()
  @Matches(DAG_ID, { message: "target.name must be a DAG id or a job name: 1 to 250 letters, digits, '_', '.' or '-'" })
  name: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { count: 3 },
    description: 'dag: the run conf (default {}); ignored for a job target (a schedule sets no Spark settings)',
  })
  @OptionalNotNull()
  @IsObject()
  conf?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { day: '2026-01-01', sources: ['users'] },
    description: "job: the args, checked against the job's schema (default {})",
  })
  @OptionalNotNull()
  @IsObject()
  args?: Record<string, unknown>;
}

export class CreateScheduleDto {
  @ApiProperty({ example: 'ingest users every minute', minLength: 1, maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({
    example: '* * * * *',
    minLength: 1,
    maxLength: 200,
    description:
      'Cron: 5 fields (minute hour day month weekday), or 6 with seconds first; one that is not valid or never fires is 400, and so is one ' +
      'that fires a Spark job target more often than once every SCHEDULES_MIN_INTERVAL_SECONDS (60 by default)',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  cron: string;

  @ApiPropertyOptional({ enum: TIME_ZONES, example: 'Europe/Paris', default: 'UTC', description: 'An IANA time zone' })
  @OptionalNotNull()
  @IsIn(TIME_ZONES, { message: ({ value }) => `timezone ${JSON.stringify(value)} is not an IANA time zone; use one such as UTC or Europe/Paris` })
  timezone?: string;

  @ApiPropertyOptional({ example: true, default: true })
  @OptionalNotNull()
  @IsBoolean()
  enabled?: boolean;

  @ApiProperty({ type: ScheduleTargetDto })
  @ValidateNested()
  @Type(() => ScheduleTargetDto)
  target: ScheduleTargetDto;
}

/** Any of the fields of a schedule, at least one: a PATCH without a change is a mistake, not a no-op. */
export class UpdateScheduleDto extends PartialType(CreateScheduleDto, { skipNullProperties: false }) {}

export class ScheduleTargetViewDto {
  @ApiProperty({ enum: ['dag', 'job'], example: 'dag' })
  kind: 'dag' | 'job';

  @ApiProperty({ example: 'user_profiles_ingest' })
  name: string;

  // Answered as the request spelled it, so a schedule read back can be sent again as it is.
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { count: 3 }, description: 'dag: the run conf (absent for a job)' })
  conf?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { day: '2026-01-01', sources: ['users'] },
    description: 'job: the args (absent for a DAG)',
  })
  args?: Record<string, unknown>;
}

export class ScheduleDto {
  @ApiProperty({ example: '2f1d0c52-4f0e-4b8e-9d0b-1f2e3d4c5b6a' })
  id: string;

  @ApiProperty({ example: 'ingest users every minute' })
  name: string;

  @ApiProperty({ example: '* * * * *' })
  cron: string;

  @ApiProperty({ example: 'UTC' })
  timezone: string;

  @ApiProperty({ example: true })
  enabled: boolean;

  @ApiProperty({ type: ScheduleTargetViewDto })
  target: ScheduleTargetViewDto;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  updatedAt: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:01:00.000Z', description: 'Absent when disabled' })
  nextFireAt?: string;
}

export class SchedulesDto {
  @ApiProperty({ type: [ScheduleDto] })
  schedules: ScheduleDto[];
}

export class ScheduleRunDto {
  @ApiProperty({ example: '2026-01-01T00:01:00.000Z' })
  fireTime: string;

  @ApiProperty({ example: 'triggered', enum: ['triggered', 'failed'] })
  status: string;

  @ApiPropertyOptional({ example: 'schedule__2f1d0c52__20260101T000100000Z', description: 'The DAG run id, or batch:<id> for a job' })
  runRef?: string;

  @ApiPropertyOptional({ example: 'Airflow is unavailable: connect ECONNREFUSED 127.0.0.1:8080' })
  error?: string;

  @ApiPropertyOptional({ example: 'host:4242:a1b2c3', description: 'The API replica that fired it' })
  holder?: string;

  @ApiProperty({ example: '2026-01-01T00:01:00.350Z' })
  recordedAt: string;
}

export class ScheduleRunsDto {
  @ApiProperty({ type: [ScheduleRunDto] })
  runs: ScheduleRunDto[];
}

export class ScheduleRunsQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, example: 50, default: 50 })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 50;
}

export class SchedulePreviewQueryDto {
  @ApiProperty({ example: '0 2 * * *', description: 'Cron: 5 fields, or 6 with seconds first' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  cron: string;

  @ApiPropertyOptional({ enum: TIME_ZONES, example: 'Europe/Paris', default: 'UTC', description: 'An IANA time zone' })
  @IsOptional()
  @IsIn(TIME_ZONES, { message: ({ value }) => `timezone ${JSON.stringify(value)} is not an IANA time zone; use one such as UTC or Europe/Paris` })
  timezone?: string;

  @ApiPropertyOptional({ type: 'integer', example: 5, default: 5, minimum: 1, maximum: 50 })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(50)
  count: number = 5;
}

export class FireTimeDto {
  @ApiProperty({ example: '2026-01-01T01:00:00.000Z', description: 'The instant, in UTC' })
  at: string;

  @ApiProperty({ example: '2026-01-01T02:00:00+01:00', description: "The same instant on the time zone's clock, with its offset" })
  local: string;
}

export class SchedulePreviewDto {
  @ApiProperty({ example: '0 2 * * *' })
  cron: string;

  @ApiProperty({ example: 'Europe/Paris' })
  timezone: string;

  @ApiProperty({ type: [FireTimeDto], description: 'The next fire times from now, soonest first' })
  fires: FireTimeDto[];
}
