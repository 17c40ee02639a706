import { BadRequestError } from '../common/errors/errors';
import { decodePageToken, encodePageToken, PageCursor } from './page-token';

const cursor: PageCursor = {
  source: 'users',
  from: Date.parse('2026-01-01T00:00:00Z'),
  to: Date.parse('2026-01-04T00:00:00Z'),
  day: '2026-01-02',
  pageState: '0011aabbccdd',
};

const tokenOf = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString('base64url');

describe('page tokens', () => {
  it('round-trip a cursor with a paging state', () => {
    expect(decodePageToken(encodePageToken(cursor))).toEqual(cursor);
  });

  it('round-trip a cursor without a paging state', () => {
    const atDayStart: PageCursor = { ...cursor, pageState: undefined };

    expect(decodePageToken(encodePageToken(atDayStart))).toEqual(atDayStart);
  });

  it('are URL-safe', () => {
    expect(encodePageToken({ ...cursor, pageState: '\u00ff\u00fe?/+' })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['not base64 JSON', 'not-a-token'],
    ['empty', ''],
    ['of an unknown version', tokenOf({ v: 2, s: 'users', f: 0, t: 1, d: '2026-01-01', p: null })],
    ['missing the source', tokenOf({ v: 1, f: 0, t: 1, d: '2026-01-01', p: null })],
    ['carrying a malformed day', tokenOf({ v: 1, s: 'users', f: 0, t: 1, d: '2026-1-1', p: null })],
    ['carrying a non-numeric range', tokenOf({ v: 1, s: 'users', f: 'a', t: 1, d: '2026-01-01', p: null })],
    ['carrying a non-string paging state', tokenOf({ v: 1, s: 'users', f: 0, t: 1, d: '2026-01-01', p: 7 })],
    ['JSON null', tokenOf(null)],
  ])('reject a token that is %s with 400', (_case, token) => {
    expect(() => decodePageToken(token)).toThrow(BadRequestError);
    expect(() => decodePageToken(token)).toThrow('pageToken is not valid: pass the nextPageToken of the previous page unchanged');
  });
});
