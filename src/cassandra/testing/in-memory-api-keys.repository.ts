import { ApiKeyRecord, ApiKeysRepository } from '../api-keys.repository';
import { UpstreamUnavailableError } from '../../common/errors/errors';

const copy = (k: ApiKeyRecord): ApiKeyRecord => ({
  ...k,
  scopes: [...k.scopes],
  createdAt: new Date(k.createdAt),
  ...(k.previousUntil && { previousUntil: new Date(k.previousUntil) }),
  ...(k.expiresAt && { expiresAt: new Date(k.expiresAt) }),
  ...(k.rotatedAt && { rotatedAt: new Date(k.rotatedAt) }),
  ...(k.revokedAt && { revokedAt: new Date(k.revokedAt) }),
  ...(k.lastUsedAt && { lastUsedAt: new Date(k.lastUsedAt) }),
  ...(k.rateLimit && { rateLimit: { ...k.rateLimit } }),
});

/**
 * Unit-test stand-in for the api_keys table, shared by every process that is given it: reads return
 * copies; insert is `IF NOT EXISTS`, rotate `IF revoked_at = null AND hash = ?`, revoke and touch
 * `IF EXISTS`, as the statements are. `down = true` makes every call fail as the adapter fails when
 * no Cassandra host answers.
 */
export class InMemoryApiKeysRepository implements Pick<ApiKeysRepository, 'insert' | 'get' | 'list' | 'rotate' | 'revoke' | 'touch'> {
  readonly rows = new Map<string, ApiKeyRecord>();
  down = false;

  insert = jest.fn(async (k: ApiKeyRecord): Promise<boolean> => {
    this.reachable();
    if (this.rows.has(k.id)) return false;
    const { id, name, scopes, hash, createdAt, expiresAt, rateLimit } = k;
    this.rows.set(k.id, copy({ id, name, scopes, hash, createdAt, expiresAt, ...(rateLimit && { rateLimit }) }));
    return true;
  });
  get = jest.fn(async (id: string): Promise<ApiKeyRecord | undefined> => {
    this.reachable();
    const row = this.rows.get(id);
    return row && copy(row);
  });
  list = jest.fn(async (): Promise<ApiKeyRecord[]> => {
    this.reachable();
    return [...this.rows.values()].map(copy).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  });
  rotate = jest.fn(async (id: string, expectedHash: string, hash: string, previousUntil: Date, rotatedAt: Date): Promise<boolean> => {
    this.reachable();
    const row = this.rows.get(id);
    if (!row || row.revokedAt !== undefined || row.hash !== expectedHash) return false;
    Object.assign(row, { hash, previousHash: expectedHash, previousUntil: new Date(previousUntil), rotatedAt: new Date(rotatedAt) });
    return true;
  });
  revoke = jest.fn(async (id: string, revokedAt: Date): Promise<boolean> => {
    this.reachable();
    const row = this.rows.get(id);
    if (!row) return false;
    row.revokedAt = new Date(revokedAt);
    return true;
  });
  touch = jest.fn(async (id: string, usedAt: Date): Promise<void> => {
    this.reachable();
    const row = this.rows.get(id);
    if (row) row.lastUsedAt = new Date(usedAt);
  });

  get repository(): ApiKeysRepository {
    return this as unknown as ApiKeysRepository;
  }

  private reachable(): void {
    if (this.down) throw new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: no host answered');
  }
}
