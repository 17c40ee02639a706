import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from '../errors/errors';

/**
 * Where a records listing stopped: the query it belongs to, the bucket partition (its start, epoch
 * ms, and its UTC day), and the driver's paging state in it. Without a paging state the listing
 * goes on with the bucket after that one.
 */
export interface PageCursor {
  source: string;
  from: number;
  to: number;
  day: string;
  bucket: number;
  pageState?: string;
}

/** Version 1 walked day partitions; its tokens are refused like any other the API does not issue. */
const VERSION = 2;
/** The largest epoch ms a Date holds. */
const MAX_INSTANT_MS = 8.64e15;

/** Bytes of the HMAC-SHA256 kept in a token: enough that a forged one is never accepted, short enough for a URL. */
const MAC_BYTES = 16;
const INVALID = 'pageToken is not valid: pass the nextPageToken of the previous page unchanged (or start again without one)';

/**
 * The key that signs page tokens, derived from PAGE_TOKEN_SECRET (a secret of its own: an API key
 * in the page-token MAC would be a key's digest anyone could grind offline): every replica with the
 * same secret accepts the others' tokens, and changing it makes the tokens in flight 400 (start again).
 */
export function pageTokenKey(secret: string): Buffer {
  return createHash('sha256').update('page-token\0').update(secret).digest();
}

/**
 * A page token: opaque to callers, base64url of a small JSON document and of its MAC. The MAC makes a
 * token the API did not issue (forged, edited, truncated) a 400 before Cassandra sees its paging state.
 */
export function sealPageToken(doc: Record<string, unknown>, key: Buffer): string {
  const body = Buffer.from(JSON.stringify(doc));
  return `${body.toString('base64url')}.${mac(body, key).toString('base64url')}`;
}

/** The document of a token this API sealed with `key`, handed to `read`; 400 naming pageToken for any other token. */
export function openPageToken<T>(token: string, key: Buffer, read: (doc: Record<string, unknown>) => T | undefined): T {
  const [encoded, signature, ...rest] = token.split('.');
  if (rest.length === 0 && signature !== undefined && /^[\w-]+$/.test(encoded) && /^[\w-]+$/.test(signature)) {
    const body = Buffer.from(encoded, 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length === MAC_BYTES && timingSafeEqual(given, mac(body, key))) {
      const doc = parse(body);
      const cursor = doc && read(doc);
      if (cursor) return cursor;
    }
  }
  throw new BadRequestError(INVALID, [{ field: 'pageToken', message: 'not a token this API issued' }]);
}

export function encodePageToken(cursor: PageCursor, key: Buffer): string {
  return sealPageToken({ v: VERSION, s: cursor.source, f: cursor.from, t: cursor.to, d: cursor.day, b: cursor.bucket, p: cursor.pageState ?? null }, key);
}

export function decodePageToken(token: string, key: Buffer): PageCursor {
  return openPageToken(token, key, (doc) =>
    doc.v === VERSION &&
    typeof doc.s === 'string' &&
    Number.isFinite(doc.f) &&
    Number.isFinite(doc.t) &&
    typeof doc.d === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(doc.d) &&
    Number.isSafeInteger(doc.b) &&
    Math.abs(doc.b as number) <= MAX_INSTANT_MS &&
    new Date(doc.b as number).toISOString().slice(0, 10) === doc.d &&
    (doc.p === null || typeof doc.p === 'string')
      ? { source: doc.s, from: doc.f as number, to: doc.t as number, day: doc.d, bucket: doc.b as number, pageState: doc.p ?? undefined }
      : undefined,
  );
}

const mac = (body: Buffer, key: Buffer) => createHmac('sha256', key).update(body).digest().subarray(0, MAC_BYTES);

function parse(body: Buffer): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(body.toString('utf8'));
    return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : undefined;
  } catch {
    // a token we sealed always parses
    return undefined;
  }
}
