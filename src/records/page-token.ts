import { BadRequestError } from '../common/errors/errors';

/** Where a records listing stopped: the query it belongs to, the day partition, and the driver's paging state. */
export interface PageCursor {
  source: string;
  from: number;
  to: number;
  day: string;
  pageState?: string;
}

/** Opaque to callers: base64url of a small JSON document. */
export function encodePageToken(cursor: PageCursor): string {
  const doc = { v: 1, s: cursor.source, f: cursor.from, t: cursor.to, d: cursor.day, p: cursor.pageState ?? null };
  return Buffer.from(JSON.stringify(doc)).toString('base64url');
}

export function decodePageToken(token: string): PageCursor {
  try {
    const doc = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
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
    // fall through to the one message below
  }
  throw new BadRequestError('pageToken is not valid: pass the nextPageToken of the previous page unchanged');
}
