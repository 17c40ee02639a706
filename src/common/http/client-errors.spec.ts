import { createServer, Server } from 'node:http';
import { connect } from 'node:net';
import { close, listen } from '../testing/http-server';
import { answerClientErrors } from './client-errors';

/** Sends raw bytes and answers the raw response, once the server closed the connection. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.end(request);
  });
}

const parse = (response: string) => {
  const [head, body] = response.split('\r\n\r\n');
  const [statusLine, ...headers] = head.split('\r\n');
  return { statusLine, headers: Object.fromEntries(headers.map((h) => [h.split(': ')[0].toLowerCase(), h.split(': ')[1]])), body: JSON.parse(body) };
};

describe('answerClientErrors', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    answerClientErrors(server);
    port = await listen(server);
  });
  afterAll(() => close(server));

  // Node's own answer was "HTTP/1.1 431 Request Header Fields Too Large" with no body at all.
  it('answers headers over 16 KB (a 20 KB Idempotency-Key) with 431 in the one error shape', async () => {
    const response = parse(await raw(port, `POST /api/v1/ingest/users HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ${'k'.repeat(20_000)}\r\n\r\n`));

    expect(response.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body).toEqual({
      statusCode: 431,
      error: 'Request Header Fields Too Large',
      message: expect.stringContaining('headers are too large'),
      requestId: response.headers['x-request-id'],
    });
  });

  it('answers a request that is not HTTP with 400 in the one error shape', async () => {
    const response = parse(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'));

    expect(response.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('leaves requests that fit alone', async () => {
    expect(await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ${'k'.repeat(300)}\r\nConnection: close\r\n\r\n`)).toMatch(
      /^HTTP\/1.1 200 OK[\s\S]*ok$/,
    );
  });
});
