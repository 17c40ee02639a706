import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { InMemoryRateLimitUsageRepository } from '../cassandra/testing/in-memory-rate-limit-usage.repository';
import { TooManyRequestsError } from '../common/errors/errors';
import { RateLimit } from '../common/rate-limit/rate-limit';
import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { testConfig } from '../common/testing/config';
import { KeyRing } from './key-ring';
import { RateLimiter } from './rate-limiter';
import { storedKey } from './testing/access';

const START = new Date('2026-12-01T12:00:00.000Z');
const KEY_ID = '3f9a0c1b2d4e';
const OTHER_ID = '0a1b2c3d4e5f';
const keyOf = (id: string) => `pk_${id}_${'s'.repeat(43)}`;

fakeClockAndQuietLogs(START);

/** API processes sharing one rate_limit_usage table, as the workers of every replica share Cassandra. */
function processes(count: number, limits: Record<string, RateLimit>, usage = new InMemoryRateLimitUsageRepository()) {
  const config = testConfig({ RATE_LIMIT_SYNC_MS: '500' });
  const ring = { rateLimit: (id: string) => limits[id], limited: Object.keys(limits).length > 0 } as unknown as KeyRing;
  return { usage, limiters: Array.from({ length: count }, () => new RateLimiter(usage.repository, config, ring)) };
}

const accepted = (attempt: () => void): boolean => {
  try {
    attempt();
    return true;
  } catch (err) {
    if (err instanceof TooManyRequestsError) return false;
    throw err;
  }
};

/**
 * Drives `perSecond` requests of a key for `seconds`, spread over the processes by `pick` (round
 * robin by default), every process syncing every 500 ms at its own phase: what was accepted in all.
 */
async function drive(limiters: RateLimiter[], perSecond: number, seconds: number, pick = (i: number) => i % limiters.length, id = KEY_ID) {
  let count = 0;
  const step = 1000 / perSecond;
  const phases = limiters.map((_, i) => Math.round((500 * i) / limiters.length));
  const base = Date.now();
  let now = 0;
  for (let i = 0; i < perSecond * seconds; i++) {
    const at = Math.round(i * step);
    for (; now < at; now++) {
      jest.setSystemTime(base + now + 1);
      for (const [p, limiter] of limiters.entries()) if ((base + now + 1 - phases[p]) % 500 === 0) await limiter.sync();
    }
    if (accepted(() => limiters[pick(i)].request(id))) count++;
  }
  return count;
}

