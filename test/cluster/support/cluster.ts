import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client, policies, types } from 'cassandra-driver';
import { eventually, ROOT, stackPid } from '../../support/harness';

/** The balancer of `make cluster`, in front of both API replicas. */
export const BASE = process.env.CLUSTER_URL ?? 'http://127.0.0.1:3000';
/** A key `make cluster` gave the API (the first of API_KEYS, which the Makefile exports). */
export const KEY = (process.env.API_KEYS ?? 'local-dev-key-change-me').split(',')[0].trim();
export const HEADERS = { 'X-API-Key': KEY };
const STATE = resolve(ROOT, '.stack/cluster');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const run = promisify(execFile);

/**
 * `infra/local/cluster.sh` with the environment this run started with (keys and settings of `make`). Never
 * synchronous: the load goes on meanwhile, as it would against a real cluster. Its output is shown when it fails.
 */
export async function clusterSh(...args: string[]): Promise<void> {
  try {
    await run(resolve(ROOT, 'infra/local/cluster.sh'), args, { cwd: ROOT, timeout: 600_000, maxBuffer: 16 * 2 ** 20 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`cluster.sh ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** The pid of a cluster node the runner started (its process group: the node and its children), if it runs. */
export const nodePid = (node: string): number | undefined => stackPid(node, STATE);

/**
 * SIGKILLs a node as a lost host would go: its whole process group (the runner starts each node in its
 * own session), so an API replica's workers and a Spark worker's executors go with it.
 */
export function killNode(node: string): void {
  const pid = nodePid(node);
  if (pid === undefined) throw new Error(`${node} is not running`);
  process.kill(-pid, 'SIGKILL');
}

/** Starts every node that is not running (make cluster), waiting until each answers. */
export const startMissing = (): Promise<void> => clusterSh('up');

/** Stops one node gracefully (SIGTERM, then SIGKILL after its grace period). */
export const stopNode = (node: string): Promise<void> => clusterSh('down', node);

export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${BASE}${path}`, { ...init, headers: { ...HEADERS, ...(init.headers ?? {}) }, signal: AbortSignal.timeout(30_000) });
}

export async function apiJson<T>(path: string): Promise<T> {
  const res = await api(path);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** One event of a load: which run, its number in the run, and when it was first sent. */
export interface LoadEvent {
  run: string;
  seq: number;
  sentAt: number;
}

/**
 * A steady load through the balancer, as a careful client sends it: every 200 ms one single event and a
 * batch of nine (50 events/s), each request with its own Idempotency-Key; a request that gets no 202
 * (a 5xx, a 409, a reset connection, a timeout) is sent again with the same key and body every second
 * until it does, as the docs tell clients to, so each event must end up stored exactly once.
 */
export class Load {
  /** seq -> event id, for every event answered 202. */
  readonly acked = new Map<number, string>();
  /** Answers other than 202 (retried), by status or error code. */
  readonly retried: Record<string, number> = {};
  /** Answers that will never succeed (4xx other than 409/429): a defect, reported by check(). */
  readonly refused: string[] = [];
  /** The longest time without any 202, in ms, and when it began. */
  longestGap = { ms: 0, at: 0 };
  private lastAck = Date.now();
  private seq = 0;
  private requests = 0;
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  readonly startedAt = Date.now();
  stoppedAt = 0;

  constructor(
    readonly source: string,
    readonly run: string,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      this.send([this.next()]);
      this.send(Array.from({ length: 9 }, () => this.next()));
    }, 200);
    return this;
  }

  /** Stops sending new requests and waits until every request in flight was answered 202 (or refused). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stoppedAt = Date.now();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  get sent(): number {
    return this.seq;
  }

  private next(): LoadEvent {
    return { run: this.run, seq: this.seq++, sentAt: Date.now() };
  }

  private send(events: LoadEvent[]): void {
    const p = this.deliver(events).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async deliver(events: LoadEvent[]): Promise<void> {
    const key = `${this.run}-${this.requests++}`;
    const body = JSON.stringify(events.length === 1 ? events[0] : events);
    for (;;) {
      let reason: string;
      try {
        const res = await fetch(`${BASE}/api/v1/ingest/${this.source}`, {
          method: 'POST',
          headers: { ...HEADERS, 'Content-Type': 'application/json', 'Idempotency-Key': key },
          body,
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        if (res.status === 202) {
          const ids = JSON.parse(text).eventIds as string[];
          events.forEach((e, i) => this.acked.set(e.seq, ids[i]));
          const now = Date.now();
          if (now - this.lastAck > this.longestGap.ms) this.longestGap = { ms: now - this.lastAck, at: this.lastAck };
          this.lastAck = now;
          return;
        }
        reason = String(res.status);
        if (res.status < 500 && res.status !== 409 && res.status !== 429) {
          this.refused.push(`${res.status} ${text.slice(0, 300)}`);
          return;
        }
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        reason = e.cause?.code ?? e.name;
      }
      this.retried[reason] = (this.retried[reason] ?? 0) + 1;
      await sleep(1000);
    }
  }
}

interface StoredRecord {
  eventId: string;
  payload: LoadEvent;
}

/** Every stored record of a run, read through the API (GET /records, all pages) over [from, to). */
export async function storedOf(source: string, run: string, from: number, to: number): Promise<StoredRecord[]> {
  const found: StoredRecord[] = [];
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: '1000' });
    if (token) query.set('pageToken', token);
    const page = await apiJson<{ items: StoredRecord[]; nextPageToken?: string }>(`/api/v1/records/${source}?${query}`);
    found.push(...page.items.filter((r) => r.payload?.run === run));
    token = page.nextPageToken;
  } while (token);
  return found;
}

