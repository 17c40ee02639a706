import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Audited, RequiresScope } from '../access/access.module';
import { DAG_ID, RUN_ID } from '../airflow/airflow.api';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { MatchesPipe } from '../common/http/params';
import {
  DagDto,
  DagRunDto,
  DagRunsDto,
  DagsDto,
  PatchDagDto,
  RunsQueryDto,
  TaskInstancesDto,
  TriggerDagDto,
  TriggerQueryDto,
  TriggerResponseDto,
} from './dto/orchestration.dto';
import { OrchestrationService } from './orchestration.service';

const DEFAULT_WAIT_SECONDS = 120;

/** Airflow's rules, checked here so that a malformed id is a 400 naming it rather than something Airflow misroutes. */
const dagIdPipe = new MatchesPipe('dagId', DAG_ID, "a DAG id: 1 to 250 letters, digits, '_', '.' or '-'");
const runIdPipe = new MatchesPipe('runId', RUN_ID, "a run id: 1 to 250 letters, digits, '_', '.', '~', ':', '+' or '-'");
const DagIdParam = () =>
  ApiParam({ name: 'dagId', example: 'user_profiles_ingest', schema: { type: 'string', pattern: DAG_ID.source }, description: 'A DAG id from GET /dags' });
const RunIdParam = () =>
  ApiParam({
    name: 'runId',
    example: 'manual__2026-01-01T00:00:00+00:00',
    schema: { type: 'string', pattern: RUN_ID.source },
    description: 'A run id from GET /dags/{dagId}/runs',
  });

@ApiTags('orchestration')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('dags')
export class OrchestrationController {
  constructor(private readonly orchestration: OrchestrationService) {}

  @Get()
  @RequiresScope('operate')
  @ApiOperation({ summary: 'DAGs: paused, schedule, last run' })
  @ApiOkResponse({ type: DagsDto })
  @ApiErrors(502, 503, 504)
  async list(): Promise<DagsDto> {
    return { dags: await this.orchestration.listDags() };
  }

  @Get(':dagId')
  @RequiresScope('operate')
  @ApiOperation({ summary: 'One DAG' })
  @DagIdParam()
  @ApiOkResponse({ type: DagDto })
  @ApiErrors(400, 404, 502, 503, 504)
  get(@Param('dagId', dagIdPipe) dagId: string): Promise<DagDto> {
    return this.orchestration.getDag(dagId);
  }

  @Patch(':dagId')
  @RequiresScope('operate')
  @Audited('dag.update', { target: 'dagId' })
  @ApiOperation({ summary: 'Pause or unpause a DAG' })
  @DagIdParam()
  @ApiOkResponse({ type: DagDto })
  @ApiErrors(400, 404, 413, 415, 502, 503, 504)
  patch(@Param('dagId', dagIdPipe) dagId: string, @Body() body: PatchDagDto): Promise<DagDto> {
    return this.orchestration.setPaused(dagId, body.isPaused);
  }

  @Post(':dagId/runs')
  @RequiresScope('operate')
  @Audited('dag.trigger', { target: 'dagId' })
  @ApiOperation({
    summary: 'Trigger a run with conf',
    description: 'Answers 201 with the new run. With ?wait=true it follows the run: 200 once it ended, 202 if it still runs when the bound elapses.',
  })
  @DagIdParam()
  @ApiBody({ type: TriggerDagDto, required: false, description: 'Optional: without a body the run gets conf {}, no logical date and an id Airflow chooses' })
  @ApiCreatedResponse({ type: TriggerResponseDto, description: 'Triggered (without wait)' })
  @ApiOkResponse({ type: TriggerResponseDto, description: 'With wait=true: the run ended (success or failed)' })
  @ApiAcceptedResponse({ type: TriggerResponseDto, description: 'With wait=true: still running when the bound elapsed' })
  @ApiErrors(400, 404, 409, 413, 415, 502, 503, 504)
  async trigger(
    @Param('dagId', dagIdPipe) dagId: string,
    @Body() body: TriggerDagDto,
    @Query() query: TriggerQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TriggerResponseDto> {
    const wait = query.wait ? (query.timeoutSeconds ?? DEFAULT_WAIT_SECONDS) : undefined;
    const { run, finished } = await this.orchestration.trigger(dagId, body, wait);
    res.status(wait === undefined ? 201 : finished ? 200 : 202);
    return { ...run, finished };
  }

  @Get(':dagId/runs')
  @RequiresScope('operate')
  @ApiOperation({ summary: 'Runs of a DAG, newest first' })
  @DagIdParam()
  @ApiOkResponse({ type: DagRunsDto })
  @ApiErrors(400, 404, 502, 503, 504)
  async runs(@Param('dagId', dagIdPipe) dagId: string, @Query() query: RunsQueryDto): Promise<DagRunsDto> {
    return { runs: await this.orchestration.listRuns(dagId, query.limit) };
  }

  @Get(':dagId/runs/:runId')
  @RequiresScope('operate')
  @ApiOperation({ summary: 'Status of a run' })
  @DagIdParam()
  @RunIdParam()
  @ApiOkResponse({ type: DagRunDto })
  @ApiErrors(400, 404, 502, 503, 504)
  run(@Param('dagId', dagIdPipe) dagId: string, @Param('runId', runIdPipe) runId: string): Promise<DagRunDto> {
    return this.orchestration.getRun(dagId, runId);
  }

  @Get(':dagId/runs/:runId/tasks')
  @RequiresScope('operate')
  @ApiOperation({ summary: 'Task instances of a run: state, try number, times' })
  @DagIdParam()
  @RunIdParam()
  @ApiOkResponse({ type: TaskInstancesDto })
  @ApiErrors(400, 404, 502, 503, 504)
  async tasks(@Param('dagId', dagIdPipe) dagId: string, @Param('runId', runIdPipe) runId: string): Promise<TaskInstancesDto> {
    return { tasks: await this.orchestration.taskInstances(dagId, runId) };
  }
}
