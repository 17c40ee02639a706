import { UnauthorizedError } from '../errors/errors';
import { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { testConfig } from '../testing/config';
import { BadRequestError, RequestTimeoutError, UnsupportedMediaTypeError } from '../errors/errors';
import { ApiKeys } from '../auth/api-keys';
import { JsonBodyMiddleware } from './json-body.middleware';

const KEY = 'k'.repeat(16);
const middleware = (env: Record<string, string> = {}) => new JsonBodyMiddleware(testConfig({ API_KEYS: KEY, ...env }), new ApiKeys([KEY]));

/** A request whose body is `text`, with the given headers (and the API key unless they say otherwise). */
function requestOf(text: string, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST'): Request {
  const req = Readable.from([Buffer.from(text)]) as unknown as Request;
  Object.assign(req, { method, headers: { 'x-api-key': KEY, 'content-length': String(Buffer.byteLength(text)), ...headers } });
  return req;
}

/** A response that only records the headers set on it. */
function responseRecord(): Response & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return { headers, setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = value) } as unknown as Response & {
    headers: Record<string, string>;
  };
}

async function parsed(text: string, headers?: Record<string, string>, env?: Record<string, string>): Promise<unknown> {
  const req = requestOf(text, headers);
  const next = jest.fn();
  await middleware(env).use(req, responseRecord(), next);
  expect(next).toHaveBeenCalledTimes(1);
  return req.body;
}

/** A body of `size` bytes that records whether anything read it. */
class RecordingBody extends Readable {
  read_ = false;
  constructor(private readonly size: number) {
    super();
  }
  override _read(): void {
    this.read_ = true;
    this.push(Buffer.alloc(this.size, 0x20));
    this.push(null);
  }
}

