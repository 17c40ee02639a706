import { StoredEvent } from '../cassandra/events.repository';
import { recordsPageJson } from './records-page.json';

const row = (overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  eventId: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11',
  source: 'users',
  receivedAt: new Date('2026-01-02T10:00:00Z'),
  key: 'ada@example.com',
  payload: '{"name":"Ada","tags":["a\\"b"],"n":1.5}',
  processedAt: new Date('2026-01-02T10:00:00.850Z'),
  ...overrides,
});

/** What the page's DTO would have been serialized as, payload parsed: the body must not change. */
const asSerialized = (items: object[], nextPageToken?: string) => JSON.stringify(nextPageToken === undefined ? { items } : { items, nextPageToken });

describe('recordsPageJson', () => {
  it('writes the page as the DTO serializes, splicing each stored payload in as it is', () => {
    const body = recordsPageJson({ items: [row()], nextPageToken: 'abc.def' });

    expect(body).toBe(
      asSerialized(
        [
          {
            eventId: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11',
            source: 'users',
            receivedAt: '2026-01-02T10:00:00.000Z',
            key: 'ada@example.com',
            payload: { name: 'Ada', tags: ['a"b'], n: 1.5 },
            processedAt: '2026-01-02T10:00:00.850Z',
          },
        ],
        'abc.def',
      ),
    );
  });

  it('leaves out a missing key, processedAt and nextPageToken, and writes an empty page', () => {
    expect(recordsPageJson({ items: [row({ key: undefined, processedAt: undefined })] })).toBe(
      asSerialized([{ eventId: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11', source: 'users', receivedAt: '2026-01-02T10:00:00.000Z', payload: { name: 'Ada', tags: ['a"b'], n: 1.5 } }]),
    );
    expect(recordsPageJson({ items: [] })).toBe('{"items":[]}');
  });

  it.each([
    ['plain text', 'not json'],
    ['an array', '[1,2]'],
    ['text with a raw newline', '{"a":"x\ny"}'],
    ['an empty string', ''],
  ])('sends a stored payload that is %s as a JSON string, so the body stays JSON', (_case, payload) => {
    const body = recordsPageJson({ items: [row({ payload })] });

    expect(JSON.parse(body).items[0].payload).toBe(payload);
  });

  it('escapes what the ids, source, key and token hold', () => {
    const body = recordsPageJson({ items: [row({ eventId: 'a"b', key: 'line\nbreak\u2028' })], nextPageToken: 't"' });

    expect(JSON.parse(body)).toMatchObject({ items: [{ eventId: 'a"b', key: 'line\nbreak\u2028' }], nextPageToken: 't"' });
  });
});
