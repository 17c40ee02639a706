import type { StoredEvent } from '../../cassandra/events.repository';
import { recordsPageBody } from './records-json';
import { toView } from './records.service';

const at = new Date('2026-01-02T03:04:05.678Z');
const event = (payload: string, extra: Partial<StoredEvent> = {}): StoredEvent => ({
  eventId: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11',
  source: 'users',
  receivedAt: at,
  payload: Buffer.from(payload),
  ...extra,
});

const page = (items: StoredEvent[], nextPageToken?: string) => recordsPageBody(items, nextPageToken).toString('utf8');

/** The answer as the DTO route writes it: each stored event as RecordsService answers it, then the page stringified. */
const viaDto = (items: StoredEvent[], nextPageToken?: string) =>
  JSON.stringify({ items: items.map(toView), ...(nextPageToken === undefined ? {} : { nextPageToken }) });

describe('recordsPageBody', () => {
  it('writes the same document as the DTO, fields in the same order, payloads spliced as stored', () => {
    const items = [
      event('{"name":"Ada","tags":["x"],"n":1.5}', { key: 'ada@example.com', processedAt: new Date(at.getTime() + 850) }),
      event('{"name":"Zoë \\"quoted\\" \u2028","nested":{"a":[1,{"b":null}]}}', { source: 'a"b\\c' }),
      event('[1,2]'),
      event('{"amount":1}', { schemaVersion: 3, processedAt: new Date(at.getTime() + 10) }),
      event('{"amount":2}', { schemaVersion: 1 }),
      event('{"amount":3}', {
        schemaVersion: 2,
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        headers: { 'pipeline-source': 'users', 'x-note': 'a "quoted" \u00e9' },
      }),
      event('{"amount":4}', { traceId: '0af7651916cd43dd8448eb211c80319c' }),
      event('{"amount":5}', { headers: {} }),
    ];
    const json = page(items, 'tok.en');
    expect(json).toBe(viaDto(items, 'tok.en'));
    expect(JSON.parse(json)).toEqual(JSON.parse(viaDto(items, 'tok.en')));
  });

  it('leaves nextPageToken out on the last page, and writes an empty page', () => {
    expect(page([])).toBe('{"items":[]}');
    expect(JSON.parse(page([event('{}')]))).toEqual({ items: [{ eventId: expect.any(String), source: 'users', receivedAt: at.toISOString(), payload: {} }] });
  });

  it('parses a payload that is not an object or array, and keeps one that does not parse as a string', () => {
    const payloads = (items: StoredEvent[]) => (JSON.parse(page(items)) as { items: { payload: unknown }[] }).items.map((r) => r.payload);
    expect(payloads([event('42'), event('"text"'), event('not json'), event(''), event('{'), event(' {"a":1}')])).toEqual([
      42,
      'text',
      'not json',
      '',
      '{',
      { a: 1 },
    ]);
    const items = [event('42'), event('not json'), event(' {"a":1}')];
    expect(page(items)).toBe(viaDto(items));
  });

  it('grows past its first estimate: long keys of many-byte characters, a long page token', () => {
    const key = '\u{1F600}é'.repeat(400);
    const items = Array.from({ length: 5 }, () => event('{"a":"ü"}', { key, source: 'ß'.repeat(300) }));
    const token = 't'.repeat(5000);
    expect(page(items, token)).toBe(viaDto(items, token));
  });
});
