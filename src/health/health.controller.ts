import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../common/auth/public.decorator';
import { AIRFLOW_API, AirflowApi } from '../airflow/airflow.api';
import { CassandraClient } from '../cassandra/cassandra.client';
import { KafkaProducer } from '../kafka/kafka.producer';
import { LivyClient } from '../livy/livy.client';
import { DependencyIndicator } from './dependency.indicator';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependency: DependencyIndicator,
    private readonly kafka: KafkaProducer,
    private readonly cassandra: CassandraClient,
    private readonly livy: LivyClient,
    @Inject(AIRFLOW_API) private readonly airflow: AirflowApi,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: one entry per dependency (Kafka, Cassandra, Livy, Airflow)' })
  @ApiServiceUnavailableResponse({ description: 'At least one dependency is down: the same report, each dependency in details, the failing ones in error' })
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.dependency.check('kafka', () => this.kafka.ping()),
      () => this.dependency.check('cassandra', () => this.cassandra.ping()),
      () => this.dependency.check('livy', () => this.livy.ping()),
      () => this.dependency.check('airflow', () => this.airflow.ping()),
    ]);
  }
}
