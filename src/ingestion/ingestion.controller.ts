import type { IncomingMessage } from 'node:http';
import { Controller, Get, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { SignatureReplacesApiKey } from '../common/auth/signed-source.decorator';
import { ApiErrors } from '../common/http/api-errors.decorator';
import { IngestResponseDto } from './dto/ingest-response.dto';
import { SourcesResponseDto } from './dto/source.dto';
import { IngestionService } from './ingestion.service';

@ApiTags('ingestion')
@ApiSecurity('api-key')
@ApiSecurity('bearer')
@Controller()
export class IngestionController {
  constructor(
    private readonly ingestion: IngestionService,
    private readonly sources: SourcesRegistry,
  ) {}

  @Post('ingest/:source')
  @SignatureReplacesApiKey('source')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Publish events of a source to Kafka',
    description:
      'Accepts one JSON object, a JSON array of objects, or NDJSON (application/x-ndjson, one object per line), ' +
      'in UTF-8, optionally compressed (Content-Encoding gzip or deflate). ' +
      'Each event is wrapped in the envelope {eventId, source, receivedAt, key?, payload} and published to the ' +
      "source's topic. The 202 is sent only after Kafka acknowledged every event of the request (acks=all); " +
      'on any error no event of the request is reported accepted. ' +
      'An event that fails the source\'s schema is refused with 400 (nothing of the request is published), unless the ' +
      'source has onInvalid: quarantine (GET /sources): then it is published to the source\'s dead-letter topic instead, ' +
      'the 202 counts it in quarantined and lists it in quarantinedEvents, and it waits in GET /dead-letters/{source} ' +
      'for a replay. Bodies that cannot be read (bad JSON, too large, not UTF-8, too deep) are refused in every case. ' +
      'A signed source (one GET /sources lists with a signatureScheme) takes no API key: its sender signs each delivery ' +
      '(standard-webhooks: webhook-id, webhook-timestamp, webhook-signature; github: X-Hub-Signature-256; stripe: ' +
      'Stripe-Signature; hmac-sha256: the configured header), the signature is checked on the body as sent (for a ' +
      'compressed body, the compressed bytes), and a missing, invalid, stale or future-dated one is answered 401, ' +
      'even when an API key is sent too. ' +
      "The sender's delivery id (webhook-id, X-GitHub-Delivery, a Stripe event's id) seeds the event ids when no " +
      'Idempotency-Key is sent, so a redelivery yields the same ids.',
  })
  @ApiParam({ name: 'source', example: 'users', description: 'A source from GET /sources' })
  @ApiConsumes('application/json', 'application/x-ndjson')
  @ApiHeader({ name: 'content-type', required: true, description: 'application/json or application/x-ndjson' })
  @ApiHeader({
    name: 'content-encoding',
    required: false,
    description: "gzip or deflate for a compressed body; the source's body limit applies to the compressed and to the decompressed size",
  })
  @ApiHeader({ name: 'idempotency-key', required: false, description: 'Retrying with the same key yields the same event ids' })
  @ApiBody({
    description: 'One event or an array of events (application/json), or one event per line (application/x-ndjson)',
    schema: {
      oneOf: [
        { type: 'object', example: { name: 'Ada', email: 'ada@example.com' } },
        { type: 'array', items: { type: 'object' }, example: [{ name: 'Ada' }, { name: 'Grace' }] },
      ],
    },
  })
  @ApiAcceptedResponse({ type: IngestResponseDto, description: 'Every event was acknowledged by Kafka (quarantined ones in the dead-letter topic)' })
  @ApiErrors(400, 404, 413, 415, 503)
  async ingest(
    @Param('source') source: string,
    @Req() req: IncomingMessage,
    @Headers('content-type') contentType?: string,
    @Headers('content-encoding') contentEncoding?: string,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<IngestResponseDto> {
    return this.ingestion.ingest({
      source,
      body: req,
      contentLength: req.headers['content-length'],
      contentType,
      contentEncoding,
      idempotencyKey,
      headers: req.headers,
    });
  }

  @Get('sources')
  @ApiOperation({ summary: 'The configured sources: name, topic, schema, and what happens to an event that fails it' })
  @ApiOkResponse({ type: SourcesResponseDto })
  @ApiErrors()
  listSources(): SourcesResponseDto {
    return {
      sources: this.sources.list().map(({ name, topic, description, keyField, maxBodyBytes, schema, schemaHash, signature, onInvalid, deadLetterTopic }) => ({
        name,
        topic,
        description,
        keyField,
        maxBodyBytes,
        schema,
        schemaHash,
        signatureScheme: signature?.scheme,
        onInvalid,
        deadLetterTopic,
      })),
    };
  }
}
