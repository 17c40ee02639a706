import { LeasesRepository } from '../leases.repository';

/** Unit-test stand-in for the leases table: a lease is held until it expires (jest's clock), is released, or is taken over after expiry. */
export class InMemoryLeasesRepository implements Omit<LeasesRepository, 'table' | 'cassandra'> {
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();

  acquire = jest.fn(async (name: string, holder: string, ttlSeconds: number): Promise<boolean> => {
    if (this.live(name)) return false;
    this.leases.set(name, { holder, expiresAt: Date.now() + ttlSeconds * 1000 });
    return true;
  });

  renew = jest.fn(async (name: string, holder: string, ttlSeconds: number): Promise<boolean> => {
    const lease = this.live(name);
    if (lease?.holder !== holder) return false;
    lease.expiresAt = Date.now() + ttlSeconds * 1000;
    return true;
  });

  hold = jest.fn(async (name: string, holder: string, ttlSeconds: number): Promise<boolean> => {
    return (await this.renew(name, holder, ttlSeconds)) || this.acquire(name, holder, ttlSeconds);
  });

  release = jest.fn(async (name: string, holder: string): Promise<void> => {
    if (this.live(name)?.holder === holder) this.leases.delete(name);
  });

  holder = jest.fn(async (name: string): Promise<string | undefined> => this.live(name)?.holder);

  private live(name: string) {
    const lease = this.leases.get(name);
    if (lease && lease.expiresAt <= Date.now()) this.leases.delete(name);
    return this.leases.get(name);
  }

  get repository(): LeasesRepository {
    return this as unknown as LeasesRepository;
  }
}
