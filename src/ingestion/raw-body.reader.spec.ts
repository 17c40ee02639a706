import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Source } from '../catalogs/sources.registry';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../common/errors/errors';
import { rejection } from '../common/testing/rejection';
import { bodyEncoding, decodeBody, readRawBody } from './raw-body.reader';

/** Bytes produced by every decoder the reader created: what a decompression bomb made zlib inflate. */
const mockDecoded = { bytes: 0 };
jest.mock('node:zlib', () => {
  const actual = jest.requireActual<typeof zlib>('node:zlib');
  const counting =
    <T extends NodeJS.ReadWriteStream>(create: (options?: zlib.ZlibOptions) => T) =>
    (options?: zlib.ZlibOptions) =>
      create(options).on('data', (chunk: Buffer) => (mockDecoded.bytes += chunk.length));
  return {
    ...actual,
    createGunzip: counting(actual.createGunzip),
    createInflate: counting(actual.createInflate),
    createInflateRaw: counting(actual.createInflateRaw),
  };
});

const LIMIT = 262_144;
const source: Source = {
  name: 'clicks',
  topic: 'ingest.clicks',
  maxBodyBytes: LIMIT,
  onInvalid: 'reject',
  bucketSeconds: 3600,
  bucket: '1h',
  compatibility: 'backward',
};
const json = Buffer.from(JSON.stringify({ page: '/home', tags: ['a', 'b'], n: 1 }));

/** The 415 bodyEncoding throws for this header. */
function refusal(header: string): UnsupportedMediaTypeError {
  try {
    bodyEncoding(header);
  } catch (err) {
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    return err as UnsupportedMediaTypeError;
  }
  throw new Error(`expected Content-Encoding "${header}" to be refused`);
}

describe('bodyEncoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['identity', 'identity'],
    ['gzip', 'gzip'],
    [' GZip ', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['identity, gzip', 'gzip'],
  ])('maps Content-Encoding %p to %s', (header, encoding) => {
    expect(bodyEncoding(header)).toBe(encoding);
  });

  it.each(['br', 'zstd', 'compress', 'snappy'])('answers 415 naming %s and the encodings accepted', (header) => {
    const error = refusal(header);

    expect(error.statusCode).toBe(415);
    expect(error.message).toBe(
      `Content-Encoding "${header}" is not supported: send the body compressed with gzip or deflate, ` +
        'or uncompressed without Content-Encoding (or with identity)',
    );
    expect(error.headers['Accept-Encoding']).toBe('gzip, deflate');
  });

  it.each(['gzip, br', 'gzip, gzip', 'deflate,gzip'])('answers 415 for several encodings chained (%s)', (header) => {
    expect(refusal(header).message).toMatch(
      new RegExp(`^Content-Encoding "${header}" applies 2 encodings in a row: compress the body once: send the body compressed with gzip or deflate`),
    );
  });

  it('shortens a long header in the message', () => {
    expect(refusal('x'.repeat(5000)).message).toMatch(/^Content-Encoding "x{64}\.\.\." is not supported/);
  });
});

describe('decodeBody', () => {
  it('hands an identity body back as it is', async () => {
    await expect(decodeBody(json, 'identity', source)).resolves.toBe(json);
  });

  it('inflates gzip', async () => {
    await expect(decodeBody(zlib.gzipSync(json), 'gzip', source)).resolves.toEqual(json);
  });

  it('inflates deflate in the zlib format (RFC 9110) and as a bare deflate stream', async () => {
    await expect(decodeBody(zlib.deflateSync(json), 'deflate', source)).resolves.toEqual(json);
    await expect(decodeBody(zlib.deflateRawSync(json), 'deflate', source)).resolves.toEqual(json);
  });

  it('tells a bare deflate stream from a zlib one at every compression level and for stored blocks', async () => {
    const text = Buffer.from('{"a":"'.concat('xyz'.repeat(500), '"}'));
    for (const level of [0, 1, 6, 9]) {
      await expect(decodeBody(zlib.deflateRawSync(text, { level }), 'deflate', source)).resolves.toEqual(text);
      await expect(decodeBody(zlib.deflateSync(text, { level }), 'deflate', source)).resolves.toEqual(text);
    }
  });

  it('leaves an empty body empty, for the parser to call empty', async () => {
    await expect(decodeBody(Buffer.alloc(0), 'gzip', source)).resolves.toHaveLength(0);
  });

  it('accepts a body that decompresses to exactly the limit and refuses one byte more with 413', async () => {
    const exact = Buffer.alloc(LIMIT, 0x20);

    await expect(decodeBody(zlib.gzipSync(exact), 'gzip', source)).resolves.toHaveLength(LIMIT);
    const error = await rejection(decodeBody(zlib.gzipSync(Buffer.alloc(LIMIT + 1, 0x20)), 'gzip', source));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toBe(
      `The body decompresses to more than ${LIMIT} bytes: source "clicks" accepts at most ${LIMIT} once decompressed; split it into smaller requests`,
    );
  });

  it.each([
    ['gzip', 'gzip', (b: Buffer) => zlib.gzipSync(b, { level: 9 })],
    ['zlib deflate', 'deflate', (b: Buffer) => zlib.deflateSync(b, { level: 9 })],
    ['bare deflate', 'deflate', (b: Buffer) => zlib.deflateRawSync(b, { level: 9 })],
  ] as const)('refuses a %s decompression bomb with 413 without inflating more than one chunk past the limit', async (_case, encoding, compress) => {
    const bomb = compress(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros: about 64 KB compressed
    expect(bomb.length).toBeLessThan(LIMIT);
    mockDecoded.bytes = 0;

    const error = await rejection(decodeBody(bomb, encoding, source));

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(mockDecoded.bytes).toBeGreaterThan(LIMIT);
    expect(mockDecoded.bytes).toBeLessThanOrEqual(LIMIT + zlib.constants.Z_DEFAULT_CHUNK);
  });

  it('answers 400 naming the encoding for corrupt gzip', async () => {
    const corrupt = zlib.gzipSync(json);
    corrupt[12] ^= 0xff;

    const error = await rejection(decodeBody(corrupt, 'gzip', source));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^The body is not valid gzip data \(Content-Encoding: gzip\): .+; send it compressed with gzip, or uncompressed/);
  });

  it.each([
    ['gzip', 'a plain JSON body', json],
    ['gzip', 'a truncated gzip body', zlib.gzipSync(json).subarray(0, 20)],
    ['deflate', 'a plain JSON body', json],
    ['deflate', 'gzip data', zlib.gzipSync(json)],
    ['gzip', 'gzip data with bytes after it', Buffer.concat([zlib.gzipSync(json), Buffer.from('junk')])],
    ['deflate', 'zlib data with bytes after it', Buffer.concat([zlib.deflateSync(json), Buffer.from('junk')])],
    ['deflate', 'bare deflate data with bytes after it', Buffer.concat([zlib.deflateRawSync(json), Buffer.from('junk')])],
  ] as const)('answers 400 for %s announced but %s sent', async (encoding, _case, bytes) => {
    const error = await rejection(decodeBody(bytes, encoding, source));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(new RegExp(`^The body is not valid ${encoding} data \\(Content-Encoding: ${encoding}\\): `));
  });
});

describe('readRawBody', () => {
  it('refuses compressed bytes over the limit with 413 before decoding them', async () => {
    const tooMany = Buffer.alloc(LIMIT + 1);

    const error = await rejection(readRawBody(Readable.from([tooMany]), undefined, source));

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/source "clicks" accepts at most 262144/);
  });
});