describe('JsonBodyMiddleware', () => {
  it('parses a JSON object', async () => {
    await expect(parsed('{"isPaused":true}')).resolves.toEqual({ isPaused: true });
  });

  it.each(['GET', 'DELETE'])('ignores what a %s request is sent', async (method) => {
    const req = requestOf('not json', { 'content-type': 'text/plain' }, method);
    const next = jest.fn();
    await middleware().use(req, responseRecord(), next);
    expect(next).toHaveBeenCalled();
    expect(req.body).toBeUndefined();
  });

  it('leaves a request without a body alone', async () => {
    const req = { method: 'POST', headers: { 'x-api-key': KEY } } as unknown as Request;
    const next = jest.fn();
    await middleware().use(req, responseRecord(), next);
    expect(next).toHaveBeenCalled();
    expect(req.body).toBeUndefined();
  });

  // null used to be taken for "no body", so a schema's required object was not required at all.
  it.each([
    ['null', 'null'],
    ['[]', 'an array'],
    ['[{"isPaused":true}]', 'an array'],
    ['"x"', 'string'],
    ['7', 'number'],
    ['true', 'boolean'],
  ])('refuses the JSON %s with 400: every control route takes an object', async (text, what) => {
    await expect(parsed(text)).rejects.toThrow(new BadRequestError(`The body must be a JSON object; got ${what}`));
  });

  it('refuses JSON that does not parse with 400', async () => {
    await expect(parsed('{"a":')).rejects.toThrow(/^The body is not valid JSON/);
  });

  it('refuses another media type with 415', async () => {
    await expect(parsed('a=1', { 'content-type': 'application/x-www-form-urlencoded' })).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
  });

  describe('before reading a byte of the body', () => {
    const unread = (headers: Record<string, string>) => {
      const body = new RecordingBody(1024 * 1024);
      const req = Object.assign(body, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024), ...headers } });
      return { body, req: req as unknown as Request };
    };

    it.each([
      ['no API key', {}, 'Missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"'],
      ['a wrong API key', { 'x-api-key': 'x'.repeat(16) }, 'Invalid API key'],
      ['two keys that differ', { 'x-api-key': KEY, authorization: `Bearer ${'y'.repeat(16)}` }, 'X-API-Key and Authorization carry different keys'],
    ])('answers a 1 MB body with %s 401, closing the connection, without reading it', async (_case, headers, message) => {
      const { body, req } = unread(headers);
      const res = responseRecord();
      const next = jest.fn();

      await expect(middleware().use(req, res, next)).rejects.toThrow(new UnauthorizedError(message));
      expect(body.read_).toBe(false);
      expect(body.readableDidRead).toBe(false);
      expect(res.headers.connection).toBe('close');
      expect(next).not.toHaveBeenCalled();
    });

    it('leaves a request without a body to the access guard, key or not: there is no body to protect', async () => {
      const next = jest.fn();

      await middleware().use({ method: 'GET', headers: {} } as Request, responseRecord(), next);
      await middleware().use({ method: 'POST', headers: {} } as Request, responseRecord(), next);

      expect(next).toHaveBeenCalledTimes(2);
    });

    it('answers another media type 415 without reading the body', async () => {
      const { body, req } = unread({ 'x-api-key': KEY, 'content-type': 'text/plain' });
      const res = responseRecord();

      await expect(middleware().use(req, res, jest.fn())).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
      expect(body.read_).toBe(false);
      expect(res.headers.connection).toBe('close');
    });

    it('reads the body of a request with a valid key, as a bearer token too', async () => {
      const req = requestOf('{"a":1}', { 'content-type': 'application/json', 'x-api-key': '', authorization: `Bearer ${KEY}` });
      const next = jest.fn();
      await middleware().use(req, responseRecord(), next);
      expect(next).toHaveBeenCalled();
      expect(req.body).toEqual({ a: 1 });
    });
  });

  describe('nesting', () => {
    const nested = (depth: number) => `{"conf":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

    it('takes a body nested up to INGEST_MAX_DEPTH levels, the body itself being one', async () => {
      await expect(parsed(nested(64))).resolves.toEqual({ conf: expect.any(Array) });
      await expect(parsed(nested(3), undefined, { INGEST_MAX_DEPTH: '3' })).resolves.toEqual({ conf: [[]] });
    });

    it('refuses ~4 kB of nested arrays in conf with 400 naming the depth and the field, before validation could overflow the stack', async () => {
      const error = await parsed(nested(2000)).catch((err: unknown) => err);

      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toBe(
        'The body nests objects and arrays deeper than 64 levels, in "conf": flatten it (at most 64 levels, the body itself being one)',
      );
      expect((error as BadRequestError).details).toEqual([{ field: 'conf', message: 'is nested deeper than 64 levels' }]);
    });

    it('follows INGEST_MAX_DEPTH, in arrays and objects alike', async () => {
      await expect(parsed('{"args":[{"a":{"b":1}}]}', undefined, { INGEST_MAX_DEPTH: '3' })).rejects.toThrow(/deeper than 3 levels, in "args"/);
      await expect(parsed('{"args":[{"a":1}]}', undefined, { INGEST_MAX_DEPTH: '3' })).resolves.toEqual({ args: [{ a: 1 }] });
    });
  });

  describe('a body that trickles', () => {
    afterEach(() => jest.useRealTimers());

    it('is answered 408 once HTTP_REQUEST_TIMEOUT_MS has passed, with the connection closed', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
      // A body that sends its first byte and then nothing more.
      const body = new Readable({ read() {} });
      body.push('{');
      const req = Object.assign(body, { method: 'POST', headers: { 'x-api-key': KEY, 'content-type': 'application/json', 'content-length': '100' } });
      const answer = middleware({ HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '5000' })
        .use(req as unknown as Request, responseRecord(), jest.fn())
        .catch((err: unknown) => err);

      await jest.advanceTimersByTimeAsync(4999);
      jest.advanceTimersByTime(1);
      const error = await answer;

      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect((error as RequestTimeoutError).statusCode).toBe(408);
      expect((error as RequestTimeoutError).headers).toEqual({ Connection: 'close' });
      expect((error as Error).message).toBe('The body did not arrive within 5000 ms: send it in one go');
    });
  });
});
