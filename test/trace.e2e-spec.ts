import { INestApplication } from '@nestjs/common';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { AUTH, eventually, readEvents, startApp } from './support/harness';

/** The shipped clicks source copies these request headers (config/sources.yaml). */
const COPIED = ['user-agent', 'x-session-id'];
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = /^[0-9a-f]{16}$/;

/**
 * A POST sent as the exact bytes given, as curl sends a header typed in a UTF-8 shell. (Node's client
 * writes the headers of a request with a body in the body's encoding, so its bytes are not the test's
 * to choose.) Answers the status, the headers (lower-cased) and the JSON body.
 */
function rawPost(
  port: number,
  path: string,
  headers: [string, Buffer | string][],
  body: string,
): Promise<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }> {
  const head = Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`,
    ),
    ...headers.map(([name, value]) => Buffer.concat([Buffer.from(`${name}: `), Buffer.from(value), Buffer.from('\r\n')])),
    Buffer.from('\r\n'),
  ]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([head, Buffer.from(body)])));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top, rest] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
      const [statusLine, ...lines] = top.split('\r\n');
      const answerHeaders = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers: answerHeaders, body: JSON.parse(rest) as Record<string, unknown> });
    });
  });
}

interface StoredRecord {
  eventId: string;
  traceId?: string;
  headers?: Record<string, string>;
}

describe('following an event: trace context and record headers, from the request to the stored row', () => {
  let app: INestApplication;
  const api = () => request(app.getHttpServer());

  let port: number;

  beforeAll(async () => {
    app = await startApp();
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
    // A registry seeded before clicks copied headers (a stack started by an older version) gets them here.
    const current = await api().get('/api/v1/sources/clicks').set(AUTH).expect(200);
    const { headers: copied = [] } = current.body as { headers?: string[] };
    if (COPIED.some((h) => !copied.map((c) => c.toLowerCase()).includes(h))) {
      const { topic, description, maxBodyBytes, peakEventsPerSecond } = current.body as Record<string, unknown>;
      await api()
        .put('/api/v1/sources/clicks')
        .set(AUTH)
        .set('If-Match', current.headers.etag)
        .send({ topic, description, maxBodyBytes, peakEventsPerSecond, headers: ['User-Agent', 'X-Session-Id'] })
        .expect(200);
    }
  });
  afterAll(async () => {
    await app?.close();
  });

  /** The stored record of each id, once all are stored, read through GET /records. */
  async function storedRecords(ids: string[], since: number): Promise<Map<string, StoredRecord>> {
    const query = new URLSearchParams({ from: new Date(since - 60_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString(), limit: '1000' });
    return eventually(
      `${ids.length} clicks stored`,
      async () => {
        const res = await api().get(`/api/v1/records/clicks?${query}`).set(AUTH).expect(200);
        const found = new Map<string, StoredRecord>((res.body.items as StoredRecord[]).filter((r) => ids.includes(r.eventId)).map((r) => [r.eventId, r]));
        return found.size === ids.length ? found : undefined;
      },
      180_000,
      1000,
    );
  }

  it("keeps the caller's trace id in the answer, the Kafka record's headers and the stored row, with the copied headers", async () => {
    const since = Date.now();
    const res = await rawPost(
      port,
      '/api/v1/ingest/clicks',
      [
        ['X-API-Key', AUTH['X-API-Key']],
        ['traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-01`],
        ['tracestate', 'rojo=00f067aa0ba902b7'],
        ['User-Agent', Buffer.from('e2e-browser/1.0 (café)')],
        ['X-Session-Id', 'session-7'],
        ['X-Not-Copied', 'nope'],
      ],
      JSON.stringify([{ page: '/traced/a' }, { page: '/traced/b' }]),
    );
    expect(res.status).toBe(202);
    const ids = res.body.eventIds as string[];
    const [, traceId, span, flags] = res.headers.traceresponse.split('-');
    expect([traceId, flags]).toEqual([TRACE_ID, '01']);
    expect(span).toMatch(SPAN);
    const ours = {
      'user-agent': 'e2e-browser/1.0 (café)',
      'x-session-id': 'session-7',
      'pipeline-source': 'clicks',
      traceparent: `00-${TRACE_ID}-${span}-01`,
      tracestate: 'rojo=00f067aa0ba902b7',
    };

    const published = await readEvents('ingest.clicks', ids);
    for (const id of ids) expect(published.get(id)!.headers).toEqual(ours);

    const stored = await storedRecords(ids, since);
    for (const id of ids) expect(stored.get(id)).toMatchObject({ traceId: TRACE_ID, headers: ours });
  });

  it('starts a trace for a request without one, or with an unparsable one, never refusing it', async () => {
    const since = Date.now();
    const plain = await api().post('/api/v1/ingest/clicks').set(AUTH).send({ page: '/untraced' }).expect(202);
    const garbled = await api().post('/api/v1/ingest/clicks').set(AUTH).set('traceparent', 'ff-not-a-trace').send({ page: '/garbled' }).expect(202);
    const traces = [plain, garbled].map((r) => r.headers.traceresponse.split('-')[1]);
    expect(traces[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(traces[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(traces[0]).not.toBe(traces[1]);

    const ids = [plain.body.eventIds[0] as string, garbled.body.eventIds[0] as string];
    const stored = await storedRecords(ids, since);
    expect(ids.map((id) => stored.get(id)!.traceId)).toEqual(traces);
  });

  it('refuses a copied header that is not UTF-8 with 400 naming it, publishing nothing', async () => {
    const res = await rawPost(
      port,
      '/api/v1/ingest/clicks',
      [
        ['X-API-Key', AUTH['X-API-Key']],
        ['X-Session-Id', Buffer.from([0x73, 0xe9])],
      ],
      JSON.stringify({ page: '/bad-header' }),
    );
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^Header x-session-id is not UTF-8 text/);
  });
});
