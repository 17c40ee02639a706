import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Audited, RequiresScope } from '../../access/access.module';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { DeadLettersService } from './dead-letters.service';
import { DeadLettersPageDto, DeadLettersQueryDto, MAX_REPLAY_IDS, REPLAY_REQUEST_SCHEMA, ReplayRequestDto, ReplayResponseDto } from './dto/dead-letters.dto';

@ApiTags('dead letters')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller('dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get(':source')
  @RequiresScope({ read: 'source' })
  @ApiOperation({
    summary: 'Dead letters of a source, newest first',
    description:
      "Events POST /ingest quarantined (reason schema: they failed the source's schema, onInvalid: quarantine) and Kafka " +
      'records the streaming job could not read (reason invalid_json, ...), as the stream stored them. ' +
      'Optional from/to bound failedAt. Page with nextPageToken until it is absent.',
  })
  @ApiParam({ name: 'source', example: 'orders' })
  @ApiOkResponse({ type: DeadLettersPageDto })
  @ApiErrors(400, 404, 502, 503, 504)
  list(@Param('source') source: string, @Query() query: DeadLettersQueryDto): Promise<DeadLettersPageDto> {
    return this.deadLetters.list(source, query);
  }

  @Post(':source/replay')
  @RequiresScope('operate')
  @Audited('deadletters.replay', { target: 'source' })
  @HttpCode(200)
  @ApiOperation({
    summary: "Publish dead letters that now pass the source's schema to its topic",
    description:
      'Select in exactly one way: {"ids": [...]} (at most ' +
      MAX_REPLAY_IDS +
      '; an unknown id answers 404 and nothing is replayed), ' +
      '{"from": ..., "to": ...} (failedAt in [from, to), either bound optional), or {"all": true}. Unknown properties answer 400. ' +
      "Each selected dead letter not replayed yet is checked against the source's current schema; those that pass are " +
      "published to the source's topic under their own event id and receivedAt (answered once Kafka acknowledged them), " +
      'then marked replayed, once (a lightweight transaction): a second replay leaves them alone, and the stream stores each ' +
      'event once even if it is published twice. Those that still fail, and records that hold no event, are listed in ' +
      'stillFailing. A selection of more than INGEST_MAX_EVENTS dead letters not replayed yet answers 400. ' +
      'A 503 halfway is safe to retry.',
  })
  @ApiParam({ name: 'source', example: 'orders' })
  @ApiBody({
    schema: REPLAY_REQUEST_SCHEMA,
    examples: {
      ids: { summary: 'These dead letters', value: { ids: ['0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e12'] } },
      range: { summary: 'Those that failed in a time range', value: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' } },
      all: { summary: 'Every one not replayed yet', value: { all: true } },
    },
  })
  @ApiOkResponse({ type: ReplayResponseDto })
  @ApiErrors(400, 404, 413, 415, 502, 503, 504)
  replay(@Param('source') source: string, @Body() body: ReplayRequestDto): Promise<ReplayResponseDto> {
    return this.deadLetters.replay(source, body);
  }
}
