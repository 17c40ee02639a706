import type { StoredEvent } from '../cassandra/events.repository';
import { payloadJson, recordsPageJson, storedPayload } from './records-json';

const at = new Date('2026-01-02T03:04:05.678Z');
const event = (payload: string, extra: Partial<StoredEvent> = {}): StoredEvent => ({
  eventId: '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11',
  source: 'users',
  receivedAt: at,
  payload,
  ...extra,
});

/** The answer as the DTO route writes it: each payload parsed, then the page stringified. */
const viaDto = (items: StoredEvent[], nextPageToken?: string) =>
  JSON.stringify({
    items: items.map((e) => ({
      eventId: e.eventId,
      source: e.source,
      receivedAt: e.receivedAt.toISOString(),
      ...(e.key === undefined ? {} : { key: e.key }),
      payload: storedPayload(e.payload),
      ...(e.processedAt === undefined ? {} : { processedAt: e.processedAt.toISOString() }),
    })),
    ...(nextPageToken === undefined ? {} : { nextPageToken }),
  });

describe('recordsPageJson', () => {
  it('writes the same document as the DTO, fields in the same order, payloads spliced as stored', () => {
    const items = [
      event('{"name":"Ada","tags":["x"],"n":1.5}', { key: 'ada@example.com', processedAt: new Date(at.getTime() + 850) }),
      event('{"name":"Zoë \\"quoted\\" \u2028","nested":{"a":[1,{"b":null}]}}', { source: 'a"b\\c' }),
      event('[1,2]'),
    ];
    const json = recordsPageJson(items, 'tok.en');
    expect(json).toBe(viaDto(items, 'tok.en'));
    expect(JSON.parse(json)).toEqual(JSON.parse(viaDto(items, 'tok.en')));
  });

  it('leaves nextPageToken out on the last page, and writes an empty page', () => {
    expect(recordsPageJson([], undefined)).toBe('{"items":[]}');
    expect(JSON.parse(recordsPageJson([event('{}')], undefined))).toEqual({ items: [{ eventId: expect.any(String), source: 'users', receivedAt: at.toISOString(), payload: {} }] });
  });

  it('parses a payload that is not an object or array, and keeps one that does not parse as a string', () => {
    expect(payloadJson('42')).toBe('42');
    expect(payloadJson('"text"')).toBe('"text"');
    expect(payloadJson('not json')).toBe('"not json"');
    expect(payloadJson('')).toBe('""');
    const items = [event('42'), event('not json'), event(' {"a":1}')];
    expect(JSON.parse(recordsPageJson(items, undefined))).toEqual(JSON.parse(viaDto(items)));
  });
});
