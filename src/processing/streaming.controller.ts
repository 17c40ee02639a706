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
    summary: 'The last micro-batches of the stream: when each ended, records read, dropped, duration, lag, the copy that ran it',
    description:
      'Newest first, as the streaming job records each in Cassandra after it ends (table stream_micro_batches, kept 7 days): ' +
      "every copy's, an adopted one's (running-unmanaged) included, whether or not Livy still has it. 503 naming Cassandra when it cannot be read.",
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
