import { Injectable } from '@nestjs/common';
import { ApiKeyRecord, ApiKeysRepository } from '../cassandra/api-keys.repository';
import { BadRequestError, ConflictError, NotFoundError } from '../common/errors/errors';
import { parseInstant } from '../common/time/time-range';
import { CreatedKeyDto, CreateKeyDto, KeyDto } from './dto/keys.dto';
import { formatKey, hashSecret, keyPrefix, newKeyId, newSecret } from './key-secret';
import { KeyRing } from './key-ring';

/**
 * Scoped keys: created with a secret shown once (only its hash is stored), rotated with a grace for
 * the old secret, revoked. Each change is effective in this process at once and in every other
 * within KEYS_SYNC_SECONDS (KeyRing); with Cassandra down a change answers 503 naming it.
 */
@Injectable()
export class KeysService {
  constructor(
    private readonly repository: ApiKeysRepository,
    private readonly ring: KeyRing,
  ) {}

  async create(body: CreateKeyDto): Promise<CreatedKeyDto> {
    const now = new Date();
    const expiresAt = body.expiresAt === undefined ? undefined : parseInstant('expiresAt', body.expiresAt);
    if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) {
      throw new BadRequestError('expiresAt must be in the future', [{ field: 'expiresAt', message: 'must be in the future' }]);
    }
    const secret = newSecret();
    const record: ApiKeyRecord = { id: newKeyId(), name: body.name, scopes: body.scopes, hash: hashSecret(secret), createdAt: now, expiresAt };
    if (body.rateLimit !== undefined) record.rateLimit = { ...body.rateLimit };
    // 48 random bits: a collision is all but impossible, and a second draw settles it.
    if (!(await this.repository.insert(record))) {
      record.id = newKeyId();
      if (!(await this.repository.insert(record))) throw new ConflictError('Two key ids in a row were taken: try again');
    }
    this.ring.apply(record);
    return { ...toDto(record), key: formatKey(record.id, secret) };
  }

  async list(): Promise<KeyDto[]> {
    return (await this.repository.list()).map(toDto);
  }

  async get(id: string): Promise<KeyDto> {
    return toDto(await this.stored(id));
  }

  /** A new secret for the same key; the old one works for `graceSeconds` more, then only the new one. */
  async rotate(id: string, graceSeconds = 0): Promise<CreatedKeyDto> {
    const record = await this.stored(id);
    if (record.revokedAt !== undefined) throw new ConflictError(`Key ${id} was revoked: create a new key instead`);
    const now = new Date();
    const secret = newSecret();
    const hash = hashSecret(secret);
    const previousUntil = new Date(now.getTime() + graceSeconds * 1000);
    if (!(await this.repository.rotate(id, record.hash, hash, previousUntil, now))) {
      throw new ConflictError(`Key ${id} was rotated or revoked meanwhile: read it again (GET /keys/${id}) and retry`);
    }
    const rotated: ApiKeyRecord = { ...record, hash, previousHash: record.hash, previousUntil, rotatedAt: now };
    this.ring.apply(rotated);
    return { ...toDto(rotated), key: formatKey(id, secret) };
  }

  /** Revokes the key everywhere (within KEYS_SYNC_SECONDS on other processes); revoking it again changes nothing. */
  async revoke(id: string): Promise<void> {
    const record = await this.stored(id);
    if (record.revokedAt !== undefined) return;
    const revokedAt = new Date();
    if (!(await this.repository.revoke(id, revokedAt))) throw notFound(id);
    this.ring.apply({ ...record, revokedAt });
  }

  private async stored(id: string): Promise<ApiKeyRecord> {
    const record = /^[0-9a-f]{12}$/.test(id) ? await this.repository.get(id) : undefined;
    if (record === undefined) throw notFound(id);
    return record;
  }
}

const notFound = (id: string) => new NotFoundError(`No key ${JSON.stringify(id)}: GET /keys lists them`);

function toDto(k: ApiKeyRecord): KeyDto {
  return {
    id: k.id,
    name: k.name,
    scopes: [...k.scopes],
    prefix: keyPrefix(k.id),
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString(),
    rotatedAt: k.rotatedAt?.toISOString(),
    previousSecretValidUntil: k.previousUntil?.toISOString(),
    revokedAt: k.revokedAt?.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString(),
    ...(k.rateLimit && { rateLimit: { ...k.rateLimit } }),
  };
}
