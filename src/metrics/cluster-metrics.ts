import cluster, { Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { ServiceUnavailableError } from '../common/errors/errors';

/**
 * A scrape must answer for the whole API, whichever worker the connection landed on. The worker
 * that received GET /metrics asks the primary over the cluster's IPC channel; the primary collects
 * every worker's registry with prom-client's AggregatorRegistry (counters and histograms summed,
 * gauges by their own aggregator) and answers that worker. Nothing here may hang a request or
 * throw in the primary, which also supervises the workers.
 */

const REQUEST = 'pipeline:metrics-request';
const RESPONSE = 'pipeline:metrics-response';

/** prom-client gives up on a worker that does not answer after 5 s; the worker waits a little longer for the primary's answer. */
export const PRIMARY_TIMEOUT_MS = 6000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  metrics?: string;
  error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest => (m as MetricsRequest | null)?.type === REQUEST;
const isResponse = (m: unknown): m is MetricsResponse => (m as MetricsResponse | null)?.type === RESPONSE;

/** The part of node:cluster the primary uses here. */
export type WorkerMessages = Pick<typeof cluster, 'on'>;

/**
 * In the primary: answers each worker's request with the metrics of all workers. Concurrent
 * requests share one collection, so a burst of scrapes costs one round of IPC messages.
 */
export function serveWorkerScrapes(workers: WorkerMessages = cluster, collect: () => Promise<string> = clusterCollector()): void {
  let inFlight: Promise<string> | undefined;
  workers.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    inFlight ??= collect().finally(() => (inFlight = undefined));
    inFlight.then(
      (metrics) => answer(worker, { type: RESPONSE, id: message.id, metrics }),
      (err: Error) => answer(worker, { type: RESPONSE, id: message.id, error: err.message }),
    );
  });
}

function clusterCollector(): () => Promise<string> {
  // Constructed in the primary, it listens for the workers' answers to its own collection requests.
  const aggregator = new AggregatorRegistry();
  return () => aggregator.clusterMetrics();
}

/** A worker that died meanwhile is not an error of the primary's: with a callback, a failed send is not thrown or emitted. */
function answer(worker: Worker, response: MetricsResponse): void {
  if (!worker.isConnected()) return;
  worker.send(response, () => undefined);
}

/** The part of a worker's `process` used to talk to the primary. */
export interface PrimaryChannel {
  send?(message: unknown, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

interface Pending {
  resolve: (metrics: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** In a worker: asks the primary for the metrics of all workers, answering 503 rather than waiting forever. */
export class PrimaryMetricsClient {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly onMessage = (message: unknown) => {
    if (!isResponse(message)) return;
    if (message.error !== undefined) {
      this.settle(message.id, new ServiceUnavailableError(`The metrics of every API worker could not be gathered: ${message.error}`));
    } else {
      this.settle(message.id, undefined, message.metrics ?? '');
    }
  };

  constructor(
    private readonly channel: PrimaryChannel,
    private readonly timeoutMs = PRIMARY_TIMEOUT_MS,
  ) {
    channel.on('message', this.onMessage);
  }

  clusterMetrics(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => this.settle(id, new ServiceUnavailableError(`The API's primary process did not answer with the workers' metrics within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.pending.set(id, { resolve, reject, timer });
      const request: MetricsRequest = { type: REQUEST, id };
      if (!this.channel.send) {
        this.settle(id, new ServiceUnavailableError('This worker has no channel to the primary process'));
        return;
      }
      this.channel.send(request, (err) => {
        if (err) this.settle(id, new ServiceUnavailableError(`The primary process could not be asked for the workers' metrics: ${err.message}`));
      });
    });
  }

  /** Stops listening; requests still waiting are answered 503. */
  close(): void {
    this.channel.off('message', this.onMessage);
    for (const id of [...this.pending.keys()]) this.settle(id, new ServiceUnavailableError('The API is shutting down'));
  }

  private settle(id: number, err: Error | undefined, metrics?: string): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve(metrics!);
  }
}
