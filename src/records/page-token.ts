import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from '../common/errors/errors';

/** Where a records listing stopped: the query it belongs to, the day partition, and the driver's paging state. */
export interface PageCursor {
  source: string;
  from: number;
  to: number;
  day: string;
  pageState?: string;
}

/** Bytes of the HMAC-SHA256 kept in a token: enough that a forged one is never accepted, short enough for a URL. */
const MAC_BYTES = 16;
const INVALID = 'pageToken is not valid: pass the nextPageToken of the previous page unchanged (or start again without one)';

/**
 * The key that signs page tokens, derived from the API keys: every replica configured with the same
 * keys accepts the others' tokens. Changing the keys invalidates the tokens in flight (400; start again).
 */
export function pageTokenKey(apiKeys: readonly string[]): Buffer {
  return createHash('sha256').update('page-token\0').update([...apiKeys].sort().join('\0')).digest();
}

/**
 * Opaque to callers: base64url of a small JSON document and of its MAC. The MAC makes a token the
 * API did not issue (forged, edited, truncated) a 400 before Cassandra sees its paging state.
 */
export function encodePageToken(cursor: PageCursor, key: Buffer): string {
  const doc = { v: 1, s: cursor.source, f: cursor.from, t: cursor.to, d: cursor.day, p: cursor.pageState ?? null };
  const body = Buffer.from(JSON.stringify(doc));
  return `${body.toString('base64url')}.${mac(body, key).toString('base64url')}`;
}

export function decodePageToken(token: string, key: Buffer): PageCursor {
  const [encoded, signature, ...rest] = token.split('.');
  if (rest.length === 0 && signature !== undefined && /^[\w-]+$/.test(encoded) && /^[\w-]+$/.test(signature)) {
    const body = Buffer.from(encoded, 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length === MAC_BYTES && timingSafeEqual(given, mac(body, key))) {
      const cursor = parse(body);
      if (cursor) return cursor;
    }
  }
  throw new BadRequestError(INVALID, [{ field: 'pageToken', message: 'not a token this API issued' }]);
}

const mac = (body: Buffer, key: Buffer) => createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES);

function parse(body: Buffer): PageCursor | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8'));
    if (
      doc?.v === 1 &&
      typeof doc.s === 'string' &&
      Number.isFinite(doc.f) &&
      Number.isFinite(doc.t) &&
      /^\d{4}-\d{2}-\d{2}$/.test(doc.d) &&
      (doc.p === null || typeof doc.p === 'string')
    ) {
      return { source: doc.s, from: doc.f, to: doc.t, day: doc.d, pageState: doc.p ?? undefined };
    }
  } catch {
    // a token we signed always parses; fall through
  }
  return undefined;
}
