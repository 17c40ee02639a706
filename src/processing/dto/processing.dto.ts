import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsObject, IsOptional, Max, Min, ValidateBy, ValidationOptions } from 'class-validator';
import type { ConfRule } from '../../catalogs/spark-conf';
import { JAVA_INT_MAX, OptionalNotNull, ToInteger } from '../../common/http/params';

/** Spark configuration as Livy takes it: property names to string values (a number or an object would be Livy's 400, a 502). */
const IsStringMap = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string'),
        defaultMessage: () => '$property must be an object of property names to string values, e.g. {"spark.driver.memory": "1g"}',
      },
    },
    options,
  );

export class JobDto {
  @ApiProperty({ example: 'daily_rollup' })
  name: string;

  @ApiProperty({ example: "Recomputes one day's per-minute counts from events_by_bucket" })
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

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'object' },
    description:
      "The Spark settings a caller may set in a batch's conf, each with its rule (kind memory: a size such as 512m up to max; " +
      'integer: min to max; boolean; enum: one of values), the operator ceilings applied; any other setting is 400. Empty: none',
    example: {
      'spark.executor.memory': { kind: 'memory', min: '512m', max: '2g' },
      'spark.executor.instances': { kind: 'integer', min: 1, max: 4 },
    },
  })
  conf: Record<string, ConfRule>;
}

export class JobsDto {
  @ApiProperty({ type: [JobDto] })
  jobs: JobDto[];
}

export class SubmitBatchDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { day: '2026-01-01', sources: ['users'] },
    description: "Checked against the job's args schema (GET /jobs lists each job's); default {}",
  })
  @OptionalNotNull()
  @IsObject()
  args?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'spark.driver.memory': '1g', 'spark.executor.instances': '2' },
    description:
      "Spark settings for this batch, names to string values: only those the job's conf in GET /jobs allows, within their bounds " +
      "(anything else is 400 naming conf.<key>). The control plane's own settings (spark.jars.packages) are applied after these",
  })
  @OptionalNotNull()
  @IsStringMap()
  conf?: Record<string, string>;
}

export class StartStreamingDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { trigger_ms: 500 },
    description: "Checked against the events_stream job's args schema",
  })
  @OptionalNotNull()
  @IsObject()
  args?: Record<string, unknown>;
}

export class BatchDto {
  @ApiProperty({
    example: '019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d',
    description: "The control plane's id (UUID v7), or livy:<n> for a batch Livy has that the control plane did not submit",
  })
  id: string;

  @ApiPropertyOptional({ example: 3, description: "Livy's id of the batch (Livy numbers from 0 again after a restart)" })
  livyId?: number;

  @ApiPropertyOptional({ example: 'daily_rollup' })
  job?: string;

  @ApiPropertyOptional({ example: 'daily_rollup-019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d', description: 'The Livy batch name: <job>-<id>' })
  name?: string;

  @ApiProperty({
    example: 'running',
    description:
      "Livy's state (not_started, starting, running, success, dead, killed, error), or lost when Livy forgot it unfinished; " +
      "running with adopted for the streaming job's copy that Livy forgot but that still reports itself",
  })
  state: string;

  @ApiPropertyOptional({
    example: true,
    description:
      "Set on the streaming job's running copy when Livy no longer tracks it (Livy restarted): the copy reports itself alive, " +
      'so it is running, adopted by the supervisor; Livy has no log of it and cannot kill it (POST /streaming/stop stops it)',
  })
  adopted?: boolean;

  @ApiPropertyOptional({ example: 'local-1767225600000' })
  appId?: string;

  @ApiPropertyOptional({ example: { driverLogUrl: null, sparkUiUrl: null } })
  appInfo?: Record<string, string | null>;

  @ApiPropertyOptional({ example: ['--day', '2026-01-01', '--sources', 'users'] })
  args?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'spark.executor.memory': '1g', 'spark.jars.packages': 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7' },
    description: "The Spark conf the batch was submitted with: the caller's settings and the control plane's (recorded in the history)",
  })
  conf?: Record<string, string>;

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
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: JAVA_INT_MAX, example: 0, default: 0, description: 'First line (0-based)' })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(0)
  @Max(JAVA_INT_MAX)
  from: number = 0;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, example: 100, default: 100 })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(1000)
  size: number = 100;

  @ApiPropertyOptional({ type: 'integer', example: 200, minimum: 1, maximum: 1000, description: 'The last lines instead of a page: from and size are ignored' })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(1000)
  tail?: number;
}

export class BatchLogDto {
  @ApiProperty({ example: '019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d' })
  id: string;

  @ApiProperty({ example: 0 })
  from: number;

  @ApiProperty({ example: 57, description: 'Lines Livy holds for this batch' })
  total: number;

  @ApiProperty({ example: ['rollup source=users day=2026-01-01 minutes=12 events=345'] })
  lines: string[];
}

