import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { CreateScheduleDto, ScheduleDto, SchedulePreviewDto, SchedulePreviewQueryDto, ScheduleRunsDto, ScheduleRunsQueryDto, SchedulesDto, UpdateScheduleDto } from './dto/schedules.dto';
import { SchedulesService } from './schedules.service';

@ApiTags('scheduling')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Get()
  @ApiOperation({ summary: 'All schedules' })
  @ApiOkResponse({ type: SchedulesDto })
  @ApiErrors(503, 504)
  async list(): Promise<SchedulesDto> {
    return { schedules: await this.schedules.list() };
  }

  @Post()
  @ApiOperation({ summary: 'Create a cron trigger of a DAG or a Spark job; it applies at once on every replica' })
  @ApiCreatedResponse({ type: ScheduleDto })
  @ApiErrors(400, 503, 504)
  create(@Body() body: CreateScheduleDto): Promise<ScheduleDto> {
    return this.schedules.create(body);
  }

  // Before ':id', which would take "preview" for an id.
  @Get('preview')
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
  @ApiOkResponse({ type: ScheduleDto })
  @ApiErrors(404, 503, 504)
  get(@Param('id') id: string): Promise<ScheduleDto> {
    return this.schedules.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a schedule (name, cron, timezone, enabled, target)' })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiErrors(400, 404, 503, 504)
  update(@Param('id') id: string, @Body() body: UpdateScheduleDto): Promise<ScheduleDto> {
    return this.schedules.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted, with its run history' })
  @ApiErrors(404, 503, 504)
  remove(@Param('id') id: string): Promise<void> {
    return this.schedules.remove(id);
  }

  @Get(':id/runs')
  @ApiOperation({ summary: 'Fires of a schedule, newest first: outcome, run id or batch id, the replica that fired' })
  @ApiOkResponse({ type: ScheduleRunsDto })
  @ApiErrors(400, 404, 503, 504)
  async runs(@Param('id') id: string, @Query() query: ScheduleRunsQueryDto): Promise<ScheduleRunsDto> {
    return { runs: await this.schedules.runs(id, query.limit) };
  }
}
