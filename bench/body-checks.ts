/**
 * What the body checks of POST /ingest cost: UTF-8 validation, and the one walk over each event for
 * nesting and out-of-range numbers, per realistic 1 KB event, next to what ingesting that event
 * costs in-process (IngestionService.ingest over a Kafka stand-in that acknowledges at once: no HTTP,
 * no broker). CPU time of the process (process.cpuUsage), median of interleaved rounds, so other
 * load on the machine skews it less than wall time would. Needs nothing running:
 *   npx ts-node --transpile-only bench/body-checks.ts [--iterations 100000] [--rounds 7]
 */
import 'reflect-metadata';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { KeyRing } from '../src/access/key-ring';
import { RateLimiter } from '../src/access/rate-limiter';
import { ApiKeysRepository } from '../src/cassandra/api-keys.repository';
import { IdempotencyRepository } from '../src/cassandra/idempotency.repository';
import { RateLimitUsageRepository } from '../src/cassandra/rate-limit-usage.repository';
import { SourcesRegistry } from '../src/catalogs/sources.registry';
import { testConfig } from '../src/common/testing/config';
import { checkEventLimits } from '../src/ingestion/event-limits';
import { IdempotentRequests } from '../src/ingestion/idempotent-requests';
import { IngestionService } from '../src/ingestion/ingestion.service';
import { KafkaProducer } from '../src/kafka/kafka.producer';
import { MetricsService } from '../src/metrics/metrics.service';
import { arg, machine, report } from './support';

const ITERATIONS = Number(arg('iterations', '100000'));
const ROUNDS = Number(arg('rounds', '7'));

/** An order as a shop backend sends it: nested objects and arrays, numbers, a little non-ASCII; about 1 KB. */
function order(i: number): Record<string, unknown> {
  return {
    order_id: `o-${100000 + i}`,
    created_at: '2026-11-24T03:51:50.900Z',
    status: 'paid',
    customer: {
      id: `c-${i % 5000}`,
      name: 'Zoë Müller',
      email: 'zoe.mueller@example.com',
      address: { street: 'Bahnhofstrasse 12', city: 'Zürich', zip: '8001', country: 'CH' },
      tags: ['returning', 'newsletter'],
    },
    items: [1, 2, 3].map((n) => ({
      sku: `SKU-${1000 + n}`,
      name: `Product ${n} – blue, size M`,
      qty: n,
      unit_price: 19.9 + n,
      discount: { kind: 'percent', value: 10 },
    })),
    totals: { subtotal: 179.4, shipping: 7.5, tax: 14.35, total: 201.25, currency: 'EUR' },
    payment: { method: 'card', brand: 'visa', last4: '4242', captured: true },
    shipping: { carrier: 'DHL', service: 'express', eta_days: 2, tracking: null },
    meta: { source: 'web', app_version: '5.12.3', ab: { checkout_v2: true, upsell: false }, ip_country: 'CH' },
  };
}

const event = order(0);
const single = Buffer.from(JSON.stringify(event));
const batch = Buffer.from(JSON.stringify(Array.from({ length: 100 }, (_, i) => order(i))));
const parsedBatch = JSON.parse(batch.toString()) as Record<string, unknown>[];
const strict = new TextDecoder('utf-8', { fatal: true });

/** Depth (the event is 1) and number of values of a small JSON value. */
function shape(value: unknown, depth = 1): { depth: number; values: number } {
  if (typeof value !== 'object' || value === null) return { depth: depth - 1, values: 1 };
  const children = Object.values(value).map((child) => shape(child, depth + 1));
  return { depth: Math.max(depth, ...children.map((c) => c.depth)), values: children.reduce((sum, c) => sum + c.values, 0) };
}

function service(): IngestionService {
  const config = testConfig({ SOURCES_FILE: join(__dirname, '../config/sources.yaml'), LOG_LEVEL: 'silent' });
  const kafka = { publish: async () => undefined, ensureTopics: async () => undefined } as unknown as KafkaProducer;
  // No request of this bench carries an idempotency key: the keys' table is never reached.
  const keys = new IdempotentRequests({} as IdempotencyRepository, config);
  // No source of config/sources.yaml has a rate limit and the limiter never syncs here: neither table is reached.
  const limiter = new RateLimiter({} as RateLimitUsageRepository, config, new KeyRing({} as ApiKeysRepository, config));
  return new IngestionService(new SourcesRegistry(config), kafka, new MetricsService(), keys, config, limiter);
}
const ingestion = service();
const post = (body: Buffer, contentEncoding?: string) =>
  ingestion.ingest({ source: 'clicks', body: Readable.from([body]), contentType: 'application/json', contentEncoding });

let sink: unknown;
/** Each case: how many events one call handles, and the call. */
const cases: Record<string, [number, () => unknown]> = {
  'JSON.parse (with toString)': [1, () => (sink = JSON.parse(single.toString('utf8')))],
  'JSON.stringify of the payload': [1, () => (sink = JSON.stringify(event))],
  'UTF-8 check (buffer.isUtf8)': [1, () => (sink = isUtf8(single))],
  'UTF-8 check + decode (TextDecoder fatal), for comparison': [1, () => (sink = strict.decode(single))],
  'nesting + number walk': [1, () => checkEventLimits([event], 64)],
  'the three checks together': [1, () => (sink = isUtf8(single) && checkEventLimits([event], 64))],
  'ingest(), 1 event per request': [1, () => post(single)],
  'ingest(), batch of 100, per event': [100, () => post(batch)],
  'nesting + number walk, batch of 100, per event': [100, () => checkEventLimits(parsedBatch, 64)],
};
const gzipped = gzipSync(batch);
cases['ingest(), batch of 100 gzip-compressed, per event'] = [100, () => post(gzipped, 'gzip')];

async function measure(events: number, run: () => unknown, iterations: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const result = run();
    if (result instanceof Promise) await result;
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / (iterations * events); // ns per event
}

async function main(): Promise<void> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const [events, run] of Object.values(cases)) await measure(events, run, Math.ceil(ITERATIONS / events / 10)); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, [events, run]] of Object.entries(cases)) samples[name].push(await measure(events, run, Math.ceil(ITERATIONS / events)));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ns = Object.fromEntries(Object.entries(samples).map(([name, xs]) => [name, median(xs)]));
  const checks = ns['the three checks together'];
  const ingest = ns['ingest(), 1 event per request'];
  const rows = Object.entries(ns).map(([name, value]) => `| ${name} | ${(value / 1000).toFixed(2)} | ${((100 * value) / ingest).toFixed(1)} % |`);
  const table = ['| per 1 KB event | µs of CPU | of ingest(), 1 event |', '| --- | --- | --- |', ...rows].join('\n');
  report(
    'body-checks',
    'Body checks of POST /ingest: CPU per 1 KB event',
    table,
    [
      `Event: ${single.length} bytes of JSON, ${shape(event).depth} levels deep, ${shape(event).values} values; the batch is 100 of them (${batch.length} bytes, ${gzipped.length} gzip-compressed).`,
      `The checks cost ${(checks / 1000).toFixed(2)} µs per event, ${((100 * checks) / ingest).toFixed(1)} % of ingest() without HTTP and Kafka (which ingest() includes: it runs them).`,
      `Median of ${ROUNDS} interleaved rounds of ${ITERATIONS} events each; CPU time of the whole process (zlib's thread pool included).`,
    ],
    { at: new Date().toISOString(), stack: { node: process.version }, machine: machine(), nsPerEvent: ns } as Parameters<typeof report>[4],
  );
  void sink;
}

void main();
