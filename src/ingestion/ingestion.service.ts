import { Inject, Injectable, OnApplicationBootstrap, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, PayloadTooLargeError } from '../common/errors/errors';
import { bodyFormat, parseEvents } from './event-body';
import { EventEnvelope, eventIds, partitionKey } from './envelope';
import { KafkaProducer } from './kafka.producer';
import { Source, SourcesRegistry } from './sources.registry';

export interface IngestResult {
  accepted: number;
  eventIds: string[];
}

export interface IngestRequest {
  source: string;
  body: Buffer;
  contentType?: string;
  idempotencyKey?: string;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@Injectable()
export class IngestionService implements OnApplicationBootstrap {
  private readonly logger = new Logger(IngestionService.name);

  constructor(
    private readonly sources: SourcesRegistry,
    private readonly kafka: KafkaProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates missing topics in the background; a broker that is down now must not stop the API from starting. */
  onApplicationBootstrap(): void {
    this.kafka.ensureTopics(this.sources.topics()).then(
      () => this.logger.log(`topics ready: ${this.sources.topics().join(', ')}`),
      (err: Error) => this.logger.warn(`topics not checked yet (${err.message}); they are checked again on first use`),
    );
  }

  /** Kafka's answer to a metadata request, for readiness. */
  pingKafka(): Promise<{ brokers: number; controller: number | null }> {
    return this.kafka.ping();
  }

  /** One configured source; 404 naming the configured ones when it is unknown. */
  source(name: string): Source {
    return this.sources.get(name);
  }

  listSources(): Source[] {
    return this.sources.list();
  }

  /** Checks the request cheaply before its body is read: the source exists and the content type is one we parse. */
  precheck(sourceName: string, contentType: string | undefined): Source {
    const source = this.sources.get(sourceName);
    bodyFormat(contentType);
    return source;
  }

  /** Validates every event, wraps each in the envelope and answers only after Kafka acknowledged all of them. */
  async ingest(req: IngestRequest): Promise<IngestResult> {
    const source = this.sources.get(req.source);
    const format = bodyFormat(req.contentType);
    if (req.body.length > source.maxBodyBytes) {
      throw new PayloadTooLargeError(`The body is ${req.body.length} bytes; source "${source.name}" accepts at most ${source.maxBodyBytes}`);
    }
    if (req.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(req.idempotencyKey)) {
      throw new BadRequestError('Idempotency-Key must be 1 to 255 printable ASCII characters without spaces');
    }
    const payloads = parseEvents(req.body, format);
    if (payloads.length > this.config.ingest.maxEvents) {
      throw new PayloadTooLargeError(`The batch holds ${payloads.length} events; at most ${this.config.ingest.maxEvents} per request`);
    }
    this.validate(source, payloads);

    const ids = eventIds(source.name, payloads.length, req.idempotencyKey);
    const receivedAt = new Date().toISOString();
    const messages = payloads.map((payload, i) => {
      const key = partitionKey(payload, source.keyField);
      const envelope: EventEnvelope = { eventId: ids[i], source: source.name, receivedAt, ...(key ? { key } : {}), payload };
      return { key: key ?? ids[i], value: JSON.stringify(envelope) };
    });
    await this.kafka.publish(source.topic, messages);
    return { accepted: messages.length, eventIds: ids };
  }

  private validate(source: Source, payloads: Record<string, unknown>[]): void {
    if (!source.validate) return;
    const failures: { index: number; field: string; message: string }[] = [];
    payloads.forEach((payload, index) => {
      if (source.validate!(payload)) return;
      for (const e of source.validate!.errors ?? []) {
        const field = e.keyword === 'required' ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}` : e.instancePath || '/';
        failures.push({ index, field, message: e.message ?? 'is invalid' });
      }
    });
    if (failures.length === 0) return;
    const first = failures[0];
    const where = payloads.length > 1 ? `event ${first.index}` : 'the event';
    throw new BadRequestError(
      `${where} does not match the schema of source "${source.name}": ${first.field} ${first.message}` +
        (failures.length > 1 ? ` (${failures.length - 1} more problem(s) in details)` : ''),
      failures.slice(0, 100),
    );
  }
}
