import { Logger } from '@nestjs/common';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { AppConfig } from '../common/config/app-config';
import { BadRequestError, ConflictError, NotFoundError, UnauthorizedError, UpstreamUnavailableError } from '../common/errors/errors';
import { validationPipe } from '../common/http/validation.pipe';
import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { testConfig } from '../common/testing/config';
import { CreateKeyDto } from './dto/keys.dto';
import { hashSecret } from './key-secret';
import { KeyRing, TOUCH_INTERVAL_MS } from './key-ring';
import { KeysService } from './keys.service';

const BOOTSTRAP = 'bootstrap-key-0123456789';
const NOW = new Date('2026-03-01T12:00:00Z');

/** One API process: its key ring (started as the app starts it) and the keys service over the shared table. */
async function apiProcess(keys: InMemoryApiKeysRepository, config: AppConfig) {
  const ring = new KeyRing(keys.repository, config);
  await ring.onApplicationBootstrap();
  return { ring, service: new KeysService(keys.repository, ring) };
}

const headers = (key: string) => ({ 'x-api-key': key });

/** What a request with this key is answered by the ring: its principal's scopes, or the error's class and message. */
function check(ring: KeyRing, key: string): string[] | string {
  try {
    return [...ring.authenticate(headers(key)).scopes];
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

describe('scoped keys', () => {
  fakeClockAndQuietLogs(NOW);
  // The ring's one error line, when its copy goes stale, is a test's subject here, not noise to show.
  beforeEach(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));

  let keys: InMemoryApiKeysRepository;
  let config: AppConfig;
  let a: Awaited<ReturnType<typeof apiProcess>>;
  let b: Awaited<ReturnType<typeof apiProcess>>;

  beforeEach(async () => {
    keys = new InMemoryApiKeysRepository();
    config = testConfig({ API_KEYS: BOOTSTRAP, KEYS_SYNC_SECONDS: '2', KEYS_STALE_MAX_SECONDS: '60' });
    a = await apiProcess(keys, config);
    b = await apiProcess(keys, config);
  });
  afterEach(() => {
    a.ring.onModuleDestroy();
    b.ring.onModuleDestroy();
  });

  /** Lets the rings' timers fire and their reads settle. */
  const advance = async (ms: number) => {
    await jest.advanceTimersByTimeAsync(ms);
  };

  describe('create', () => {
    it('answers the secret once, as pk_<id>_<secret>, and stores only its SHA-256', async () => {
      const created = await a.service.create({ name: 'orders sender', scopes: ['ingest:orders'] });

      expect(created.key).toMatch(new RegExp(`^pk_${created.id}_[A-Za-z0-9_-]{43}$`));
      expect(created).toMatchObject({ name: 'orders sender', scopes: ['ingest:orders'], prefix: `pk_${created.id}_`, createdAt: NOW.toISOString() });
      const stored = keys.rows.get(created.id)!;
      expect(stored.hash).toBe(hashSecret(created.key.slice(`pk_${created.id}_`.length)));
      expect(JSON.stringify([...keys.rows.values()])).not.toContain(created.key.slice(16));
      expect(check(a.ring, created.key)).toEqual(['ingest:orders']);
    });

    it('never shows the secret or its hash again', async () => {
      const created = await a.service.create({ name: 'reader', scopes: ['read:*'] });

      const shown = JSON.stringify([await a.service.get(created.id), await a.service.list()]);

      expect(shown).not.toContain(created.key);
      expect(shown).not.toContain(keys.rows.get(created.id)!.hash);
      expect(shown).toContain(`pk_${created.id}_`);
    });

    it.each([['ingest:Orders'], ['write:orders'], ['read'], ['operator'], ['ingest:*x']])(
      'refuses the unknown scope %p with 400 naming scopes',
      async (scope) => {
        const refused = validationPipe().transform({ name: 'x', scopes: ['read:*', scope] }, { type: 'body', metatype: CreateKeyDto });

        await expect(refused).rejects.toBeInstanceOf(BadRequestError);
        await expect(refused).rejects.toMatchObject({ details: [{ field: 'scopes', message: expect.stringContaining('ingest:<source>') }] });
      },
    );

    it('accepts every kind of scope', async () => {
      const body = { name: 'x', scopes: ['admin', 'operate', 'ingest:orders', 'ingest:*', 'read:web-hooks_2', 'read:*'] };

      await expect(validationPipe().transform(body, { type: 'body', metatype: CreateKeyDto })).resolves.toMatchObject(body);
    });

    it('refuses an expiry in the past with 400 naming expiresAt', async () => {
      await expect(a.service.create({ name: 'x', scopes: ['operate'], expiresAt: '2026-03-01T11:59:59Z' })).rejects.toMatchObject({
        statusCode: 400,
        details: [{ field: 'expiresAt', message: 'must be in the future' }],
      });
    });
  });

  it('a key stops working when it expires, with a message saying so', async () => {
    const created = await a.service.create({ name: 'temp', scopes: ['operate'], expiresAt: '2026-03-01T12:10:00Z' });

    expect(check(a.ring, created.key)).toEqual(['operate']);
    await advance(10 * 60_000);

    expect(check(a.ring, created.key)).toBe(`UnauthorizedError: API key ${created.id} expired at 2026-03-01T12:10:00.000Z`);
  });

  it('a wrong secret for a known id is an invalid key, like an unknown id', async () => {
    const created = await a.service.create({ name: 'x', scopes: ['operate'] });
    const wrong = `pk_${created.id}_${'A'.repeat(43)}`;

    expect([check(a.ring, wrong), check(a.ring, `pk_000000000000_${'A'.repeat(43)}`)]).toEqual([
      'UnauthorizedError: Invalid API key',
      'UnauthorizedError: Invalid API key',
    ]);
  });

  describe('rotate', () => {
    it('answers a new secret for the same id; the old one works during the grace, then only the new one', async () => {
      const created = await a.service.create({ name: 'sender', scopes: ['ingest:orders'] });
      await advance(2000);

      const rotated = await a.service.rotate(created.id, 60);

      expect(rotated.id).toBe(created.id);
      expect(rotated.key).not.toBe(created.key);
      expect(rotated.previousSecretValidUntil).toBe(new Date(Date.now() + 60_000).toISOString());
      await advance(2000);
      for (const ring of [a.ring, b.ring]) expect([check(ring, created.key), check(ring, rotated.key)]).toEqual([['ingest:orders'], ['ingest:orders']]);
      await advance(58_000);
      for (const ring of [a.ring, b.ring]) {
        expect([check(ring, created.key), check(ring, rotated.key)]).toEqual(['UnauthorizedError: Invalid API key', ['ingest:orders']]);
      }
    });

    it('without a grace, the old secret stops at once', async () => {
      const created = await a.service.create({ name: 'sender', scopes: ['operate'] });

      const rotated = await a.service.rotate(created.id);

      expect([check(a.ring, created.key), check(a.ring, rotated.key)]).toEqual(['UnauthorizedError: Invalid API key', ['operate']]);
    });

    it('refuses a revoked key (409) and an unknown one (404)', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      await a.service.revoke(created.id);

      await expect(a.service.rotate(created.id, 10)).rejects.toBeInstanceOf(ConflictError);
      await expect(a.service.rotate('0123456789ab', 10)).rejects.toBeInstanceOf(NotFoundError);
      await expect(a.service.rotate('not an id', 10)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses a rotation that raced another (409): one new secret wins', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      const first = keys.rows.get(created.id)!.hash;
      keys.get.mockResolvedValueOnce({ ...keys.rows.get(created.id)!, hash: 'f'.repeat(64) });

      await expect(a.service.rotate(created.id, 10)).rejects.toBeInstanceOf(ConflictError);
      expect(keys.rows.get(created.id)!.hash).toBe(first);
    });
  });

  describe('revoke', () => {
    it('is effective at once on the process that revoked, and on every other within KEYS_SYNC_SECONDS', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      await advance(2000);
      expect(check(b.ring, created.key)).toEqual(['operate']);

      await a.service.revoke(created.id);

      const revoked = `UnauthorizedError: API key ${created.id} was revoked`;
      expect(check(a.ring, created.key)).toBe(revoked);
      expect(check(b.ring, created.key)).toEqual(['operate']);
      await advance(2000);
      expect(check(b.ring, created.key)).toBe(revoked);
    });

    it('is not undone by a read of the keys table that began before it', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      const before = await keys.list();
      let release: () => void = () => undefined;
      keys.list.mockImplementationOnce(() => new Promise((resolve) => (release = () => resolve(before))));
      const reading = a.ring.sync();
      await advance(1);

      await a.service.revoke(created.id);
      release();
      await reading;

      expect(check(a.ring, created.key)).toBe(`UnauthorizedError: API key ${created.id} was revoked`);
    });

    it('keeps the key listed with revokedAt; revoking again changes nothing; an unknown id is 404', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      await a.service.revoke(created.id);
      await advance(5000);
      await a.service.revoke(created.id);

      expect(await a.service.get(created.id)).toMatchObject({ id: created.id, revokedAt: NOW.toISOString() });
      await expect(a.service.revoke('0123456789ab')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a key created on one process works on another within KEYS_SYNC_SECONDS', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['read:*'] });

      expect(check(b.ring, created.key)).toBe('UnauthorizedError: Invalid API key');
      await advance(2000);
      expect(check(b.ring, created.key)).toEqual(['read:*']);
    });
  });

  it('records lastUsedAt at most once a minute per process and key', async () => {
    const created = await a.service.create({ name: 'x', scopes: ['operate'] });

    for (let i = 0; i < 100; i++) check(a.ring, created.key);
    await advance(30_000);
    for (let i = 0; i < 100; i++) check(a.ring, created.key);

    expect(keys.touch).toHaveBeenCalledTimes(1);
    expect((await a.service.get(created.id)).lastUsedAt).toBe(NOW.toISOString());
    await advance(TOUCH_INTERVAL_MS - 30_000);
    check(a.ring, created.key);
    expect(keys.touch).toHaveBeenCalledTimes(2);
  });

  it('the keys of API_KEYS are admins, named bootstrap:<4 hex of their SHA-256>', () => {
    const principal = a.ring.authenticate(headers(BOOTSTRAP));

    expect(principal).toEqual({ actor: `bootstrap:${hashSecret(BOOTSTRAP).slice(0, 4)}`, name: 'bootstrap', scopes: new Set(['admin']) });
  });

  describe('with Cassandra down', () => {
    it('changes answer 503 naming Cassandra', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      keys.down = true;

      for (const change of [a.service.create({ name: 'y', scopes: ['operate'] }), a.service.rotate(created.id, 0), a.service.revoke(created.id)]) {
        await expect(change).rejects.toBeInstanceOf(UpstreamUnavailableError);
        await expect(change).rejects.toMatchObject({ statusCode: 503, upstream: 'Cassandra' });
      }
    });

    it('checks go on from the last read for KEYS_STALE_MAX_SECONDS, then only API_KEYS work, until a read succeeds', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      await advance(2000);
      keys.down = true;

      await advance(58_000);
      expect(check(b.ring, created.key)).toEqual(['operate']);
      await advance(4000);
      expect(check(b.ring, created.key)).toMatch(/^UpstreamUnavailableError: Stored API keys cannot be checked/);
      expect(check(b.ring, BOOTSTRAP)).toEqual(['admin']);

      keys.down = false;
      await advance(2000);
      expect(check(b.ring, created.key)).toEqual(['operate']);
    });

    it('a process that could not read the keys table at start knows only API_KEYS', async () => {
      const created = await a.service.create({ name: 'x', scopes: ['operate'] });
      keys.down = true;
      const c = await apiProcess(keys, config);

      expect(check(c.ring, created.key)).toMatch(/^UpstreamUnavailableError/);
      expect(check(c.ring, BOOTSTRAP)).toEqual(['admin']);
      c.ring.onModuleDestroy();
    });
  });

  it('a key of another format than pk_ that is not one of API_KEYS is invalid', () => {
    expect(check(a.ring, 'some-other-key-0123456789')).toBe('UnauthorizedError: Invalid API key');
    expect(() => a.ring.authenticate({})).toThrow(UnauthorizedError);
  });
});