describe('RateLimiter, one limit shared by several processes', () => {
  it('accepts about the limit over 10 s from 3 processes offered 3 times it evenly (within 10 %)', async () => {
    const { limiters } = processes(3, { [KEY_ID]: { requestsPerSecond: 20 } });
    await Promise.all(limiters.map((l) => l.sync()));

    const count = await drive(limiters, 60, 10);

    expect(Math.abs(count - 200) / 200).toBeLessThanOrEqual(0.1);
  });

  it('shares the limit by where the traffic lands: one process offered most of it gets most of the limit', async () => {
    const { limiters } = processes(3, { [KEY_ID]: { requestsPerSecond: 20 } });
    await Promise.all(limiters.map((l) => l.sync()));
    // 4 in 6 requests to the first process, 1 to each other.
    const count = await drive(limiters, 60, 10, (i) => (i % 6 < 4 ? 0 : (i % 6) - 3));

    expect(Math.abs(count - 200) / 200).toBeLessThanOrEqual(0.1);
  });

  it('gives a process that asks nothing no share: the one that is asked gets the whole limit after a sync', async () => {
    const { limiters } = processes(2, { [KEY_ID]: { requestsPerSecond: 20 } });
    await Promise.all(limiters.map((l) => l.sync()));

    const count = await drive(limiters, 40, 10, () => 0);

    expect(Math.abs(count - 200) / 200).toBeLessThanOrEqual(0.1);
  });

  it('without Cassandra, each process keeps its last share: the sum stays the limit', async () => {
    const { usage, limiters } = processes(2, { [KEY_ID]: { requestsPerSecond: 20 } });
    await Promise.all(limiters.map((l) => l.sync()));
    await drive(limiters, 40, 2);
    usage.down = true;

    const count = await drive(limiters, 40, 10);

    expect(Math.abs(count - 200) / 200).toBeLessThanOrEqual(0.1);
    expect(usage.report).toHaveBeenCalled();
  });

  it('alone, a process enforces the whole limit, its bucket holding half a second of it by default', async () => {
    const { limiters } = processes(1, { [KEY_ID]: { requestsPerSecond: 20 } });
    const [limiter] = limiters;

    expect(Array.from({ length: 15 }, () => accepted(() => limiter.request(KEY_ID))).filter(Boolean)).toHaveLength(10);
  });

  it('alone, keeps the whole limit after a sync that saw its burst go through', async () => {
    const { limiters } = processes(1, { [KEY_ID]: { requestsPerSecond: 1, burst: 1 } });
    const [limiter] = limiters;
    limiter.request(KEY_ID);
    jest.advanceTimersByTime(500);
    await limiter.sync();
    jest.advanceTimersByTime(500);

    expect(accepted(() => limiter.request(KEY_ID))).toBe(true);
    // A refill at the whole rate: one second, not two.
    expect(() => limiter.request(KEY_ID)).toThrow(expect.objectContaining({ headers: expect.objectContaining({ 'Retry-After': '1' }) }));
  });

  it('reads only the slots a live report can have, not the expired rows of older ones', async () => {
    const { usage, limiters } = processes(1, { [KEY_ID]: { requestsPerSecond: 20 } });
    limiters[0].request(KEY_ID);
    await limiters[0].sync();

    // Reports live 2 s (3 sync intervals of 500 ms, at least 2 s): 4 slots back from the current one.
    const slot = Math.floor(Date.now() / 500);
    expect(usage.read.mock.calls.map(([, since]) => since)).toEqual([slot - 4, slot - 4]);
    // A row of an older slot, still in the table, is not among the reports.
    usage.rows.set('x', { report: { subject: 'processes', slot: slot - 5, process: 'gone', asked: 0, accepted: 0 }, expiresAt: Date.now() + 60_000 });
    expect(await usage.read('processes', slot - 4)).not.toContainEqual(expect.objectContaining({ process: 'gone' }));
  });

  it('writes nothing for a key without a limit, and lets its requests through', async () => {
    const { usage, limiters } = processes(1, {});

    expect(Array.from({ length: 100 }, () => accepted(() => limiters[0].request(KEY_ID))).every(Boolean)).toBe(true);
    await limiters[0].sync();
    expect(usage.report.mock.calls.map(([r]) => r.subject)).toEqual(['processes']);
  });
});

describe('RateLimiter, the 429', () => {
  it('says when to retry and which limit, in Retry-After and the RateLimit fields of the IETF draft', () => {
    const { limiters } = processes(1, { [KEY_ID]: { requestsPerSecond: 100, burst: 1 } });
    limiters[0].request(KEY_ID);
    let refusal: TooManyRequestsError | undefined;
    try {
      limiters[0].request(KEY_ID);
    } catch (err) {
      refusal = err as TooManyRequestsError;
    }

    expect(refusal).toBeInstanceOf(TooManyRequestsError);
    expect(refusal!.headers).toEqual({ 'Retry-After': '1', 'RateLimit-Policy': '"key";q=100;w=1', RateLimit: '"key";r=0;t=1' });
    expect(refusal!.message).toBe(`key ${KEY_ID} may send 100 requests per second: retry in 1 s`);
    expect(refusal!.details).toEqual([{ field: 'rateLimit.requestsPerSecond', message: '100 requests per second', limit: 100, retryAfterSeconds: 1 }]);
  });

  it('gives a rate below one a second per minute, in whole numbers', () => {
    const { limiters } = processes(1, { [KEY_ID]: { requestsPerSecond: 0.5, burst: 1 } });
    limiters[0].request(KEY_ID);

    expect(() => limiters[0].request(KEY_ID)).toThrow(
      expect.objectContaining({ headers: { 'Retry-After': '2', 'RateLimit-Policy': '"key";q=30;w=60', RateLimit: '"key";r=0;t=2' } }),
    );
  });
});

