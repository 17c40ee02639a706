import { createHmac } from 'node:crypto';
import { BadRequestError } from '../errors/errors';
import { testConfig } from '../testing/config';
import { decodePageToken, encodePageToken, PageCursor, pageTokenKey } from './page-token';

const SECRET = 's'.repeat(32);
const KEY = pageTokenKey(SECRET);

const cursor: PageCursor = {
  source: 'users',
  from: Date.parse('2026-01-01T00:00:00Z'),
  to: Date.parse('2026-01-04T00:00:00Z'),
  day: '2026-01-02',
  bucket: Date.parse('2026-01-02T10:00:00Z'),
  pageState: '0011aabbccdd',
};

const encoded = (doc: unknown) => Buffer.from(JSON.stringify(doc)).toString('base64url');
/** A token signed with the right key, as only the API could make it. */
const signed = (doc: unknown, key = KEY) => {
  const body = Buffer.from(JSON.stringify(doc));
  return `${body.toString('base64url')}.${createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url')}`;
};

describe('page tokens', () => {
  it('round-trip a cursor with a paging state', () => {
    expect(decodePageToken(encodePageToken(cursor, KEY), KEY)).toEqual(cursor);
  });

  it('round-trip a cursor without a paging state', () => {
    const afterBucket: PageCursor = { ...cursor, pageState: undefined };

    expect(decodePageToken(encodePageToken(afterBucket, KEY), KEY)).toEqual(afterBucket);
  });

  it('are URL-safe', () => {
    expect(encodePageToken({ ...cursor, pageState: '\u00ff\u00fe?/+' }, KEY)).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it('are accepted by every replica with the same PAGE_TOKEN_SECRET', () => {
    const token = encodePageToken(cursor, pageTokenKey(SECRET));

    expect(decodePageToken(token, pageTokenKey(`${SECRET}`))).toEqual(cursor);
  });

  it('are keyed by PAGE_TOKEN_SECRET alone, not by the API keys', () => {
    const config = (env: Record<string, string>) => testConfig(env).records.pageTokenSecret();
    const token = encodePageToken(cursor, pageTokenKey(config({ API_KEYS: 'a'.repeat(16), PAGE_TOKEN_SECRET: SECRET })));

    expect(decodePageToken(token, pageTokenKey(config({ API_KEYS: 'b'.repeat(16), PAGE_TOKEN_SECRET: SECRET })))).toEqual(cursor);
    expect(() => decodePageToken(token, pageTokenKey(config({ API_KEYS: 'a'.repeat(16), PAGE_TOKEN_SECRET: 't'.repeat(32) })))).toThrow(BadRequestError);
  });

  const doc = { v: 2, s: 'users', f: cursor.from, t: cursor.to, d: cursor.day, b: cursor.bucket, p: 'garbage' };

  it.each([
    ['not a token at all', 'not-a-token'],
    ['empty', ''],
    ['a well-formed cursor without a MAC (forged)', encoded(doc)],
    ['a forged cursor with a made-up MAC', `${encoded(doc)}.${'A'.repeat(22)}`],
    ['a real token whose cursor was edited', `${encoded({ ...doc, p: 'other' })}.${encodePageToken(cursor, KEY).split('.')[1]}`],
    ['a real token cut short', encodePageToken(cursor, KEY).slice(0, -3)],
    ['signed with another secret', encodePageToken(cursor, pageTokenKey('x'.repeat(32)))],
    ['a real token with a part added', `${encodePageToken(cursor, KEY)}.x`],
  ])('reject a token that is %s with 400 naming pageToken', (_case, token) => {
    expect(() => decodePageToken(token, KEY)).toThrow(BadRequestError);
    expect(() => decodePageToken(token, KEY)).toThrow(/^pageToken is not valid: pass the nextPageToken of the previous page unchanged/);
    try {
      decodePageToken(token, KEY);
    } catch (err) {
      expect((err as BadRequestError).details).toEqual([{ field: 'pageToken', message: 'not a token this API issued' }]);
    }
  });

  const JAN_1 = Date.parse('2026-01-01T00:00:00Z');

  it.each([
    ['of an unknown version', { v: 3, s: 'users', f: 0, t: 1, d: '2026-01-01', b: JAN_1, p: null }],
    // the tokens of the API before events were bucketed: they named a day partition, not a bucket
    ['of version 1 (a day, no bucket)', { v: 1, s: 'users', f: 0, t: 1, d: '2026-01-01', p: null }],
    ['of version 1 with a paging state', { v: 1, s: 'users', f: 0, t: 1, d: '2026-01-01', p: '0011aabbccdd' }],
    ['missing the source', { v: 2, f: 0, t: 1, d: '2026-01-01', b: JAN_1, p: null }],
    ['carrying a malformed day', { v: 2, s: 'users', f: 0, t: 1, d: '2026-1-1', b: JAN_1, p: null }],
    ['carrying a non-numeric range', { v: 2, s: 'users', f: 'a', t: 1, d: '2026-01-01', b: JAN_1, p: null }],
    ['missing the bucket', { v: 2, s: 'users', f: 0, t: 1, d: '2026-01-01', p: null }],
    ['carrying a non-numeric bucket', { v: 2, s: 'users', f: 0, t: 1, d: '2026-01-01', b: '2026-01-01T00:00:00Z', p: null }],
    ['carrying a bucket of another day', { v: 2, s: 'users', f: 0, t: 1, d: '2026-01-02', b: JAN_1, p: null }],
    ['carrying a bucket beyond the Date range', { v: 2, s: 'users', f: 0, t: 1, d: '2026-01-01', b: 1e20, p: null }],
    ['carrying a non-string paging state', { v: 2, s: 'users', f: 0, t: 1, d: '2026-01-01', b: JAN_1, p: 7 }],
    ['JSON null', null],
  ])('reject a signed token %s with 400 naming pageToken', (_case, content) => {
    expect(() => decodePageToken(signed(content), KEY)).toThrow(BadRequestError);
    expect(() => decodePageToken(signed(content), KEY)).toThrow(/^pageToken is not valid/);
  });
});
