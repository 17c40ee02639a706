import { KafkaProducer } from '../kafka.producer';
import { OutgoingMessage, TopicMessages } from '../produce-coalescer';

type PartitionOffsets = { partition: number; low: number; high: number }[];

/**
 * Unit-test stand-in for the Kafka adapter: publish acknowledges at once and remembers what was
 * sent, per call; endOffsets answers the partitions set in `offsets` (a topic not set has none, as
 * a missing topic). Every method is a jest mock, so a test can make Kafka fail (`mockRejectedValueOnce`).
 */
export class FakeKafkaProducer implements Pick<KafkaProducer, 'publish' | 'publishAll' | 'ensureTopics' | 'ping' | 'endOffsets'> {
  /** Per topic, its partitions' first (low) and next (high) offsets. */
  offsets: Record<string, PartitionOffsets> = {};

  publish = jest.fn(async (_topic: string, _messages: OutgoingMessage[]): Promise<void> => undefined);

  /** Messages to several topics acknowledged together (or failed together). */
  publishAll = jest.fn(async (_batches: TopicMessages): Promise<void> => undefined);

  ensureTopics = jest.fn(async (_topics: string[]): Promise<void> => undefined);

  ping = jest.fn(async (): Promise<{ brokers: number; controller: number | null }> => ({ brokers: 1, controller: 1 }));

  endOffsets = jest.fn(async (topics: string[]): Promise<Record<string, PartitionOffsets>> =>
    Object.fromEntries(topics.map((t) => [t, (this.offsets[t] ?? []).map((p) => ({ ...p }))])),
  );

  /** As the services see it. */
  get producer(): KafkaProducer {
    return this as unknown as KafkaProducer;
  }
}
