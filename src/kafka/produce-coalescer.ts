/** One Kafka record as the control plane publishes it. */
export interface OutgoingMessage {
  key: string;
  value: string;
  headers?: Record<string, string>;
}

/** What one flush hands to Kafka: the messages of several requests, grouped by topic. */
export type TopicMessages = { topic: string; messages: OutgoingMessage[] }[];

export interface CoalescerOptions {
  /** Produce requests allowed in flight at once; more requests wait and join the next flush. */
  maxInFlight: number;
  /** A flush stops adding requests once it holds this many bytes of keys and values (one request is never split). */
  maxFlushBytes: number;
}

interface Waiting {
  /** One request's messages, per topic: they travel in one send, so one acknowledgement covers them all. */
  batches: TopicMessages;
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces concurrent publishes into few produce requests. A publish joins the queue; the queue is
 * flushed on the next turn of the event loop while fewer than `maxInFlight` sends are outstanding,
 * otherwise as soon as one of them completes. Under light load a request therefore waits for nothing,
 * and under heavy load the requests that arrived during one round trip share the next one.
 *
 * Each publish settles with the outcome of the one send that carried its messages: it resolves only
 * after Kafka acknowledged that send, and it rejects when that send failed, so no request is ever
 * answered for another's acknowledgement.
 */
export class ProduceCoalescer {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly send: (batch: TopicMessages) => Promise<unknown>,
    private readonly options: CoalescerOptions,
  ) {}

  /**
   * Queues one request's messages. `abandon` in the result withdraws them while they are still queued
   * (a caller that gave up must not have its events sent later); it answers false once they were handed to Kafka.
   */
  publish(topic: string, messages: OutgoingMessage[]): { acked: Promise<void>; abandon: () => boolean } {
    return this.publishAll([{ topic, messages }]);
  }

  /**
   * Queues one request's messages to several topics as one unit: they go out in the same send, and
   * `acked` resolves once Kafka acknowledged that send (every topic of it), or rejects if it failed.
   */
  publishAll(batches: TopicMessages): { acked: Promise<void>; abandon: () => boolean } {
    let entry!: Waiting;
    const acked = new Promise<void>((resolve, reject) => {
      entry = { batches, bytes: batches.reduce((sum, b) => sum + messageBytes(b.messages), 0), resolve, reject };
    });
    this.queue.push(entry);
    this.schedule();
    const abandon = () => {
      const i = this.queue.indexOf(entry);
      if (i < 0) return false;
      this.queue.splice(i, 1);
      this.notifyIfIdle();
      return true;
    };
    return { acked, abandon };
  }

  /** Number of requests waiting for a flush plus sends outstanding. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight (used at shutdown, after new publishes stopped). */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const taken = this.take();
      this.inFlight++;
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const w of taken) {
        for (const { topic, messages } of w.batches) {
          const list = byTopic.get(topic);
          if (list) for (const m of messages) list.push(m);
          else byTopic.set(topic, messages.slice());
        }
      }
      const batch = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      this.send(batch).then(
        () => this.settle(taken, (w) => w.resolve()),
        (err: unknown) => this.settle(taken, (w) => w.reject(err)),
      );
    }
  }

  /** The longest prefix of the queue within maxFlushBytes (always at least one request). */
  private take(): Waiting[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n].bytes <= this.options.maxFlushBytes)) {
      bytes += this.queue[n].bytes;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private settle(taken: Waiting[], outcome: (w: Waiting) => void): void {
    this.inFlight--;
    for (const w of taken) outcome(w);
    if (this.queue.length > 0) this.schedule();
    else this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.pending === 0) this.idle.splice(0).forEach((resolve) => resolve());
  }
}

function messageBytes(messages: OutgoingMessage[]): number {
  let bytes = 0;
  for (const m of messages) bytes += m.value.length + m.key.length + 64;
  return bytes;
}
