import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class SourceFlowDto {
  @ApiProperty({ example: 'orders' })
  source: string;

  @ApiProperty({ example: 'ingest.orders' })
  topic: string;

  @ApiProperty({ example: 1520, description: "Events in the topic's partitions (sum of end offsets)" })
  endOffset: number;

  @ApiProperty({ example: 1500, description: 'Of those, read and stored by the stream (sum of the offsets it processed)' })
  processedOffset: number;

  @ApiProperty({ example: 20, description: 'Events in Kafka not yet stored' })
  lagEvents: number;

  @ApiPropertyOptional({
    example: 1.2,
    description:
      "How far behind the stored data is, in seconds: 0 without lag; while micro-batches run, the age of the last batch's oldest event when it was stored; " +
      'otherwise the age of the newest stored event (the unprocessed events are younger than that)',
  })
  lagSeconds?: number;

  @ApiPropertyOptional({ example: '2026-01-01T12:00:00.000Z', description: 'receivedAt of the newest stored event (today or yesterday, UTC)' })
  newestReceivedAt?: string;

  @ApiPropertyOptional({ example: 0.8, description: 'Seconds since the newest stored event was received' })
  freshnessSeconds?: number;

  @ApiPropertyOptional({ example: 12.5, description: 'Events/s published to the topic, over about the last minute' })
  inPerSecond?: number;

  @ApiPropertyOptional({ example: 12.4, description: 'Events/s processed by the stream, over about the last minute' })
  outPerSecond?: number;
}

export class StreamFlowDto {
  @ApiProperty({ example: 'running', description: 'As in GET /streaming' })
  state: string;

  @ApiProperty({ example: 'running' })
  desired: string;

  @ApiPropertyOptional({ example: '2026-01-01T12:00:00.400Z' })
  lastBatchAt?: string;

  @ApiPropertyOptional({ example: 420, description: 'Duration of the last micro-batch, ms' })
  lastBatchDurationMs?: number;

  @ApiProperty({ example: 0 })
  restarts: number;

  @ApiPropertyOptional({ example: 'sources changed (+ingest.payments)' })
  lastRestartReason?: string;

  @ApiPropertyOptional({ description: 'Why the stream failed, when it did' })
  error?: string;
}

export class DependencyStatusDto {
  @ApiProperty({ example: 'kafka' })
  name: string;

  @ApiProperty({ example: true })
  up: boolean;

  @ApiPropertyOptional({ example: 'no answer within 3000 ms' })
  message?: string;
}

export class PipelineDto {
  @ApiProperty({
    example: 'flowing',
    enum: ['flowing', 'lagging', 'stalled', 'stopped', 'degraded'],
    description:
      'flowing: every event is stored within PIPELINE_LAG_SECONDS; lagging: behind by more; stalled: events wait in Kafka and no micro-batch ran for ' +
      'PIPELINE_STALL_SECONDS (or the stream is down though desired running); stopped: the stream is stopped on purpose; degraded: a dependency is down',
  })
  verdict: string;

  @ApiProperty({ example: [], description: 'Why the verdict is not flowing, in words' })
  reasons: string[];

  @ApiProperty({ example: '2026-01-01T12:00:01.000Z' })
  checkedAt: string;

  @ApiProperty({ type: StreamFlowDto })
  stream: StreamFlowDto;

  @ApiProperty({ type: [DependencyStatusDto] })
  dependencies: DependencyStatusDto[];

  @ApiProperty({ type: [SourceFlowDto] })
  sources: SourceFlowDto[];
}
