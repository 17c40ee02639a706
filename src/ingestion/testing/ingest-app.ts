import { Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { createHmac } from 'node:crypto';
import { IdempotencyRepository } from '../../cassandra/idempotency.repository';
import { InMemoryApiKeysRepository } from '../../cassandra/testing/in-memory-api-keys.repository';
import { InMemoryIdempotencyRepository } from '../../cassandra/testing/in-memory-idempotency.repository';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { sourcesRegistry } from '../../catalogs/testing/catalogs';
import { accessProviders } from '../../access/testing/access';
import { APP_CONFIG } from '../../common/config/app-config';
import { AllExceptionsFilter } from '../../app-http/all-exceptions.filter';
import { testConfig } from '../../common/testing/config';
import { KafkaProducer } from '../../kafka/kafka.producer';
import { FakeKafkaProducer } from '../../kafka/testing/fake-kafka.producer';
import { MetricsService } from '../../metrics/metrics.service';
import { IdempotentRequests } from '../idempotent-requests';
import { IngestionService } from '../ingestion.service';
import { SignaturePrecheck } from '../signature-precheck';

/** The key a test sender signs Standard Webhooks deliveries with; its sources file names it as HOOKS_SECRET. */
export const SIGNING_KEY = Buffer.from('the key of the test sender');

/**
 * What POST /ingest needs, wired as the app wires it (the global access guard and exception filter)
 * over a fake Kafka and in-memory idempotency keys: the sources of `sources` (YAML), whose
 * `${HOOKS_SECRET}` is SIGNING_KEY as a whsec_ secret, `apiKey` the one key of API_KEYS, the
 * scoped keys stored in `keys`, and the settings of `env` (e.g. INGEST_MAX_BYTES_IN_FLIGHT).
 */
export function ingestProviders(
  kafka: FakeKafkaProducer,
  sources: string,
  apiKey: string,
  keys?: InMemoryApiKeysRepository,
  env: Record<string, string> = {},
): Provider[] {
  return [
    IngestionService,
    IdempotentRequests,
    SignaturePrecheck,
    MetricsService,
    { provide: IdempotencyRepository, useValue: new InMemoryIdempotencyRepository().repository },
    { provide: KafkaProducer, useValue: kafka.producer },
    { provide: SourcesRegistry, useValue: sourcesRegistry(sources, { HOOKS_SECRET: `whsec_${SIGNING_KEY.toString('base64')}` }) },
    { provide: APP_CONFIG, useValue: testConfig({ ...env, API_KEYS: apiKey }) },
    ...accessProviders(keys),
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
  ];
}

/** Standard Webhooks headers signing `body` as sent, now, with the sender's key (or another). */
export function standardWebhookHeaders(body: string | Buffer, id: string, key: Buffer = SIGNING_KEY): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'Webhook-Id': id, 'Webhook-Timestamp': String(timestamp), 'Webhook-Signature': `v1,${signature}` };
}
