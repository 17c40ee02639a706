import { ChildProcess } from 'node:child_process';
import { AUTH, eventually, requestOnNewConnection, spawnApi } from './support/harness';

/**
 * A key's rate limit enforced by three API processes together (a replica with two workers and a
 * second replica, sharing Cassandra's rate_limit_usage): driven at three times its limit for 10 s,
 * spread over all of them, what is accepted stays within 10 % of the limit; each refusal is a 429
 * with Retry-After and the RateLimit fields; and another key sending to another source meanwhile is
 * not refused once.
 */
describe('rate limits across workers and replicas', () => {
  let apis: { process: ChildProcess; url: string }[] = [];
  const created: string[] = [];
  const LIMIT = 20;
  const SECONDS = 10;

  const createKey = async (name: string, scopes: string[], rateLimit?: object) => {
    const res = await requestOnNewConnection(apis[0].url, 'POST', '/api/v1/keys', {
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, scopes, ...(rateLimit && { rateLimit }) }),
    });
    expect(res.status).toBe(201);
    const body = JSON.parse(res.text) as { id: string; key: string; rateLimit?: object };
    created.push(body.id);
    return body;
  };

  const send = (url: string, key: string, source: string, payload: object) =>
    requestOnNewConnection(url, 'POST', `/api/v1/ingest/${source}`, {
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });

  beforeAll(async () => {
    const env = { KEYS_SYNC_SECONDS: '1', RATE_LIMIT_SYNC_MS: '500' };
    apis = await Promise.all([spawnApi({ ...env, API_WORKERS: '2' }), spawnApi(env)]);
  }, 120_000);

  afterAll(async () => {
    for (const id of created) await requestOnNewConnection(apis[0].url, 'DELETE', `/api/v1/keys/${id}`, { headers: AUTH }).catch(() => undefined);
    for (const api of apis) api.process.kill('SIGTERM');
  });

  it(`accepts ${LIMIT}/s within 10 % over ${SECONDS} s from 3 processes offered 3 times that; 429s carry the headers; another key is unaffected`, async () => {
    const limited = await createKey('e2e rate-limited sender', ['ingest:orders'], { requestsPerSecond: LIMIT });
    expect(limited.rateLimit).toEqual({ requestsPerSecond: LIMIT });
    const other = await createKey('e2e other sender', ['ingest:clicks']);
    // Every process knows both keys (KEYS_SYNC_SECONDS), checked with a request that needs no limit.
    for (const api of apis) {
      await eventually(
        `the keys known at ${api.url}`,
        async () => ((await send(api.url, other.key, 'clicks', { n: 0 })).status === 202 ? true : undefined),
        15_000,
      );
    }
    // A request answered by one worker says nothing of the other: one more read of the keys table each.
    await new Promise((r) => setTimeout(r, 2500));

    const order = (i: number) => ({ order_id: `e2e-rate-${Date.now()}-${i}`, amount: 1, currency: 'EUR' });
    const limitedAnswers: Promise<{ status: number; headers: Record<string, unknown>; text: string }>[] = [];
    const otherAnswers: Promise<{ status: number }>[] = [];
    const started = Date.now();
    // 60 requests a second of the limited key, every other one to each replica (new connections spread
    // the first replica's over its two workers), and 10 a second of the other key.
    for (let i = 0; i < 3 * LIMIT * SECONDS; i++) {
      const due = started + (i * 1000) / (3 * LIMIT);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      limitedAnswers.push(send(apis[i % 2].url, limited.key, 'orders', order(i)));
      if (i % 6 === 0) otherAnswers.push(send(apis[(i / 6) % 2].url, other.key, 'clicks', { n: i }));
    }
    const sendingSeconds = (Date.now() - started) / 1000;
    const answers = await Promise.all(limitedAnswers);
    const others = await Promise.all(otherAnswers);

    const accepted = answers.filter((a) => a.status === 202).length;
    const refused = answers.filter((a) => a.status === 429);
    console.log(
      `rate limit ${LIMIT}/s over ${SECONDS} s across 3 processes: ${accepted} accepted of ${answers.length} (expected ${LIMIT * SECONDS}, ` +
        `deviation ${((100 * (accepted - LIMIT * SECONDS)) / (LIMIT * SECONDS)).toFixed(1)} %, sent over ${sendingSeconds.toFixed(2)} s); the other key: ${others.filter((a) => a.status === 202).length} of ${others.length} accepted`,
    );
    expect(answers.filter((a) => a.status !== 202 && a.status !== 429)).toEqual([]);
    expect(Math.abs(accepted - LIMIT * SECONDS) / (LIMIT * SECONDS)).toBeLessThanOrEqual(0.1);
    for (const answer of refused) {
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(answer.headers['ratelimit-policy']).toBe(`"key";q=${LIMIT};w=1`);
      expect(answer.headers['ratelimit']).toBe(`"key";r=0;t=${answer.headers['retry-after']}`);
      expect(JSON.parse(answer.text)).toMatchObject({ statusCode: 429, error: 'Too Many Requests', details: [{ field: 'rateLimit.requestsPerSecond' }] });
    }
    expect(others.map((a) => a.status).filter((s) => s !== 202)).toEqual([]);
  }, 90_000);
});
