import { Logger } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { AuditService } from '../access/access.module';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { EventsRepository } from '../cassandra/events.repository';
import { SourcesRepository } from '../cassandra/sources.repository';
import { InMemoryEventsRepository } from '../cassandra/testing/in-memory-events.repository';
import { InMemorySourcesRepository } from '../cassandra/testing/in-memory-sources.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { APP_CONFIG } from '../common/config/app-config';
import { validationPipe } from '../common/http/validation.pipe';
import { testConfig } from '../common/testing/config';
import { KafkaProducer } from '../kafka/kafka.producer';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { MetricsService } from '../metrics/metrics.service';
import { SourcesController } from './sources.controller';
import { SourcesService } from './sources.service';

const HOOKS_SECRET = 'whsec_c2lnbmluZyBrZXkgb2YgdGhlIHRlc3Q=';
const SOURCES = `sources:
  hooks:
    signature: { scheme: standard-webhooks, secrets: ["\${HOOKS_SECRET}"] }
  clicks: { peakEventsPerSecond: 2000 }
  orders:
    bucket: 10m
    onInvalid: quarantine
    schema: { type: object, required: [amount], properties: { amount: { type: number } } }
`;

/** The sources routes as the app wires them (validation pipe, exception filter, the audit interceptor), over the in-memory registry table. */
async function sourcesApp() {
  const repository = new InMemorySourcesRepository();
  const file = join(mkdtempSync(join(tmpdir(), 'sources-')), 'sources.yaml');
  writeFileSync(file, SOURCES);
  // The app seeds its empty registry table from the same file its registry starts with.
  const config = testConfig({ HOOKS_SECRET, SOURCES_FILE: file });
  const registry = new SourcesRegistry(config);
  const audit = { record: jest.fn(async () => undefined) };
  const moduleRef = await Test.createTestingModule({
    controllers: [SourcesController],
    providers: [
      SourcesService,
      { provide: SourcesRepository, useValue: repository.repository },
      { provide: SourcesRegistry, useValue: registry },
      { provide: KafkaProducer, useValue: new FakeKafkaProducer().producer },
      { provide: EventsRepository, useValue: new InMemoryEventsRepository() },
      { provide: APP_CONFIG, useValue: config },
      { provide: AuditService, useValue: audit },
      MetricsService,
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_PIPE, useValue: validationPipe() },
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.setGlobalPrefix('api/v1');
  await app.init();
  return { app, repository, registry, audit, http: () => request(app.getHttpServer()) };
}

beforeEach(() => {
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('the sources routes over HTTP', () => {
  let ctx: Awaited<ReturnType<typeof sourcesApp>>;
  beforeEach(async () => {
    ctx = await sourcesApp();
  });
  afterEach(() => ctx.app.close());

  it('lists the signature scheme of a signed source, and none for the others; what an invalid event does, the dead-letter topic, and the bucket', async () => {
    const res = await ctx.http().get('/api/v1/sources').expect(200);

    expect(res.body.sources).toEqual([
      {
        name: 'hooks',
        topic: 'ingest.hooks',
        maxBodyBytes: 1048576,
        signatureScheme: 'standard-webhooks',
        onInvalid: 'reject',
        bucket: '1h',
        bucketSeconds: 3600,
      },
      { name: 'clicks', topic: 'ingest.clicks', maxBodyBytes: 1048576, onInvalid: 'reject', bucket: '30s', bucketSeconds: 30 },
      {
        name: 'orders',
        topic: 'ingest.orders',
        maxBodyBytes: 1048576,
        schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } },
        schemaHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        onInvalid: 'quarantine',
        deadLetterTopic: 'ingest.orders.dlq',
        bucket: '10m',
        bucketSeconds: 600,
      },
    ]);
  });

  it('creates a source: 201 with its state and ETag, audited as source.create; the same name again is 409', async () => {
    const res = await ctx
      .http()
      .post('/api/v1/sources')
      .send({ name: 'payments', schema: { type: 'object' } })
      .expect(201);

    expect(res.headers.etag).toBe('"1"');
    expect(res.body).toMatchObject({ name: 'payments', topic: 'ingest.payments', version: 1, schemaVersion: 1, compatibility: 'backward' });
    expect(ctx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'source.create', target: 'payments', outcome: 201 }));

    const again = await ctx.http().post('/api/v1/sources').send({ name: 'payments' }).expect(409);
    expect(again.body.details).toEqual([{ field: 'name', message: '"payments" is taken' }]);
  });

  it('answers 400 naming the field for a bad name, an unknown setting, and a schema outside the subset', async () => {
    const name = await ctx.http().post('/api/v1/sources').send({ name: 'Bad.Name' }).expect(400);
    expect(name.body.details).toEqual([expect.objectContaining({ field: 'name' })]);
    await ctx.http().post('/api/v1/sources').send({ name: 'x', colour: 'red' }).expect(400);
    const schema = await ctx
      .http()
      .post('/api/v1/sources')
      .send({ name: 'x', schema: { anyOf: [] } })
      .expect(400);
    expect(schema.body.details).toEqual([expect.objectContaining({ field: 'schema/anyOf' })]);
  });

  it('stores a rate limit in the definition and answers it; 400 naming the field for a limit that is 0, negative or no number', async () => {
    const rateLimit = { requestsPerSecond: 50, eventsPerSecond: 500, burst: 100 };
    const res = await ctx.http().post('/api/v1/sources').send({ name: 'payments', rateLimit }).expect(201);
    expect(res.body.rateLimit).toEqual(rateLimit);
    expect((await ctx.http().get('/api/v1/sources/payments').expect(200)).body.rateLimit).toEqual(rateLimit);

    for (const [field, value] of [
      ['requestsPerSecond', 0],
      ['eventsPerSecond', -1],
      ['burst', 'lots'],
    ] as const) {
      const refused = await ctx
        .http()
        .post('/api/v1/sources')
        .send({ name: 'refunds', rateLimit: { [field]: value } })
        .expect(400);
      expect(refused.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: `rateLimit.${field}` })]));
    }
  });

  it('takes PUT with the ETag of GET, answers 412 for a stale one, and applies a PUT without If-Match', async () => {
    await ctx.http().post('/api/v1/sources').send({ name: 'payments' }).expect(201);
    const { headers } = await ctx.http().get('/api/v1/sources/payments').expect(200);

    const put = await ctx.http().put('/api/v1/sources/payments').set('If-Match', headers.etag).send({ description: 'v2' }).expect(200);
    expect(put.headers.etag).toBe('"2"');
    expect(put.body).toMatchObject({ version: 2, description: 'v2' });

    const stale = await ctx.http().put('/api/v1/sources/payments').set('If-Match', headers.etag).send({ description: 'v3' }).expect(412);
    expect(stale.body.details).toEqual([{ field: 'If-Match', message: 'expected "2"' }]);

    await ctx.http().put('/api/v1/sources/payments').send({ description: 'v3' }).expect(200);
    expect(ctx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'source.update', target: 'payments' }));
  });

  it('answers 409 with the incompatible path for a narrowing schema, and makes version 2 of a compatible one', async () => {
    await ctx
      .http()
      .post('/api/v1/sources')
      .send({ name: 'payments', schema: { type: 'object', properties: { amount: { type: 'number' } } } })
      .expect(201);

    const narrowed = await ctx
      .http()
      .put('/api/v1/sources/payments')
      .send({ schema: { type: 'object', properties: { amount: { type: 'integer' } } } })
      .expect(409);
    expect(narrowed.body.details).toEqual([{ field: '/properties/amount/type', message: 'narrowed from number to integer' }]);

    await ctx
      .http()
      .put('/api/v1/sources/payments')
      .send({ schema: { type: 'object', properties: { amount: { type: ['number', 'string'] } } } })
      .expect(200);
    const versions = await ctx.http().get('/api/v1/sources/payments/schemas').expect(200);
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    await ctx.http().get('/api/v1/sources/payments/schemas/2').expect(200);
    await ctx.http().get('/api/v1/sources/payments/schemas/3').expect(404);
  });

  it('archives with DELETE (audited as source.archive): GET shows archivedAt, a second DELETE is 410', async () => {
    await ctx.http().post('/api/v1/sources').send({ name: 'payments' }).expect(201);

    const res = await ctx.http().delete('/api/v1/sources/payments').expect(200);

    expect(res.body.archivedAt).toBeDefined();
    expect(ctx.audit.record).toHaveBeenCalledWith(expect.objectContaining({ action: 'source.archive', target: 'payments', outcome: 200 }));
    await ctx.http().delete('/api/v1/sources/payments').expect(410);
    expect(() => ctx.registry.get('payments')).toThrow(expect.objectContaining({ statusCode: 410 }));
  });

  it('checks a candidate schema without changing anything', async () => {
    await ctx
      .http()
      .post('/api/v1/sources')
      .send({ name: 'payments', schema: { type: 'object' } })
      .expect(201);

    const res = await ctx
      .http()
      .post('/api/v1/sources/payments/schema-check')
      .send({ schema: { type: 'object', required: ['id'] } })
      .expect(200);

    expect(res.body).toEqual({
      compatible: false,
      compatibility: 'backward',
      incompatibilities: [{ field: '/properties/id', message: 'narrowed: "id" is now required' }],
      checked: 0,
      refused: 0,
      reasons: [],
    });
    expect(ctx.repository.rows.get('payments')!.version).toBe(1);
  });

  it('exports the registry as a sources.yaml document with ?format=yaml', async () => {
    await ctx.http().post('/api/v1/sources').send({ name: 'payments', keyField: 'id' }).expect(201);

    const res = await ctx.http().get('/api/v1/sources?format=yaml').expect(200);

    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(parseYaml(res.text).sources.payments).toEqual({ keyField: 'id' });
  });

  it('answers 503 naming Cassandra for a change while Cassandra is down', async () => {
    ctx.repository.down = true;
    const res = await ctx.http().post('/api/v1/sources').send({ name: 'payments' }).expect(503);
    expect(res.body.upstream).toBe('Cassandra');
  });
});
