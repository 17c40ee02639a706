import { randomBytes, randomUUID } from 'node:crypto';
import { PartitionMetadata } from 'kafkajs';
import { javaCompatiblePartitioner, murmur2 } from './partitioner';
// kafkajs' own Java-compatible implementation is the reference (it is not part of kafkajs' typed surface).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const referenceMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: string | Buffer) => number;

const partitions = (n: number, leaderless: number[] = []): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));

describe('murmur2', () => {
  it("matches Kafka's Java values for known keys", () => {
    // Values of org.apache.kafka.common.utils.Utils.murmur2 (from Kafka's UtilsTest).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it('agrees with the reference on random keys of every length class, strings and buffers', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(i % 67);
      expect(murmur2(bytes)).toBe(referenceMurmur2(bytes));
      const text = `${randomUUID()}-é-${i}`.slice(0, 1 + (i % 45));
      expect(murmur2(text)).toBe(referenceMurmur2(text));
    }
  });
});

describe('javaCompatiblePartitioner', () => {
  const message = (key?: string, partition?: number) => ({ key, value: 'v', partition });

  it('hashes keys over all partitions, like the Java client', () => {
    const choose = javaCompatiblePartitioner();
    for (const key of ['ada@example.com', 'order-1', randomUUID()]) {
      const expected = (referenceMurmur2(key) & 0x7fffffff) % 3;
      expect(choose({ topic: 't', partitionMetadata: partitions(3, [expected]), message: message(key) })).toBe(expected);
    }
  });

  it('keeps an explicit partition', () => {
    const choose = javaCompatiblePartitioner();
    expect(choose({ topic: 't', partitionMetadata: partitions(3), message: message('k', 2) })).toBe(2);
  });

  it('spreads messages without a key round-robin over partitions that have a leader', () => {
    const choose = javaCompatiblePartitioner();
    const seen = Array.from({ length: 6 }, () => choose({ topic: 't', partitionMetadata: partitions(4, [1]), message: message() }));
    expect(new Set(seen)).toEqual(new Set([0, 2, 3]));
    expect(seen[3]).toBe(seen[0]);
  });
});
