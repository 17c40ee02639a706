import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsRepository } from '../cassandra/events.repository';
import { InMemoryEventsRepository } from '../cassandra/testing/in-memory-events.repository';
import { InMemorySourcesRepository } from '../cassandra/testing/in-memory-sources.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { AppError } from '../common/errors/errors';
import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { testConfig } from '../common/testing/config';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { CreateSourceDto } from './dto/sources.dto';
import { SourcesService } from './sources.service';

const SEED = `sources:
  users:
    topic: users_created
    keyField: email
    schema: { type: object, properties: { email: { type: string } } }
  orders:
    onInvalid: quarantine
    compatibility: backward
    schema:
      type: object
      required: [order_id, amount]
      properties: { order_id: { type: string }, amount: { type: number, minimum: 0 } }
  clicks: { peakEventsPerSecond: 2000 }
`;

const PAYMENTS: CreateSourceDto = {
  name: 'payments',
  description: 'Payments',
  schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, amount: { type: 'number' } } },
};

function sourcesFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sources-')), 'sources.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Replicas of the API over one registry table (and one events table): each with its own registry snapshot, as each process has. */
function setup(yaml = SEED, env: Record<string, string> = {}) {
  const repository = new InMemorySourcesRepository();
  const events = new InMemoryEventsRepository();
  const file = sourcesFile(yaml);
  const replica = (replicaEnv: Record<string, string> = {}) => {
    const config = testConfig({ SOURCES_FILE: file, SOURCES_SYNC_SECONDS: '2', ...env, ...replicaEnv });
    const registry = new SourcesRegistry(config);
    const kafka = new FakeKafkaProducer();
    const service = new SourcesService(repository.repository, registry, kafka.producer, events as unknown as EventsRepository, config);
    return { service, registry, kafka };
  };
  return { repository, events, replica, ...replica() };
}

/** The error a promise fails with, as the exception filter would answer it. */
async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a failure');
}

fakeClockAndQuietLogs(new Date('2026-01-02T12:00:00.000Z'));

describe('SourcesService.seed', () => {
  it('seeds an empty registry from the file once: one replica of two wins the claim', async () => {
    const { repository, service, replica } = setup();
    const other = replica();

    const [a, b] = await Promise.all([service.seed(), other.service.seed()]);

    expect([a, b].sort()).toEqual([false, true]);
    expect([...repository.rows.keys()].sort()).toEqual(['clicks', 'orders', 'users']);
    expect(repository.rows.get('users')).toMatchObject({ version: 1, schemaVersion: 1, definition: { topic: 'users_created', keyField: 'email' } });
    expect(repository.rows.get('clicks')!.schemaVersion).toBeUndefined();
    expect([...repository.schemaRows.keys()].sort()).toEqual(['orders/1', 'users/1']);
  });

  it('never seeds a registry that holds anything: from then on the registry wins over the file', async () => {
    const { repository, service, replica } = setup();
    await service.seed();
    await service.create(PAYMENTS);
    repository.seedRow = undefined;

    await expect(replica().service.seed()).resolves.toBe(false);
    expect(repository.rows.size).toBe(4);
  });

  it('takes over a claim whose holder never finished, once it is stale', async () => {
    const { repository, service } = setup();
    repository.seedRow = { holder: 'crashed', claimedAt: new Date(Date.now() - 61_000) };

    await expect(service.seed()).resolves.toBe(true);
    expect(repository.rows.size).toBe(3);
  });
});

