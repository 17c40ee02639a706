import { openPageToken, sealPageToken } from '../../common/paging/page-token';

/** Where a dead-letter listing stopped: the query it belongs to and the driver's paging state. */
export interface DeadLettersCursor {
  source: string;
  from: number;
  to: number;
  pageState: string;
}

/** Sealed like a records token (a MAC with the page-token key), told apart from one by its kind. */
export function encodeDeadLettersToken(cursor: DeadLettersCursor, key: Buffer): string {
  return sealPageToken({ v: 1, k: 'dead-letters', s: cursor.source, f: cursor.from, t: cursor.to, p: cursor.pageState }, key);
}

export function decodeDeadLettersToken(token: string, key: Buffer): DeadLettersCursor {
  return openPageToken(token, key, (doc) =>
    doc.v === 1 &&
    doc.k === 'dead-letters' &&
    typeof doc.s === 'string' &&
    Number.isFinite(doc.f) &&
    Number.isFinite(doc.t) &&
    typeof doc.p === 'string' &&
    doc.p !== ''
      ? { source: doc.s, from: doc.f as number, to: doc.t as number, pageState: doc.p }
      : undefined,
  );
}
