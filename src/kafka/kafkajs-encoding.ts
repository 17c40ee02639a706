/**
 * Two changes beneath kafkajs's API that make encoding a produce request cheaper, with the same
 * bytes on the wire (checked by kafkajs-encoding.spec.ts against kafkajs's own code):
 *
 * - CRC32C, which every record batch carries, computed eight bytes at a time (slicing-by-8) instead
 *   of kafkajs's byte-at-a-time loop: over 1 KB events this was a tenth of the API's CPU on batches.
 * - Encoders that allocate without zero-filling, size an array of records once, and write varints in
 *   place (see tunedEncoder).
 *
 * kafkajs binds its CRC32C and Encoder modules when its files load, so this module must load before
 * kafkajs does: kafka.producer.ts imports it first, and it is the only place kafkajs is loaded (make lint).
 */

import Module from 'node:module';

/** CRC32C (Castagnoli), reflected polynomial 0x82f63b78: the checksum of Kafka's record batches. */
const TABLES = buildTables();

function buildTables(): Int32Array[] {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[0][n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t][n] = (tables[t - 1][n] >>> 8) ^ tables[0][tables[t - 1][n] & 0xff];
  }
  return tables;
}

/** The CRC32C of `buffer`, as an unsigned 32-bit integer. */
export function crc32c(buffer: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let crc = -1;
  let i = 0;
  const whole = buffer.length - (buffer.length & 7);
  for (; i < whole; i += 8) {
    const low = (buffer[i] | (buffer[i + 1] << 8) | (buffer[i + 2] << 16) | (buffer[i + 3] << 24)) ^ crc;
    crc =
      t7[low & 0xff] ^
      t6[(low >>> 8) & 0xff] ^
      t5[(low >>> 16) & 0xff] ^
      t4[low >>> 24] ^
      t3[buffer[i + 4]] ^
      t2[buffer[i + 5]] ^
      t1[buffer[i + 6]] ^
      t0[buffer[i + 7]];
  }
  for (; i < buffer.length; i++) crc = t0[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** kafkajs's Encoder, as far as this module touches it. */
interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeEncoderArray(this: KafkajsEncoder, value: KafkajsEncoder[]): KafkajsEncoder;
  writeUVarInt(this: KafkajsEncoder, value: number): KafkajsEncoder;
  writeVarLong(this: KafkajsEncoder, value: unknown): KafkajsEncoder;
}
export interface KafkajsEncoderClass {
  new (initialSize?: number): KafkajsEncoder;
  prototype: KafkajsEncoder;
  nextPowerOfTwo(value: number): number;
  sizeOfVarLong(value: unknown): number;
}

/** A varlong small enough to be written as a 32-bit varint: its zigzag encoding, or undefined. */
function smallZigZag(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x40000000 || value >= 0x40000000) return undefined;
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/**
 * kafkajs's Encoder, tuned: a new encoder's buffer comes from Node's pool without zero-filling (an
 * encoder only ever exposes the bytes it wrote; kafkajs zero-fills 512 bytes per record), a buffer
 * grows the same way, an array of encoded records is copied into one buffer sized once instead of
 * grown by doubling, and varints are written in place instead of through an array and a Buffer each
 * (time deltas, kafkajs's varlongs, through 64-bit arithmetic only when they need it).
 *
 * Returns the constructor to use in place of kafkajs's class: it shares the class's prototype (so
 * the prototype's changes apply to every encoder, whenever its module was loaded) and its statics.
 */
export function tunedEncoder(Encoder: KafkajsEncoderClass): KafkajsEncoderClass {
  /* eslint-disable @typescript-eslint/unbound-method -- called with the encoder as `this` below */
  const writeEncoderArray = Encoder.prototype.writeEncoderArray;
  const writeVarLong = Encoder.prototype.writeVarLong;
  /* eslint-enable @typescript-eslint/unbound-method */
  const sizeOfVarLong = Encoder.sizeOfVarLong.bind(Encoder);
  Encoder.prototype.ensureAvailable = function ensureAvailable(this: KafkajsEncoder, length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  Encoder.prototype.writeEncoderArray = function writeEncoderArray_(this: KafkajsEncoder, value: KafkajsEncoder[]): KafkajsEncoder {
    if (Array.isArray(value) && value.every((v) => v != null && Buffer.isBuffer(v.buf))) {
      let total = 0;
      for (const v of value) total += v.offset;
      this.ensureAvailable(total);
    }
    return writeEncoderArray.call(this, value);
  };
  Encoder.prototype.writeUVarInt = function writeUVarInt(this: KafkajsEncoder, value: number): KafkajsEncoder {
    this.ensureAvailable(5);
    const buf = this.buf;
    let offset = this.offset;
    while ((value & 0xffffff80) !== 0) {
      buf[offset++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[offset++] = value & 0x7f;
    this.offset = offset;
    return this;
  };
  Encoder.prototype.writeVarLong = function writeVarLong_(this: KafkajsEncoder, value: unknown): KafkajsEncoder {
    const zigZag = smallZigZag(value);
    return zigZag === undefined ? writeVarLong.call(this, value) : this.writeUVarInt(zigZag);
  };

  function TunedEncoder(this: KafkajsEncoder, initialSize = 511): void {
    this.buf = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(initialSize));
    this.offset = 0;
  }
  TunedEncoder.prototype = Encoder.prototype;
  Object.setPrototypeOf(TunedEncoder, Encoder);
  const tuned = TunedEncoder as unknown as KafkajsEncoderClass;
  tuned.sizeOfVarLong = (value: unknown): number => {
    let zigZag = smallZigZag(value);
    if (zigZag === undefined) return sizeOfVarLong(value);
    let bytes = 1;
    while (zigZag >= 0x80) {
      bytes++;
      zigZag >>>= 7;
    }
    return bytes;
  };
  return tuned;
}

const CRC32C = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const ENCODER = 'kafkajs/src/protocol/encoder.js';
const RECORD_BATCH = 'kafkajs/src/protocol/recordBatch/v0/index.js';

/**
 * Puts crc32c in the place of kafkajs's CRC32C module, and the tuned encoder in the place of its
 * Encoder, in Node's module cache. kafkajs's modules bind both when they load, so this must happen
 * first: throws if kafkajs (or its encoder) already loaded.
 */
export function tuneKafkajs(cache: NodeJS.Dict<NodeJS.Module> = require.cache): void {
  const crcPath = require.resolve(CRC32C);
  const encoderPath = require.resolve(ENCODER);
  if (cache[crcPath]?.exports === crc32c) return;
  if (cache[crcPath] || cache[encoderPath] || cache[require.resolve(RECORD_BATCH)]) {
    throw new Error('kafkajs was loaded before its encoding could be tuned: import kafkajs-encoding before kafkajs');
  }
  const crcModule = new Module(crcPath);
  crcModule.filename = crcPath;
  crcModule.loaded = true;
  crcModule.exports = crc32c;
  cache[crcPath] = crcModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const encoder = tunedEncoder(require(ENCODER) as KafkajsEncoderClass);
  cache[encoderPath]!.exports = encoder;
}

tuneKafkajs();
