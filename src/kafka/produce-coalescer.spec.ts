import { OutgoingMessage } from './kafka.producer';
import { ProduceCoalescer, TopicMessages } from './produce-coalescer';

const msg = (value: string): OutgoingMessage => ({ key: 'k', value });
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A Kafka stand-in whose sends stay pending until the test settles them. */
function fakeSend() {
  const sends: { batch: TopicMessages; ack: () => void; fail: (err: Error) => void }[] = [];
  const send = jest.fn(
    (batch: TopicMessages) =>
      new Promise<void>((resolve, reject) => {
        sends.push({ batch, ack: resolve, fail: reject });
      }),
  );
  return { send, sends };
}

/** Records whether a promise settled, and how. */
function track(p: Promise<void>) {
  const state = { settled: false, error: undefined as unknown };
  p.then(
    () => (state.settled = true),
    (err) => Object.assign(state, { settled: true, error: err }),
  );
  return state;
}

describe('ProduceCoalescer', () => {
  it('sends a lone request on the next turn, without waiting for others', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 2, maxFlushBytes: 1e6 });
    const a = track(c.publish('t', [msg('a')]).acked);
    await turn();
    expect(sends).toHaveLength(1);
    expect(sends[0].batch).toEqual([{ topic: 't', messages: [msg('a')] }]);
    expect(a.settled).toBe(false);
    sends[0].ack();
    await turn();
    expect(a).toEqual({ settled: true, error: undefined });
  });

  it('puts requests of the same turn into one send, grouped by topic, each request in order', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 1, maxFlushBytes: 1e6 });
    c.publish('t1', [msg('a1'), msg('a2')]);
    c.publish('t2', [msg('b1')]);
    c.publish('t1', [msg('c1')]);
    await turn();
    expect(send).toHaveBeenCalledTimes(1);
    expect(sends[0].batch).toEqual([
      { topic: 't1', messages: [msg('a1'), msg('a2'), msg('c1')] },
      { topic: 't2', messages: [msg('b1')] },
    ]);
  });

  it('holds new requests while maxInFlight sends are outstanding, then sends them together', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 1, maxFlushBytes: 1e6 });
    const first = track(c.publish('t', [msg('1')]).acked);
    await turn();
    const later = [2, 3, 4].map((i) => track(c.publish('t', [msg(String(i))]).acked));
    await turn();
    expect(sends).toHaveLength(1);
    sends[0].ack();
    await turn();
    await turn();
    expect(first.settled).toBe(true);
    expect(later.every((s) => !s.settled)).toBe(true);
    expect(sends).toHaveLength(2);
    expect(sends[1].batch[0].messages.map((m) => m.value)).toEqual(['2', '3', '4']);
    sends[1].ack();
    await turn();
    expect(later.every((s) => s.settled && s.error === undefined)).toBe(true);
  });

  it('answers each request with the outcome of the send that carried it', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 2, maxFlushBytes: 1e6 });
    const a = track(c.publish('t', [msg('a')]).acked);
    await turn();
    const b = track(c.publish('t', [msg('b')]).acked);
    await turn();
    expect(sends).toHaveLength(2);
    sends[1].fail(new Error('broker gone'));
    await turn();
    expect((b.error as Error).message).toBe('broker gone');
    expect(a.settled).toBe(false);
    sends[0].ack();
    await turn();
    expect(a).toEqual({ settled: true, error: undefined });
  });

  it('sends one request to two topics in one send, settled once by its outcome', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 2, maxFlushBytes: 1e6 });
    const both = track(
      c.publishAll([
        { topic: 't', messages: [msg('good')] },
        { topic: 't.dlq', messages: [msg('bad')] },
      ]).acked,
    );
    const other = track(c.publish('t', [msg('other')]).acked);
    await turn();
    expect(sends).toHaveLength(1);
    expect(sends[0].batch).toEqual([
      { topic: 't', messages: [msg('good'), msg('other')] },
      { topic: 't.dlq', messages: [msg('bad')] },
    ]);
    sends[0].fail(new Error('NOT_ENOUGH_REPLICAS'));
    await turn();
    expect((both.error as Error).message).toBe('NOT_ENOUGH_REPLICAS');
    expect(other.settled).toBe(true);
  });

  it('withdraws every topic of an abandoned request to two topics', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 1, maxFlushBytes: 1e6 });
    c.publish('t', [msg('first')]);
    await turn();
    const queued = c.publishAll([
      { topic: 't', messages: [msg('good')] },
      { topic: 't.dlq', messages: [msg('bad')] },
    ]);
    const kept = c.publish('t', [msg('kept')]);
    expect(queued.abandon()).toBe(true);
    sends[0].ack();
    await turn();
    await turn();
    expect(sends[1].batch).toEqual([{ topic: 't', messages: [msg('kept')] }]);
    sends[1].ack();
    await kept.acked;
  });

  it('caps a flush at maxFlushBytes but never splits or refuses one large request', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 1, maxFlushBytes: 400 });
    c.publish('t', [msg('x'.repeat(1000))]);
    c.publish('t', [msg('y'.repeat(100))]);
    c.publish('t', [msg('z'.repeat(100))]);
    await turn();
    expect(sends[0].batch[0].messages.map((m) => m.value[0])).toEqual(['x']);
    sends[0].ack();
    await turn();
    await turn();
    expect(sends[1].batch[0].messages.map((m) => m.value[0])).toEqual(['y', 'z']);
  });

  it('withdraws an abandoned request that was not sent yet, and reports one already sent', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 1, maxFlushBytes: 1e6 });
    const sent = c.publish('t', [msg('sent')]);
    await turn();
    const queued = c.publish('t', [msg('queued')]);
    expect(queued.abandon()).toBe(true);
    expect(sent.abandon()).toBe(false);
    sends[0].ack();
    await turn();
    await turn();
    expect(sends).toHaveLength(1);
    expect(c.pending).toBe(0);
  });

  it('is drained only when nothing is queued or in flight', async () => {
    const { send, sends } = fakeSend();
    const c = new ProduceCoalescer(send, { maxInFlight: 1, maxFlushBytes: 1e6 });
    await expect(c.drained()).resolves.toBeUndefined();
    c.publish('t', [msg('a')]);
    await turn();
    c.publish('t', [msg('b')]);
    const drained = track(c.drained());
    sends[0].ack();
    await turn();
    await turn();
    expect(drained.settled).toBe(false);
    sends[1].ack();
    await turn();
    expect(drained.settled).toBe(true);
  });
});
