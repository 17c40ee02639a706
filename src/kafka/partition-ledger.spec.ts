import type { ICustomPartitioner, PartitionMetadata, RecordMetadata } from 'kafkajs';
import { PartitionLedger } from './partition-ledger';
import { javaCompatiblePartitioner } from './partitioner';

const metadata = (n: number) => Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1 }) as PartitionMetadata);
const ack = (topicName: string, partition: number) => ({ topicName, partition, errorCode: 0 }) as RecordMetadata;

describe('PartitionLedger', () => {
  it('gives a keyed message the partition the Java-compatible partitioner gives it', () => {
    const ledger = new PartitionLedger(javaCompatiblePartitioner);
    const plain = javaCompatiblePartitioner();
    const place = ledger.partitioner();
    for (const key of ['a', 'order-17', 'ü', '0190f3b2-7c1e-7d3a-9f00-000000000001']) {
      const message = { key, value: '{}' };
      expect(place({ topic: 't', partitionMetadata: metadata(6), message })).toBe(plain({ topic: 't', partitionMetadata: metadata(6), message }));
    }
  });

  it('keeps a message on its first partition when kafkajs asks again (a retry), also without a key', () => {
    let next = 0;
    const roundRobin: ICustomPartitioner = () => () => next++ % 3;
    const ledger = new PartitionLedger(roundRobin);
    const message = { value: '{}' };
    const place = ledger.partitioner();
    const first = place({ topic: 't', partitionMetadata: metadata(3), message });
    expect(place({ topic: 't', partitionMetadata: metadata(3), message })).toBe(first);
    expect(ledger.partitioner()({ topic: 't', partitionMetadata: metadata(3), message })).toBe(first);
    // Another message still gets the next partition.
    expect(place({ topic: 't', partitionMetadata: metadata(3), message: { value: '{}' } })).not.toBe(first);
  });

  it('asks again when the topic no longer has the partition it chose', () => {
    const ledger = new PartitionLedger(
      () =>
        ({ partitionMetadata }) =>
          partitionMetadata.length - 1,
    );
    const message = { value: '{}' };
    const place = ledger.partitioner();
    expect(place({ topic: 't', partitionMetadata: metadata(4), message })).toBe(3);
    expect(place({ topic: 't', partitionMetadata: metadata(2), message })).toBe(1);
  });

  it('names the messages whose partition no acknowledgement covers, per topic, and only those', () => {
    const ledger = new PartitionLedger(
      () =>
        ({ message }) =>
          Number(message.key),
    );
    const place = ledger.partitioner();
    const m = (p: number) => ({ key: String(p), value: '{}' });
    const a0 = m(0);
    const a1 = m(1);
    const a1b = m(1);
    const b0 = m(0);
    const sent = [
      { topic: 'a', messages: [a0, a1, a1b] },
      { topic: 'b', messages: [b0] },
    ];
    for (const { topic, messages } of sent) for (const message of messages) place({ topic, partitionMetadata: metadata(2), message });

    // Partition 0 of `a` acknowledged, and partition 1 of `b` (where nothing went): a1, a1b and b0 are not.
    expect(ledger.unacknowledged(sent, [ack('a', 0), ack('b', 1)])).toEqual([
      { topic: 'a', messages: [a1, a1b] },
      { topic: 'b', messages: [b0] },
    ]);
    expect(ledger.unacknowledged(sent, [ack('a', 0), ack('a', 1), ack('b', 0)])).toEqual([]);
  });

  it('counts a message the partitioner was never asked about as unacknowledged: kafkajs never sent it', () => {
    const ledger = new PartitionLedger(javaCompatiblePartitioner);
    const message = { key: 'k', value: '{}' };
    expect(ledger.unacknowledged([{ topic: 'a', messages: [message] }], [ack('a', 0), ack('a', 1), ack('a', 2)])).toEqual([
      { topic: 'a', messages: [message] },
    ]);
  });
});
