import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Headers, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { NotAudited, RequiresScope } from '../access/access.module';
import { SignatureReplacesApiKey } from '../common/auth/signed-source.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { IngestResponseDto } from './dto/ingest-response.dto';
import { ingestRequest, IngestionService } from './ingestion.service';
import { SignaturePrecheck } from './signature-precheck';

@ApiTags('ingestion')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller()
export class IngestionController {
  constructor(private readonly ingestion: IngestionService) {}

  @Post('ingest/:source')
  @RequiresScope({ ingest: 'source' })
  @NotAudited('events are data, each kept with its id in Kafka and Cassandra; the audit trail records changes to the pipeline')
  @SignatureReplacesApiKey('source')
  // A signed source's request passed the API-key guard without a key: its signature headers at least, before the body is read.
  @UseGuards(SignaturePrecheck)
  @HttpCode(202)
  @ApiOperation({
    summary: 'Publish events of a source to Kafka',
    description:
      'Accepts one JSON object, a JSON array of objects, or NDJSON (application/x-ndjson, one object per line), ' +
      'in UTF-8, optionally compressed (Content-Encoding gzip or deflate). ' +
      'Each event is wrapped in the envelope {eventId, source, receivedAt, key?, payload} and published to the ' +
      "source's topic. The 202 is sent only after Kafka acknowledged every event of the request (acks=all); " +
      'on any error no event of the request is reported accepted. ' +
      "An event that fails the source's schema is refused with 400 (nothing of the request is published), unless the " +
      "source has onInvalid: quarantine (GET /sources): then it is published to the source's dead-letter topic instead, " +
      'the 202 counts it in quarantined and lists it in quarantinedEvents, and it waits in GET /dead-letters/{source} ' +
      'for a replay. Bodies that cannot be read (bad JSON, too large, not UTF-8, too deep) are refused in every case. ' +
      'A signed source (one GET /sources lists with a signatureScheme) takes no API key: its sender signs each delivery ' +
      '(standard-webhooks: webhook-id, webhook-timestamp, webhook-signature; github: X-Hub-Signature-256; stripe: ' +
      'Stripe-Signature; hmac-sha256: the configured header), the signature is checked on the body as sent (for a ' +
      'compressed body, the compressed bytes), and a missing, invalid, stale or future-dated one is answered 401, ' +
      'even when an API key is sent too. ' +
      'Idempotency: a request to an unsigned source with an Idempotency-Key is published once. A signed source is ' +
      "deduplicated by what its signature covers only (webhook-id, a Stripe event's id, else the signed timestamp and the " +
      "body's hash); an Idempotency-Key header sent to it is ignored. Its answer is kept per source and key " +
      '(IDEMPOTENCY_TTL_SECONDS, default 24 h): a retry with the same body gets the first answer again (the same event ids) ' +
      'with the header Idempotent-Replayed: true and publishes nothing; the same key with another body is 422; the same ' +
      'key while the first request is still being published is 409 (retry after Retry-After). A request that failed ' +
      '(4xx, 503) leaves no trace: its retry is a first request. ' +
      'Each API process holds at most INGEST_MAX_BYTES_IN_FLIGHT bytes of bodies from before reading them until their answer: ' +
      'a request past that bound waits, its body unread, up to INGEST_ADMISSION_WAIT_MS for room, then is answered 503 with Retry-After.',
  })
  @ApiParam({ name: 'source', example: 'users', description: 'A source from GET /sources' })
  @ApiConsumes('application/json', 'application/x-ndjson')
  @ApiHeader({
    name: 'content-encoding',
    required: false,
    schema: { type: 'string', enum: ['identity', 'gzip', 'deflate'], default: 'identity' },
    description: "gzip or deflate for a compressed body; the source's body limit applies to the compressed and to the decompressed size",
  })
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    schema: { type: 'string', pattern: '^[!-~]{1,255}$' },
    description:
      'A key of 1 to 255 printable ASCII characters, no spaces: a retry with the same key and body is answered with the first answer and publishes nothing',
  })
  @ApiBody({
    description: 'One event or an array of events (application/json), or one event per line (application/x-ndjson)',
    schema: {
      oneOf: [
        { type: 'object', example: { name: 'Ada', email: 'ada@example.com' } },
        { type: 'array', items: { type: 'object' }, minItems: 1, example: [{ name: 'Ada' }, { name: 'Grace' }] },
      ],
    },
  })
  @ApiAcceptedResponse({
    type: IngestResponseDto,
    description:
      'Every event was acknowledged by Kafka (quarantined ones in the dead-letter topic); for a retry of an answered idempotency key, the first answer',
    headers: {
      'Idempotent-Replayed': {
        description: '"true" when this is the stored answer of an earlier request with the same key',
        schema: { type: 'string', enum: ['true'] },
      },
    },
  })
  @ApiErrors(400, 404, 409, 410, 413, 415, 422, 429, 503, {
    503:
      'Kafka did not acknowledge in time, or the idempotency keys could not be read (upstream names Kafka or Cassandra); or, with no upstream, ' +
      'this API process held its bound of body bytes in flight (INGEST_MAX_BYTES_IN_FLIGHT) and no room came within INGEST_ADMISSION_WAIT_MS: ' +
      'the body was not read (the connection is closed when it was still arriving). No event of the request is reported accepted; ' +
      'retry after Retry-After seconds',
  })
  async ingest(
    @Param('source') source: string,
    @Req() req: IncomingMessage,
    // Declared for the OpenAPI document's parameters; ingestRequest() reads them, as the hot route does.
    @Headers('content-encoding') _contentEncoding: string | undefined,
    @Headers('idempotency-key') _idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: ServerResponse,
  ): Promise<IngestResponseDto> {
    const { response, replayed } = await this.ingestion.ingest(ingestRequest(source, req));
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return response;
  }
}
