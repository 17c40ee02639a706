import { BadRequestError } from '../common/errors/errors';

/** Where a dead-letter listing stopped: the query it belongs to and the driver's paging state. */
export interface DeadLettersCursor {
  source: string;
  from: number;
  to: number;
  pageState: string;
}

/** Opaque to callers: base64url of a small JSON document, told apart from a records token by its kind. */
export function encodeDeadLettersToken(cursor: DeadLettersCursor): string {
  const doc = { v: 1, k: 'dead-letters', s: cursor.source, f: cursor.from, t: cursor.to, p: cursor.pageState };
  return Buffer.from(JSON.stringify(doc)).toString('base64url');
}

export function decodeDeadLettersToken(token: string): DeadLettersCursor {
  try {
    const doc = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      doc?.v === 1 &&
      doc.k === 'dead-letters' &&
      typeof doc.s === 'string' &&
      Number.isFinite(doc.f) &&
      Number.isFinite(doc.t) &&
      typeof doc.p === 'string' &&
      doc.p !== ''
    ) {
      return { source: doc.s, from: doc.f, to: doc.t, pageState: doc.p };
    }
  } catch {
    // fall through to the one message below
  }
  throw new BadRequestError('pageToken is not valid: pass the nextPageToken of the previous page unchanged');
}
