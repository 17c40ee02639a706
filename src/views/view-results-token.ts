import { openPageToken, sealPageToken } from '../common/paging/page-token';

/**
 * Where a listing of a view's results stopped: the query it belongs to (the view's id, so a view
 * deleted and created again under its name does not take it; the range, epoch ms; the group filter
 * as canonical JSON, null for none), the UTC day partition it stopped in, and the driver's paging
 * state there (absent: that day is next, from its newest window).
 */
export interface ViewResultsCursor {
  viewId: string;
  from: number;
  to: number;
  group: string | null;
  day: string;
  pageState?: string;
}

/** Sealed like a records token (a MAC with the page-token key), told apart from one by its kind. */
export function encodeViewResultsToken(cursor: ViewResultsCursor, key: Buffer): string {
  return sealPageToken(
    { v: 1, k: 'view-results', i: cursor.viewId, f: cursor.from, t: cursor.to, g: cursor.group, d: cursor.day, p: cursor.pageState ?? null },
    key,
  );
}

export function decodeViewResultsToken(token: string, key: Buffer): ViewResultsCursor {
  return openPageToken(token, key, (doc) =>
    doc.v === 1 &&
    doc.k === 'view-results' &&
    typeof doc.i === 'string' &&
    Number.isFinite(doc.f) &&
    Number.isFinite(doc.t) &&
    (doc.g === null || typeof doc.g === 'string') &&
    typeof doc.d === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(doc.d) &&
    (doc.p === null || (typeof doc.p === 'string' && doc.p !== ''))
      ? { viewId: doc.i, from: doc.f as number, to: doc.t as number, group: doc.g, day: doc.d, pageState: doc.p ?? undefined }
      : undefined,
  );
}
