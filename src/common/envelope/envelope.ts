import { v5 as uuidv5 } from 'uuid';
import { uuidV7 } from '../ids/uuid-v7';

/** The value of every Kafka message the control plane publishes. */
export interface EventEnvelope {
  eventId: string;
  source: string;
  receivedAt: string;
  key?: string;
  /** The version of the source's schema the event was checked against; absent for a source without a schema. */
  schemaVersion?: number;
  payload: Record<string, unknown>;
}

// Namespace for ids derived from an Idempotency-Key (UUID v5 of "<source>/<key>/<index>").
const IDEMPOTENCY_NAMESPACE = '6f1f2a8e-5d43-4d6b-9a53-4b0a2c1d9e77';

/**
 * Event ids are UUID v7 (time-ordered). With an Idempotency-Key, ids are derived from it instead,
 * so a retried request yields the same ids and the downstream upsert keeps one copy.
 */
export function eventIds(source: string, count: number, idempotencyKey?: string): string[] {
  if (idempotencyKey === undefined) return Array.from({ length: count }, () => uuidV7());
  return Array.from({ length: count }, (_, i) => uuidv5(`${source}/${idempotencyKey}/${i}`, IDEMPOTENCY_NAMESPACE));
}

/** The partition key: the payload's keyField when it holds a string or number, else the event id. */
export function partitionKey(payload: Record<string, unknown>, keyField?: string): string | undefined {
  if (!keyField) return undefined;
  const value = payload[keyField];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
