import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { Audited, RequiresScope } from '../access/access.module';
import { ApiErrors } from '../common/http/api-errors.decorator';
import {
  CreateScheduleDto,
  ScheduleDto,
  SchedulePreviewDto,
  SchedulePreviewQueryDto,
  ScheduleRunsDto,
  ScheduleRunsQueryDto,
  SchedulesDto,
  UpdateScheduleDto,
} from './dto/schedules.dto';
import { SchedulesService } from './schedules.service';

const ScheduleIdParam = () =>
  ApiParam({
    name: 'id',
    schema: { type: 'string', format: 'uuid' },
    example: '2f1d0c52-4f0e-4b8e-9d0b-1f2e3d4c5b6a',
    description: 'A schedule id from GET /schedules',
  });

@ApiTags('scheduling')
@ApiExtraModels(UpdateScheduleDto)
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Get()
  @RequiresScope('operate')
  @ApiOperation({ summary: 'All schedules' })
  @ApiOkResponse({ type: SchedulesDto })
  @ApiErrors(502, 503, 504)
  async list(): Promise<SchedulesDto> {
    return { schedules: await this.schedules.list() };
  }

  @Post()
  @RequiresScope('operate')
  @Audited('schedule.create', { target: 'id' })
  @ApiOperation({
    summary: 'Create a cron trigger of a DAG or a Spark job; it applies at once on every replica',
    description:
      'A Spark job target may not fire more often than once every SCHEDULES_MIN_INTERVAL_SECONDS (400 naming cron); DAG targets are not bound. ' +
      'Past SCHEDULES_MAX schedules: 409.',
  })
  @ApiCreatedResponse({ type: ScheduleDto })
  @ApiErrors(400, 409, 413, 415, 502, 503, 504)
  create(@Body() body: CreateScheduleDto): Promise<ScheduleDto> {
    return this.schedules.create(body);
  }

  // Before ':id', which would take "preview" for an id.
  @Get('preview')
  @RequiresScope('operate')
  @ApiOperation({
    summary: 'The next fire times of a cron in a time zone, as a schedule with them would fire',
    description: 'Stores nothing. An invalid cron or time zone answers 400, as POST /schedules does.',
  })
  @ApiOkResponse({ type: SchedulePreviewDto })
  @ApiErrors(400)
  preview(@Query() query: SchedulePreviewQueryDto): SchedulePreviewDto {
    return this.schedules.preview(query.cron, query.timezone, query.count);
  }

  @Get(':id')
  @RequiresScope('operate')
  @ScheduleIdParam()
  @ApiOkResponse({ type: ScheduleDto })
  @ApiErrors(404, 502, 503, 504)
  get(@Param('id') id: string): Promise<ScheduleDto> {
    return this.schedules.get(id);
  }

  @Patch(':id')
  @RequiresScope('operate')
  @Audited('schedule.update', { target: 'id' })
  @ScheduleIdParam()
  @ApiOperation({
    summary: 'Change a schedule (name, cron, timezone, enabled, target)',
    description: 'A change of cron, timezone or target of a Spark job schedule is checked against SCHEDULES_MIN_INTERVAL_SECONDS (400 naming cron).',
  })
  @ApiBody({
    required: true,
    description: 'The fields to change, at least one',
    schema: { allOf: [{ $ref: getSchemaPath(UpdateScheduleDto) }], minProperties: 1 },
  })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiErrors(400, 404, 413, 415, 502, 503, 504)
  update(@Param('id') id: string, @Body() body: UpdateScheduleDto): Promise<ScheduleDto> {
    return this.schedules.update(id, body);
  }

  @Delete(':id')
  @RequiresScope('operate')
  @Audited('schedule.delete', { target: 'id' })
  @ScheduleIdParam()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted, with its run history' })
  @ApiErrors(404, 502, 503, 504)
  remove(@Param('id') id: string): Promise<void> {
    return this.schedules.remove(id);
  }

  @Get(':id/runs')
  @RequiresScope('operate')
  @ScheduleIdParam()
  @ApiOperation({ summary: 'Fires of a schedule, newest first: outcome, run id or batch id, the replica that fired' })
  @ApiOkResponse({ type: ScheduleRunsDto })
  @ApiErrors(400, 404, 502, 503, 504)
  async runs(@Param('id') id: string, @Query() query: ScheduleRunsQueryDto): Promise<ScheduleRunsDto> {
    return { runs: await this.schedules.runs(id, query.limit) };
  }
}
