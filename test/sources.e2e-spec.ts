import { INestApplication } from '@nestjs/common';
import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Client } from 'cassandra-driver';
import request from 'supertest';
import { uuidV7 } from '../src/common/ids/uuid-v7';
import { AUTH, cassandra, eventually, requestOnNewConnection, spawnApi, startApp } from './support/harness';

/**
 * Sources as resources against the real stack: a source created through one API process is taken by
 * another within SOURCES_SYNC_SECONDS (plus one read), schema changes are checked and versioned, a
 * schema check counts the stored events a candidate refuses, and an archived source answers 410 on
 * ingest while its records stay readable. Every source is named with a suffix of this run: archived
 * names are never reused.
 */
describe('sources and schemas (e2e)', () => {
  let app: INestApplication;
  let other: { process: ChildProcess; url: string };
  let db: Client;
  const api = () => request(app.getHttpServer());
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const created: string[] = [];
  const AMOUNTS = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, amount: { type: 'number' } } };

  const create = async (suffix: string, body: Record<string, unknown> = {}) => {
    const name = `e2e-${suffix}-${run}`;
    const res = await api()
      .post('/api/v1/sources')
      .set(AUTH)
      .send({ name, ...body })
      .expect(201);
    created.push(name);
    return { name, etag: res.headers.etag, body: res.body };
  };

  beforeAll(async () => {
    app = await startApp({ SOURCES_SYNC_SECONDS: '2' });
    // Kafka and Cassandra are what sources need (the migrations have run once Cassandra is up); Livy and Airflow are not.
    await eventually(
      'Kafka and Cassandra ready',
      async () => {
        const { body } = await api().get('/health/ready');
        return body.details?.kafka?.status === 'up' && body.details?.cassandra?.status === 'up' ? true : undefined;
      },
      120_000,
    );
    // Two workers: each learns of a change on its own, and every one of them must within the 5 s.
    other = await spawnApi({ SOURCES_SYNC_SECONDS: '2', API_WORKERS: '2' });
    db = await cassandra();
  }, 240_000);

  afterAll(async () => {
    // Archive what this run created and left live (an archived name stays taken, the records stay readable).
    for (const name of created) await api().delete(`/api/v1/sources/${name}`).set(AUTH);
    if (other && other.process.exitCode === null) {
      const exited = once(other.process, 'exit');
      other.process.kill('SIGTERM');
      await exited;
    }
    await db?.shutdown();
    await app?.close();
  }, 60_000);

  it('a source created through one process is ingestible through every worker of another within 5 s', async () => {
    const send = (name: string, body: string) =>
      requestOnNewConnection(other.url, 'POST', `/api/v1/ingest/${name}`, { headers: { ...AUTH, 'Content-Type': 'application/json' }, body });
    expect((await send(`e2e-propagation-${run}`, '{"id":"a"}')).status).toBe(404);

    const createdAt = Date.now();
    const { name } = await create('propagation', { schema: AMOUNTS });
    const delayMs = await eventually(
      'every worker of the other process taking the new source',
      async () => {
        // Each request on a connection of its own, which the primary hands to its workers in turn.
        const answers = await Promise.all(Array.from({ length: 8 }, () => send(name, '{"id":"a","amount":1}')));
        return answers.every((a) => a.status === 202) ? Date.now() - createdAt : undefined;
      },
      10_000,
      100,
    );
    console.log(`a new source reached every worker of the other API process in ${delayMs} ms`);
    expect(delayMs).toBeLessThan(5000);
  }, 30_000);

  it('answers 409 with the path for a backward-incompatible change, and makes version 2 of a compatible one', async () => {
    const { name, etag } = await create('schemas', { schema: AMOUNTS });

    const narrowed = await api()
      .put(`/api/v1/sources/${name}`)
      .set(AUTH)
      .set('If-Match', etag)
      .send({ schema: { ...AMOUNTS, properties: { ...AMOUNTS.properties, amount: { type: 'integer' } } } })
      .expect(409);
    expect(narrowed.body.details).toEqual([{ field: '/properties/amount/type', message: 'narrowed from number to integer' }]);

    const widened = await api()
      .put(`/api/v1/sources/${name}`)
      .set(AUTH)
      .set('If-Match', etag)
      .send({ schema: { ...AMOUNTS, required: [] } })
      .expect(200);
    expect(widened.body).toMatchObject({ version: 2, schemaVersion: 2 });
    await api().put(`/api/v1/sources/${name}`).set(AUTH).set('If-Match', etag).send({ schema: AMOUNTS }).expect(412);

    const versions = await api().get(`/api/v1/sources/${name}/schemas`).set(AUTH).expect(200);
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('counts the stored events a candidate schema refuses', async () => {
    const { name } = await create('check', { schema: AMOUNTS });
    const now = new Date();
    const bucket = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    await db.execute(
      'INSERT INTO event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)',
      [name, bucket.toISOString().slice(0, 10), bucket, 3600],
      {
        prepare: true,
      },
    );
    const payloads = [
      { id: 'a', amount: 1 },
      { id: 'b', amount: 1.5 },
      { id: 'c', amount: 2.5 },
    ];
    for (let i = 0; i < payloads.length; i++) {
      await db.execute(
        'INSERT INTO events_by_bucket (source, bucket, received_at, event_id, key, payload, processed_at, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [name, bucket, new Date(now.getTime() - i * 1000), uuidV7(), null, JSON.stringify(payloads[i]), now, 1],
        { prepare: true },
      );
    }

    const res = await api()
      .post(`/api/v1/sources/${name}/schema-check`)
      .set(AUTH)
      .send({ schema: { ...AMOUNTS, properties: { ...AMOUNTS.properties, amount: { type: 'integer' } } } })
      .expect(200);

    expect(res.body).toMatchObject({ compatible: false, checked: 3, refused: 2 });
    expect(res.body.reasons).toEqual([
      expect.objectContaining({ field: '/amount', message: 'must be integer' }),
      expect.objectContaining({ field: '/amount' }),
    ]);

    const records = await api().get(`/api/v1/records/${name}`).set(AUTH).expect(200);
    expect(records.body.items.map((r: { schemaVersion?: number }) => r.schemaVersion)).toEqual([1, 1, 1]);
  });

  it('archives a source: ingest answers 410 naming it, its records stay readable, its name is not reused', async () => {
    const { name } = await create('archive');
    const now = new Date();
    const bucket = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    await db.execute(
      'INSERT INTO event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)',
      [name, bucket.toISOString().slice(0, 10), bucket, 3600],
      {
        prepare: true,
      },
    );
    await db.execute(
      'INSERT INTO events_by_bucket (source, bucket, received_at, event_id, key, payload, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [name, bucket, now, uuidV7(), null, '{"kept":true}', now],
      { prepare: true },
    );

    await api().delete(`/api/v1/sources/${name}`).set(AUTH).expect(200);

    const gone = await api().post(`/api/v1/ingest/${name}`).set(AUTH).set('Content-Type', 'application/json').send('{"a":1}').expect(410);
    expect(gone.body.message).toContain(name);
    await eventually(
      'the other process answering 410',
      async () => {
        const res = await fetch(`${other.url}/api/v1/ingest/${name}`, {
          method: 'POST',
          headers: { ...AUTH, 'Content-Type': 'application/json' },
          body: '{"a":1}',
        });
        return res.status === 410 ? true : undefined;
      },
      10_000,
      200,
    );
    const records = await api().get(`/api/v1/records/${name}`).set(AUTH).expect(200);
    expect(records.body.items.map((r: { payload: unknown }) => r.payload)).toEqual([{ kept: true }]);
    await api()
      .post('/api/v1/sources')
      .set(AUTH)
      .send({ name, topic: `other.${name}` })
      .expect(409);
  });
});
