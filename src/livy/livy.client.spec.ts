import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../common/config/app-config';
import { ConflictError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { NamesContract, readContract } from '../common/testing/contracts';
import { close, listen, send } from '../common/testing/http-server';
import { rejection } from '../common/testing/rejection';
import { isTerminal, LivyBatch, LivyClient } from './livy.client';

/** A jobs directory with the files the tests submit; Livy sees it as /jobs (SPARK_JOBS_REMOTE_DIR). */
const JOBS_DIR = mkdtempSync(join(tmpdir(), 'livy-client-jobs-'));
for (const f of ['daily_rollup.py', 'pipeline_transforms.py', 'x.py']) writeFileSync(join(JOBS_DIR, f), '\n');
afterAll(() => rmSync(JOBS_DIR, { recursive: true, force: true }));

const configFor = (url: string, env: Record<string, string> = {}): AppConfig =>
  testConfig({ LIVY_URL: url, LIVY_TIMEOUT_MS: '200', SPARK_JOBS_DIR: JOBS_DIR, SPARK_JOBS_REMOTE_DIR: '/jobs', ...env });

/** An axios-like error, as axios builds it for a refusal (response) or a transport failure (code only). */
function axiosError(fields: { code?: string; message?: string; response?: { status: number; data: unknown } }): Error {
  return Object.assign(new Error(fields.message ?? ''), { isAxiosError: true, ...fields });
}

describe('isTerminal (contracts/names.json, which the DAGs also read)', () => {
  const { livy } = readContract<NamesContract>('names.json');

  it.each(livy.terminal_states)('%s is final', (state) => expect(isTerminal(state)).toBe(true));
  it.each([...livy.running_states, livy.lost])("%s is not one of Livy's final states", (state) => expect(isTerminal(state)).toBe(false));
});

describe('LivyClient.mapError', () => {
  it("maps Livy's 400 for a name in use to a ConflictError (409), keeping Livy's message", () => {
    const mapped = LivyClient.mapError(axiosError({ response: { status: 400, data: { msg: 'Duplicate session name: events_stream' } } }));

    expect(mapped).toBeInstanceOf(ConflictError);
    expect(mapped.statusCode).toBe(409);
    expect(mapped.message).toBe('Livy: Duplicate session name: events_stream');
  });

  it('maps any other 400 refusal to 502 naming Livy and passing on its msg', () => {
    const mapped = LivyClient.mapError(axiosError({ response: { status: 400, data: { msg: 'Local path /x cannot be added to user sessions.' } } }));

    expect(mapped).toBeInstanceOf(UpstreamRejectedError);
    expect(mapped).toMatchObject({ statusCode: 502, upstream: 'Livy', details: [{ status: 400 }] });
    expect(mapped.details).not.toContainEqual(expect.objectContaining({ upstream: expect.anything() }));
    expect(mapped.message).toContain('Local path /x cannot be added to user sessions.');
    expect(mapped.message).toContain('400');
  });

  it('keeps a 500 that mentions a duplicate a 502: only the name refusal is a conflict', () => {
    const mapped = LivyClient.mapError(
      axiosError({ response: { status: 500, data: { msg: 'java.lang.IllegalStateException: Duplicate key 12 (attempted merging values a and b)' } } }),
    );

    expect(mapped).toBeInstanceOf(UpstreamRejectedError);
    expect(mapped.statusCode).toBe(502);
  });

  it('maps a 500 answer to 502, passing on a plain-text body', () => {
    const mapped = LivyClient.mapError(axiosError({ response: { status: 500, data: 'java.lang.NullPointerException' } }));

    expect(mapped).toBeInstanceOf(UpstreamRejectedError);
    expect(mapped).toMatchObject({ statusCode: 502, upstream: 'Livy' });
    expect(mapped.message).toContain('500');
    expect(mapped.message).toContain('java.lang.NullPointerException');
  });

  it('maps a body without msg to its JSON text', () => {
    const mapped = LivyClient.mapError(axiosError({ response: { status: 409, data: { error: 'conflict' } } }));

    expect(mapped.message).toContain('{"error":"conflict"}');
  });

  it('maps a refused connection (no response) to 503 with Retry-After', () => {
    const mapped = LivyClient.mapError(axiosError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8998' }));

    expect(mapped).toBeInstanceOf(UpstreamUnavailableError);
    expect(mapped).toMatchObject({ statusCode: 503, upstream: 'Livy' });
    expect(mapped.headers['Retry-After']).toMatch(/^\d+$/);
    expect(mapped.message).toContain('ECONNREFUSED');
  });

  it('names the code when the transport error has no message', () => {
    expect(LivyClient.mapError(axiosError({ code: 'EHOSTUNREACH' })).message).toContain('EHOSTUNREACH');
  });

  it.each(['ECONNABORTED', 'ETIMEDOUT'])('maps %s (the deadline passed) to 504', (code) => {
    const mapped = LivyClient.mapError(axiosError({ code, message: 'timeout of 200ms exceeded' }));

    expect(mapped).toBeInstanceOf(UpstreamTimeoutError);
    expect(mapped).toMatchObject({ statusCode: 504, upstream: 'Livy' });
  });
});

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const SESSIONS: LivyBatch[] = [
  { id: 1, name: 'daily_rollup-0a1b2c3d', state: 'running', appId: 'app-1', appInfo: { driverLogUrl: null } },
  { id: 3, name: 'events_stream', state: 'running', appId: null },
];

/**
 * Imitates the parts of Livy's REST API the client speaks; remembers every request. GET /batches
 * pages as Livy 0.7 does: `sessions` is the slice [from, from + size) of every batch in the order
 * they were created (size 100 when not given), and `total` counts them all.
 */
function fakeLivy(seen: SeenRequest[], sessions: LivyBatch[] = SESSIONS): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://livy');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const route = `${req.method} ${url.pathname}`;
      if (route === 'GET /batches') {
        const from = Number(url.searchParams.get('from') ?? 0);
        const size = Number(url.searchParams.get('size') ?? 100);
        return send(res, 200, { from, total: sessions.length, sessions: sessions.slice(from, from + size) });
      }
      if (route === 'GET /batches/1') return send(res, 200, sessions[0]);
      if (route === 'GET /batches/7' || route === 'GET /batches/7/log') return send(res, 404, { msg: 'Session 7 not found' });
      if (route === 'GET /batches/1/log') {
        return send(res, 200, { id: 1, from: Number(url.searchParams.get('from')), total: 3, log: ['stdout:', 'hello'] });
      }
      if (route === 'GET /batches/66') return send(res, 500, { msg: 'java.lang.IllegalStateException: boom' });
      if (route === 'GET /batches/99') return; // never answers
      if (route === 'POST /batches') {
        const request = JSON.parse(body) as { name?: string };
        if (request.name === 'taken') return send(res, 400, { msg: 'Duplicate session name: taken' });
        if (request.name === 'local') return send(res, 400, { msg: 'Local path /x cannot be added to user sessions.' });
        return send(res, 201, { id: 12, name: request.name, state: 'starting', appId: null, appInfo: {}, log: [] });
      }
      if (route === 'DELETE /batches/3') return send(res, 200, { msg: 'deleted' });
      if (route === 'DELETE /batches/9') return send(res, 404, { msg: 'Session 9 not found' });
      return send(res, 404, { msg: `no route ${route}` });
    });
  });
}

