import { EventEmitter } from 'node:events';
import { ServiceUnavailableError } from '../common/errors/errors';
import { rejection } from '../common/testing/rejection';
import { PrimaryChannel, PrimaryMetricsClient, serveWorkerScrapes, WorkerMessages } from './cluster-metrics';

/**
 * A primary and its workers without processes: each worker's `process` is an emitter whose send()
 * delivers to the primary's cluster 'message' event, and the primary's worker.send() delivers back.
 */
function fakeCluster(collect: () => Promise<string>) {
  const primary = new EventEmitter();
  serveWorkerScrapes(primary as unknown as WorkerMessages, collect);

  function worker(timeoutMs = 1000) {
    const channel = new EventEmitter() as EventEmitter & PrimaryChannel;
    let connected = true;
    const handle = {
      isConnected: () => connected,
      send: jest.fn((message: unknown, callback?: (err: Error | null) => void) => {
        setImmediate(() => {
          if (connected) channel.emit('message', message);
          callback?.(connected ? null : new Error('channel closed'));
        });
        return true;
      }),
    };
    channel.send = (message, callback) => {
      setImmediate(() => {
        primary.emit('message', handle, message);
        callback(null);
      });
      return true;
    };
    const client = new PrimaryMetricsClient(channel, timeoutMs);
    return { client, channel, handle, die: () => (connected = false) };
  }
  return { primary, worker };
}

describe('cluster metrics: a worker asks the primary', () => {
  it("answers a worker's scrape with what the primary collected from every worker", async () => {
    const { worker } = fakeCluster(async () => 'http_requests_total 7\n');

    await expect(worker().client.clusterMetrics()).resolves.toBe('http_requests_total 7\n');
  });

  it('shares one collection among the scrapes that arrive while it runs', async () => {
    let release!: (text: string) => void;
    const collect = jest.fn(() => new Promise<string>((resolve) => (release = resolve)));
    const { worker } = fakeCluster(collect);
    const [a, b] = [worker(), worker()];

    const answers = Promise.all([a.client.clusterMetrics(), b.client.clusterMetrics(), a.client.clusterMetrics()]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release('up 1\n');

    await expect(answers).resolves.toEqual(['up 1\n', 'up 1\n', 'up 1\n']);
    expect(collect).toHaveBeenCalledTimes(1);
    // The next scrape collects again.
    const next = a.client.clusterMetrics();
    await new Promise((resolve) => setTimeout(resolve, 20));
    release('up 2\n');
    await expect(next).resolves.toBe('up 2\n');
    expect(collect).toHaveBeenCalledTimes(2);
  });

  it("answers 503 naming the cause when a worker's metrics could not be collected", async () => {
    const { worker } = fakeCluster(async () => {
      throw new Error('Operation timed out.');
    });

    const err = await rejection(worker().client.clusterMetrics());

    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(err).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '5' } });
    expect(err.message).toBe('The metrics of every API worker could not be gathered: Operation timed out.');
  });

  it('answers 503 when the primary does not answer in time, and forgets the request', async () => {
    const channel = Object.assign(new EventEmitter(), { send: jest.fn((_m: unknown, cb: (e: Error | null) => void) => (cb(null), true)) });
    const client = new PrimaryMetricsClient(channel, 50);

    const err = await rejection(client.clusterMetrics());

    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(err.message).toBe("The API's primary process did not answer with the workers' metrics within 50 ms");
    // A late answer changes nothing.
    channel.emit('message', { type: 'pipeline:metrics-response', id: 0, metrics: 'late 1\n' });
  });

  it('answers 503 when the request cannot be sent to the primary', async () => {
    const channel = Object.assign(new EventEmitter(), {
      send: (_m: unknown, cb: (e: Error | null) => void) => (setImmediate(() => cb(new Error('channel closed'))), false),
    });

    const err = await rejection(new PrimaryMetricsClient(channel, 1000).clusterMetrics());

    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect(err.message).toBe("The primary process could not be asked for the workers' metrics: channel closed");
  });

  it('answers the requests still waiting with 503 when the worker shuts down, and stops listening', async () => {
    const channel = Object.assign(new EventEmitter(), { send: () => true });
    const client = new PrimaryMetricsClient(channel, 1000);

    const waiting = rejection(client.clusterMetrics());
    client.close();

    expect((await waiting).message).toBe('The API is shutting down');
    expect(channel.listenerCount('message')).toBe(0);
  });

  it('never throws in the primary: other messages are ignored, and a worker gone meanwhile gets no answer', async () => {
    let release!: (text: string) => void;
    const { primary, worker } = fakeCluster(() => new Promise<string>((resolve) => (release = resolve)));
    const gone = worker(100);

    expect(() => primary.emit('message', gone.handle, { cmd: 'something else' })).not.toThrow();
    expect(() => primary.emit('message', gone.handle, null)).not.toThrow();
    const answer = rejection(gone.client.clusterMetrics());
    await new Promise((resolve) => setTimeout(resolve, 20));
    gone.die();
    release('up 1\n');

    expect((await answer).message).toMatch(/did not answer .* within 100 ms/);
    expect(gone.handle.send).not.toHaveBeenCalled();
  });
});
