import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, Socket } from 'node:net';
import { testConfig } from '../testing/config';
import { close, listen } from '../testing/http-server';
import { applyServerLimits } from './server-limits';

/** A raw connection to the server, and everything it received until it closed. */
function rawClient(port: number): { socket: Socket; closed: Promise<{ text: string; ms: number }> } {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<{ text: string; ms: number }>((resolve) => socket.on('close', () => resolve({ text, ms: Date.now() - started })));
  return { socket, closed };
}

describe('applyServerLimits', () => {
  let server: Server;
  let port: number;

  beforeEach(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      // Reads the whole body before answering, as the JSON routes do.
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const config = testConfig({
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '1500',
      HTTP_KEEPALIVE_TIMEOUT_MS: '300',
      HTTP_MAX_CONNECTIONS: '2',
    });
    applyServerLimits(server, config.http);
    port = await listen(server);
  });
  afterEach(() => close(server));

  it('sets the configured limits on the server', () => {
    expect(server).toMatchObject({ headersTimeout: 1000, requestTimeout: 1500, keepAliveTimeout: 300, maxConnections: 2 });
    expect(testConfig().http).toMatchObject({ headersTimeoutMs: 10000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 5000, maxConnections: 1024 });
  });

  it('answers 408 and closes a connection whose headers do not arrive within the headers timeout', async () => {
    const { socket, closed } = rawClient(port);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\n');

    const { text, ms } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(3000);
  });

  it('cuts a body that trickles in once the request timeout has passed', async () => {
    const { socket, closed } = rawClient(port);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('a'), 200);

    const { text, ms } = await closed;
    clearInterval(trickle);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(3500);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout (plus the 1 s margin Node adds)', async () => {
    const { socket, closed } = rawClient(port);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');

    const { text, ms } = await closed;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/Keep-Alive: timeout=\d+/i);
    expect(ms).toBeLessThan(2000);
  });

  it('closes connections beyond maxConnections at once', async () => {
    const held = [rawClient(port), rawClient(port)];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = rawClient(port);

    const { text, ms } = await extra.closed;
    expect(text).toBe('');
    expect(ms).toBeLessThan(500);
    for (const { socket } of held) socket.destroy();
  });
});
