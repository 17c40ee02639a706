import { INestApplication } from '@nestjs/common';
import { ChildProcess } from 'node:child_process';
import request from 'supertest';
import { AUTH, eventually, spawnApi, startApp } from './support/harness';

/**
 * Scoped keys and the audit trail against the real stack: a key's scopes on the hot ingest route and
 * on the Nest routes, a revocation through one API process reaching another (a second process,
 * spawned, reading the same keys table), a rotation's grace, and the audit trail of all of it.
 */
describe('scoped keys and the audit trail', () => {
  let app: INestApplication;
  let other: { process: ChildProcess; url: string } | undefined;
  const api = () => request(app.getHttpServer());
  const otherApi = () => request(other!.url);
  const created: string[] = [];
  const startedAt = new Date(Date.now() - 1000).toISOString();

  const createKey = async (name: string, scopes: string[], requestId: string) => {
    const { body } = await api()
      .post('/api/v1/keys')
      .set({ ...AUTH, 'X-Request-Id': requestId })
      .send({ name, scopes })
      .expect(201);
    created.push(body.id);
    return body as { id: string; key: string };
  };

  beforeAll(async () => {
    app = await startApp({ KEYS_SYNC_SECONDS: '2' });
    await app.listen(0, '127.0.0.1');
    other = await spawnApi({ KEYS_SYNC_SECONDS: '2' });
  }, 120_000);

  afterAll(async () => {
    // Whatever a failed test left working: no key of this run outlives it.
    for (const id of created) await api().delete(`/api/v1/keys/${id}`).set(AUTH);
    other?.process.kill('SIGTERM');
    await app?.close();
  });

  it('a key with ingest:<source> is 202 on that source, 403 on another, on GET /records and on GET /keys', async () => {
    const { key } = await createKey('e2e orders sender', ['ingest:orders'], 'e2e-access-create-1');
    const as = { 'X-API-Key': key };
    const order = { order_id: `e2e-${Date.now()}`, amount: 1, currency: 'EUR' };

    await api().post('/api/v1/ingest/orders').set(as).send(order).expect(202);
    for (const res of [
      await api().post('/api/v1/ingest/users').set(as).send({ name: 'Ada' }),
      await api().get('/api/v1/records/orders').set(as),
      await api().get('/api/v1/keys').set(as),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden', details: [{ field: 'scope', message: expect.stringMatching(/^requires /) }] });
    }
    // The other process learns of the key from the keys table, and serves the hot route with it too.
    await eventually(
      'the key working on the other process',
      async () => ((await otherApi().post('/api/v1/ingest/orders').set(as).send(order)).status === 202 ? true : undefined),
      10_000,
      200,
    );
  });

  it('a key revoked through one API process is 401 on another within 5 s', async () => {
    const { id, key } = await createKey('e2e revoked', ['read:*'], 'e2e-access-create-2');
    const as = { 'X-API-Key': key };
    await eventually(
      'the key working on the other process',
      async () => ((await otherApi().get('/api/v1/records/orders?limit=1').set(as)).status === 200 ? true : undefined),
      10_000,
      200,
    );

    await api()
      .delete(`/api/v1/keys/${id}`)
      .set({ ...AUTH, 'X-Request-Id': 'e2e-access-revoke' })
      .expect(204);
    const revokedAt = Date.now();
    await api().get('/api/v1/records/orders?limit=1').set(as).expect(401);
    const status = await eventually(
      'the other process refusing the revoked key',
      async () => {
        const res = await otherApi().get('/api/v1/records/orders?limit=1').set(as);
        return res.status === 401 ? res.status : undefined;
      },
      10_000,
      100,
    );
    const delay = Date.now() - revokedAt;

    process.stdout.write(`revocation reached the other API process in ${delay} ms\n`);
    expect(status).toBe(401);
    expect(delay).toBeLessThan(5000);
  });

  it("a rotated key's old secret works during the grace, and not after", async () => {
    const { id, key: old } = await createKey('e2e rotated', ['read:*'], 'e2e-access-create-3');

    const { body: rotated } = await api()
      .post(`/api/v1/keys/${id}/rotate`)
      .set({ ...AUTH, 'X-Request-Id': 'e2e-access-rotate' })
      .send({ graceSeconds: 4 })
      .expect(200);
    const rotatedAt = Date.now();

    expect(rotated.id).toBe(id);
    await api().get('/api/v1/records/orders?limit=1').set({ 'X-API-Key': old }).expect(200);
    await api().get('/api/v1/records/orders?limit=1').set({ 'X-API-Key': rotated.key }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, rotatedAt + 4500 - Date.now()));
    await api().get('/api/v1/records/orders?limit=1').set({ 'X-API-Key': old }).expect(401);
    await api().get('/api/v1/records/orders?limit=1').set({ 'X-API-Key': rotated.key }).expect(200);
    await eventually(
      'the other process refusing the old secret',
      async () => ((await otherApi().get('/api/v1/records/orders?limit=1').set({ 'X-API-Key': old })).status === 401 ? true : undefined),
      5000,
      200,
    );
    await otherApi().get('/api/v1/records/orders?limit=1').set({ 'X-API-Key': rotated.key }).expect(200);
  });

  it('the audit trail lists those actions with the actor and the request id', async () => {
    const { body } = await api().get('/api/v1/audit').query({ from: startedAt, action: 'key.*', limit: 1000 }).set(AUTH).expect(200);
    const mine = body.events.filter((e: { requestId?: string }) => e.requestId?.startsWith('e2e-access-'));
    const actor = mine[0]?.actor as string;

    expect(actor).toMatch(/^bootstrap:[0-9a-f]{4}$/);
    expect(mine.map(({ action, requestId, outcome }: Record<string, unknown>) => ({ action, requestId, outcome }))).toEqual([
      { action: 'key.rotate', requestId: 'e2e-access-rotate', outcome: 200 },
      { action: 'key.create', requestId: 'e2e-access-create-3', outcome: 201 },
      { action: 'key.revoke', requestId: 'e2e-access-revoke', outcome: 204 },
      { action: 'key.create', requestId: 'e2e-access-create-2', outcome: 201 },
      { action: 'key.create', requestId: 'e2e-access-create-1', outcome: 201 },
    ]);
    expect(mine.every((e: { actor: string; actorName: string }) => e.actor === actor && e.actorName === 'bootstrap')).toBe(true);
    expect(mine.find((e: { action: string }) => e.action === 'key.revoke').target).toBe(created[1]);
  });
});
