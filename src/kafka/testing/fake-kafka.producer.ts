import { KafkaProducer } from '../kafka.producer';
import { OutgoingMessage } from '../produce-coalescer';

/**
 * Unit-test stand-in for the Kafka adapter: publish acknowledges at once and remembers what was
 * sent, per call. Every method is a jest mock, so a test can make Kafka fail (`mockRejectedValueOnce`).
 */
export class FakeKafkaProducer implements Pick<KafkaProducer, 'publish' | 'ensureTopics' | 'ping'> {
  publish = jest.fn(async (_topic: string, _messages: OutgoingMessage[]): Promise<void> => undefined);

  ensureTopics = jest.fn(async (_topics: string[]): Promise<void> => undefined);

  ping = jest.fn(async (): Promise<{ brokers: number; controller: number | null }> => ({ brokers: 1, controller: 1 }));

  /** As the services see it. */
  get producer(): KafkaProducer {
    return this as unknown as KafkaProducer;
  }
}
