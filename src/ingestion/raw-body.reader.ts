import type { Readable, Transform } from 'node:stream';
import { createGunzip, createInflate, createInflateRaw, Zlib } from 'node:zlib';
import getRawBody from 'raw-body';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../common/errors/errors';
import { Source } from '../catalogs/sources.registry';

/** How a request body is compressed, as its Content-Encoding header says. */
export type BodyEncoding = 'identity' | 'gzip' | 'deflate';

/** The codings we undo; x-gzip is gzip's old name (RFC 9110 asks recipients to take it as gzip). */
const ENCODINGS: Record<string, BodyEncoding> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate' };

/**
 * Maps a Content-Encoding header to the one encoding we undo, or answers 415 naming what was sent
 * and what we accept (also as Accept-Encoding, as RFC 9110 asks of a 415 about a content coding).
 * Checked before a byte of the body is read.
 */
export function bodyEncoding(header: string | undefined): BodyEncoding {
  const codings = (header ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length > 1) {
    throw unsupportedEncoding(`Content-Encoding "${shown(header!)}" applies ${codings.length} encodings in a row: compress the body once`);
  }
  const encoding = ENCODINGS[codings[0]];
  if (!encoding) throw unsupportedEncoding(`Content-Encoding "${shown(codings[0])}" is not supported`);
  return encoding;
}

function unsupportedEncoding(problem: string): UnsupportedMediaTypeError {
  const error = new UnsupportedMediaTypeError(
    `${problem}: send the body compressed with gzip or deflate, or uncompressed without Content-Encoding (or with identity)`,
  );
  error.headers['Accept-Encoding'] = 'gzip, deflate';
  return error;
}

/** A header value as echoed in a message: a caller's header can be kilobytes long. */
const shown = (value: string) => (value.length > 64 ? `${value.slice(0, 64)}...` : value);

/**
 * Reads a request body as raw bytes, stopping at the source's own size limit: a body over it is
 * refused (413) before more than the limit is buffered. A compressed body is bounded here too.
 */
export async function readRawBody(body: Readable, contentLength: string | undefined, source: Source): Promise<Buffer> {
  try {
    return await getRawBody(body, { limit: source.maxBodyBytes, length: contentLength });
  } catch (err) {
    const e = err as { type?: string; message: string };
    if (e.type === 'entity.too.large') {
      throw new PayloadTooLargeError(
        `The body is larger than ${source.maxBodyBytes} bytes: source "${source.name}" accepts at most ${source.maxBodyBytes}; split it into smaller requests`,
      );
    }
    throw new BadRequestError(`The request body could not be read: ${e.message}`);
  }
}

/**
 * Undoes the body's Content-Encoding. The source's limit applies to the decoded size as well:
 * inflating stops as soon as the output passes it, so a decompression bomb costs at most one zlib
 * chunk (16 KiB) of output past the limit, and is answered 413. Corrupt data is a 400 naming the
 * encoding. Inflating runs on libuv's thread pool, off the event loop.
 */
export function decodeBody(raw: Buffer, encoding: BodyEncoding, source: Source): Promise<Buffer> {
  // An empty body has nothing to inflate; the parser answers that it is empty.
  if (encoding === 'identity' || raw.length === 0) return Promise.resolve(raw);
  return new Promise((resolve, reject) => {
    const decoder = decoderFor(encoding, raw);
    const chunks: Buffer[] = [];
    let size = 0;
    decoder.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= source.maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      decoder.destroy();
      reject(
        new PayloadTooLargeError(
          `The body decompresses to more than ${source.maxBodyBytes} bytes: source "${source.name}" accepts at most ` +
            `${source.maxBodyBytes} once decompressed; split it into smaller requests`,
        ),
      );
    });
    const corrupt = (problem: string) =>
      new BadRequestError(
        `The body is not valid ${encoding} data (Content-Encoding: ${encoding}): ${problem}; ` +
          `send it compressed with ${encoding}, or uncompressed without Content-Encoding`,
      );
    decoder.on('error', (err: Error) => reject(corrupt(err.message)));
    decoder.on('end', () => {
      // zlib stops at the end of the deflate stream and ignores what follows (gunzip refuses it itself).
      const trailing = raw.length - decoder.bytesWritten;
      if (trailing > 0) reject(corrupt(`${trailing} byte(s) follow the end of the compressed data`));
      else resolve(Buffer.concat(chunks, size));
    });
    decoder.end(raw);
  });
}

function decoderFor(encoding: 'gzip' | 'deflate', raw: Buffer): Transform & Zlib {
  if (encoding === 'gzip') return createGunzip();
  // "deflate" means the zlib format (RFC 9110), but some clients send the bare deflate stream;
  // the two-byte zlib header tells them apart (a bare stream from a real encoder never passes its check).
  return hasZlibHeader(raw) ? createInflate() : createInflateRaw();
}

/** RFC 1950: compression method 8 with a window of at most 32 KiB, and a check value making the pair a multiple of 31. */
function hasZlibHeader(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && bytes[0] >> 4 <= 7 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
}
