import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Audited, RequiresScope } from '../access/access.module';
import { JobsCatalog } from '../catalogs/jobs.catalog';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { BATCH_ID, BatchesService } from './batches.service';
import { BatchDto, BatchesDto, BatchLogDto, JobsDto, LogQueryDto, SubmitBatchDto } from './dto/processing.dto';

const BatchIdParam = () =>
  ApiParam({
    name: 'id',
    schema: { type: 'string', pattern: BATCH_ID.source },
    example: '019ad5c2-8f3e-7b21-9c4d-5e6f7a8b9c0d',
    description:
      "The control plane's id (a UUID, from POST /jobs/{name}/batches or GET /batches), or livy:<n> for a batch only Livy knows; any other id is 404",
  });

@ApiTags('processing')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller()
export class BatchesController {
  constructor(
    private readonly batches: BatchesService,
    private readonly catalog: JobsCatalog,
  ) {}

  @Get('jobs')
  @RequiresScope('operate')
  @ApiOperation({ summary: 'The Spark job catalog (spark-jobs/jobs.yaml)' })
  @ApiOkResponse({ type: JobsDto })
  @ApiErrors()
  jobs(): JobsDto {
    return { jobs: this.catalog.list().map(({ name, description, file, streaming, args, conf }) => ({ name, description, file, streaming, args, conf })) };
  }

  @Post('jobs/:name/batches')
  @RequiresScope('operate')
  @Audited('batch.submit', { target: 'id' })
  @ApiOperation({
    summary: 'Submit a job from the catalog as a Livy batch',
    description:
      "args are checked against the job's schema, conf against the job's allowed Spark settings (GET /jobs): anything else is 400 naming it. " +
      'Past SPARK_MAX_CONCURRENT_BATCHES_PER_JOB batches of the job, or SPARK_MAX_CONCURRENT_BATCHES in all, starting or running in Livy: 429 with Retry-After.',
  })
  @ApiParam({ name: 'name', example: 'daily_rollup', description: 'A job from GET /jobs' })
  @ApiBody({ type: SubmitBatchDto, required: false, description: 'Optional: without a body the job runs with args {} (checked against its schema)' })
  @ApiCreatedResponse({ type: BatchDto })
  @ApiErrors(400, 404, 409, 413, 415, 429, 502, 503, 504)
  submit(@Param('name') name: string, @Body() body: SubmitBatchDto): Promise<BatchDto> {
    return this.batches.submit(name, { args: body.args, conf: body.conf });
  }

  @Get('batches')
  @RequiresScope('operate')
  @ApiOperation({ summary: "Batches: Livy's, plus those it has forgotten (killed) from the control plane's history" })
  @ApiOkResponse({ type: BatchesDto })
  @ApiErrors(502, 503, 504)
  async list(): Promise<BatchesDto> {
    return { batches: await this.batches.list() };
  }

  @Get('batches/:id')
  @RequiresScope('operate')
  @ApiOperation({ summary: 'State, app id and times of a batch' })
  @BatchIdParam()
  @ApiOkResponse({ type: BatchDto })
  @ApiErrors(404, 502, 503, 504)
  get(@Param('id') id: string): Promise<BatchDto> {
    return this.batches.get(id);
  }

  @Get('batches/:id/log')
  @RequiresScope('operate')
  @ApiOperation({ summary: "A page of the batch's driver output, as Livy keeps it, or with ?tail=N its last N lines" })
  @BatchIdParam()
  @ApiOkResponse({ type: BatchLogDto })
  @ApiErrors(400, 404, 502, 503, 504)
  log(@Param('id') id: string, @Query() query: LogQueryDto): Promise<BatchLogDto> {
    return this.batches.log(id, query.from, query.size, query.tail);
  }

  @Delete('batches/:id')
  @RequiresScope('operate')
  @Audited('batch.kill', { target: 'id' })
  @HttpCode(200)
  @ApiOperation({ summary: 'Kill a batch', description: "The streaming job's batch answers 409: stop it with POST /streaming/stop." })
  @BatchIdParam()
  @ApiOkResponse({ type: BatchDto })
  @ApiErrors(404, 409, 502, 503, 504)
  kill(@Param('id') id: string): Promise<BatchDto> {
    return this.batches.kill(id);
  }
}
