import { Controller, Get, Inject, Req, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { IncomingMessage } from 'node:http';
import { ApiKeys } from '../common/auth/api-keys';
import { Public } from '../common/auth/public.decorator';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { publicReport, ReadinessService } from './readiness.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly keys: ApiKeys;

  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.keys = new ApiKeys(config.http.apiKeys);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: one entry per dependency (Kafka, Cassandra, Livy, Airflow)',
    description:
      'Public. Checked at most once a second whatever the number of callers (callers in between share the last result). ' +
      'Without a valid API key each dependency shows only its status (up or down); with one, what its check said ' +
      '(versions, latency, the reason it is down).',
  })
  @ApiServiceUnavailableResponse({ description: 'At least one dependency is down: the same report, each dependency in details, the failing ones in error' })
  @HealthCheck()
  async ready(@Req() req: IncomingMessage): Promise<HealthCheckResult> {
    const { ok, report } = await this.readiness.check();
    const shown = this.keys.accepts(req.headers) ? report : publicReport(report);
    // Raised as terminus raises it, so the exceptions filter answers the report itself with 503.
    if (!ok) throw new ServiceUnavailableException(shown);
    return shown;
  }
}
