import { Logger } from '@nestjs/common';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { KafkaProducer } from './kafka.producer';
import { PartitionLedger } from './partition-ledger';
import { murmur2 } from './partitioner';

/** A "broker" that accepts connections and never answers: every Kafka request hangs. */
async function silentBroker(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('KafkaProducer deadlines', () => {
  let broker: Awaited<ReturnType<typeof silentBroker>>;
  let kafka: KafkaProducer;
  let metrics: MetricsService;

  // kafkajs reports every refused or timed-out connection, also after a test; the assertions are about the outcome.
  beforeAll(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));

  beforeEach(async () => {
    broker = await silentBroker();
    metrics = new MetricsService();
    kafka = new KafkaProducer(testConfig({ KAFKA_BROKERS: `127.0.0.1:${broker.port}`, KAFKA_PUBLISH_TIMEOUT_MS: '300', LOG_LEVEL: 'silent' }), metrics);
  });

  afterEach(async () => {
    await kafka.onApplicationShutdown();
    await broker.close();
  });

  it('answers a hung readiness ping with 503 and resets the admin client only, not the producer ingest uses', async () => {
    const internals = kafka as unknown as { resetAdmin: () => void; resetProducer: () => void };
    const resetAdmin = jest.spyOn(internals, 'resetAdmin');
    const resetProducer = jest.spyOn(internals, 'resetProducer');

    const err = await rejection(kafka.ping(200));

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toBe('Kafka did not answer a metadata request within 200 ms');
    expect(resetAdmin).toHaveBeenCalled();
    expect(resetProducer).not.toHaveBeenCalled();
  });

  it('answers a publish Kafka never acknowledges with 503 and resets the producer', async () => {
    const internals = kafka as unknown as { resetProducer: () => void };
    const resetProducer = jest.spyOn(internals, 'resetProducer');

    const err = await rejection(kafka.publish('ingest.clicks', [{ key: 'k', value: '{}' }]));

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toBe('Kafka did not acknowledge the events within 300 ms');
    expect(resetProducer).toHaveBeenCalled();
    // No produce request was ever answered: nothing to time.
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_count')).toBe(0);
  });
});

const toPositive = (n: number) => n & 0x7fffffff;

