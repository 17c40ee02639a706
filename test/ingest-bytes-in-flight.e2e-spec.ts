import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { Answer, API_KEY, eventually, readEvents, requestOnNewConnection, spawnApi } from './support/harness';

/** A batch of one event whose JSON is exactly `bytes` long. */
const batchOf = (bytes: number) => `[{"pad":"${'x'.repeat(bytes - '[{"pad":""}]'.length)}"}]`;
const HEADERS = { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' };

/**
 * A sender that announces its whole body but sends only its first half until told: its request
 * holds its bytes in flight all the while the API reads it.
 */
function slowSender(url: string, body: string) {
  const { hostname, port } = new URL(url);
  const req = httpRequest({
    host: hostname,
    port,
    method: 'POST',
    path: '/api/v1/ingest/clicks',
    agent: false,
    headers: { ...HEADERS, 'Content-Length': String(Buffer.byteLength(body)) },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  req.write(body.slice(0, half));
  return { answer, finish: () => req.end(body.slice(half)), leave: () => req.destroy() };
}

describe('POST /api/v1/ingest/{source} past INGEST_MAX_BYTES_IN_FLIGHT, on an API process of its own', () => {
  let api: ChildProcess | undefined;
  let url: string;
  const post = (body: string) => requestOnNewConnection(url, 'POST', '/api/v1/ingest/clicks', { headers: HEADERS, body });
  const bytesInFlight = async () => {
    const scrape = await requestOnNewConnection(url, 'GET', '/metrics', { headers: { 'X-API-Key': API_KEY } });
    return Number(/^pipeline_ingest_bytes_in_flight (\S+)$/m.exec(scrape.text)?.[1]);
  };

  beforeAll(async () => {
    ({ process: api, url } = await spawnApi({ INGEST_MAX_BYTES_IN_FLIGHT: '65536', INGEST_ADMISSION_WAIT_MS: '500' }));
  });
  afterAll(async () => {
    if (api && api.exitCode === null) {
      const exited = once(api, 'exit');
      api.kill('SIGKILL');
      await exited;
    }
  });

  it('answers 503 with Retry-After past the bound, its body unread, and takes the request again once there is room', async () => {
    const slow = slowSender(url, batchOf(60_000));
    await eventually('the slow request holding its bytes', async () => ((await bytesInFlight()) === 60_000 ? true : undefined), 10_000, 100);

    const refused = await post(batchOf(10_000));

    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    const body = JSON.parse(refused.text) as { message: string; upstream?: string };
    expect(body.message).toMatch(/^Ingest is at its bound of 65536 bytes in flight \(INGEST_MAX_BYTES_IN_FLIGHT\)/);
    expect(body.upstream).toBeUndefined();

    slow.finish();
    const accepted = await slow.answer;
    expect(accepted.status).toBe(202);
    const [id] = (JSON.parse(accepted.text) as { eventIds: string[] }).eventIds;
    expect((await readEvents('ingest.clicks', [id])).has(id)).toBe(true);
    await eventually('the bytes given back', async () => ((await bytesInFlight()) === 0 ? true : undefined), 10_000, 100);

    expect((await post(batchOf(10_000))).status).toBe(202);
    const scrape = await requestOnNewConnection(url, 'GET', '/metrics', { headers: { 'X-API-Key': API_KEY } });
    expect(scrape.text).toMatch(/^pipeline_events_rejected_total\{source="clicks",reason="bytes_in_flight"\} 1$/m);
  });

  it('gives back the bytes of a client that left halfway through its body', async () => {
    const slow = slowSender(url, batchOf(60_000));
    slow.answer.catch(() => undefined);
    await eventually('the slow request holding its bytes', async () => ((await bytesInFlight()) === 60_000 ? true : undefined), 10_000, 100);

    slow.leave();

    await eventually('the bytes given back', async () => ((await bytesInFlight()) === 0 ? true : undefined), 10_000, 100);
    expect((await post(batchOf(60_000))).status).toBe(202);
  });

  it('takes a body larger than the whole bound when nothing else is in flight', async () => {
    expect((await post(batchOf(100_000))).status).toBe(202);
    expect(await bytesInFlight()).toBe(0);
  });
});
