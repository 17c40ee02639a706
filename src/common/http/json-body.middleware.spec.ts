import { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { BadRequestError, UnsupportedMediaTypeError } from '../errors/errors';
import { JsonBodyMiddleware } from './json-body.middleware';

/** A request whose body is `text`, with the given headers. */
function requestOf(text: string, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST'): Request {
  const req = Readable.from([Buffer.from(text)]) as unknown as Request;
  Object.assign(req, { method, headers: { 'content-length': String(Buffer.byteLength(text)), ...headers } });
  return req;
}

async function parsed(text: string, headers?: Record<string, string>): Promise<unknown> {
  const req = requestOf(text, headers);
  const next = jest.fn();
  await new JsonBodyMiddleware().use(req, {} as Response, next);
  expect(next).toHaveBeenCalledTimes(1);
  return req.body;
}

describe('JsonBodyMiddleware', () => {
  it('parses a JSON object', async () => {
    await expect(parsed('{"isPaused":true}')).resolves.toEqual({ isPaused: true });
  });

  it.each(['GET', 'DELETE'])('ignores what a %s request is sent', async (method) => {
    const req = requestOf('not json', { 'content-type': 'text/plain' }, method);
    const next = jest.fn();
    await new JsonBodyMiddleware().use(req, {} as Response, next);
    expect(next).toHaveBeenCalled();
    expect(req.body).toBeUndefined();
  });

  it('leaves a request without a body alone', async () => {
    const req = { method: 'POST', headers: {} } as Request;
    const next = jest.fn();
    await new JsonBodyMiddleware().use(req, {} as Response, next);
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
});
