import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiKeyRecord, ApiKeysRepository } from '../cassandra/api-keys.repository';
import { ApiKeys } from '../common/auth/api-keys';
import { Credentials, Principal } from '../common/auth/credentials';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import type { RateLimit } from '../common/rate-limit/rate-limit';
import { UnauthorizedError, UpstreamUnavailableError } from '../common/errors/errors';
import { hashSecret, parseKey } from './key-secret';

/** lastUsedAt is written at most this often per key and process: a write per request would cost more than the request. */
export const TOUCH_INTERVAL_MS = 60_000;

interface HeldKey {
  record: ApiKeyRecord;
  hash: Buffer;
  previousHash?: Buffer;
  principal: Principal;
}

/**
 * This process's copy of the keys: the keys of API_KEYS (bootstrap admins, always), and the stored
 * keys, re-read from Cassandra every KEYS_SYNC_SECONDS, so a key created, rotated or revoked through
 * any process takes effect in every process within seconds. A check is one map access by the key's
 * id and one constant-time comparison of hashes: no I/O on the request's path.
 *
 * While Cassandra does not answer, the last read keeps serving for KEYS_STALE_MAX_SECONDS; after
 * that only the bootstrap keys work (failing closed: a key revoked meanwhile must not live on) and a
 * stored key is answered 503 naming Cassandra, until a read succeeds again. A process that has not
 * read the table yet is in the same state.
 */
@Injectable()
export class KeyRing extends Credentials implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyRing.name);
  private readonly bootstrap: ApiKeys;
  private keys = new Map<string, HeldKey>();
  /** Whether any stored key has a rate limit: when none has, ingest need not find the key of a request again. */
  limited = false;
  private syncedAt: number | undefined;
  private syncing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private warnedStale = false;
  private readonly touched = new Map<string, number>();
  /** Changes this process made, with when: a read that began before one cannot have seen it, and must not undo it. */
  private readonly applied = new Map<string, { record: ApiKeyRecord; at: number }>();
  private readonly syncMs: number;
  private readonly staleMaxMs: number;

  constructor(
    private readonly repository: ApiKeysRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super();
    this.bootstrap = new ApiKeys(config.http.apiKeys);
    this.syncMs = config.access.keysSyncSeconds * 1000;
    this.staleMaxMs = config.access.keysStaleMaxSeconds * 1000;
  }

  /** After every module's init, so the migrations have created the table. */
  async onApplicationBootstrap(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync(), this.syncMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  authenticate(headers: IncomingHttpHeaders): Principal {
    const presented = ApiKeys.presentedKey(headers);
    if (presented === undefined) throw ApiKeys.missing();
    const parsed = parseKey(presented);
    const admin = parsed === undefined ? this.bootstrap.find(presented) : undefined;
    if (admin !== undefined) return admin;
    if (parsed === undefined) throw new UnauthorizedError('Invalid API key');
    if (!this.fresh()) {
      throw new UpstreamUnavailableError(
        'Cassandra',
        `Stored API keys cannot be checked: the keys table has not been read for over ${this.staleMaxMs / 1000} s; only the keys of API_KEYS work until Cassandra answers`,
      );
    }
    const held = this.keys.get(parsed.id);
    if (held === undefined) throw new UnauthorizedError('Invalid API key');
    const now = Date.now();
    const candidate = Buffer.from(hashSecret(parsed.secret), 'hex');
    const current = same(held.hash, candidate);
    const previous =
      !current && held.previousHash !== undefined && held.record.previousUntil !== undefined && now < held.record.previousUntil.getTime()
        ? same(held.previousHash, candidate)
        : false;
    if (!current && !previous) throw new UnauthorizedError('Invalid API key');
    if (held.record.revokedAt !== undefined) throw new UnauthorizedError(`API key ${held.record.id} was revoked`);
    if (held.record.expiresAt !== undefined && now >= held.record.expiresAt.getTime()) {
      throw new UnauthorizedError(`API key ${held.record.id} expired at ${held.record.expiresAt.toISOString()}`);
    }
    this.touch(held.record, now);
    return held.principal;
  }

  /** The rate limit of a stored key this process knows: one map access, for the limiter on the request's path. */
  rateLimit(id: string): RateLimit | undefined {
    return this.keys.get(id)?.record.rateLimit;
  }

  /** Reads the keys table into this process; a failure keeps the last read (see the class). Never throws. */
  sync(): Promise<void> {
    this.syncing ??= this.read().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** A change this process made itself: effective here at once, elsewhere at the next read. */
  apply(record: ApiKeyRecord): void {
    this.applied.set(record.id, { record, at: Date.now() });
    this.keys.set(record.id, held(record));
    if (record.rateLimit !== undefined) this.limited = true;
  }

  private async read(): Promise<void> {
    const started = Date.now();
    try {
      const records = await this.repository.list();
      const keys = new Map(records.map((r) => [r.id, held(r)]));
      for (const [id, change] of this.applied) {
        if (change.at >= started) keys.set(id, held(change.record));
        else this.applied.delete(id);
      }
      this.keys = keys;
      this.limited = [...keys.values()].some((k) => k.record.rateLimit !== undefined);
      this.syncedAt = started;
      if (this.warnedStale) this.logger.log('the keys table answers again: stored keys work again');
      this.warnedStale = false;
    } catch (err) {
      const age = this.syncedAt === undefined ? undefined : Math.round((Date.now() - this.syncedAt) / 1000);
      this.logger.warn(`could not read the keys table (${(err as Error).message}); ${age === undefined ? 'never read' : `last read ${age} s ago`}`);
    }
  }

  /** Whether the last read is recent enough to trust; logs once when it stops being so. */
  private fresh(): boolean {
    if (this.syncedAt !== undefined && Date.now() - this.syncedAt <= this.staleMaxMs) return true;
    if (this.syncedAt !== undefined && !this.warnedStale) {
      this.warnedStale = true;
      this.logger.error(
        `the keys table was last read over ${this.staleMaxMs / 1000} s ago (KEYS_STALE_MAX_SECONDS): only the keys of API_KEYS work until it answers`,
      );
    }
    return false;
  }

  private touch(record: ApiKeyRecord, now: number): void {
    const last = this.touched.get(record.id);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(record.id, now);
    record.lastUsedAt = new Date(now);
    this.repository
      .touch(record.id, new Date(now))
      .catch((err: Error) => this.logger.warn(`could not record when key ${record.id} was last used: ${err.message}`));
  }
}

/** Constant-time equality that does not throw on a malformed stored hash. */
const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

function held(record: ApiKeyRecord): HeldKey {
  return {
    record,
    hash: Buffer.from(record.hash, 'hex'),
    previousHash: record.previousHash === undefined ? undefined : Buffer.from(record.previousHash, 'hex'),
    principal: { actor: record.id, keyId: record.id, name: record.name, scopes: new Set(record.scopes) },
  };
}
