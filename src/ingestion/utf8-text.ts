import { isUtf8 } from 'node:buffer';
import { BadRequestError } from '../common/errors/errors';
import type { BodyFormat } from './events.parser';

/** Where the first invalid UTF-8 sequence of a body starts. */
export interface InvalidUtf8 {
  offset: number;
  /** The bytes that show the problem: the lead byte, the continuation bytes that were valid, and the byte that broke the sequence. */
  length: number;
  /** The body ends inside a multi-byte sequence. */
  truncated: boolean;
}

/**
 * The body as text. Invalid UTF-8 is refused (400 naming the byte offset) instead of being decoded
 * to U+FFFD and stored altered. A UTF-8 byte order mark at the start is dropped: RFC 8259 lets a
 * parser ignore it, and some senders (PowerShell, .NET) write one.
 */
export function utf8Text(body: Buffer, format: BodyFormat): string {
  // isUtf8 is one vectorised pass; the offset is looked for only when it fails.
  if (!isUtf8(body)) throw invalidUtf8(body, format, firstInvalidUtf8(body)!);
  const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  return body.toString('utf8', bom ? 3 : 0);
}

function invalidUtf8(body: Buffer, format: BodyFormat, invalid: InvalidUtf8): BadRequestError {
  const { offset, length, truncated } = invalid;
  const bytes = [...body.subarray(offset, offset + length)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
  const what = truncated ? `the body ends inside a multi-byte character (${bytes})` : `invalid byte sequence ${bytes}`;
  const line = format === 'ndjson' ? ` (NDJSON line ${lineAt(body, offset)})` : '';
  return new BadRequestError(`The body is not valid UTF-8 at byte offset ${offset}${line}: ${what}; send the text encoded as UTF-8`, [
    { offset, message: `not valid UTF-8: ${what}` },
  ]);
}

const lineAt = (body: Buffer, offset: number) => {
  let line = 1;
  for (let i = body.indexOf(0x0a); i !== -1 && i < offset; i = body.indexOf(0x0a, i + 1)) line++;
  return line;
};

/**
 * The first sequence a strict UTF-8 decoder (WHATWG's, as `new TextDecoder('utf-8', { fatal: true })`)
 * refuses: a byte that cannot start a character, a lead byte not followed by enough continuation
 * bytes, an overlong form, a UTF-16 surrogate, or a code point past U+10FFFF.
 */
export function firstInvalidUtf8(bytes: Uint8Array): InvalidUtf8 | undefined {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    let continuations: number;
    // The first continuation byte's range is narrower after some leads: that excludes overlong
    // forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) continuations = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      continuations = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      continuations = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return { offset: i, length: 1, truncated: false };
    let j = i + 1;
    for (let k = 0; k < continuations; k++, j++) {
      if (j >= n) return { offset: i, length: j - i, truncated: true };
      if (bytes[j] < low || bytes[j] > high) return { offset: i, length: j - i + 1, truncated: false };
      low = 0x80;
      high = 0xbf;
    }
    i = j;
  }
  return undefined;
}
