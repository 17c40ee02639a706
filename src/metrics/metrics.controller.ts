import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { prometheusContentType } from 'prom-client';
import { RequiresScope } from '../access/access.module';
import { Public } from '../common/auth/public.decorator';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { MetricsService } from './metrics.service';

@ApiTags('metrics')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Public((config) => config.metrics.public)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @RequiresScope('read:*')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics of the whole API',
    description:
      "Prometheus' text exposition format. With API_WORKERS > 1 the answer covers every worker, whichever one " +
      'receives the scrape. Needs an API key unless METRICS_PUBLIC=true.',
  })
  @ApiOkResponse({
    description: 'Every metric, in the text exposition format',
    content: { [prometheusContentType]: { schema: { type: 'string', example: 'http_requests_total{route="/api/v1/sources",method="GET",status="200"} 42' } } },
  })
  @ApiErrors()
  @ApiServiceUnavailableResponse({
    description: "The workers' metrics could not be gathered in time (the message says why); retry after Retry-After seconds",
    type: ErrorResponseDto,
  })
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    const exposition = await this.metrics.scrape();
    // Set once the scrape succeeded: an error is answered in the one JSON error shape.
    res.setHeader('Content-Type', prometheusContentType);
    return exposition;
  }
}
