import { Logger } from '@nestjs/common';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
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

  // kafkajs reports every refused or timed-out connection, also after a test; the assertions are about the outcome.
  beforeAll(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));

  beforeEach(async () => {
    broker = await silentBroker();
    kafka = new KafkaProducer(testConfig({ KAFKA_BROKERS: `127.0.0.1:${broker.port}`, KAFKA_PUBLISH_TIMEOUT_MS: '300', LOG_LEVEL: 'silent' }));
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
  });
});
