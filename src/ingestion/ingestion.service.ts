import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RateLimiter } from '../access/rate-limiter';
import { Source, SourcesRegistry } from '../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { TraceContext } from '../common/http/trace-context';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnprocessableEntityError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  UpstreamUnavailableError,
} from '../common/errors/errors';
import { KafkaProducer, OutgoingMessage } from '../kafka/kafka.producer';
import { MetricsService, RejectionReason, UNKNOWN_SOURCE } from '../metrics/metrics.service';
import { IngestResponseDto } from './dto/ingest-response.dto';
import { eventIds } from '../common/envelope/envelope';
import { checkEventLimits, EventLimitError } from './event-limits';
import { bodyFormat, parseEvents } from './events.parser';
import { requestMessages, schemaError, schemaFailures } from './quarantine';
import { bodyEncoding, decodeBody, readRawBody } from './raw-body.reader';
import { BytesInFlight, BytesInFlightError, bytesToAdmit } from './bytes-in-flight';
import { IdempotencyKey, IdempotentRequests } from './idempotent-requests';
import { recordHeaders } from './record-headers';
import { utf8Text } from './utf8-text';
import { SignatureHeaders, verifySignature } from './webhook-signature.verifier';

export interface IngestRequest {
  source: string;
  /** The request body, not read yet: it is read only once the cheap checks passed, with the source's limit. */
  body: Readable;
  contentLength?: string;
  contentType?: string;
  contentEncoding?: string;
  idempotencyKey?: string;
  /** The request's headers, where a signed source's signature is found (and those the source copies into record headers). */
  headers?: SignatureHeaders;
  /** The request's trace (common/http/trace-context.ts), published with its events. */
  trace?: TraceContext;
}

/** The ingest request of an HTTP request to `source`, its body not read yet: one reading for the controller and the hot route. */
export function ingestRequest(source: string, req: IncomingMessage & { trace?: TraceContext }): IngestRequest {
  const { headers } = req;
  return {
    source,
    body: req,
    contentLength: headers['content-length'],
    contentType: headers['content-type'],
    contentEncoding: headers['content-encoding'],
    idempotencyKey: single(headers['idempotency-key']),
    headers,
    trace: req.trace,
  };
}

/** A header as one string: Node joins the repeated lines of such a header itself, the type says it might not. */
const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The answer to an ingest request; `replayed` when it is the stored answer to an earlier request with the same key. */
export interface Ingested {
  response: IngestResponseDto;
  replayed: boolean;
}

/** Where a signed source's scheme signs the sender's delivery id. */
const DELIVERY_ID: Record<string, string> = {
  'standard-webhooks': 'webhook-id',
  stripe: "the Stripe event's id",
};

/** What a signed delivery's signature covers, as far as its deduplication needs. */
interface Signed {
  deliveryId?: string;
  signedTimestamp?: string;
}

/**
 * The request's idempotency key. An unsigned source's is the Idempotency-Key header, when sent. A
 * signed source's is only ever something its signature covers, since whoever captured a delivery can
 * add or change any other header: the signed delivery id where the scheme has one, else the hash of
 * the signed content (the signed timestamp, when the scheme signs one, and the body), so a captured
 * delivery sent again within IDEMPOTENCY_TTL_SECONDS is answered with the first answer and publishes
 * nothing. An Idempotency-Key header sent to a signed source is ignored.
 */
function idempotencyKey(header: string | undefined, signed: Signed | undefined, source: Source, bodyHash: string): IdempotencyKey | undefined {
  if (!signed) return header === undefined ? undefined : { value: header, name: 'Idempotency-Key' };
  if (signed.deliveryId !== undefined) return { value: signed.deliveryId, name: DELIVERY_ID[source.signature!.scheme] ?? 'the delivery id' };
  const timestamp = signed.signedTimestamp === undefined ? '' : `t=${signed.signedTimestamp},`;
  return { value: `${timestamp}sha256=${bodyHash}`, name: 'the signed content' };
}

@Injectable()
export class IngestionService implements OnApplicationBootstrap {
  private readonly logger = new Logger(IngestionService.name);
  /** This process's bound on the bytes of bodies in flight (INGEST_MAX_BYTES_IN_FLIGHT): each worker keeps its own. */
  private readonly inFlight: BytesInFlight;