export class StreamingStatusDto {
  @ApiProperty({
    example: 'running',
    enum: ['running', 'running-unmanaged', 'starting', 'stopping', 'stopped', 'failed'],
    description:
      'running: the copy the control plane started reports itself; running-unmanaged: a copy reports itself that Livy does not know ' +
      '(an orphan from before a Livy restart, or one submitted to Livy directly; it is adopted, never doubled); starting: submitted, not reporting yet; ' +
      'stopping: asked to stop, still up; failed: the last start did not come up (see error; the supervisor retries with backoff); stopped: nothing runs',
  })
  state: string;

  @ApiProperty({ example: true, description: 'A copy is up or coming up (running, running-unmanaged or starting)' })
  running: boolean;

  @ApiProperty({
    example: 'running',
    enum: ['running', 'stopped'],
    description: 'What the user asked for last (POST /streaming/start or /stop, or STREAMING_AUTOSTART)',
  })
  desired: string;

  @ApiPropertyOptional({ example: '019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d', description: 'The batch of the copy that runs (GET /batches/{id})' })
  batchId?: string;

  @ApiPropertyOptional({ example: 0, description: "Livy's id of that batch, while Livy has it" })
  livyBatchId?: number;

  @ApiPropertyOptional({ example: 'local-1767225600000' })
  appId?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:00.000Z', description: 'Up since (running, starting) or stopped since (stopped, failed)' })
  since?: string;

  @ApiProperty({
    example: ['users_created', 'ingest.orders', 'ingest.orders.dlq'],
    description: "The topics the stream should read: the configured sources' topics, then their dead-letter topics",
  })
  topics: string[];

  @ApiPropertyOptional({ example: ['users_created', 'ingest.orders'], description: 'The topics the running copy reads' })
  reading?: string[];

  @ApiPropertyOptional({ example: '3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b', description: "The running copy's run id (one per process)" })
  runId?: string;

  @ApiPropertyOptional({ example: 'worker-1' })
  host?: string;

  @ApiPropertyOptional({ example: 4242 })
  pid?: number;

  @ApiPropertyOptional({ example: '2026-01-01T00:00:05.000Z', description: 'When the stream last finished a micro-batch' })
  lastBatchAt?: string;

  @ApiPropertyOptional({ example: 12, description: 'The last micro-batch id' })
  epoch?: number;

  @ApiProperty({ example: 1, description: 'Copies the supervisor started again after one ended (failures, topic changes)' })
  restarts: number;

  @ApiPropertyOptional({ example: '2026-01-01T00:10:00.000Z' })
  lastRestartAt?: string;

  @ApiPropertyOptional({ example: 'sources changed (+ingest.payments)' })
  lastRestartReason?: string;

  @ApiProperty({ example: 0, description: 'Consecutive starts that did not come up' })
  failures: number;

  @ApiPropertyOptional({
    example: 'events_stream: cannot reach Cassandra at 10.9.9.9:9042: NoHostAvailable',
    description: 'Why the last start failed (state failed)',
  })
  error?: string;

  @ApiPropertyOptional({ example: '2026-01-01T00:11:04.000Z', description: 'When the supervisor tries again (state failed)' })
  nextAttemptAt?: string;

  @ApiPropertyOptional({
    example: 'unavailable: Livy is unavailable: connect ECONNREFUSED',
    description: 'Set when Livy could not be asked; the state then comes from the heartbeat alone',
  })
  livy?: string;
}

export class MicroBatchesQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 20, default: 20, minimum: 1, maximum: 200 })
  @IsOptional()
  @ToInteger()
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 20;
}

export class MicroBatchDto {
  @ApiProperty({ example: 12, description: "Spark's micro-batch id (it goes on counting across copies: the checkpoint keeps it)" })
  epoch: number;

  @ApiProperty({ example: '2026-01-01T12:00:01.250Z', description: 'When it ended' })
  at: string;

  @ApiProperty({ example: 40, description: 'Kafka records read' })
  rows: number;

  @ApiProperty({ example: 0, description: 'Records that were not well-formed envelopes (stored in dead_letters, not as events)' })
  dropped: number;

  @ApiProperty({ example: 480 })
  durationMs: number;

  @ApiPropertyOptional({ example: 910, description: "Age of the batch's oldest event once it was stored; absent for a batch without a well-formed event" })
  lagMs?: number;

  @ApiPropertyOptional({
    example: '019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d',
    description: 'The batch of the copy that ran it (GET /batches/{id}); absent for a copy submitted to Livy directly, without one',
  })
  batchId?: string;
}

export class MicroBatchesDto {
  @ApiPropertyOptional({
    example: '019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d',
    description: 'The batch of the copy that ran the newest micro-batch',
  })
  batchId?: string;

  @ApiProperty({
    type: [MicroBatchDto],
    description:
      "Newest first, as the streaming job recorded each after it ended (kept 7 days, whatever Livy remembers: an adopted copy's too); a micro-batch runs only when records wait in Kafka",
  })
  microBatches: MicroBatchDto[];
}
