/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's inner modules have no typings: they are loaded by path */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { crc32c, KafkajsEncoderClass, tunedEncoder } from './kafkajs-encoding';

type Modules = {
  crc: (buffer: Buffer) => number;
  Encoder: KafkajsEncoderClass;
  recordBatch: (args: object) => Promise<{ buffer: Buffer }>;
  record: (args: object) => { buffer: Buffer };
};

/** kafkajs's own modules, in a registry of their own: stock, or with the encoder tuned and crc32c in place of its CRC32C. */
function kafkajsModules(tuned: boolean): Modules {
  let modules!: Modules;
  jest.isolateModules(() => {
    if (tuned) {
      jest.doMock('kafkajs/src/protocol/recordBatch/crc32C/index.js', () => crc32c);
      jest.doMock('kafkajs/src/protocol/encoder.js', () => tunedEncoder(jest.requireActual('kafkajs/src/protocol/encoder.js')));
    }
    modules = {
      crc: require('kafkajs/src/protocol/recordBatch/crc32C/index.js'),
      Encoder: require('kafkajs/src/protocol/encoder.js'),
      recordBatch: require('kafkajs/src/protocol/recordBatch/v0/index.js').RecordBatch,
      record: require('kafkajs/src/protocol/recordBatch/record/v0/index.js'),
    };
  });
  jest.dontMock('kafkajs/src/protocol/recordBatch/crc32C/index.js');
  jest.dontMock('kafkajs/src/protocol/encoder.js');
  return modules;
}

describe('kafkajs encoding, tuned', () => {
  const stock = kafkajsModules(false);
  const tuned = kafkajsModules(true);

  it('computes the same CRC32C as kafkajs for every length around the 8-byte stride, and for 1 MB', () => {
    expect(tuned.crc).toBe(crc32c);
    for (let length = 0; length <= 70; length++) {
      const bytes = randomBytes(length);
      expect(crc32c(bytes)).toBe(stock.crc(bytes));
    }
    const large = randomBytes(1_000_003);
    expect(crc32c(large)).toBe(stock.crc(large));
  });

  it('matches the published CRC32C check value', () => {
    // The CRC catalogue's check value of CRC-32C (Castagnoli): "123456789" → 0xe3069283.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('encodes record batches to the same bytes as stock kafkajs, also once its buffers are reused', async () => {
    const batch = (records: object[]) => ({ records, firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_000, firstSequence: 7 });
    for (let round = 0; round < 3; round++) {
      const messages = Array.from({ length: 40 }, (_, i) => ({
        offsetDelta: i,
        timestampDelta: 0,
        key: `key-${round}-${i}`,
        value: JSON.stringify({ i, pad: 'é'.repeat(i * 37 + round) }),
        headers: { h: `v${i}` },
      }));
      const expected = await stock.recordBatch(batch(messages.map((m) => stock.record(m))));
      const actual = await tuned.recordBatch(batch(messages.map((m) => tuned.record(m))));
      expect(actual.buffer.equals(expected.buffer)).toBe(true);
    }
  });

  it('encodes records with any time delta, key and headers to the same bytes as stock kafkajs', async () => {
    const deltas = [0, 1, 63, 64, -1, -64, -65, 8191, 8192, 0x3fffffff, -0x40000000, 0x40000000, -0x40000001, 2 ** 40, -(2 ** 40)];
    const messages = deltas.map((timestampDelta, i) => ({
      offsetDelta: i * 1000,
      timestampDelta,
      key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
      value: i % 4 === 0 ? null : 'v'.repeat(i * 100),
      headers: i % 2 === 0 ? {} : { a: 'x', b: ['y', 'zz'] },
    }));
    for (const m of messages) expect(tuned.record(m).buffer.equals(stock.record(m).buffer)).toBe(true);
    const batch = (records: object[]) => ({ records, firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_100_000 });
    const expected = await stock.recordBatch(batch(messages.map((m) => stock.record(m))));
    expect((await tuned.recordBatch(batch(messages.map((m) => tuned.record(m))))).buffer.equals(expected.buffer)).toBe(true);
  });

  it('writes and sizes varints and varlongs as kafkajs does, also where the fast path does not apply', () => {
    type Writer = { writeUVarInt(v: number): Writer; writeVarLong(v: unknown): Writer; buffer: Buffer };
    const values: unknown[] = [
      0,
      1,
      -1,
      127,
      128,
      2 ** 14,
      2 ** 21,
      2 ** 28,
      2 ** 30 - 1,
      -(2 ** 30),
      2 ** 30,
      2 ** 31,
      2 ** 32 - 1,
      -(2 ** 31),
      2 ** 53 - 1,
      '12345678901234',
    ];
    for (const v of values) {
      const write = (E: KafkajsEncoderClass, how: 'writeUVarInt' | 'writeVarLong') => (new E() as unknown as Writer)[how](v as number).buffer;
      expect(write(tuned.Encoder, 'writeVarLong').equals(write(stock.Encoder, 'writeVarLong'))).toBe(true);
      expect(tuned.Encoder.sizeOfVarLong(v)).toBe(stock.Encoder.sizeOfVarLong(v));
      if (typeof v === 'number') expect(write(tuned.Encoder, 'writeUVarInt').equals(write(stock.Encoder, 'writeUVarInt'))).toBe(true);
    }
    // A fraction is no varlong: both refuse it alike.
    expect(() => tuned.Encoder.sizeOfVarLong(1.5)).toThrow(RangeError);
    expect(() => stock.Encoder.sizeOfVarLong(1.5)).toThrow(RangeError);
  });

  /** Node's own module loader, as the API runs (jest has a registry of its own). */
  const node = (script: string) =>
    execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: `${__dirname}/../..`, encoding: 'utf8' }).trim();

  it('is in place in Node once imported before kafkajs: kafkajs checksums with crc32c and encodes with the tuned encoder', () => {
    const out = node(
      "const { crc32c } = require('./src/kafka/kafkajs-encoding'); require('kafkajs');" +
        "const Encoder = require('kafkajs/src/protocol/encoder.js');" +
        "process.stdout.write([require('kafkajs/src/protocol/recordBatch/crc32C/index.js') === crc32c, Encoder.name, new Encoder().buf.length].join(' '))",
    );
    expect(out).toBe('true TunedEncoder 512');
  });

  it('refuses to load after kafkajs (the checksum would not be replaced)', () => {
    const out = node(
      "require('kafkajs/src/protocol/recordBatch/v0/index.js');" +
        "try { require('./src/kafka/kafkajs-encoding'); process.stdout.write('loaded') } catch (e) { process.stdout.write(e.message) }",
    );
    expect(out).toMatch(/import kafkajs-encoding before kafkajs/);
  });
});
