import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';
import { RateLimitUsageRepository } from '../cassandra/rate-limit-usage.repository';
import { ApiKeys } from '../common/auth/api-keys';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { TooManyRequestsError } from '../common/errors/errors';
import { defaultBurst, RateLimit } from '../common/rate-limit/rate-limit';
import { KeyRing } from './key-ring';
import { parseKey } from './key-secret';
import { shareOf, TokenBucket } from './token-bucket';

/** The subject every process reports under each sync, so that each knows how many processes there are. */
const PROCESSES = 'processes';
/** A subject nobody asked for this long is forgotten here (its next request starts a new bucket). */
const IDLE_FORGET_MS = 60_000;

type Unit = 'requests' | 'events';

interface Held {
  bucket: TokenBucket;
  /** The RateLimit-Policy name of the limit: key, key-events, source, source-events. */
  policy: string;
  /** The body field that set the limit, for the 429's details. */
  field: string;
  /** Who is limited, for the 429's message: `key 3f9a0c1b2d4e`, `source orders`. */
  who: string;
  unit: Unit;
  askedAt: number;
}

/** What a source's limit needs of it: its name and its limit. */
export interface LimitedSource {
  name: string;
  rateLimit?: RateLimit;
}

/** Charges an ingest request's events, once parsed: throws 429 when a bucket cannot take them (nothing is charged then). */
export type EventCharge = (events: number) => void;

/**
 * The rate limits of keys and sources, enforced by every API process together. Each process keeps a
 * token bucket per limited subject (a key's requests, a key's events, a source's requests, a source's
 * events) holding its share of the limit; the request path is a Map lookup and a little arithmetic,
 * never I/O. Every RATE_LIMIT_SYNC_MS each process writes what it was asked per second for each
 * subject to rate_limit_usage and reads the others': the limit is split in proportion to what each
 * process is asked (shareOf), so the shares add up to the limit wherever the traffic lands (and shrink
 * by the excess when the processes' last reports together accepted more than the limit); a process
 * asked nothing holds no share and, when it starts being asked, takes an even split until the next
 * sync. With Cassandra down, each process keeps enforcing its last share (the sum stays the limit
 * while the traffic's spread stays as it was).
 */
