import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../common/auth/public.decorator';
import { IngestionService } from '../ingestion/ingestion.service';
import { OrchestrationService } from '../orchestration/orchestration.service';
import { BatchesService } from '../processing/batches.service';
import { StorageService } from '../storage/storage.service';
import { DependencyIndicator } from './dependency.indicator';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependency: DependencyIndicator,
    private readonly ingestion: IngestionService,
    private readonly storage: StorageService,
    private readonly batches: BatchesService,
    private readonly orchestration: OrchestrationService,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: one entry per dependency (Kafka, Cassandra, Livy, Airflow)' })
  @ApiServiceUnavailableResponse({ description: 'At least one dependency is down; details lists each one' })
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.dependency.check('kafka', () => this.ingestion.pingKafka()),
      () => this.dependency.check('cassandra', () => this.storage.pingCassandra()),
      () => this.dependency.check('livy', () => this.batches.pingLivy()),
      () => this.dependency.check('airflow', () => this.orchestration.ping()),
    ]);
  }
}
