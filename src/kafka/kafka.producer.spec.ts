import { Logger } from '@nestjs/common';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { KafkaProducer } from './kafka.producer';

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

describe('KafkaProducer produce metrics', () => {
  /** kafkajs' producer as far as sendBatch is concerned: acknowledges after `ms`, or fails with `error`. */
  function producerThat(ms: number, error?: Error) {
    return {
      sendBatch: jest.fn(async (_batch: { topicMessages: { messages: unknown[] }[] }) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        if (error) throw error;
        return [];
      }),
      disconnect: jest.fn(async () => undefined),
    };
  }

  function setup(producer: ReturnType<typeof producerThat>) {
    const metrics = new MetricsService();
    const kafka = new KafkaProducer(testConfig({ LOG_LEVEL: 'silent' }), metrics);
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
});
