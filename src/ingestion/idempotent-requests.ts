import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Claim, IdempotencyEntry, IdempotencyRepository } from '../cassandra/idempotency.repository';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ConflictError, UnprocessableEntityError } from '../common/errors/errors';
import { IngestResponseDto } from './dto/ingest-response.dto';

/** Where a request's idempotency key came from, as the sender knows it (the 409/422 messages name it). */
export interface IdempotencyKey {
  value: string;
  /** `Idempotency-Key`, or the signed source's delivery id header (`webhook-id`, `X-GitHub-Delivery`, ...). */
  name: string;
}

/** The outcome of admitting a request with a key: the first answer again, or the claim of a request to publish. */
export type Admission =
  | { replay: IngestResponseDto }
  | {
      replay?: undefined;
      /** The events' receivedAt: now, or for the retry of a request that failed, that request's. */
      receivedAt: Date;
      /** Stores the answer for the key's retries, once Kafka acknowledged. */
      answered(response: IngestResponseDto): Promise<void>;
      /** Records that Kafka did not acknowledge: the retry publishes, with the same ids and receivedAt. */
      failed(): Promise<void>;
    };

/**
 * Requests with an idempotency key (the IETF Idempotency-Key draft, as Stripe does it): per source and
 * key, the first request is published and its answer kept; a retry with the same body gets that
 * answer again and publishes nothing; the same key with another body is 422; the same key while the
 * first request is still being published is 409. The keys live in Cassandra, so every replica and
 * every worker agrees.
 */
@Injectable()
export class IdempotentRequests {
  private readonly logger = new Logger(IdempotentRequests.name);
  /** How long a claim holds a key for a request that never answers (one that died): twice Kafka's deadline, at least 30 s. */
  private readonly claimSeconds: number;

  constructor(
    private readonly keys: IdempotencyRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.claimSeconds = Math.max(30, Math.ceil((2 * config.kafka.publishTimeoutMs) / 1000));
  }

  /** The body's hash: the decoded bytes, so that the same events sent compressed or not are the same request. */
  static bodyHash(body: Buffer): string {
    return createHash('sha256').update(body).digest('base64url');
  }

  async admit(source: string, key: IdempotencyKey, bodyHash: string): Promise<Admission> {
    const claim: Claim = { bodyHash, owner: randomUUID(), createdAt: new Date() };
    const held = await this.keys.claim(source, key.value, claim, this.claimSeconds);
    if (!held) return this.claimed(source, key, claim);
    if (held.state !== 'failed') return { replay: this.existing(source, key, bodyHash, held) };
    // The retry of a request Kafka did not acknowledge (which may have reached Kafka all the same): the
    // same body is published with the same receivedAt and ids, so that the stream's upsert keeps one copy.
    const retry = { ...claim, createdAt: held.bodyHash === bodyHash ? held.createdAt : claim.createdAt };
    if (await this.keys.takeOver(source, key.value, retry, held.owner, this.claimSeconds)) return this.claimed(source, key, retry);
    throw this.inFlight(source, key, held.createdAt);
  }

  private claimed(source: string, key: IdempotencyKey, claim: Claim): Admission {
    const keptSeconds = this.config.ingest.idempotencyTtlSeconds;
    const where = `${key.name} "${key.value}" of source "${source}"`;
    return {
      receivedAt: claim.createdAt,
      answered: async (response) => {
        try {
          if (await this.keys.complete(source, key.value, { ...claim, response: JSON.stringify(response) }, keptSeconds)) return;
          this.logger.warn(`${where}: the claim expired before the answer was stored`);
        } catch (err) {
          // The events are in Kafka: the request succeeded. A retry once the claim expired publishes the
          // same event ids again (they derive from the key and the body), under a new receivedAt.
          this.logger.warn(`${where}: answer not stored (${(err as Error).message})`);
        }
      },
      failed: async () => {
        await this.keys.fail(source, key.value, claim, keptSeconds).catch((err: Error) => {
          this.logger.warn(`${where}: failure not recorded (${err.message}); the key frees itself in ${this.claimSeconds} s`);
        });
      },
    };
  }

  private existing(source: string, key: IdempotencyKey, bodyHash: string, held: IdempotencyEntry): IngestResponseDto {
    if (held.bodyHash !== bodyHash) {
      throw new UnprocessableEntityError(
        `${key.name} "${key.value}" was already used for a different request body to source "${source}"${firstSeen(held.createdAt)}; ` +
          'send a new key for a new request, or the same body to retry',
        [{ field: key.name, reason: 'reused_with_different_body' }],
      );
    }
    if (held.state !== 'done' || held.response === undefined) throw this.inFlight(source, key, held.createdAt);
    return JSON.parse(held.response) as IngestResponseDto;
  }

  private inFlight(source: string, key: IdempotencyKey, since: Date): ConflictError {
    const conflict = new ConflictError(
      `A request with ${key.name} "${key.value}" to source "${source}" is still being processed${firstSeen(since)}; retry in a moment`,
      [{ field: key.name, reason: 'in_flight' }],
    );
    conflict.headers['Retry-After'] = '1';
    return conflict;
  }
}

const firstSeen = (at: Date | undefined): string => (at instanceof Date ? ` (first seen ${at.toISOString()})` : '');