describe('RateLimiter, ingest', () => {
  const orders = { name: 'orders', rateLimit: { requestsPerSecond: 2, burst: 2 } };

  it("counts a source's requests whatever the key, and for a signed delivery (no key)", () => {
    const { limiters } = processes(1, {});
    const [limiter] = limiters;

    limiter.ingest(orders, { 'x-api-key': keyOf(KEY_ID) });
    limiter.ingest(orders, undefined);
    expect(() => limiter.ingest(orders, { 'x-api-key': keyOf(OTHER_ID) })).toThrow(
      expect.objectContaining({ statusCode: 429, headers: expect.objectContaining({ 'RateLimit-Policy': '"source";q=2;w=1' }) }),
    );
  });

  it("charges a batch's events to the source and to the key, refusing the request when either cannot take them", () => {
    const { limiters } = processes(1, { [KEY_ID]: { eventsPerSecond: 100, burst: 100 } });
    const [limiter] = limiters;
    const source = { name: 'clicks', rateLimit: { eventsPerSecond: 1000, burst: 1000 } };

    limiter.ingest(source, { 'x-api-key': keyOf(KEY_ID) })!(100);
    // The key's bucket is empty before the body is read.
    expect(() => limiter.ingest(source, { 'x-api-key': keyOf(KEY_ID) })).toThrow(
      expect.objectContaining({ headers: expect.objectContaining({ 'RateLimit-Policy': '"key-events";q=100;w=1' }) }),
    );
    // Another key still sends to the same source, whose bucket was charged the 100 events once.
    const charge = limiter.ingest(source, { 'x-api-key': keyOf(OTHER_ID) })!;
    expect(() => charge(901)).toThrow(expect.objectContaining({ headers: expect.objectContaining({ 'RateLimit-Policy': '"source-events";q=1000;w=1' }) }));
    expect(() => charge(900)).not.toThrow();
  });

  it('charges nothing when the key refuses the batch after the source took it', () => {
    const { limiters } = processes(1, { [KEY_ID]: { eventsPerSecond: 10, burst: 10 } });
    const [limiter] = limiters;
    const source = { name: 'clicks', rateLimit: { eventsPerSecond: 100, burst: 100 } };
    limiter.ingest(source, { 'x-api-key': keyOf(KEY_ID) })!(10);
    jest.advanceTimersByTime(500);
    const charge = limiter.ingest(source, { 'x-api-key': keyOf(KEY_ID) })!;

    expect(() => charge(10)).toThrow(TooManyRequestsError);
    expect(() => limiter.ingest(source, undefined)!(90)).not.toThrow();
  });

  it("finds a stored key's events limit from the request's key, as the key ring read it", async () => {
    const keys = new InMemoryApiKeysRepository();
    const config = testConfig();
    const limited = await storedKey(keys, 'limited sender', ['ingest:*'], new Date(), { eventsPerSecond: 10, burst: 10 });
    const plain = await storedKey(keys, 'plain sender', ['ingest:*']);
    const ring = new KeyRing(keys.repository, config);
    await ring.sync();
    const limiter = new RateLimiter(new InMemoryRateLimitUsageRepository().repository, config, ring);

    limiter.ingest({ name: 'clicks' }, { 'x-api-key': limited.key })!(10);
    expect(() => limiter.ingest({ name: 'clicks' }, { authorization: `Bearer ${limited.key}` })).toThrow(TooManyRequestsError);
    expect(limiter.ingest({ name: 'clicks' }, { 'x-api-key': plain.key })).toBeUndefined();
  });

  it('answers no charge for a source and key without events limits', () => {
    const { limiters } = processes(1, {});

    expect(limiters[0].ingest({ name: 'clicks' }, { 'x-api-key': keyOf(KEY_ID) })).toBeUndefined();
  });
});
