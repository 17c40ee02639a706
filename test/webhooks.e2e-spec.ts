import { INestApplication } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import { API_KEY, AUTH, readEvents, ROOT, startApp, topicEnd, WEBHOOKS_SIGNING_SECRET } from './support/harness';

const TOPIC = 'ingest.webhooks';
const KEY = Buffer.from(WEBHOOKS_SIGNING_SECRET.slice('whsec_'.length), 'base64');

/** The three Standard Webhooks headers of `body`, signed with `key` (the development secret's key by default). */
function signed(body: string, { id = `msg_${Date.now()}_${Math.random().toString(36).slice(2)}`, timestamp = Math.floor(Date.now() / 1000), key = KEY } = {}) {
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

describe('POST /api/v1/ingest/webhooks: Standard Webhooks deliveries, without an API key', () => {
  let app: INestApplication;
  const deliver = (body: string, headers: Record<string, string>) =>
    request(app.getHttpServer()).post('/api/v1/ingest/webhooks').set('Content-Type', 'application/json').set(headers).send(body);

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('publishes a delivery signed with the development secret to ingest.webhooks; a redelivery gets the first answer and publishes nothing', async () => {
    const body = '{"type":"invoice.paid","invoice":"in_e2e","amount":1200}';
    const headers = signed(body);

    const res = await deliver(body, headers).expect(202);

    expect(res.body.accepted).toBe(1);
    const [id] = res.body.eventIds;
    const message = (await readEvents(TOPIC, [id])).get(id)!;
    expect(message.value).toMatchObject({ eventId: id, source: 'webhooks', payload: { type: 'invoice.paid', invoice: 'in_e2e', amount: 1200 } });
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    // The sender retries later: new timestamp and signature, same webhook-id.
    const end = await topicEnd(TOPIC);
    const retried = await deliver(body, signed(body, { id: headers['webhook-id'], timestamp: Number(headers['webhook-timestamp']) + 30 })).expect(202);
    expect(retried.body).toEqual(res.body);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(await topicEnd(TOPIC)).toBe(end);
  });

  it('answers a captured delivery sent again with a fresh Idempotency-Key with the first answer: replayed, not accepted again', async () => {
    const body = '{"type":"invoice.paid","invoice":"in_captured","amount":1200}';
    const headers = signed(body);
    const first = await deliver(body, { ...headers, 'Idempotency-Key': 'the-sender-s-key' }).expect(202);
    const end = await topicEnd(TOPIC);

    for (const key of ['a-fresh-key-1', 'a-fresh-key-2']) {
      const replay = await deliver(body, { ...headers, 'Idempotency-Key': key }).expect(202);
      expect(replay.body).toEqual(first.body);
      expect(replay.headers['idempotent-replayed']).toBe('true');
    }
    expect(await topicEnd(TOPIC)).toBe(end);
  });

  it('answers 422 to a delivery id reused for another body, and publishes nothing', async () => {
    const first = signed('{"n":1}');
    await deliver('{"n":1}', first).expect(202);
    const end = await topicEnd(TOPIC);

    const res = await deliver('{"n":2}', signed('{"n":2}', { id: first['webhook-id'] })).expect(422);

    expect(res.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity', requestId: expect.any(String) });
    expect(res.body.message).toMatch(/^webhook-id "msg_.*" was already used for a different request body to source "webhooks"/);
    expect(await topicEnd(TOPIC)).toBe(end);
  });

  it.each<[string, () => [string, Record<string, string>], string, RegExp]>([
    [
      'a signature made with another secret',
      () => ['{"n":1}', signed('{"n":1}', { key: Buffer.from('not the secret') })],
      'no_match',
      /^No signature in webhook-signature matches/,
    ],
    ['a body changed after signing', () => ['{"n":2}', signed('{"n":1}')], 'no_match', /^No signature in webhook-signature matches/],
    [
      'a stale delivery',
      () => ['{"n":1}', signed('{"n":1}', { timestamp: Math.floor(Date.now() / 1000) - 600 })],
      'timestamp_too_old',
      /s old; deliveries older than 300 s are refused/,
    ],
    [
      'a delivery dated in the future',
      () => ['{"n":1}', signed('{"n":1}', { timestamp: Math.floor(Date.now() / 1000) + 600 })],
      'timestamp_in_future',
      /s in the future/,
    ],
    ['no signature, even with a valid API key', () => ['{"n":1}', { 'X-API-Key': API_KEY }], 'missing_header', /an API key does not replace the signature/],
  ])('answers 401 to %s, in the one error shape, and publishes nothing', async (_case, make, problem, message) => {
    const [body, headers] = make();
    const before = await topicEnd(TOPIC);

    const res = await deliver(body, headers).expect(401);

    expect(res.body).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      details: [{ source: 'webhooks', scheme: 'standard-webhooks', problem }],
      requestId: expect.any(String),
    });
    expect(res.body.message).toMatch(message);
    expect(await topicEnd(TOPIC)).toBe(before);
  });

  it('still needs the API key for an unsigned source, and refuses two keys that disagree', async () => {
    await request(app.getHttpServer()).post('/api/v1/ingest/clicks').send({ n: 1 }).expect(401);
    const res = await request(app.getHttpServer())
      .post('/api/v1/ingest/clicks')
      .set(AUTH)
      .set('Authorization', 'Bearer another-key-0123456789')
      .send({ n: 1 })
      .expect(401);
    expect(res.body.message).toBe('X-API-Key and Authorization carry different keys');
  });

  it('lists the webhooks source with its signature scheme', async () => {
    const res = await request(app.getHttpServer()).get('/api/v1/sources').set(AUTH).expect(200);
    expect(res.body.sources).toEqual(
      expect.arrayContaining([
        {
          name: 'webhooks',
          topic: TOPIC,
          description: expect.any(String),
          maxBodyBytes: expect.any(Number),
          signatureScheme: 'standard-webhooks',
          onInvalid: 'reject',
          bucket: '1h',
          bucketSeconds: 3600,
        },
      ]),
    );
  });

  it('accepts the delivery of docs/api.md signed with openssl and sent with curl', async () => {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const readme = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    const script = /```bash\n(SECRET=whsec_[\s\S]*?)```/.exec(readme)![1].replace('localhost:3000', `127.0.0.1:${port}`);

    // Asynchronously: the app answering curl runs in this very process.
    const { stdout: out } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8', timeout: 30000 });

    const answer = JSON.parse(out) as { accepted: number; eventIds: string[] };
    expect(answer.accepted).toBe(1);
    const message = (await readEvents(TOPIC, answer.eventIds)).get(answer.eventIds[0])!;
    expect(message.value.payload).toEqual({ type: 'invoice.paid', invoice: 'in_42', amount: 1200 });
  });
});
