import { isUtf8 } from 'node:buffer';
import { BadRequestError } from '../common/errors/errors';
import { BodyFormat } from './events.parser';
import { firstInvalidUtf8, utf8Text } from './utf8-text';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** The 400 utf8Text throws for this body. */
function utf8Error(body: Buffer, format: BodyFormat = 'json'): BadRequestError {
  try {
    utf8Text(body, format);
  } catch (err) {
    expect(err).toBeInstanceOf(BadRequestError);
    return err as BadRequestError;
  }
  throw new Error('expected utf8Text to refuse the body');
}

describe('utf8Text', () => {
  it('decodes UTF-8 of one to four bytes per character', () => {
    const text = '{"name":"Zoë","city":"Zürich","price":"12 €","mood":"😀","kanji":"漢字"}';

    expect(utf8Text(Buffer.from(text), 'json')).toBe(text);
  });

  it('drops a byte order mark at the start, and only there', () => {
    expect(utf8Text(bytes([0xef, 0xbb, 0xbf], '{"a":1}'), 'json')).toBe('{"a":1}');
    expect(utf8Text(bytes('{"a":"', [0xef, 0xbb, 0xbf], '"}'), 'json')).toBe('{"a":"\ufeff"}');
  });

  it.each([
    ['a byte that cannot start a character', bytes([0xff], '{}'), 0, 'invalid byte sequence 0xff'],
    ['a lone continuation byte', bytes('{"name":"', [0x80], '"}'), 9, 'invalid byte sequence 0x80'],
    ['a two-byte lead followed by ASCII', bytes('{"a":"', [0xc3, 0x28], '"}'), 6, 'invalid byte sequence 0xc3 0x28'],
    ['a three-byte sequence broken at its third byte', bytes('{"a":"', [0xe2, 0x82, 0x41], '"}'), 6, 'invalid byte sequence 0xe2 0x82 0x41'],
    ['an overlong two-byte form', bytes('{"a":"', [0xc0, 0xaf], '"}'), 6, 'invalid byte sequence 0xc0'],
    ['an overlong three-byte form', bytes('{"a":"', [0xe0, 0x80, 0xaf], '"}'), 6, 'invalid byte sequence 0xe0 0x80'],
    ['a UTF-16 surrogate', bytes('{"a":"', [0xed, 0xa0, 0x80], '"}'), 6, 'invalid byte sequence 0xed 0xa0'],
    ['a code point past U+10FFFF', bytes('{"a":"', [0xf4, 0x90, 0x80, 0x80], '"}'), 6, 'invalid byte sequence 0xf4 0x90'],
    ['a byte after valid multi-byte characters', bytes('{"a":"é€😀', [0xfe], '"}'), 15, 'invalid byte sequence 0xfe'],
    ['a three-byte character cut by the end of the body', bytes('{"a":"x"}', [0xe2, 0x82]), 9, 'the body ends inside a multi-byte character (0xe2 0x82)'],
    [
      'a four-byte character cut by the end of the body',
      bytes('{"a":"😀"}', [0xf0, 0x9f, 0x98]),
      12,
      'the body ends inside a multi-byte character (0xf0 0x9f 0x98)',
    ],
  ])('refuses %s, naming its byte offset', (_case, body, offset, what) => {
    const error = utf8Error(body);

    expect(error.statusCode).toBe(400);
    expect(error.message).toBe(`The body is not valid UTF-8 at byte offset ${offset}: ${what}; send the text encoded as UTF-8`);
    expect(error.details).toEqual([{ offset, message: `not valid UTF-8: ${what}` }]);
  });

  it('names the NDJSON line of the invalid sequence as well', () => {
    const body = bytes('{"n":1}\n{"n":2}\n{"s":"', [0xc3], '"}\n');

    expect(utf8Error(body, 'ndjson').message).toBe(
      'The body is not valid UTF-8 at byte offset 22 (NDJSON line 3): invalid byte sequence 0xc3 0x22; send the text encoded as UTF-8',
    );
  });
});

describe('firstInvalidUtf8', () => {
  it('finds nothing in valid UTF-8', () => {
    expect(firstInvalidUtf8(Buffer.from('plain ASCII, é, €, 😀, and U+FFFD itself: \ufffd'))).toBeUndefined();
    expect(firstInvalidUtf8(Buffer.alloc(0))).toBeUndefined();
  });

  it('agrees with the WHATWG decoder on random bytes: the prefix before the offset decodes, the sequence at it does not', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const lenient = new TextDecoder('utf-8');
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let invalid = 0;
    for (let run = 0; run < 5000; run++) {
      // Mostly high bytes, from the ranges where lead and continuation rules differ.
      const body = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 12) }, () => (random() < 0.25 ? 0x41 : 0x80 + Math.floor(random() * 0x80))));

      const found = firstInvalidUtf8(body);

      expect(found === undefined).toBe(isUtf8(body));
      if (!found) continue;
      invalid++;
      expect(() => strict.decode(body.subarray(0, found.offset))).not.toThrow();
      expect(lenient.decode(body).startsWith(`${lenient.decode(body.subarray(0, found.offset))}\ufffd`)).toBe(true);
    }
    expect(invalid).toBeGreaterThan(1000);
  });
});
