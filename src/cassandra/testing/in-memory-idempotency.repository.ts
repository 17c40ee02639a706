import { Claim, HeldClaim, IdempotencyRepository } from '../idempotency.repository';

type Expiring<T> = T & { expiresAt: number };

/** Unit-test stand-in for the idempotency tables: entries expire with jest's clock, claims are conditional like the real ones. */
export class InMemoryIdempotencyRepository implements Omit<IdempotencyRepository, 'claims' | 'answers' | 'cassandra'> {
  private readonly claims = new Map<string, Expiring<HeldClaim>>();
  private readonly answers = new Map<string, Expiring<{ owner: string; response: string }>>();

  claim = jest.fn(async (source: string, key: string, claim: Claim, ttlSeconds: number): Promise<HeldClaim | undefined> => {
    const held = live(this.claims, `${source}/${key}`);
    if (held) return { bodyHash: held.bodyHash, state: held.state, owner: held.owner, createdAt: held.createdAt };
    this.claims.set(`${source}/${key}`, { ...claim, state: 'in_flight', expiresAt: expiry(ttlSeconds) });
    return undefined;
  });

  takeOver = jest.fn(async (source: string, key: string, claim: Claim, previous: string, ttlSeconds: number): Promise<boolean> => {
    if (live(this.claims, `${source}/${key}`)?.owner !== previous) return false;
    this.claims.set(`${source}/${key}`, { ...claim, state: 'in_flight', expiresAt: expiry(ttlSeconds) });
    return true;
  });

  fail = jest.fn(async (source: string, key: string, claim: Claim, ttlSeconds: number): Promise<void> => {
    if (live(this.claims, `${source}/${key}`)?.owner !== claim.owner) return;
    this.claims.set(`${source}/${key}`, { ...claim, state: 'failed', expiresAt: expiry(ttlSeconds) });
  });

  answer = jest.fn(async (source: string, key: string, owner: string, response: string, ttlSeconds: number): Promise<void> => {
    this.answers.set(`${source}/${key}`, { owner, response, expiresAt: expiry(ttlSeconds) });
  });

  answerOf = jest.fn(async (source: string, key: string) => {
    const answer = live(this.answers, `${source}/${key}`);
    return answer ? { owner: answer.owner, response: answer.response } : undefined;
  });

  /** The claim and the answer of a key as stored, for assertions. */
  entry(source: string, key: string): (HeldClaim & { response?: string }) | undefined {
    const claim = live(this.claims, `${source}/${key}`);
    const answer = live(this.answers, `${source}/${key}`);
    if (!claim) return undefined;
    const held: HeldClaim = { bodyHash: claim.bodyHash, state: claim.state, owner: claim.owner, createdAt: claim.createdAt };
    return answer?.owner === claim.owner ? { ...held, response: answer.response } : held;
  }

  get repository(): IdempotencyRepository {
    return this as unknown as IdempotencyRepository;
  }
}

const expiry = (ttlSeconds: number) => Date.now() + ttlSeconds * 1000;

function live<T>(entries: Map<string, Expiring<T>>, id: string): Expiring<T> | undefined {
  const entry = entries.get(id);
  if (entry && entry.expiresAt <= Date.now()) entries.delete(id);
  return entries.get(id);
}
