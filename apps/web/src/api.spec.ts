import { ApiError, createApi, pathOf, toApiError } from './api';

/** A fetch that answers from a list and records what it was asked. */
function fakeFetch(...answers: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fn = jest.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, init: init ?? {} });
    const next = answers.shift();
    if (!next) throw new Error('no answer left');
    if (next instanceof Error) throw next;
    return next;
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

const ERROR_BODY = {
  statusCode: 400,
  error: 'Bad Request',
  message: 'Invalid args for job "daily_rollup": /day must match format "date"',
  details: [
    { field: '/day', message: 'must match format "date"' },
    { field: '/day', message: 'must be string' },
    { field: '/sources', message: "must have required property 'sources'" },
  ],
  requestId: 'req-1',
};

describe('the API client', () => {
  it('sends the signed-in key as X-API-Key, never in the URL, and reads JSON', async () => {
    const { fetch, calls } = fakeFetch(json(200, { verdict: 'flowing' }));
    const api = createApi({ key: () => 'the-key-0123456789', onUnauthorized: jest.fn(), fetch });

    await expect(api.pipeline()).resolves.toEqual({ verdict: 'flowing' });

    expect(calls[0].url).toBe('/api/v1/pipeline');
    expect(calls[0].init.headers).toMatchObject({ 'X-API-Key': 'the-key-0123456789' });
    expect(calls[0].url).not.toContain('key');
  });

  it('encodes path segments and query values, leaving out empty ones', async () => {
    const { fetch, calls } = fakeFetch(json(200, { items: [] }), json(200, { id: 'x', lines: [] }));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    await api.records('a b/c', { limit: 20, pageToken: undefined, from: '' });
    await api.batchLog('livy:3', 50);

    expect(calls.map((c) => c.url)).toEqual(['/api/v1/records/a%20b%2Fc?limit=20', '/api/v1/batches/livy%3A3/log?tail=50']);
  });

  it('posts JSON bodies and answers the status with the body', async () => {
    const { fetch, calls } = fakeFetch(json(202, { accepted: 1, eventIds: ['e-1'] }));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    await expect(api.ingest('clicks', { page: '/' })).resolves.toEqual({ status: 202, body: { accepted: 1, eventIds: ['e-1'] } });
    expect(calls[0].init).toMatchObject({ method: 'POST', body: '{"page":"/"}' });
    expect(calls[0].init.headers).toMatchObject({ 'Content-Type': 'application/json' });
  });

  it("calls the views' routes: results with their query, a preview and a create posted as JSON, a delete", async () => {
    const view = { name: 'rev', definition: { name: 'rev', source: 'orders', window: '1m', aggregates: [{ fn: 'count' as const }] } };
    const { fetch, calls } = fakeFetch(
      json(200, { items: [] }),
      json(200, { items: [], events: 0, truncated: false, from: 'a', to: 'b' }),
      json(201, view),
      new Response(null, { status: 204 }),
    );
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    await api.viewResults('rev', { limit: 1000, group: '{"/currency":"EUR"}' });
    await api.previewView({ definition: view.definition, from: '2026-12-07T11:00:00.000Z' });
    await expect(api.createView(view.definition)).resolves.toEqual(view);
    await expect(api.deleteView('rev')).resolves.toBeUndefined();

    expect(calls.map((c) => `${c.init.method} ${c.url}`)).toEqual([
      'GET /api/v1/views/rev/results?limit=1000&group=%7B%22%2Fcurrency%22%3A%22EUR%22%7D',
      'POST /api/v1/views/preview',
      'POST /api/v1/views',
      'DELETE /api/v1/views/rev',
    ]);
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ definition: view.definition, from: '2026-12-07T11:00:00.000Z' });
  });

  it('turns an error answer into an ApiError with its message, request id and fields', async () => {
    const { fetch } = fakeFetch(json(400, ERROR_BODY));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    const err = (await api.submitJob('daily_rollup', { day: 'monday' }).catch((e: unknown) => e)) as ApiError;

    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, error: 'Bad Request', message: ERROR_BODY.message, requestId: 'req-1' });
    expect(err.fieldErrors()).toEqual(
      new Map([
        ['/day', ['must match format "date"', 'must be string']],
        ['/sources', ["must have required property 'sources'"]],
      ]),
    );
  });

  it('signs out on a 401 of any call, but not on the sign-in check, which answers it', async () => {
    const unauthorized = { statusCode: 401, error: 'Unauthorized', message: 'Invalid API key', requestId: 'req-2' };
    const { fetch, calls } = fakeFetch(json(401, unauthorized), json(401, unauthorized), json(200, { sources: [] }));
    const onUnauthorized = jest.fn();
    const api = createApi({ key: () => 'stale-key-0123456789', onUnauthorized, fetch });

    await expect(api.streaming()).rejects.toMatchObject({ status: 401, message: 'Invalid API key', requestId: 'req-2' });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);

    await expect(api.checkKey('wrong-key-0123456789')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    await expect(api.checkKey('right-key-0123456789')).resolves.toBeUndefined();
    expect(calls[2].init.headers).toMatchObject({ 'X-API-Key': 'right-key-0123456789' });
  });

  it('keeps a key that lacks a scope signed in: a 403 is an error of that page, naming the scope', async () => {
    const forbidden = {
      statusCode: 403,
      error: 'Forbidden',
      message: 'This key does not hold the scope this route requires: operate',
      details: [{ field: 'scope', message: 'requires operate' }],
      requestId: 'req-3',
    };
    const { fetch } = fakeFetch(json(403, forbidden));
    const onUnauthorized = jest.fn();
    const api = createApi({ key: () => 'pk_0123456789ab_read-only', onUnauthorized, fetch });

    const error = (await api.streaming().catch((err: unknown) => err)) as ApiError;

    expect(error).toMatchObject({ status: 403, message: forbidden.message, requestId: 'req-3' });
    expect([...error.fieldErrors()]).toEqual([['scope', ['requires operate']]]);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('checks a key at sign-in by asking what it is, which a key of any scope may read', async () => {
    const { fetch, calls } = fakeFetch(json(200, { id: '0123456789ab', name: 'sender', scopes: ['ingest:orders'] }));
    const api = createApi({ key: () => undefined, onUnauthorized: jest.fn(), fetch });

    await api.checkKey('pk_0123456789ab_secret');

    expect(calls[0].url).toBe('/api/v1/keys/self');
  });

  it('reads a source with its ETag and sends it back as If-Match on a change', async () => {
    const source = { name: 'orders', topic: 'ingest.orders', compatibility: 'backward', version: 3 };
    const { fetch, calls } = fakeFetch(json(200, source, { ETag: '"3"' }), json(200, { ...source, version: 4 }, { ETag: '"4"' }), json(200, source));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    const read = await api.source('orders');
    const saved = await api.updateSource('orders', { description: 'Orders' }, read.etag);
    await api.archiveSource('orders', saved.etag);

    expect(read).toEqual({ body: source, etag: '"3"' });
    expect(calls[1]).toMatchObject({ url: '/api/v1/sources/orders', init: { method: 'PUT', headers: { 'If-Match': '"3"' } } });
    expect(JSON.parse(calls[1].init.body as string)).toEqual({ description: 'Orders' });
    expect(calls[2]).toMatchObject({ url: '/api/v1/sources/orders', init: { method: 'DELETE', headers: { 'If-Match': '"4"' } } });
  });

  it('pages the audit trail with the filters and the page token, leaving out empty ones', async () => {
    const { fetch, calls } = fakeFetch(json(200, { events: [] }));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    await api.audit({ from: '2026-01-01', actor: '', action: 'key.*', pageToken: 'abc' });

    expect(calls[0].url).toBe('/api/v1/audit?from=2026-01-01&action=key.*&pageToken=abc');
  });

  it('says the API did not answer when the request itself failed', async () => {
    const { fetch } = fakeFetch(new TypeError('Failed to fetch'));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    await expect(api.pipeline()).rejects.toMatchObject({ status: 0, message: 'The API did not answer: Failed to fetch' });
  });

  it('answers nothing for a 204', async () => {
    const { fetch } = fakeFetch(new Response(null, { status: 204 }));
    const api = createApi({ key: () => 'k', onUnauthorized: jest.fn(), fetch });

    await expect(api.deleteSchedule('s-1')).resolves.toBeUndefined();
  });
});

describe('toApiError', () => {
  it('reads a body that is not the error shape (a proxy, a crash) as well as it can', () => {
    expect(toApiError(502, 'Bad Gateway', '<html>upstream down</html>', 'hdr-1')).toMatchObject({
      status: 502,
      error: 'Bad Gateway',
      message: '<html>upstream down</html>',
      requestId: 'hdr-1',
    });
    expect(toApiError(503, 'Service Unavailable', '', null)).toMatchObject({ message: 'Service Unavailable', requestId: undefined });
  });

  it('has no field errors when details are not a list of fields', () => {
    expect(toApiError(503, '', JSON.stringify({ message: 'down', details: { upstream: 'kafka' } }), null).fieldErrors().size).toBe(0);
  });
});

describe('pathOf', () => {
  it('prefixes /api/v1 and builds the query', () => {
    expect(pathOf('/schedules/preview', { cron: '0 2 * * *', timezone: 'Europe/Paris', count: 5 })).toBe(
      '/api/v1/schedules/preview?cron=0+2+*+*+*&timezone=Europe%2FParis&count=5',
    );
  });
});