/**
 * Waits until every event the load got a 202 for is readable in GET /records, then checks that each is
 * there exactly once, with the id it was acknowledged with, and that no event is there twice.
 */
export async function expectEveryAckedEventStoredOnce(load: Load, timeoutMs = 300_000): Promise<StoredRecord[]> {
  expect(load.refused).toEqual([]);
  const from = load.startedAt - 60_000;
  let stored: StoredRecord[] = [];
  await eventually(
    `the ${load.acked.size} acknowledged events of ${load.run} readable in GET /records`,
    async () => {
      stored = await storedOf(load.source, load.run, from, Date.now() + 120_000);
      const seen = new Set(stored.map((r) => r.payload.seq));
      return [...load.acked.keys()].every((seq) => seen.has(seq)) ? true : undefined;
    },
    timeoutMs,
    2000,
  );
  const bySeq = new Map<number, StoredRecord[]>();
  for (const r of stored) bySeq.set(r.payload.seq, [...(bySeq.get(r.payload.seq) ?? []), r]);
  const twice = [...bySeq.entries()].filter(([, rs]) => rs.length > 1).map(([seq, rs]) => `${seq}: ${rs.map((r) => r.eventId).join(', ')}`);
  expect(twice).toEqual([]);
  const wrongId = [...load.acked.entries()].filter(([seq, id]) => bySeq.get(seq)?.[0].eventId !== id);
  expect(wrongId).toEqual([]);
  return stored;
}

/**
 * Time from a fault until the pipeline flows again end to end: until an event first sent after the fault
 * is readable in GET /records. Polls the newest page every second, up to timeoutMs.
 */
export async function flowingAgain(load: Load, faultAt: number, timeoutMs = 300_000): Promise<number> {
  const deadline = faultAt + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const query = new URLSearchParams({ from: new Date(faultAt - 60_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString(), limit: '200' });
      const page = await apiJson<{ items: StoredRecord[] }>(`/api/v1/records/${load.source}?${query}`);
      if (page.items.some((r) => r.payload?.run === load.run && r.payload.sentAt > faultAt)) return Date.now() - faultAt;
    } catch {
      // the read itself may fail while the fault lasts: try again
    }
    await sleep(1000);
  }
  throw new Error(`no event sent after the fault was readable within ${timeoutMs} ms`);
}

/** A line for the run's log: what the load sent, what was acknowledged, and what was retried. */
export function summary(what: string, load: Load, stored: number, flowingMs?: number): string {
  const retried = Object.entries(load.retried)
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ');
  return (
    `${what}: ${load.sent} events sent at 50/s, ${load.acked.size} acknowledged, ${stored} stored once, 0 twice; ` +
    `retried answers: ${retried || 'none'}; longest time without a 202: ${(load.longestGap.ms / 1000).toFixed(1)} s` +
    (flowingMs === undefined ? '' : `; flowing again end to end ${(flowingMs / 1000).toFixed(1)} s after the fault`)
  );
}

/** A CQL session on the cluster (LOCAL_QUORUM unless told), or on one node alone. */
export async function cql(onlyNode?: string): Promise<Client> {
  const nodes = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const client = new Client({
    contactPoints: onlyNode ? [onlyNode] : nodes,
    localDataCenter: 'datacenter1',
    keyspace: 'pipeline',
    policies: onlyNode
      ? { loadBalancing: new policies.loadBalancing.AllowListPolicy(new policies.loadBalancing.DCAwareRoundRobinPolicy('datacenter1'), [`${onlyNode}:9042`]) }
      : undefined,
    queryOptions: { consistency: onlyNode ? types.consistencies.one : types.consistencies.localQuorum },
  });
  await client.connect();
  return client;
}

/** nodetool against a Cassandra node of the cluster (1, 2 or 3); its output. */
export async function nodetool(node: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(resolve(ROOT, 'infra/local/cassandra/nodetool.sh'), args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CASSANDRA_JMX_PORT: String(7099 + 100 * node) },
    timeout: 300_000,
  });
  return stdout;
}

/** The resident memory of the whole cluster, in bytes: every process in the process group of a running node. */
export function clusterRss(): number {
  const groups = new Set<number>();
  for (const name of readdirSync(resolve(STATE, 'run')).filter((f) => f.endsWith('.pid'))) {
    const pid = nodePid(name.slice(0, -4));
    if (pid !== undefined) groups.add(pid);
  }
  const ps = execFileSync('ps', ['-eo', 'pgid=,rss='], { encoding: 'utf8' });
  let kib = 0;
  for (const line of ps.split('\n')) {
    const [pgid, rss] = line.trim().split(/\s+/).map(Number);
    if (groups.has(pgid)) kib += rss;
  }
  return kib * 1024;
}
