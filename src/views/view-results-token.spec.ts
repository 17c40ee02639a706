import { BadRequestError } from '../common/errors/errors';
import { decodePageToken, encodePageToken, pageTokenKey } from '../common/paging/page-token';
import { decodeViewResultsToken, encodeViewResultsToken, ViewResultsCursor } from './view-results-token';

const KEY = pageTokenKey('a page-token secret of the test');
const CURSOR: ViewResultsCursor = {
  viewId: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11',
  from: Date.parse('2026-12-01T00:00:00Z'),
  to: Date.parse('2026-12-02T00:00:00Z'),
  group: '{"/currency":"EUR"}',
  day: '2026-12-01',
  pageState: '0004abcd',
};

describe("the page token of a view's results", () => {
  it('carries the cursor, with and without a paging state and a group', () => {
    expect(decodeViewResultsToken(encodeViewResultsToken(CURSOR, KEY), KEY)).toEqual(CURSOR);
    const bare = { ...CURSOR, group: null, pageState: undefined };
    expect(decodeViewResultsToken(encodeViewResultsToken(bare, KEY), KEY)).toEqual(bare);
  });

  it('is refused under another key, and for a records token under the same key (and the other way round)', () => {
    const refusal = (open: () => unknown) => {
      try {
        open();
      } catch (err) {
        return err as BadRequestError;
      }
      throw new Error('accepted');
    };
    const records = encodePageToken({ source: 'orders', from: CURSOR.from, to: CURSOR.to, day: CURSOR.day, bucket: CURSOR.from }, KEY);

    for (const err of [
      refusal(() => decodeViewResultsToken(encodeViewResultsToken(CURSOR, pageTokenKey('another secret')), KEY)),
      refusal(() => decodeViewResultsToken(records, KEY)),
      refusal(() => decodePageToken(encodeViewResultsToken(CURSOR, KEY), KEY)),
    ]) {
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.details).toEqual([{ field: 'pageToken', message: 'not a token this API issued' }]);
    }
  });
});