describe('LivyClient against an HTTP server imitating Livy', () => {
  const seen: SeenRequest[] = [];
  const server = fakeLivy(seen);
  let client: LivyClient;

  beforeAll(async () => {
    const port = await listen(server);
    client = new LivyClient(configFor(`http://127.0.0.1:${port}/`));
  });

  afterAll(() => close(server));

  beforeEach(() => (seen.length = 0));

  it("lists the batches from Livy's sessions page, asking for the range from the first", async () => {
    const batches = await client.listBatches();

    expect(batches.map((b) => ({ id: b.id, state: b.state }))).toEqual([
      { id: 1, state: 'running' },
      { id: 3, state: 'running' },
    ]);
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('GET');
    const url = new URL(seen[0].url, 'http://livy');
    expect(url.pathname).toBe('/batches');
    expect(url.searchParams.get('from')).toBe('0');
    expect(Number(url.searchParams.get('size'))).toBeGreaterThan(SESSIONS.length);
  });

  it('returns a known batch', async () => {
    await expect(client.getBatch(1)).resolves.toMatchObject({ id: 1, state: 'running', appId: 'app-1' });
  });

  it('resolves undefined for a batch Livy does not know (404)', async () => {
    await expect(client.getBatch(7)).resolves.toBeUndefined();
  });

  it('returns a page of the log, and undefined for an unknown batch', async () => {
    await expect(client.getLog(1, 5, 2)).resolves.toEqual({ id: 1, from: 5, total: 3, log: ['stdout:', 'hello'] });
    const url = new URL(seen[0].url, 'http://livy');
    expect(url.pathname).toBe('/batches/1/log');
    expect(url.searchParams.get('size')).toBe('2');

    await expect(client.getLog(7, 0, 100)).resolves.toBeUndefined();
  });

  it('maps a 500 from Livy to 502 even where 404 means "unknown"', async () => {
    const err = await rejection(client.getBatch(66));

    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err.statusCode).toBe(502);
    expect(err.message).toContain('java.lang.IllegalStateException: boom');
  });

  it('posts the batch request as JSON with the X-Requested-By header Livy requires', async () => {
    const request = {
      file: '/jobs/daily_rollup.py',
      pyFiles: ['/jobs/pipeline_transforms.py'],
      name: 'daily_rollup-00000000',
      args: ['--day', '2026-01-01'],
      conf: { a: 'b' },
    };

    const batch = await client.createBatch(request);

    expect(batch).toMatchObject({ id: 12, name: 'daily_rollup-00000000', state: 'starting' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/batches' });
    expect(seen[0].headers['x-requested-by']).toBeTruthy();
    expect(seen[0].headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(seen[0].body)).toEqual(request);
  });

  it("maps Livy's refusal of a name in use to a ConflictError (409) with Livy's message", async () => {
    const err = await rejection(client.createBatch({ file: '/jobs/x.py', name: 'taken' }));

    expect(err).toBeInstanceOf(ConflictError);
    expect(err.statusCode).toBe(409);
    expect(err.message).toBe('Livy: Duplicate session name: taken');
  });

  it("maps Livy's other refusals of a batch to 502 with Livy's message", async () => {
    const err = await rejection(client.createBatch({ file: '/jobs/x.py', name: 'local' }));

    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err).toMatchObject({ statusCode: 502, upstream: 'Livy' });
    expect(err.message).toContain('Local path /x cannot be added to user sessions.');
  });

  it.each([
    ['a ".." segment in file', { file: '/jobs/../package.json' }],
    ['a file outside the jobs directory', { file: '/etc/passwd' }],
    ['a file missing from the jobs directory', { file: '/jobs/missing.py' }],
    ['a ".." segment in pyFiles', { file: '/jobs/x.py', pyFiles: ['/jobs/../../home/user/.ssh/id_rsa'] }],
  ])('refuses a batch with %s without asking Livy', async (_what, paths) => {
    await expect(client.createBatch({ name: 'escape', ...paths })).rejects.toThrow(/^Refusing to send .* to Livy/);
    expect(seen).toHaveLength(0);
  });

  it('deletes a known batch (true) and reports an unknown one (false), with the X-Requested-By header', async () => {
    await expect(client.deleteBatch(3)).resolves.toBe(true);
    await expect(client.deleteBatch(9)).resolves.toBe(false);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /batches/3', 'DELETE /batches/9']);
    expect(seen.every((r) => r.headers['x-requested-by'] === 'pipeline-control-plane')).toBe(true);
  });

  it("pings with a zero-size list and reports Livy's total", async () => {
    await expect(client.ping()).resolves.toEqual({ batches: 2 });
    expect(new URL(seen[0].url, 'http://livy').searchParams.get('size')).toBe('0');
  });

  it('sends basic auth when Livy credentials are configured', async () => {
    const { port } = server.address() as AddressInfo;
    const withAuth = new LivyClient(configFor(`http://127.0.0.1:${port}`, { LIVY_USERNAME: 'spark', LIVY_PASSWORD: 's3cret' }));

    await withAuth.getBatch(1);

    expect(seen[0].headers.authorization).toBe(`Basic ${Buffer.from('spark:s3cret').toString('base64')}`);
  });

  it('gives up after LIVY_TIMEOUT_MS with 504', async () => {
    const started = Date.now();

    const err = await rejection(client.getBatch(99));

    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err).toMatchObject({ statusCode: 504, upstream: 'Livy' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('LivyClient when Livy holds more than one page of batches', () => {
  const seen: SeenRequest[] = [];
  // Livy keeps finished batches for a while (livy.server.session.timeout), so a busy cluster holds many.
  const sessions: LivyBatch[] = Array.from({ length: 1203 }, (_, i) => ({ id: i, name: `daily_rollup-${i}`, state: 'success' }));
  const server = fakeLivy(seen, sessions);
  let client: LivyClient;

  beforeAll(async () => {
    client = new LivyClient(configFor(`http://127.0.0.1:${await listen(server)}`));
  });

  afterAll(() => close(server));

  it('returns every batch, in order, reading page after page', async () => {
    const batches = await client.listBatches();

    expect(batches).toHaveLength(1203);
    expect(batches.map((b) => b.id)).toEqual(sessions.map((b) => b.id));
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((r) => r.method === 'GET' && new URL(r.url, 'http://livy').pathname === '/batches')).toBe(true);
  });
});

describe('LivyClient when nothing listens', () => {
  it('maps the refused connection to 503 with Retry-After', async () => {
    const server = createServer();
    const port = await listen(server);
    await close(server);
    const client = new LivyClient(configFor(`http://127.0.0.1:${port}`));

    const err = await rejection(client.listBatches());

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ statusCode: 503, upstream: 'Livy' });
    expect(err.headers['Retry-After']).toBeDefined();
  });
});
