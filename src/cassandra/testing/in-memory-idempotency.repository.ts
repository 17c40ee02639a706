import { Claim, IdempotencyEntry, IdempotencyRepository } from '../idempotency.repository';

/** Unit-test stand-in for the idempotency_keys table: entries expire with jest's clock, writes are conditional like the real ones. */
export class InMemoryIdempotencyRepository implements Omit<IdempotencyRepository, 'table' | 'cassandra'> {
  private readonly entries = new Map<string, IdempotencyEntry & { expiresAt: number }>();

  claim = jest.fn(async (source: string, key: string, claim: Claim, ttlSeconds: number): Promise<IdempotencyEntry | undefined> => {
    const existing = this.live(source, key);
    if (existing) return { bodyHash: existing.bodyHash, state: existing.state, response: existing.response, owner: existing.owner, createdAt: existing.createdAt };
    this.put(source, key, { ...claim, state: 'in_flight' }, ttlSeconds);
    return undefined;
  });

  takeOver = jest.fn(async (source: string, key: string, claim: Claim, failed: string, ttlSeconds: number): Promise<boolean> => {
    const existing = this.live(source, key);
    if (existing?.state !== 'failed' || existing.owner !== failed) return false;
    this.put(source, key, { ...claim, state: 'in_flight' }, ttlSeconds);
    return true;
  });

  complete = jest.fn(async (source: string, key: string, entry: Claim & { response: string }, ttlSeconds: number): Promise<boolean> => {
    if (this.live(source, key)?.owner !== entry.owner) return false;
    this.put(source, key, { ...entry, state: 'done' }, ttlSeconds);
    return true;
  });

  fail = jest.fn(async (source: string, key: string, claim: Claim, ttlSeconds: number): Promise<void> => {
    if (this.live(source, key)?.owner === claim.owner) this.put(source, key, { ...claim, state: 'failed' }, ttlSeconds);
  });

  /** The entry as stored, for assertions. */
  entry(source: string, key: string): IdempotencyEntry | undefined {
    return this.live(source, key);
  }

  private put(source: string, key: string, entry: IdempotencyEntry, ttlSeconds: number): void {
    this.entries.set(`${source}/${key}`, { ...entry, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  private live(source: string, key: string) {
    const entry = this.entries.get(`${source}/${key}`);
    if (entry && entry.expiresAt <= Date.now()) this.entries.delete(`${source}/${key}`);
    return this.entries.get(`${source}/${key}`);
  }

  get repository(): IdempotencyRepository {
    return this as unknown as IdempotencyRepository;
  }
}
