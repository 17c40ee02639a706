import type { ICustomPartitioner, Message, RecordMetadata } from 'kafkajs';
import type { TopicMessages } from './produce-coalescer';

/**
 * Where each message of a send went, so that the brokers' acknowledgements can be checked against it.
 *
 * kafkajs resolves a send that it never completed when a partition's leader moves during the send: it
 * retries only the brokers that have not answered yet, so a partition that moved to a broker which had
 * already acknowledged its other partitions is never sent, and the send still resolves (tulios/kafkajs#1303).
 * On a cluster that happens at every leader election under load. The ledger's partitioner wraps the real
 * one and remembers each message's partition (kafkajs asks again on every retry of a send; the first answer
 * is kept, so a message without a key stays on one partition too); `unacknowledged` then names the messages
 * whose partition no acknowledgement covers.
 */
export class PartitionLedger {
  private readonly chosen = new WeakMap<Message, number>();

  constructor(private readonly inner: ICustomPartitioner) {}

  /** The partitioner to give kafkajs (createPartitioner). */
  readonly partitioner: ICustomPartitioner = () => {
    const choose = this.inner();
    return (args) => {
      const before = this.chosen.get(args.message);
      if (before !== undefined && before < args.partitionMetadata.length) return before;
      const partition = choose(args);
      this.chosen.set(args.message, partition);
      return partition;
    };
  };

  /**
   * The messages of `sent` that no acknowledgement in `acks` covers, grouped as sent (topics without any
   * left out). A message the partitioner was never asked about was never sent: it is unacknowledged too.
   */
  unacknowledged(sent: TopicMessages, acks: RecordMetadata[]): TopicMessages {
    const acked = new Set(acks.map((a) => `${a.topicName}\u0000${a.partition}`));
    return sent
      .map(({ topic, messages }) => ({
        topic,
        messages: messages.filter((m) => {
          const partition = this.chosen.get(m);
          return partition === undefined || !acked.has(`${topic}\u0000${partition}`);
        }),
      }))
      .filter((t) => t.messages.length > 0);
  }
}