@Injectable()
export class RateLimiter implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly buckets = new Map<string, Held>();
  readonly process = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  /** How many processes reported at the last sync (this one included). */
  private live = 1;
  private lastSync = Date.now();
  private syncing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly syncMs: number;

  constructor(
    private readonly repository: RateLimitUsageRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly ring: KeyRing,
  ) {
    this.syncMs = config.access.rateLimitSyncMs;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sync(), this.syncMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** A request of a key (every route): 429 past the key's requestsPerSecond. */
  request(keyId: string | undefined): void {
    if (keyId === undefined) return;
    const limit = this.ring.rateLimit(keyId);
    if (limit?.requestsPerSecond === undefined) return;
    this.take(`key/${keyId}/requests`, limit.requestsPerSecond, limit.burst, 1, 'key', `key ${keyId}`, 'requests');
  }

  /**
   * An ingest request, before its body is read: counts it against the source's requestsPerSecond and
   * checks that neither the source's nor the key's events bucket is empty (429 otherwise). Answers
   * how to charge its events once parsed, or undefined when no events limit applies. `headers`: the
   * request's, for the key; none for a signed delivery (its key, if any, was not checked).
   */
  ingest(source: LimitedSource, headers: IncomingHttpHeaders | undefined): EventCharge | undefined {
    const limit = source.rateLimit;
    if (limit?.requestsPerSecond !== undefined) {
      this.take(`source/${source.name}/requests`, limit.requestsPerSecond, limit.burst, 1, 'source', `source ${source.name}`, 'requests');
    }
    const keyId = headers === undefined || !this.ring.limited ? undefined : keyIdOf(headers);
    const keyLimit = keyId === undefined ? undefined : this.ring.rateLimit(keyId);
    const sourceEvents =
      limit?.eventsPerSecond === undefined
        ? undefined
        : this.held(`source/${source.name}/events`, limit.eventsPerSecond, limit.burst, 'source-events', `source ${source.name}`, 'events');
    const keyEvents =
      keyLimit?.eventsPerSecond === undefined
        ? undefined
        : this.held(`key/${keyId}/events`, keyLimit.eventsPerSecond, keyLimit.burst, 'key-events', `key ${keyId}`, 'events');
    if (sourceEvents === undefined && keyEvents === undefined) return undefined;
    const now = Date.now();
    for (const held of [sourceEvents, keyEvents]) {
      const wait = held?.bucket.check(1, now) ?? 0;
      if (wait > 0) throw refusal(held!, wait);
    }
    return (events) => {
      const at = Date.now();
      const wait = sourceEvents?.bucket.take(events, at) ?? 0;
      if (wait > 0) throw refusal(sourceEvents!, wait);
      const keyWait = keyEvents?.bucket.take(events, at) ?? 0;
      if (keyWait > 0) {
        sourceEvents?.bucket.refund(events);
        throw refusal(keyEvents!, keyWait);
      }
    };
  }

  /** Shares this process's demand and resizes its shares from every process's; a failure keeps the last shares. Never throws. */
  sync(): Promise<void> {
    this.syncing ??= this.exchange().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private take(subject: string, perSecond: number, burst: number | undefined, cost: number, policy: string, who: string, unit: Unit): void {
    const held = this.held(subject, perSecond, burst, policy, who, unit);
    const wait = held.bucket.take(cost, held.askedAt);
    if (wait > 0) throw refusal(held, wait);
  }

  /** The subject's bucket, made on its first request (with an even split of the limit) and kept in step with the limit. */
  private held(subject: string, perSecond: number, burst: number | undefined, policy: string, who: string, unit: Unit): Held {
    const now = Date.now();
    const size = burst ?? defaultBurst(perSecond);
    let held = this.buckets.get(subject);
    if (held === undefined) {
      const field = `rateLimit.${unit === 'requests' ? 'requestsPerSecond' : 'eventsPerSecond'}`;
      held = { bucket: new TokenBucket(perSecond, size, 1 / this.live, now), policy, field, who, unit, askedAt: now };
      this.buckets.set(subject, held);
    } else if (held.bucket.perSecond !== perSecond || held.bucket.burst !== size) {
      held.bucket.reshape(perSecond, size, held.bucket.share, now);
    }
    held.askedAt = now;
    return held;
  }

  private async exchange(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastSync) / 1000);
    this.lastSync = now;
    const slot = Math.floor(now / this.syncMs);
    // A few sync intervals: a process that stops reporting stops counting soon after.
    const ttl = Math.max(2, Math.ceil((3 * this.syncMs) / 1000));
    // The oldest slot a live row can have: older ones have expired.
    const since = slot - Math.ceil((ttl * 1000) / this.syncMs);
    const subjects = [...this.buckets.entries()].filter(([subject, held]) => {
      if (now - held.askedAt <= IDLE_FORGET_MS) return true;
      this.buckets.delete(subject);
      return false;
    });
    const demand = subjects.map(([, held]) => {
      const asked = held.bucket.asked / seconds;
      const accepted = held.bucket.taken / seconds;
      held.bucket.asked = 0;
      held.bucket.taken = 0;
      return { asked, accepted };
    });
    try {
      await this.repository.report({ subject: PROCESSES, process: this.process, slot, asked: 0, accepted: 0 }, ttl);
      await Promise.all(
        subjects.map(async ([subject, held], i) => {
          const { asked, accepted } = demand[i];
          if (asked > 0) await this.repository.report({ subject, process: this.process, slot, asked, accepted }, ttl);
          const reports = (await this.repository.read(subject, since)).filter((r) => r.process !== this.process);
          const others = reports.map((r) => r.asked);
          const asking = others.filter((d) => d > 0).length;
          const limit = held.bucket.perSecond;
          let share = shareOf(limit, asked, others, 1 / (asking + 1));
          // The processes' reports are of slightly different moments, so their shares need not add up to
          // exactly 1: when together they accepted more than the limit, each takes back its part of the
          // excess. Alone, a process's bucket is exact (what it let through above the rate was its burst).
          const acceptedByAll = reports.reduce((sum, r) => sum + r.accepted, accepted);
          if (asking > 0 && acceptedByAll > limit) share *= limit / acceptedByAll;
          held.bucket.reshape(limit, held.bucket.burst, share, Date.now());
        }),
      );
      this.live = Math.max(1, (await this.repository.read(PROCESSES, since)).filter((r) => r.process !== this.process).length + 1);
      if (this.failing) this.logger.log('rate_limit_usage answers again: the processes share the limits again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) {
        this.logger.warn(`could not share rate-limit counts (${(err as Error).message}): each process enforces its last share until Cassandra answers`);
      }
      this.failing = true;
    }
  }
}

/** The id of the stored key a request presents (the guard has checked it); undefined for a key of API_KEYS or none. */
function keyIdOf(headers: IncomingHttpHeaders): string | undefined {
  const presented = ApiKeys.presentedKey(headers);
  return presented === undefined ? undefined : parseKey(presented)?.id;
}

/**
 * The 429 of a limit: Retry-After, and the fields of the IETF draft "RateLimit header fields for
 * HTTP" (draft-ietf-httpapi-ratelimit-headers-10, structured-field form): the policy's quota `q` per
 * window `w` seconds, and what remains of it `r` (nothing) until `t` seconds from now.
 */
function refusal(held: Held, wait: number): TooManyRequestsError {
  const perSecond = held.bucket.perSecond;
  const error = new TooManyRequestsError(`${held.who} may send ${perSecond} ${held.unit} per second: retry in ${wait} s`, wait, [
    { field: held.field, message: `${perSecond} ${held.unit} per second`, limit: perSecond, retryAfterSeconds: wait },
  ]);
  error.headers['RateLimit-Policy'] = `"${held.policy}";${quota(perSecond)}`;
  error.headers['RateLimit'] = `"${held.policy}";r=0;t=${wait}`;
  return error;
}

/** q and w as integers (the draft's sf-integer): per second when the rate is whole, else per minute. */
function quota(perSecond: number): string {
  if (Number.isInteger(perSecond)) return `q=${perSecond};w=1`;
  return `q=${Math.max(1, Math.round(perSecond * 60))};w=60`;
}
