import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Claim, IdempotencyRepository } from '../cassandra/idempotency.repository';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ConflictError, UnprocessableEntityError } from '../common/errors/errors';
import { IngestResponseDto } from './dto/ingest-response.dto';

/** Where a request's idempotency key came from, as the sender knows it (the 409/422 messages name it). */
export interface IdempotencyKey {
  value: string;
  /** `Idempotency-Key`, or what a signed source's signature covers (`webhook-id`, a Stripe event's id, the signed content). */
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
 * every worker agrees. Every claim is kept IDEMPOTENCY_TTL_SECONDS, so that another body is refused
 * as long as the answer is kept.
 */
@Injectable()
export class IdempotentRequests {
  private readonly logger = new Logger(IdempotentRequests.name);
  /** How long an unanswered claim holds a key before a retry may take it over (its request died): twice Kafka's deadline, at least 30 s. */
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
    const kept = this.config.ingest.idempotencyTtlSeconds;
    const held = await this.keys.claim(source, key.value, claim, kept);
    if (!held) return this.claimed(source, key, claim);
    const sameBody = held.bodyHash === bodyHash;
    if (held.state === 'in_flight') {
      if (!sameBody) throw this.reused(source, key, held.createdAt);
      const answer = await this.keys.answerOf(source, key.value);
      if (answer?.owner === held.owner) return { replay: JSON.parse(answer.response) as IngestResponseDto };
      // Not answered yet: still being published, unless its request died (then the key is taken over).
      if (Date.now() - held.createdAt.getTime() < this.claimSeconds * 1000) throw this.inFlight(source, key, held.createdAt);
    }
    // The retry of a request Kafka did not acknowledge, or that died (either may have reached Kafka all
    // the same): the same body is published with the same receivedAt and ids, so the stream's upsert keeps one copy.
    const retry = { ...claim, createdAt: sameBody ? held.createdAt : claim.createdAt };
    if (await this.keys.takeOver(source, key.value, retry, held.owner, kept)) return this.claimed(source, key, retry);
    throw this.inFlight(source, key, held.createdAt);
  }

  private claimed(source: string, key: IdempotencyKey, claim: Claim): Admission {
    const kept = this.config.ingest.idempotencyTtlSeconds;
    const where = `${key.name} "${key.value}" of source "${source}"`;
    return {
      receivedAt: claim.createdAt,
      answered: async (response) => {
        await this.keys.answer(source, key.value, claim.owner, JSON.stringify(response), kept).catch((err: Error) => {
          // The events are in Kafka: the request succeeded. Its retry, once the claim is old enough to
          // be taken over, publishes the same ids and receivedAt again, which the stream's upsert absorbs.
          this.logger.warn(`${where}: answer not stored (${err.message})`);
        });
      },
      failed: async () => {
        await this.keys.fail(source, key.value, claim, kept).catch((err: Error) => {
          this.logger.warn(`${where}: failure not recorded (${err.message}); a retry takes the key over after ${this.claimSeconds} s`);
        });
      },
    };
  }

  private reused(source: string, key: IdempotencyKey, since: Date): UnprocessableEntityError {
    return new UnprocessableEntityError(
      `${key.name} "${key.value}" was already used for a different request body to source "${source}"${firstSeen(since)}; ` +
        'send a new key for a new request, or the same body to retry',
      [{ field: key.name, message: 'reused with a different body' }],
    );
  }

  private inFlight(source: string, key: IdempotencyKey, since: Date): ConflictError {
    const conflict = new ConflictError(
      `A request with ${key.name} "${key.value}" to source "${source}" is still being processed${firstSeen(since)}; retry in a moment`,
      [{ field: key.name, message: 'still being processed' }],
    );
    conflict.headers['Retry-After'] = '1';
    return conflict;
  }
}

const firstSeen = (at: Date | undefined): string => (at instanceof Date ? ` (first seen ${at.toISOString()})` : '');
