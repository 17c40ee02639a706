import { BadRequestError, UnsupportedMediaTypeError } from '../common/errors/errors';
import { bodyFormat, parseEvents } from './events.parser';

/** The error parseEvents throws for this body. */
function parseError(text: string, format: 'json' | 'ndjson'): BadRequestError {
  try {
    parseEvents(text, format);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return err as BadRequestError;
  }
  throw new Error('expected parseEvents to reject the body');
}

describe('bodyFormat', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['Application/JSON', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['application/ndjson', 'ndjson'],
  ])('maps %s to %s', (contentType, format) => {
    expect(bodyFormat(contentType)).toBe(format);
  });

  it('answers 415 when the Content-Type is missing', () => {
    expect(() => bodyFormat(undefined)).toThrow(UnsupportedMediaTypeError);
    expect(() => bodyFormat(undefined)).toThrow(/Content-Type is missing: send application\/json .* or application\/x-ndjson/);
  });

  it('answers 415 naming an unsupported media type', () => {
    let error: unknown;
    try {
      bodyFormat('text/plain; charset=utf-8');
    } catch (err) {
      error = err;
    }

    expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(error).toMatchObject({ statusCode: 415, message: expect.stringContaining('Content-Type "text/plain" is not supported') });
  });
});

describe('parseEvents', () => {
  it('reads a single JSON object as a batch of one', () => {
    expect(parseEvents('{"name":"Ada"}', 'json').events).toEqual([{ name: 'Ada' }]);
  });

  it('reads a JSON array as one event per element, in order', () => {
    expect(parseEvents('[{"n":1},{"n":2},{"n":3}]', 'json').events).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('reads NDJSON as one event per non-blank line', () => {
    const text = '{"n":1}\n\n   \n{"n":2}\r\n{"n":3}\n';

    expect(parseEvents(text, 'ndjson').events).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it.each([
    ['an empty body', '', 'json'],
    ['a whitespace-only body', ' \n\t ', 'json'],
    ['a whitespace-only NDJSON body', '\n\n', 'ndjson'],
    ['an empty array', '[]', 'json'],
  ] as const)('rejects %s with a message saying it is empty', (_case, text, format) => {
    const error = parseError(text, format);

    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/empty/);
  });

  it('rejects a body that is not valid JSON', () => {
    const error = parseError('{"name": "Ada"', 'json');

    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/^The body is not valid JSON: /);
  });

  it('rejects a bad NDJSON line, naming its line number', () => {
    const error = parseError('{"n":1}\n\n{"n":2\n{"n":3}', 'ndjson');

    expect(error.message).toMatch(/^NDJSON line 3 is not valid JSON/);
    expect(error.details).toEqual([{ line: 3 }]);
  });

  it.each([
    ['a number', '[{"n":1},42]', 'event 1 is a number', { index: 1, type: 'number' }],
    ['an array', '[{"n":1},{"n":2},[3]]', 'event 2 is an array', { index: 2, type: 'array' }],
    ['null', '[null]', 'event 0 is a null', { index: 0, type: 'null' }],
    ['a string', '"hello"', 'event 0 is a string', { index: 0, type: 'string' }],
  ])('rejects an event that is %s, naming its index', (_case, text, phrase, detail) => {
    const error = parseError(text, 'json');

    expect(error.statusCode).toBe(400);
    expect(error.message).toBe(`Every event must be a JSON object; ${phrase}`);
    expect(error.details).toEqual([detail]);
  });

  it('reports the first non-object event and how many more there are', () => {
    const error = parseError('{"ok":true}\n1\ntrue\n{"ok":true}\nnull', 'ndjson');

    expect(error.message).toBe('Every event must be a JSON object; event 1 is a number (and 2 more)');
    expect(error.details).toEqual([
      { index: 1, type: 'number' },
      { index: 2, type: 'boolean' },
      { index: 4, type: 'null' },
    ]);
  });
});

describe('parseEvents: the texts of the events', () => {
  it("gives a single object's text, trimmed", () => {
    expect(parseEvents(' \n{"a": 1,\n "b": [2]}\r\n', 'json').texts).toEqual(['{"a": 1,\n "b": [2]}']);
  });

  it('gives each object of an array as sent, whatever its strings, nesting and spacing hold', () => {
    const body = ' [ {"a":1} ,\n{"s":"]},{\\"\\\\","t":"\\\\"},{"n":[{"x":[]},"}"]}, {}\t] ';
    const { events, texts } = parseEvents(body, 'json');
    expect(texts).toEqual(['{"a":1}', '{"s":"]},{\\"\\\\","t":"\\\\"}', '{"n":[{"x":[]},"}"]}', '{}']);
    expect(texts!.map((t) => JSON.parse(t) as unknown)).toEqual(events);
  });

  it('gives the texts of random arrays of objects that parse to their events', () => {
    const pieces = ['"', '\\', '\\"', ']', '[', '{', '}', ',', 'é', '\u2028', ' ', 'x'];
    const randomString = (n: number) => Array.from({ length: n }, (_, i) => pieces[(i * 7 + n) % pieces.length]).join('');
    for (let round = 0; round < 50; round++) {
      const array = Array.from({ length: 1 + (round % 7) }, (_, i) => ({
        [randomString(round % 5)]: randomString(round + i),
        nested: [{ deep: { s: randomString(i + 3) } }, [], {}, null, round * 1.5],
      }));
      const body = JSON.stringify(array, null, round % 3);
      const { events, texts } = parseEvents(body, 'json');
      expect(texts!.map((t) => JSON.parse(t) as unknown)).toEqual(events);
    }
  });

  it('gives the NDJSON lines, one per event (blank lines and CRLF ends left out)', () => {
    const { events, texts } = parseEvents('{"a":1}\r\n\n  {"a":2}  \n\r\n{"a":3}', 'ndjson');
    expect(texts).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
    expect(texts!.map((t) => JSON.parse(t) as unknown)).toEqual(events);
  });
});