describe('KafkaProducer produce metrics', () => {
  type Sent = { topic: string; messages: { key: string }[] }[];
  const PARTITIONS = 3;

  /**
   * kafkajs' producer as far as sendBatch is concerned: asks the adapter's partitioner where each message
   * goes (over 3 partitions), then acknowledges every partition it sent to after `ms`, or fails with
   * `error`. `unsent(n)` names partitions the n-th send leaves out of its answer, as kafkajs does when a
   * partition's leader moved to a broker that had already answered.
   */
  function producerThat(ms: number, error?: Error, unsent: (send: number) => number[] = () => []) {
    let ledger: PartitionLedger | undefined;
    const producer = {
      use: (kafka: KafkaProducer) => (ledger = (kafka as unknown as { ledger: PartitionLedger }).ledger),
      sendBatch: jest.fn(async ({ topicMessages }: { topicMessages: Sent }) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        if (error) throw error;
        const partitionOf = ledger!.partitioner();
        const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 1 }));
        const left = unsent(producer.sendBatch.mock.calls.length);
        const acks = new Map<string, { topicName: string; partition: number; errorCode: number }>();
        for (const { topic, messages } of topicMessages) {
          for (const message of messages) {
            const partition = partitionOf({ topic, partitionMetadata: partitionMetadata as never, message: message as never });
            if (!left.includes(partition)) acks.set(`${topic}/${partition}`, { topicName: topic, partition, errorCode: 0 });
          }
        }
        return [...acks.values()];
      }),
      disconnect: jest.fn(async () => undefined),
    };
    return producer;
  }

  function setup(producer: ReturnType<typeof producerThat>) {
    const metrics = new MetricsService();
    const kafka = new KafkaProducer(testConfig({ LOG_LEVEL: 'silent' }), metrics);
    producer.use(kafka);
    const internals = kafka as unknown as { connectedProducer: () => Promise<unknown> };
    jest.spyOn(internals, 'connectedProducer').mockImplementation(async () => producer);
    jest.spyOn(kafka, 'ensureTopics').mockResolvedValue(undefined);
    return { kafka, metrics };
  }

  const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: '{}' }));

  it('times each acknowledged produce request and counts the records it carried', async () => {
    const producer = producerThat(30);
    const { kafka, metrics } = setup(producer);

    await kafka.publish('ingest.clicks', messages(3));
    await kafka.publish('ingest.clicks', messages(1));

    expect(producer.sendBatch).toHaveBeenCalledTimes(2);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_count', { outcome: 'acked' })).toBe(2);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_sum', { outcome: 'acked' })).toBeGreaterThanOrEqual(0.055);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_bucket', { outcome: 'acked', le: 0.025 })).toBe(0);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_batch_records_count')).toBe(2);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_batch_records_sum')).toBe(4);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_batch_records_bucket', { le: 1 })).toBe(1);
    await kafka.onApplicationShutdown();
  });

  it('counts requests that shared a produce request as one batch holding all their records', async () => {
    const producer = producerThat(20);
    const { kafka, metrics } = setup(producer);

    // Two sends may be in flight; the requests arriving meanwhile share the next one.
    await Promise.all([1, 2, 3, 4].map(() => kafka.publish('ingest.clicks', messages(2))));

    const sends = producer.sendBatch.mock.calls.length;
    expect(sends).toBeLessThan(4);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_batch_records_count')).toBe(sends);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_batch_records_sum')).toBe(8);
    await kafka.onApplicationShutdown();
  });

  it('publishes to two topics in one produce request and resolves once it was acknowledged', async () => {
    const producer = producerThat(10);
    const { kafka, metrics } = setup(producer);

    await kafka.publishAll([
      { topic: 'ingest.orders', messages: messages(2) },
      { topic: 'ingest.orders.dlq', messages: messages(1) },
    ]);

    expect(producer.sendBatch).toHaveBeenCalledTimes(1);
    const [{ topicMessages }] = producer.sendBatch.mock.calls[0];
    expect(topicMessages.map((t) => [(t as unknown as { topic: string }).topic, t.messages.length])).toEqual([
      ['ingest.orders', 2],
      ['ingest.orders.dlq', 1],
    ]);
    expect(kafka.ensureTopics).toHaveBeenCalledWith(['ingest.orders', 'ingest.orders.dlq']);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_batch_records_sum')).toBe(3);
    await kafka.onApplicationShutdown();
  });

  it('fails a publish to two topics as a whole when their produce request fails', async () => {
    const { kafka } = setup(producerThat(5, new Error('NOT_LEADER_OR_FOLLOWER')));

    await expect(
      kafka.publishAll([
        { topic: 'ingest.orders', messages: messages(1) },
        { topic: 'ingest.orders.dlq', messages: messages(1) },
      ]),
    ).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await kafka.onApplicationShutdown();
  });

  it('times a produce request Kafka refused as failed', async () => {
    const { kafka, metrics } = setup(producerThat(5, new Error('NOT_ENOUGH_REPLICAS')));

    await expect(kafka.publish('ingest.clicks', messages(2))).rejects.toBeInstanceOf(UpstreamUnavailableError);

    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_count', { outcome: 'acked' })).toBe(0);
    await kafka.onApplicationShutdown();
  });

  it('sends again the messages of a partition kafkajs answered for without sending, and resolves once they are acknowledged', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // The first send's answer leaves partition 1 out (its leader moved to a broker that had answered).
    const producer = producerThat(2, undefined, (send) => (send === 1 ? [1] : []));
    const { kafka, metrics } = setup(producer);
    const sent = messages(12);

    await kafka.publish('ingest.clicks', sent);

    expect(producer.sendBatch).toHaveBeenCalledTimes(2);
    const [first, second] = producer.sendBatch.mock.calls.map(([batch]) => batch.topicMessages);
    expect(first[0].messages).toHaveLength(12);
    // Only partition 1's messages again, and all of them.
    const onPartition1 = sent.filter((m) => toPositive(murmur2(m.key)) % PARTITIONS === 1);
    expect(onPartition1.length).toBeGreaterThan(0);
    expect(second).toEqual([{ topic: 'ingest.clicks', messages: onPartition1 }]);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_count', { outcome: 'acked' })).toBe(1);
    await kafka.onApplicationShutdown();
  });

  it('answers 503 when the sends keep leaving a partition unacknowledged, never 202', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const sent = messages(12);
    const partition = toPositive(murmur2(sent[0].key)) % PARTITIONS;
    const producer = producerThat(2, undefined, () => [partition]);
    const { kafka, metrics } = setup(producer);

    const err = await rejection(kafka.publish('ingest.clicks', sent));

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toMatch(/Kafka did not acknowledge every partition of the send: \d+ to ingest.clicks left unacknowledged/);
    expect(producer.sendBatch).toHaveBeenCalledTimes(3);
    expect(await metricValue(metrics, 'pipeline_kafka_produce_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    await kafka.onApplicationShutdown();
  });
});