  constructor(
    private readonly sources: SourcesRegistry,
    private readonly kafka: KafkaProducer,
    private readonly metrics: MetricsService,
    private readonly idempotency: IdempotentRequests,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {
    const inFlight = (this.inFlight = new BytesInFlight(config.ingest.maxBytesInFlight, config.ingest.admissionWaitMs));
    metrics.gauge({
      name: 'pipeline_ingest_bytes_in_flight',
      help: 'Bytes of POST /ingest bodies admitted and not answered yet (read, parsed or being published), within INGEST_MAX_BYTES_IN_FLIGHT per API process',
      // Each worker bounds its own: the API holds their sum.
      aggregator: 'sum',
      collect: function (this: { set: (value: number) => void }) {
        this.set(inFlight.bytes);
      },
    });
  }

  /** Creates missing topics in the background; a broker that is down now must not stop the API from starting. */
  onApplicationBootstrap(): void {
    this.kafka.ensureTopics(this.sources.allTopics()).then(
      () => this.logger.log(`topics ready: ${this.sources.allTopics().join(', ')}`),
      (err: Error) => this.logger.warn(`topics not checked yet (${err.message}); they are checked again on first use`),
    );
  }

  /**
   * The whole ingest path, each check once and cheapest first: the source exists (404), its and the
   * key's rate limits let a request in (429), and the content type and encoding are ones we read (415)
   * before a byte of the body is buffered; the body's bytes then take their room among the bytes this
   * process has in flight, waiting for it if need be (503 when none comes in time: see BytesInFlight),
   * and hold it until the request is answered; then the body is read with the source's limit (413), its
   * signature checked on the bytes as received, still compressed, when the source is signed (401),
   * decompressed within the source's limit too (413, 400), checked to be UTF-8 (400), split into
   * events (400), counted, charged to the events limits (429), checked for nesting and numbers
   * the pipeline cannot carry (400), validated against the source's schema (an event that fails it is
   * refused with 400, or for a quarantining source published to its dead-letter topic instead),
   * wrapped in the envelope, and answered only after Kafka acknowledged every event of the request.
   * Accepted and refused events are counted per source; `step` names what a 400 was about (an
   * EventLimitError names its own).
   */
  async ingest(req: IngestRequest): Promise<Ingested> {
    let sourceLabel = UNKNOWN_SOURCE;
    let events = 1;
    let step: BadRequestStep = 'unreadable_body';
    /** The bytes this request holds of inFlight, given back exactly once, in `finally`. */
    let held = 0;
    try {
      const source = this.sources.get(req.source);
      sourceLabel = source.name;
      // A signed delivery's key, if it sent one, was not checked: only the source's limits apply to it.
      const charge = this.limiter.ingest(source, source.signature ? undefined : req.headers);
      const format = bodyFormat(req.contentType);
      const encoding = bodyEncoding(req.contentEncoding);
      const admitted = bytesToAdmit(req.contentLength, encoding, source.maxBodyBytes);
      if (!this.inFlight.take(admitted)) await this.inFlight.wait(admitted, req.body);
      held = admitted;
      const raw = await readRawBody(req.body, req.contentLength, source);
      // Senders sign the bytes they send: for a compressed body, the compressed bytes.
      const signed = this.verifySignature(source, req.headers ?? {}, raw);
      step = 'bad_encoding';
      const body = await decodeBody(raw, encoding, source);
      // A body counted at the source's limit (chunked, or compressed) now counts for its size.
      if (body.length < held) {
        this.inFlight.release(held - body.length);
        held = body.length;
      }
      step = 'bad_idempotency_key';
      if (!signed && req.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(req.idempotencyKey)) {
        throw new BadRequestError('Idempotency-Key must be 1 to 255 printable ASCII characters without spaces');
      }
      step = 'bad_utf8';
      const text = utf8Text(body, format);
      step = 'bad_json';
      const { events: payloads, texts } = parseEvents(text, format);
      events = payloads.length;
      if (payloads.length > this.config.ingest.maxEvents) {
        throw new PayloadTooLargeError(`The batch holds ${payloads.length} events; at most ${this.config.ingest.maxEvents} per request`);
      }
      charge?.(payloads.length);
      // Before anything that recurses over an event (Ajv, JSON.stringify).
      checkEventLimits(payloads, this.config.ingest.maxDepth);
      step = 'schema';
      const failures = schemaFailures(source, payloads);
      if (failures.size > 0 && source.onInvalid !== 'quarantine') throw schemaError(source, payloads.length, failures);

      // Stripe's event id is in the body, not in a header (see webhook-signature.verifier.ts).
      if (signed && source.signature?.scheme === 'stripe' && payloads.length === 1 && typeof payloads[0].id === 'string' && payloads[0].id !== '') {
        signed.deliveryId = payloads[0].id;
      }
      step = 'bad_header';
      const headers = recordHeaders({
        source: source.name,
        schemaVersion: source.schemaVersion,
        trace: req.trace,
        idempotencyKey: req.idempotencyKey,
        deliveryId: signed?.deliveryId,
        request: req.headers,
        copied: source.headers,
      });
      // Only a request with a key needs the body's hash: a signed one always has a key.
      const bodyHash = signed || req.idempotencyKey !== undefined ? IdempotentRequests.bodyHash(body) : undefined;
      const key = idempotencyKey(req.idempotencyKey, signed, source, bodyHash!);
      const admission = key ? await this.idempotency.admit(source.name, key, bodyHash!) : undefined;
      if (admission?.replay) {
        this.metrics.deduplicated(source.name, admission.replay.eventIds.length);
        return { response: admission.replay, replayed: true };
      }
      // A retried request yields the same ids: they derive from the key and the body.
      const ids = eventIds(source.name, payloads.length, key ? `${key.value}/${bodyHash}` : undefined);
      const receivedAt = (admission?.receivedAt ?? new Date()).toISOString();
      const { events: messages, deadLetters, quarantined } = requestMessages(source, payloads, ids, receivedAt, failures, texts, headers);
      try {
        await this.publish(source, messages, deadLetters);
      } catch (err) {
        await admission?.failed();
        throw err;
      }
      const response: IngestResponseDto =
        source.onInvalid === 'quarantine'
          ? { accepted: messages.length, eventIds: ids, quarantined: deadLetters.length, quarantinedEvents: quarantined }
          : { accepted: messages.length, eventIds: ids };
      await admission?.answered(response);
      this.metrics.accepted(source.name, messages.length);
      if (source.onInvalid === 'quarantine') this.metrics.quarantined(source.name, deadLetters.length);
      return { response, replayed: false };
    } catch (err) {
      this.metrics.rejected(sourceLabel, rejectionReason(err, step), events);
      throw err;
    } finally {
      if (held > 0) this.inFlight.release(held);
    }
  }

  /**
   * For a signed source, the signature replaces the API key (the guard let the request in without
   * one): it is checked on the bytes as received (still compressed, as the sender signed them), before
   * anything is decompressed or parsed, and always, even when the request also carries a valid API
   * key. Answers what the signature covers that deduplicates the delivery (undefined: an unsigned source).
   */
  private verifySignature(source: Source, headers: SignatureHeaders, body: Buffer): Signed | undefined {
    if (!source.signature) return undefined;
    const check = verifySignature(source.signature, headers, body, Date.now());
    if (!check.ok) {
      throw new UnauthorizedError(check.message, [{ source: source.name, scheme: source.signature.scheme, problem: check.problem }]);
    }
    return { deliveryId: check.deliveryId, signedTimestamp: check.signedTimestamp };
  }

  /**
   * One publish for the whole request: with quarantined events, the source's topic and its
   * dead-letter topic go in the same produce request, so the 202 waits for Kafka to acknowledge both.
   */
  private async publish(source: Source, events: OutgoingMessage[], deadLetters: OutgoingMessage[]): Promise<void> {
    if (deadLetters.length === 0) return this.kafka.publish(source.topic, events);
    const batches = [
      { topic: source.topic, messages: events },
      { topic: source.deadLetterTopic!, messages: deadLetters },
    ];
    await this.kafka.publishAll(batches.filter((b) => b.messages.length > 0));
  }
}

/** The steps of ingest that answer 400, each counted under its own reason. */
type BadRequestStep = Extract<RejectionReason, 'unreadable_body' | 'bad_encoding' | 'bad_idempotency_key' | 'bad_utf8' | 'bad_json' | 'schema' | 'bad_header'>;

/** The reason a refused request is counted under: the error's type, and for a 400 the step that refused it. */
function rejectionReason(err: unknown, step: BadRequestStep): RejectionReason {
  if (err instanceof BytesInFlightError) return 'bytes_in_flight';
  if (err instanceof NotFoundError) return 'unknown_source';
  if (err instanceof UnauthorizedError) return 'bad_signature';
  if (err instanceof UnsupportedMediaTypeError) return 'unsupported_media_type';
  if (err instanceof PayloadTooLargeError) return 'too_large';
  if (err instanceof TooManyRequestsError) return 'rate_limited';
  if (err instanceof UnprocessableEntityError) return 'idempotency_key_reused';
  if (err instanceof ConflictError) return 'idempotency_key_in_flight';
  if (err instanceof UpstreamUnavailableError) return err.upstream === 'Cassandra' ? 'cassandra_unavailable' : 'kafka_unavailable';
  if (err instanceof EventLimitError) return err.reason;
  if (err instanceof BadRequestError) return step;
  return 'internal';
}
