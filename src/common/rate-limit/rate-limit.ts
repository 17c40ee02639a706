/**
 * A rate limit as a key or a source declares it: requests per second (every route, for a key; ingest
 * requests, for a source), events per second (ingest: a batch of 100 is 100 events), and the size of
 * the bucket, the most a caller idle for a while may send at once (default: half a second's worth of
 * each rate, so that any 10 s take at most 5 % above the limit from a full bucket).
 */
export interface RateLimit {
  requestsPerSecond?: number;
  eventsPerSecond?: number;
  burst?: number;
}

/** Large enough for any front door this pipeline has; small enough that a typo is caught. */
export const MAX_RATE = 1_000_000;

const FIELDS = ['requestsPerSecond', 'eventsPerSecond', 'burst'] as const;

/**
 * A rate limit as written in config/sources.yaml or a stored definition, checked: each field a
 * positive finite number within MAX_RATE, nothing else. Throws an Error whose message starts with the
 * field's path (`rateLimit.burst ...`), as the sources registry's parser reports every setting.
 */
export function parseRateLimit(value: unknown, where: string): RateLimit {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where}rateLimit must be a mapping of requestsPerSecond, eventsPerSecond and burst`);
  }
  const entry = value as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) throw new Error(`${where}rateLimit.${unknown[0]} is not a setting of a rate limit; allowed: ${FIELDS.join(', ')}`);
  const limit: RateLimit = {};
  for (const field of FIELDS) {
    const n = entry[field];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_RATE) {
      throw new Error(`${where}rateLimit.${field} must be a positive number of at most ${MAX_RATE}; got ${JSON.stringify(n)}`);
    }
    limit[field] = n;
  }
  return limit;
}

/** The bucket size of a rate when the limit gives none: half a second's worth, at least one. */
export const defaultBurst = (perSecond: number): number => Math.max(1, Math.ceil(perSecond / 2));
