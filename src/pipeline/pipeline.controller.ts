import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '../access/access.module';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { PipelineDto } from './dto/pipeline.dto';
import { PipelineService } from './pipeline.service';

@ApiTags('pipeline')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('pipeline')
export class PipelineController {
  constructor(private readonly pipeline: PipelineService) {}

  @Get()
  @RequiresScope('read:*')
  @ApiOperation({
    summary: 'Is data flowing, and how fresh is it? Per source lag and freshness, the stream, the dependencies, and a verdict',
    description:
      "Answers 200 whatever the verdict (a down dependency is reported, not raised). Readiness (/health/ready) stays about the API's own " +
      'dependencies, so a load balancer keeps routing ingest while the stream restarts; watch this route and /metrics for the pipeline.',
  })
  @ApiOkResponse({ type: PipelineDto })
  @ApiErrors()
  status(): Promise<PipelineDto> {
    return this.pipeline.status();
  }
}