describe('SourcesService.create', () => {
  it('stores the source with version 1 and schema version 1, answers its ETag, and this process takes it at once', async () => {
    const { service, registry, repository, kafka } = setup();
    await service.seed();

    const { source, etag } = await service.create(PAYMENTS);

    expect(etag).toBe('"1"');
    expect(source).toMatchObject({
      name: 'payments',
      topic: 'ingest.payments',
      compatibility: 'backward',
      version: 1,
      schemaVersion: 1,
      description: 'Payments',
    });
    expect(repository.rows.get('payments')!.definition).toEqual({ description: 'Payments', schema: PAYMENTS.schema });
    expect(registry.get('payments')).toMatchObject({ topic: 'ingest.payments', schemaVersion: 1 });
    expect(kafka.ensureTopics).toHaveBeenCalledWith(['ingest.payments']);
  });

  it('answers 409 for a name that exists, archived names included', async () => {
    const { service } = setup();
    await service.seed();
    expect((await failure(service.create({ name: 'orders' }))).statusCode).toBe(409);
    // The taken name is the answer, whatever else is wrong with the body.
    expect((await failure(service.create({ name: 'orders', deadLetterTopic: 'x.dlq', bucket: '7m' }))).statusCode).toBe(409);
    expect((await failure(service.create({ name: 'Orders', deadLetterTopic: 'x.dlq' }))).statusCode).toBe(400);

    await service.create(PAYMENTS);
    await service.archive('payments');
    const err = await failure(service.create({ ...PAYMENTS, topic: 'payments.v2' }));
    expect(err.statusCode).toBe(409);
    expect(err.message).toContain('archived');
  });

  it('answers 409 for a topic another source uses', async () => {
    const { service } = setup();
    await service.seed();
    const err = await failure(service.create({ name: 'people', topic: 'users_created' }));
    expect(err.statusCode).toBe(409);
    expect(err.details).toEqual([{ field: 'topic', message: 'used by source "users"' }]);
  });

  it('answers 400 naming the field: a bad name, a schema outside the subset, a bad setting', async () => {
    const { service } = setup();
    expect(await failure(service.create({ name: 'Bad.Name' }))).toMatchObject({ statusCode: 400, details: [{ field: 'name' }] });
    expect(await failure(service.create({ name: 'x', schema: { type: 'object', oneOf: [] } }))).toMatchObject({
      statusCode: 400,
      details: [expect.objectContaining({ field: 'schema/oneOf' })],
    });
    expect(await failure(service.create({ name: 'x', bucket: '7m' }))).toMatchObject({
      statusCode: 400,
      details: [expect.objectContaining({ field: 'bucket' })],
    });
    expect(await failure(service.create({ name: 'x', onInvalid: 'quarantine' }))).toMatchObject({ statusCode: 400 });
  });

  it('answers 400 naming the variable of a signing secret that is not set in the API, and never stores a secret value', async () => {
    const { service, repository } = setup();
    const err = await failure(service.create({ name: 'hooks', signature: { scheme: 'github', secrets: ['${HOOKS_SECRET}'] } }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('HOOKS_SECRET');
    expect(err.details).toEqual([expect.objectContaining({ field: 'signature.secrets' })]);

    const literal = await failure(service.create({ name: 'hooks', signature: { scheme: 'github', secrets: ['a-literal-secret'] } }));
    expect(literal.statusCode).toBe(400);
    expect(literal.message).not.toContain('a-literal-secret');
    expect(repository.rows.has('hooks')).toBe(false);
  });

  it('refuses a development secret in production, as at start-up', async () => {
    const strong = randomBytes(32).toString('base64');
    const { service } = setup(SEED, { NODE_ENV: 'production', API_KEYS: strong, PAGE_TOKEN_SECRET: strong, HOOKS_SECRET: 'local-dev-key-change-me' });
    const err = await failure(service.create({ name: 'hooks', signature: { scheme: 'github', secrets: ['${HOOKS_SECRET}'] } }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('HOOKS_SECRET');
    expect(err.message).toContain('NODE_ENV=production');
  });
});

describe('SourcesService.update: ETags and schema versions', () => {
  it('applies over the ETag it was given, and answers 412 for a stale one, naming If-Match', async () => {
    const { service } = setup();
    await service.seed();
    const { etag } = await service.get('orders');

    const first = await service.update('orders', { onInvalid: 'quarantine', description: 'first', schema: (await service.get('orders')).source.schema }, etag);
    expect(first.etag).toBe('"2"');

    const stale = await failure(service.update('orders', { onInvalid: 'quarantine', description: 'second', schema: first.source.schema }, etag));
    expect(stale).toMatchObject({ statusCode: 412, details: [{ field: 'If-Match', message: 'expected "2"' }] });
  });

  it('applies without If-Match over whatever is current', async () => {
    const { service } = setup();
    await service.seed();
    const { source } = await service.update('clicks', { description: 'no precondition' });
    expect(source).toMatchObject({ version: 2, description: 'no precondition' });
  });

  it('answers 409 with one entry per incompatible path for a backward-incompatible schema, and changes nothing', async () => {
    const { service, repository } = setup();
    await service.seed();
    const schema = {
      type: 'object',
      required: ['order_id', 'amount', 'currency'],
      properties: { order_id: { type: 'string' }, amount: { type: 'integer', minimum: 0 } },
    };

    const err = await failure(service.update('orders', { onInvalid: 'quarantine', schema }));

    expect(err.statusCode).toBe(409);
    expect(err.details).toEqual([
      { field: '/properties/currency', message: 'narrowed: "currency" is now required' },
      { field: '/properties/amount/type', message: 'narrowed from number to integer' },
    ]);
    expect(repository.rows.get('orders')!.version).toBe(1);
  });

  it('makes a compatible schema version 2: listed, readable, and what ingest stamps on each envelope', async () => {
    const { service, registry } = setup();
    await service.seed();
    const schema = {
      type: 'object',
      required: ['order_id'],
      properties: { order_id: { type: 'string' }, amount: { type: ['number', 'string'] }, note: {} },
    };

    const { source } = await service.update('orders', { onInvalid: 'quarantine', schema });

    expect(source).toMatchObject({ version: 2, schemaVersion: 2 });
    expect((await service.schemas('orders')).versions.map((v) => v.version)).toEqual([2, 1]);
    expect(await service.schema('orders', 2)).toMatchObject({ source: 'orders', version: 2, schema, compatibility: 'backward' });
    expect(registry.get('orders').schemaVersion).toBe(2);
    expect((await failure(service.schema('orders', 3))).statusCode).toBe(404);
  });

  it('takes any change under compatibility none, and checks both ways under full', async () => {
    const { service } = setup();
    await service.seed();
    await expect(
      service.update('users', { topic: 'users_created', compatibility: 'none', schema: { type: 'object', required: ['email'] } }),
    ).resolves.toBeDefined();
    const full = await failure(service.update('users', { topic: 'users_created', compatibility: 'full', schema: { type: 'object' } }));
    expect(full.statusCode).toBe(409);
  });

  it('refuses a topic change and a rename with 400 naming the field', async () => {
    const { service } = setup();
    await service.seed();
    expect(await failure(service.update('clicks', { topic: 'clicks.v2' }))).toMatchObject({ statusCode: 400, details: [{ field: 'topic' }] });
    expect(await failure(service.update('clicks', { name: 'taps' }))).toMatchObject({ statusCode: 400, details: [{ field: 'name' }] });
  });
});

describe('SourcesService.archive', () => {
  it('makes ingest answer 410 naming the source; its records stay readable; a change is 410 too', async () => {
    const { service, registry } = setup();
    await service.seed();
    await service.create(PAYMENTS);

    const { source } = await service.archive('payments');

    expect(source).toMatchObject({ version: 2, archivedAt: expect.any(String) });
    const gone = (() => {
      try {
        registry.get('payments');
      } catch (err) {
        return err as AppError;
      }
    })();
    expect(gone).toMatchObject({ statusCode: 410 });
    expect(gone!.message).toContain('"payments"');
    expect(registry.readable('payments').name).toBe('payments');
    expect(registry.find('payments')).toBeUndefined();
    expect((await failure(service.update('payments', {}))).statusCode).toBe(410);
    expect((await service.get('payments')).source.archivedAt).toBeDefined();
  });
});

describe('SourcesService.sync: every process learns of a change', () => {
  it('another replica takes a created, changed and archived source within SOURCES_SYNC_SECONDS, and creates its topic', async () => {
    const { service, replica } = setup();
    const other = replica();
    await service.seed();
    other.service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);

    await service.create(PAYMENTS);
    expect(other.registry.find('payments')).toBeUndefined();
    await jest.advanceTimersByTimeAsync(2000);
    expect(other.registry.get('payments').schemaVersion).toBe(1);
    expect(other.kafka.ensureTopics).toHaveBeenCalledWith(['ingest.payments']);

    await service.update('payments', { ...PAYMENTS, name: undefined, schema: { ...PAYMENTS.schema, required: [] } });
    await jest.advanceTimersByTimeAsync(2000);
    expect(other.registry.get('payments').schemaVersion).toBe(2);

    await service.archive('payments');
    await jest.advanceTimersByTimeAsync(2000);
    expect(() => other.registry.get('payments')).toThrow(expect.objectContaining({ statusCode: 410 }));
    other.service.onApplicationShutdown();
  });

  it('keeps the last snapshot while Cassandra is down: ingest goes on, changes answer 503 naming Cassandra', async () => {
    const { service, registry, repository } = setup();
    await service.seed();
    await service.sync();
    const before = registry.get('orders');
    repository.down = true;

    await service.syncQuietly();

    expect(registry.get('orders')).toBe(before);
    expect(await failure(service.create(PAYMENTS))).toMatchObject({ statusCode: 503, upstream: 'Cassandra' });
  });

  it('keeps the sources of the file while the registry is empty (not seeded yet)', async () => {
    const { service, registry } = setup();
    await service.sync();
    expect(registry.list().map((s) => s.name)).toEqual(['users', 'orders', 'clicks']);
  });

  it('does not build a source again while its version stays, so the snapshot keeps the same objects', async () => {
    const { service, registry, replica } = setup();
    await service.seed();
    await service.sync();
    const users = registry.get('users');
    await replica().service.create(PAYMENTS);
    await service.sync();
    expect(registry.get('users')).toBe(users);
    expect(registry.get('payments')).toBeDefined();
  });
});

describe('SourcesService.exportYaml', () => {
  it('exports the live registry as a sources file that seeds an equal registry (archived sources left out)', async () => {
    const { service, registry } = setup();
    await service.seed();
    await service.create(PAYMENTS);
    await service.create({ name: 'gone' });
    await service.archive('gone');
    await service.sync();

    const yaml = await service.exportYaml();

    const reimported = setup(yaml);
    await reimported.service.seed();
    await reimported.service.sync();
    const view = (r: SourcesRegistry) =>
      r
        .list()
        .map(({ validate: _validate, schemaVersion: _version, ...rest }) => rest)
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(view(reimported.registry)).toEqual(view(registry));
    expect(reimported.registry.find('gone')).toBeUndefined();
    expect(SourcesRegistry.parse(yaml, 'export', 1048576).map((s) => s.name)).toEqual(['clicks', 'orders', 'payments', 'users']);
  });
});

describe('SourcesService.schemaCheck', () => {
  it("answers the verdict and how many of the source's stored events the candidate refuses, with the first reasons", async () => {
    const { service, events } = setup();
    await service.seed();
    const now = Date.now();
    const stored = (i: number, payload: object) => ({
      eventId: `0193b0a4-5b7e-7c1a-9a51-${String(i).padStart(12, '0')}`,
      source: 'orders',
      receivedAt: new Date(now - i * 60_000),
      payload: Buffer.from(JSON.stringify(payload)),
    });
    events.insert(stored(1, { order_id: 'a', amount: 1 }), stored(2, { order_id: 'b', amount: 1.5 }), stored(3, { order_id: 'c', amount: 2.5 }));

    const check = await service.schemaCheck('orders', {
      type: 'object',
      required: ['order_id', 'amount'],
      properties: { order_id: { type: 'string' }, amount: { type: 'integer' } },
    });

    expect(check).toMatchObject({
      compatible: false,
      compatibility: 'backward',
      incompatibilities: [{ field: '/properties/amount/type', message: 'narrowed from number to integer' }],
      checked: 3,
      refused: 2,
    });
    expect(check.reasons).toEqual([
      { eventId: stored(2, {}).eventId, receivedAt: expect.any(String), field: '/amount', message: 'must be integer' },
      { eventId: stored(3, {}).eventId, receivedAt: expect.any(String), field: '/amount', message: 'must be integer' },
    ]);
  });

  it('reads at most the last 1000 events', async () => {
    const { service, events } = setup();
    await service.seed();
    const now = Date.now();
    for (let i = 0; i < 1005; i++) {
      events.insert({
        eventId: `0193b0a4-5b7e-7c1a-9a51-${String(i).padStart(12, '0')}`,
        source: 'clicks',
        receivedAt: new Date(now - i * 1000),
        payload: Buffer.from('{}'),
      });
    }
    const check = await service.schemaCheck('clicks', { description: 'any event, as before' });
    expect(check).toMatchObject({ compatible: true, checked: 1000, refused: 0, reasons: [] });
  });

  it('answers 400 for a candidate outside the supported subset', async () => {
    const { service } = setup();
    await service.seed();
    expect((await failure(service.schemaCheck('orders', { $ref: '#/x' }))).statusCode).toBe(400);
  });
});
