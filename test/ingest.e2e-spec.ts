import { INestApplication } from '@nestjs/common';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { AUTH, readEvents, startApp, topicEnd } from './support/harness';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('POST /api/v1/ingest/{source} against a real Kafka broker', () => {
  let app: INestApplication;
  const post = (source: string) => request(app.getHttpServer()).post(`/api/v1/ingest/${source}`).set(AUTH);

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('publishes one JSON event in the envelope to the source topic, keyed by its keyField', async () => {
    const before = Date.now();
    const res = await post('users').set('Content-Type', 'application/json').send({ name: 'Ada', email: 'ada@example.com' }).expect(202);
    expect(res.body.accepted).toBe(1);
    expect(res.body.eventIds).toHaveLength(1);
    const [id] = res.body.eventIds;
    expect(id).toMatch(UUID_V7);

    const messages = await readEvents('users_created', [id]);
    const msg = messages.get(id)!;
    expect(msg.key).toBe('ada@example.com');
    expect(msg.value).toEqual({
      eventId: id,
      source: 'users',
      receivedAt: expect.any(String),
      key: 'ada@example.com',
      payload: { name: 'Ada', email: 'ada@example.com' },
    });
    expect(Date.parse(msg.value.receivedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('publishes a JSON array as one event per element, in order, keyed by eventId without a keyField', async () => {
    const events = [{ page: '/a' }, { page: '/b' }, { page: '/c' }];
    const res = await post('clicks').send(events).expect(202);
    expect(res.body.accepted).toBe(3);
    const messages = await readEvents('ingest.clicks', res.body.eventIds);
    res.body.eventIds.forEach((id: string, i: number) => {
      const msg = messages.get(id)!;
      expect(msg.key).toBe(id);
      expect(msg.value.payload).toEqual(events[i]);
      expect(msg.value.key).toBeUndefined();
    });
  });

  it('publishes NDJSON, one event per non-empty line', async () => {
    const body = '{"order_id":"o-1","amount":10,"currency":"EUR"}\n\n{"order_id":"o-2","amount":0.5,"currency":"USD"}\n';
    const res = await post('orders').set('Content-Type', 'application/x-ndjson').send(body).expect(202);
    expect(res.body.accepted).toBe(2);
    const messages = await readEvents('ingest.orders', res.body.eventIds);
    expect(messages.get(res.body.eventIds[0])!.value.payload.order_id).toBe('o-1');
    expect(messages.get(res.body.eventIds[1])!.key).toBe('o-2');
  });

  describe('Idempotency-Key', () => {
    const keyed = (key: string, events: unknown) =>
      post('clicks')
        .set('Idempotency-Key', key)
        .send(events as object);

    it('answers a retry with the same key and body with the first answer, marked replayed, and publishes once', async () => {
      const key = `retry-${Date.now()}`;
      const first = await keyed(key, [{ a: 1 }, { a: 2 }]).expect(202);
      const end = await topicEnd('ingest.clicks');

      const second = await keyed(key, [{ a: 1 }, { a: 2 }]).expect(202);

      expect(second.body).toEqual(first.body);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(await topicEnd('ingest.clicks')).toBe(end);
    });

    it('answers 422 to the same key with another body, and publishes nothing', async () => {
      const key = `reused-${Date.now()}`;
      await keyed(key, { a: 1 }).expect(202);
      const end = await topicEnd('ingest.clicks');

      const res = await keyed(key, { a: 2 }).expect(422);

      expect(res.body.message).toMatch(new RegExp(`^Idempotency-Key "${key}" was already used for a different request body to source "clicks"`));
      expect(await topicEnd('ingest.clicks')).toBe(end);
    });

    it('publishes concurrent requests with one key once: the others are 409 while it is in flight, or its answer after', async () => {
      const key = `concurrent-${Date.now()}`;
      const events = Array.from({ length: 500 }, (_, i) => ({ i, pad: 'x'.repeat(200) }));
      const before = await topicEnd('ingest.clicks');

      const answers = await Promise.all(Array.from({ length: 5 }, () => keyed(key, events)));

      const first = answers.filter((r) => r.status === 202 && r.headers['idempotent-replayed'] === undefined);
      const conflicts = answers.filter((r) => r.status === 409);
      expect(first).toHaveLength(1);
      expect(conflicts.length).toBeGreaterThanOrEqual(1);
      for (const r of conflicts) expect(r.headers['retry-after']).toBe('1');
      for (const r of answers.filter((a) => a.status === 202)) expect(r.body).toEqual(first[0].body);
      expect(answers.every((r) => r.status === 202 || r.status === 409)).toBe(true);
      expect((await topicEnd('ingest.clicks')) - before).toBe(500);
    });
  });

  describe('bad input is refused with a message that says what to fix, and publishes nothing', () => {
    const big = JSON.stringify({ blob: 'x'.repeat(300 * 1024) });
    const cases: [string, string, string, string | object, number, RegExp][] = [
      ['invalid JSON', 'users', 'application/json', '{"name": "Ada"', 400, /not valid JSON/],
      ['invalid NDJSON line', 'clicks', 'application/x-ndjson', '{"a":1}\n{oops}\n', 400, /line 2/],
      ['an empty batch', 'clicks', 'application/json', '[]', 400, /empty/],
      ['an empty body', 'clicks', 'application/json', '', 400, /empty/],
      ['a non-object event', 'clicks', 'application/json', '[{"a":1}, 42]', 400, /event 1/],
      // users rejects invalid events (orders quarantines them: see deadletters.e2e-spec.ts).
      ['a schema violation', 'users', 'application/json', { name: 'Ada', email: 'not-an-email' }, 400, /schema of source "users"/],
      ['a body over the source limit', 'clicks', 'application/json', big, 413, /262144/],
      ['an unsupported content type', 'clicks', 'text/plain', 'hello', 415, /application\/x-ndjson/],
    ];

    it.each(cases)('%s', async (_name, source, contentType, body, status, message) => {
      const topic = source === 'users' ? 'users_created' : `ingest.${source}`;
      const before = await topicEnd(topic);
      const res = await post(source)
        .set('Content-Type', contentType)
        .send(body as string)
        .expect(status);
      expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String), requestId: expect.any(String) });
      expect(res.body.message).toMatch(message);
      expect(await topicEnd(topic)).toBe(before);
    });

    it('lists every failing field, with the event index, for a batch', async () => {
      const before = await topicEnd('users_created');
      const res = await post('users')
        .send([{ name: 'ok', email: 'ok@example.com' }, { name: 5 }, { email: 'x', post_code: 1.5 }])
        .expect(400);
      expect(res.body.details).toEqual(
        expect.arrayContaining([
          { index: 1, field: '/name', message: 'must be string' },
          { index: 2, field: '/email', message: expect.stringContaining('format') },
          { index: 2, field: '/post_code', message: expect.stringContaining('must be string') },
        ]),
      );
      expect(await topicEnd('users_created')).toBe(before);
    });

    it('answers 404 naming the configured sources for an unknown source', async () => {
      const res = await post('nope').send({ a: 1 }).expect(404);
      expect(res.body.message).toMatch(/Unknown source "nope".*users/);
    });

    it('answers 401 without an API key and with a wrong one', async () => {
      await request(app.getHttpServer()).post('/api/v1/ingest/users').send({ name: 'x' }).expect(401);
      const res = await request(app.getHttpServer())
        .post('/api/v1/ingest/users')
        .set('Authorization', 'Bearer wrong-key-wrong-key-wrong')
        .send({ name: 'x' })
        .expect(401);
      expect(res.body.message).toBe('Invalid API key');
    });
  });

  describe('bodies a fuzzer and real senders cannot break', () => {
    // superagent would JSON-encode a Buffer sent as application/json; this sends its bytes as they are.
    const asIs = (bytes: Buffer): string => bytes as unknown as string;

    it('publishes a gzip-compressed batch as its events', async () => {
      const events = [{ page: '/zürich' }, { page: '/gz', n: 2 }];
      const res = await post('clicks')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .serialize(asIs)
        .send(gzipSync(JSON.stringify(events)))
        .expect(202);
      const messages = await readEvents('ingest.clicks', res.body.eventIds);
      expect(res.body.eventIds.map((id: string) => messages.get(id)!.value.payload)).toEqual(events);
    });

    const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    const cases: [string, Record<string, string>, Buffer, number, RegExp][] = [
      ['Content-Encoding br', { 'Content-Encoding': 'br' }, bytes('{"page":"/"}'), 415, /^Content-Encoding "br" is not supported: .*gzip or deflate/],
      ['corrupt gzip', { 'Content-Encoding': 'gzip' }, bytes('{"page":"/"}'), 400, /^The body is not valid gzip data/],
      ['invalid UTF-8', {}, bytes('{"page":"', [0xc3, 0x28], '"}'), 400, /^The body is not valid UTF-8 at byte offset 9: /],
      ['a number out of range (1e400)', {}, bytes('[{"n":1},{"n":{"m":1e400}}]'), 400, /^event 1 has a number too large for a double at \/n\/m: /],
      [
        'an event 100,000 levels deep',
        {},
        bytes(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
        400,
        /^the event nests objects and arrays deeper than 64 levels/,
      ],
    ];

    it.each(cases)('refuses %s with a message that says what to fix, and publishes nothing', async (_name, headers, body, status, message) => {
      const before = await topicEnd('ingest.clicks');
      const res = await post('clicks').set('Content-Type', 'application/json').set(headers).serialize(asIs).send(body).expect(status);
      expect(res.body).toMatchObject({ statusCode: status, error: expect.any(String), requestId: expect.any(String) });
      expect(res.body.message).toMatch(message);
      if (status === 415) expect(res.headers['accept-encoding']).toBe('gzip, deflate');
      expect(await topicEnd('ingest.clicks')).toBe(before);
    });
  });

  it('lists the configured sources with their topics', async () => {
    const res = await request(app.getHttpServer()).get('/api/v1/sources').set('Authorization', `Bearer ${AUTH['X-API-Key']}`).expect(200);
    expect(res.body.sources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'users', topic: 'users_created' })]));
  });

  it('echoes X-Request-Id and uses it in error bodies', async () => {
    const res = await post('nope').set('X-Request-Id', 'trace-abc-123').send({}).expect(404);
    expect(res.headers['x-request-id']).toBe('trace-abc-123');
    expect(res.body.requestId).toBe('trace-abc-123');
  });
});
