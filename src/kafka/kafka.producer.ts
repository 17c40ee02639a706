// Before kafkajs: it tunes how kafkajs encodes produce requests (see the module).
import './kafkajs-encoding';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Admin, Kafka, KafkaConfig, logLevel as KafkaLogLevel, LogEntry, Producer } from 'kafkajs';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { MetricsService } from '../metrics/metrics.service';
import { PartitionLedger } from './partition-ledger';
import { javaCompatiblePartitioner } from './partitioner';
import { OutgoingMessage, ProduceCoalescer, TopicMessages } from './produce-coalescer';

export type { OutgoingMessage, TopicMessages } from './produce-coalescer';

const KAFKA = 'Kafka';

/** Produce requests outstanding at once; requests arriving meanwhile are coalesced into the next one. */
const MAX_IN_FLIGHT = 2;
/**
 * Upper bound on the records coalesced into one produce request. Below the broker's default
 * message.max.bytes (1 MiB per partition batch) even when every record goes to one partition.
 */
const MAX_FLUSH_BYTES = 1_000_000;
/** How many times one flush is sent while kafkajs answers it without acknowledging every partition (see PartitionLedger). */
const MAX_SENDS_PER_FLUSH = 3;

/**
 * The one adapter to Kafka: an idempotent producer (acks=all) and an admin client.
 * Concurrent publishes are coalesced into few produce requests (see ProduceCoalescer); each caller
 * still learns only the outcome of the send that carried its own messages.
 * A failed or timed-out send discards the producer, so the next request starts from a fresh
 * connection and producer id instead of a half-broken session; that is how the API recovers
 * from a broker restart without being restarted itself.
 */
@Injectable()
export class KafkaProducer implements OnApplicationShutdown {
  private readonly logger = new Logger(KafkaProducer.name);
  private readonly kafka: Kafka;
  private producer?: Promise<Producer>;
  private admin?: Promise<Admin>;
  private readonly knownTopics = new Set<string>();
  private readonly ledger = new PartitionLedger(javaCompatiblePartitioner);
  private closed = false;
  private readonly coalescer = new ProduceCoalescer((batch) => this.sendBatch(batch), {
    maxInFlight: MAX_IN_FLIGHT,
    maxFlushBytes: MAX_FLUSH_BYTES,
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    const { kafka } = config;
    const clientConfig: KafkaConfig = {
      clientId: kafka.clientId,
      brokers: kafka.brokers,
      ssl: kafka.ssl,
      connectionTimeout: Math.min(3000, kafka.publishTimeoutMs),
      requestTimeout: kafka.publishTimeoutMs,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry: LogEntry) => this.log(entry),
    };
    if (kafka.sasl) clientConfig.sasl = kafka.sasl as KafkaConfig['sasl'];
    this.kafka = new Kafka(clientConfig);
  }

