import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { StartStreamingDto, StreamingStatusDto } from './dto/processing.dto';
import { StreamingService } from './streaming.service';

@ApiTags('processing')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('streaming')
export class StreamingController {
  constructor(private readonly streaming: StreamingService) {}

  @Get()
  @ApiOperation({ summary: 'The Kafka → Cassandra streaming job: state, Livy batch id, since when' })
  @ApiOkResponse({ type: StreamingStatusDto })
  @ApiErrors(502, 503, 504)
  status(): Promise<StreamingStatusDto> {
    return this.streaming.status();
  }

  @Post('start')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start the streaming job; idempotent: a live copy is returned, never a second one' })
  @ApiBody({ type: StartStreamingDto, required: false, description: "Optional: without a body the job starts with its catalog's default args" })
  @ApiOkResponse({ type: StreamingStatusDto })
  @ApiErrors(400, 409, 413, 415, 502, 503, 504)
  start(@Body() body: StartStreamingDto): Promise<StreamingStatusDto> {
    return this.streaming.start(body.args);
  }

  @Post('stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop the streaming job; it resumes from its checkpoint when started again' })
  @ApiOkResponse({ type: StreamingStatusDto })
  @ApiErrors(400, 413, 415, 502, 503, 504)
  stop(): Promise<StreamingStatusDto> {
    return this.streaming.stop();
  }
}
