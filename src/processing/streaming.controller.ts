import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Audited, RequiresScope } from '../access/access.module';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { MicroBatchesDto, MicroBatchesQueryDto, StartStreamingDto, StreamingStatusDto } from './dto/processing.dto';
import { StreamingService } from './streaming.service';

@ApiTags('processing')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('streaming')
export class StreamingController {
  constructor(private readonly streaming: StreamingService) {}

  @Get()
  @RequiresScope('operate')
  @ApiOperation({ summary: 'The Kafka → Cassandra streaming job: state, Livy batch id, since when' })
  @ApiOkResponse({ type: StreamingStatusDto })
  @ApiErrors(502, 503, 504)
  status(): Promise<StreamingStatusDto> {
    return this.streaming.status();
  }

  @Get('micro-batches')
  @RequiresScope('operate')
  @ApiOperation({
    summary: 'The last micro-batches of the stream: when each ended, records read, dropped, duration, lag',
    description: "Read from the job's output as Livy keeps it (its last 1000 lines), newest first; empty when Livy does not have the copy (running-unmanaged).",
  })
  @ApiOkResponse({ type: MicroBatchesDto })
  @ApiErrors(400, 502, 503, 504)
  microBatches(@Query() query: MicroBatchesQueryDto): Promise<MicroBatchesDto> {
    return this.streaming.microBatches(query.limit);
  }

  @Post('start')
  @RequiresScope('operate')
  @Audited('streaming.start')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start the streaming job; idempotent: a live copy is returned, never a second one' })
  @ApiBody({ type: StartStreamingDto, required: false, description: "Optional: without a body the job starts with its catalog's default args" })
  @ApiOkResponse({ type: StreamingStatusDto })
  @ApiErrors(400, 409, 413, 415, 502, 503, 504)
  start(@Body() body: StartStreamingDto): Promise<StreamingStatusDto> {
    return this.streaming.start(body.args);
  }

  @Post('stop')
  @RequiresScope('operate')
  @Audited('streaming.stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop the streaming job; it resumes from its checkpoint when started again' })
  @ApiOkResponse({ type: StreamingStatusDto })
  @ApiErrors(400, 413, 415, 502, 503, 504)
  stop(): Promise<StreamingStatusDto> {
    return this.streaming.stop();
  }
}