  /** Sends messages to one topic and resolves only once the broker acknowledged all of them (acks=all). */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.publishAll([{ topic, messages }]);
  }

  /**
   * Sends messages to several topics in one produce request (kafkajs' sendBatch; one request per
   * broker leading a partition of them) and resolves only once the brokers acknowledged every one of
   * them (acks=all); if any part fails, the whole call fails. There is no transaction: a failure may
   * leave some of the messages written, exactly as a failed send to several partitions of one topic may.
   */
  async publishAll(batches: TopicMessages): Promise<void> {
    if (this.closed) throw new UpstreamUnavailableError(KAFKA, 'The API is shutting down; retry against another instance');
    const deadline = this.config.kafka.publishTimeoutMs;
    let abandon: (() => boolean) | undefined;
    let gaveUp = false;
    try {
      const timedOut = `Kafka did not acknowledge the events within ${deadline} ms`;
      await this.withDeadline(
        deadline,
        timedOut,
        () => this.resetProducer(),
        async () => {
          const unknown = batches.map((b) => b.topic).filter((t) => !this.knownTopics.has(t));
          if (unknown.length > 0) await this.ensureTopics(unknown);
          if (gaveUp) return;
          const queued = this.coalescer.publishAll(batches);
          abandon = queued.abandon;
          await queued.acked;
        },
      );
    } catch (err) {
      // A caller told 503 must not have its events sent later: withdraw them if they still wait for a
      // flush, and do not queue them if the deadline passed while the topic was being checked.
      gaveUp = true;
      abandon?.();
      throw err;
    }
  }

  /** Creates the topics that do not exist yet (when allowed) and remembers the ones that do. */
  async ensureTopics(topics: string[]): Promise<void> {
    const missing = topics.filter((t) => !this.knownTopics.has(t));
    if (missing.length === 0) return;
    const admin = await this.connectedAdmin();
    try {
      const existing = new Set(await admin.listTopics());
      const toCreate = missing.filter((t) => !existing.has(t));
      if (toCreate.length > 0 && this.config.kafka.createTopics) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: toCreate.map((topic) => ({
            topic,
            numPartitions: this.config.kafka.topicPartitions,
            replicationFactor: this.config.kafka.topicReplicationFactor,
          })),
        });
        this.logger.log(`created topic(s) ${toCreate.join(', ')}`);
      } else if (toCreate.length > 0) {
        throw new UpstreamUnavailableError(KAFKA, `Topic(s) ${toCreate.join(', ')} do not exist and KAFKA_CREATE_TOPICS is false`);
      }
      missing.forEach((t) => this.knownTopics.add(t));
    } catch (err) {
      this.resetAdmin();
      throw err;
    }
  }

  /** A metadata round trip to the cluster, bounded in time. */
  async ping(timeoutMs = 2000): Promise<{ brokers: number; controller: number | null }> {
    const timedOut = `Kafka did not answer a metadata request within ${timeoutMs} ms`;
    return this.withDeadline(
      timeoutMs,
      timedOut,
      () => this.resetAdmin(),
      async () => {
        const admin = await this.connectedAdmin();
        try {
          const cluster = await admin.describeCluster();
          return { brokers: cluster.brokers.length, controller: cluster.controller };
        } catch (err) {
          this.resetAdmin();
          throw err;
        }
      },
    );
  }

  /** Each topic's partitions with their first (low) and next (high) offsets; a missing topic has none. */
  async endOffsets(topics: string[], timeoutMs = 3000): Promise<Record<string, { partition: number; low: number; high: number }[]>> {
    const timedOut = `Kafka did not answer an offsets request within ${timeoutMs} ms`;
    return this.withDeadline(
      timeoutMs,
      timedOut,
      () => this.resetAdmin(),
      async () => {
        const admin = await this.connectedAdmin();
        try {
          const existing = new Set(await admin.listTopics());
          const entries = await Promise.all(
            topics.map(async (topic) => {
              if (!existing.has(topic)) return [topic, []] as const;
              const offsets = await admin.fetchTopicOffsets(topic);
              return [topic, offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))] as const;
            }),
          );
          return Object.fromEntries(entries);
        } catch (err) {
          this.resetAdmin();
          throw err;
        }
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    // Everything already accepted for sending is sent and answered before the producer goes.
    await this.coalescer.drained();
    const producer = this.producer;
    const admin = this.admin;
    this.producer = this.admin = undefined;
    // disconnect() waits for in-flight sends, so nothing acknowledged to a caller is dropped.
    await Promise.allSettled([producer?.then((p) => p.disconnect()), admin?.then((a) => a.disconnect())]);
  }

  /**
   * One produce request for everything the coalescer gathered, timed; a failure discards the producer.
   * It resolves only once every message's partition was acknowledged: the messages of a partition that
   * kafkajs left unsent while its leader moved are sent again (see PartitionLedger).
   */
  private async sendBatch(topicMessages: TopicMessages): Promise<void> {
    const producer = await this.connectedProducer();
    let records = 0;
    for (const t of topicMessages) records += t.messages.length;
    const started = performance.now();
    try {
      let pending = topicMessages;
      for (let send = 1; ; send++) {
        const acks = await producer.sendBatch({ acks: -1, topicMessages: pending });
        pending = this.ledger.unacknowledged(pending, acks);
        if (pending.length === 0) break;
        const left = pending.map((t) => `${t.messages.length} to ${t.topic}`).join(', ');
        if (send === MAX_SENDS_PER_FLUSH) throw new Error(`Kafka did not acknowledge every partition of the send: ${left} left unacknowledged`);
        this.logger.warn(`Kafka answered a send without acknowledging all of it (a partition's leader moved meanwhile): sending ${left} again`);
      }
      this.metrics.kafkaProduce((performance.now() - started) / 1000, records, 'acked');
    } catch (err) {
      this.metrics.kafkaProduce((performance.now() - started) / 1000, records, 'failed');
      this.resetProducer();
      throw err;
    }
  }

  private connectedProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 5,
        retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
        createPartitioner: this.ledger.partitioner,
      });
      this.producer = producer.connect().then(() => producer);
      this.producer.catch(() => this.resetProducer());
    }
    return this.producer;
  }

  private connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } });
      this.admin = admin.connect().then(() => admin);
      this.admin.catch(() => this.resetAdmin());
    }
    return this.admin;
  }

  private resetProducer(): void {
    const old = this.producer;
    this.producer = undefined;
    void old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private resetAdmin(): void {
    const old = this.admin;
    this.admin = undefined;
    void old?.then((a) => a.disconnect()).catch(() => undefined);
  }

  /**
   * Runs work against Kafka; a failure or a missed deadline becomes a 503 naming Kafka. A missed
   * deadline also resets the client that hung (`resetHung`), and only that one: a slow readiness
   * ping must not discard the producer that ingest requests are using.
   */
  private async withDeadline<T>(ms: number, timeoutMessage: string, resetHung: () => void, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        resetHung();
        reject(new UpstreamUnavailableError(KAFKA, timeoutMessage));
      }, ms);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) throw err;
      throw new UpstreamUnavailableError(KAFKA, `Kafka is unavailable: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private log({ level, log }: LogEntry): void {
    const { message, ...extra } = log;
    const text = `${message} ${extra.error ? `(${String(extra.error)})` : ''}`.trim();
    if (level <= KafkaLogLevel.ERROR) this.logger.warn(text);
    else if (level === KafkaLogLevel.WARN) this.logger.warn(text);
    else this.logger.debug(text);
  }
}
