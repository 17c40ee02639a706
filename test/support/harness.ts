import { INestApplication } from '@nestjs/common';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { AddressInfo, createServer } from 'node:net';
import { resolve } from 'node:path';
import { Client } from 'cassandra-driver';
// Before kafkajs, as in the API: the tests' own clients share the tuned encoding (see the module).
import '../../src/kafka/kafkajs-encoding';
import { Kafka, logLevel } from 'kafkajs';

/** The environment as the test run was started with, before startApp() set the in-process app's variables. */
const ORIGINAL_ENV = { ...process.env };

/** The API key the in-process app accepts in end-to-end tests. */
export const API_KEY = 'e2e-test-key-0123456789abcdef';
/**
 * The signing secret of the `webhooks` source (config/sources.yaml), which the API needs to start:
 * the one `make` exports, else the same development default.
 */
export const WEBHOOKS_SIGNING_SECRET = process.env.WEBHOOKS_SIGNING_SECRET || 'whsec_bG9jYWwtZGV2LXdlYmhvb2tzLWtleS1jaGFuZ2UtbWU=';
export const AUTH = { 'X-API-Key': API_KEY };
export const ROOT = resolve(__dirname, '../..');
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const CONTACT_POINTS = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',');
export const KEYSPACE = process.env.CASSANDRA_KEYSPACE ?? 'pipeline';

/** Starts the real application in this process, configured through the environment like production. */
export async function startApp(overrides: Record<string, string> = {}): Promise<INestApplication> {
  Object.assign(process.env, { API_KEYS: API_KEY, WEBHOOKS_SIGNING_SECRET, LOG_LEVEL: 'error', NODE_ENV: 'test', ...overrides });
  // Imported after the environment is set: configuration is read once, at module load.
  const { createApp } = await import('../../apps/api/bootstrap');
  const app = await createApp();
  await app.init();
  return app;
}

export function kafka(): Kafka {
  return new Kafka({ clientId: 'e2e-tests', brokers: BROKERS, logLevel: logLevel.NOTHING });
}

export interface ConsumedMessage {
  key: string | null;
  value: { eventId: string; source: string; receivedAt: string; key?: string; payload: Record<string, unknown> };
  partition: number;
  /** The record headers, as UTF-8 text. */
  headers: Record<string, string>;
}

/**
 * Reads a topic with a fresh consumer group, from the first record published in the last
 * `sinceMs` (by Kafka's record timestamps), until every expected id was seen. Not from the
 * beginning: after a benchmark a topic holds millions of records, more than a test can read in time.
 */
export async function readEvents(topic: string, eventIds: string[], timeoutMs = 30000, sinceMs = 120_000): Promise<Map<string, ConsumedMessage>> {
  const consumer = kafka().consumer({ groupId: `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  const found = new Map<string, ConsumedMessage>();
  const wanted = new Set(eventIds);
  const admin = kafka().admin();
  await admin.connect();
  const starts = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - sinceMs).finally(() => admin.disconnect());
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`only ${found.size}/${wanted.size} events found in ${topic} after ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          const value = JSON.parse(message.value!.toString());
          if (!wanted.has(value.eventId)) return;
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, v]) => [name, String(v)]));
          found.set(value.eventId, { key: message.key?.toString() ?? null, value, partition, headers });
          if (found.size === wanted.size) {
            clearTimeout(timer);
            done();
          }
        },
      });
      for (const { partition, offset } of starts) consumer.seek({ topic, partition, offset });
    });
  } finally {
    await consumer.disconnect();
  }
  return found;
}

/** Sum of the latest offsets of a topic's partitions: grows by one per message published. */
export async function topicEnd(topic: string): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function cassandra(): Promise<Client> {
  const client = new Client({ contactPoints: CONTACT_POINTS, localDataCenter: 'datacenter1', keyspace: KEYSPACE });
  await client.connect();
  return client;
}

/**
 * Drives the local stack runner (infra/local/stack.sh), e.g. to stop and restart Kafka, with the
 * environment the run started with (a restarted API gets the keys and settings `make` gave it).
 */
export function stack(...args: string[]): void {
  execFileSync(resolve(ROOT, 'infra/local/stack.sh'), args, { cwd: ROOT, stdio: 'inherit', timeout: 240000, env: ORIGINAL_ENV });
}

/** Whether the stack runner's service is running (its pid file names a live process). */
export function stackRunning(service: string): boolean {
  return stackPid(service) !== undefined;
}

/** The pid of a service the stack runner started (in the stack whose state is `stackDir`), if it runs. */
export function stackPid(service: string, stackDir = process.env.STACK_DIR ?? '.stack'): number | undefined {
  try {
    const pid = Number(readFileSync(resolve(ROOT, stackDir, 'run', `${service}.pid`), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Pids of processes whose command line matches (pgrep -f), this test process excluded. */
export function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** The streaming job's driver processes: the Python program running events_stream.py (not the JVM that launched it). */
export const streamDrivers = (): number[] => pgrep('^[^ ]*python[^ ]* [^ ]*events_stream\\.py');

/** The JVM that runs a streaming job's driver (spark-submit of events_stream.py). */
export const streamJvms = (): number[] => pgrep('java .*SparkSubmit.*events_stream\\.py');

export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

/** Starts the API as its own process (as in production), from the sources, and waits until it answers. */
export async function spawnApi(env: Record<string, string> = {}, { logs = false } = {}): Promise<{ process: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register', 'apps/api/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', API_KEYS: API_KEY, WEBHOOKS_SIGNING_SECRET, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    // With logs, the JSON log lines are readable on child.stdout.
    stdio: ['ignore', logs ? 'pipe' : 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually('the API process answering', async () => ((await fetch(`${url}/health/live`)).ok ? true : undefined), 60000);
  return { process: child, url };
}

/** Pids of a primary's worker processes (API_WORKERS > 1). */
export function workerPids(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request on a connection of its own, so that with API_WORKERS > 1 successive requests are
 * spread over the workers (a kept-alive connection stays with the worker that accepted it).
 */
export function requestOnNewConnection(
  url: string,
  method: string,
  path: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends SIGTERM to an API run with several workers and checks it exits 0 with every worker gone. */
export async function expectGracefulExit(api: ChildProcess): Promise<void> {
  const workers = workerPids(api.pid!);
  const exited = once(api, 'exit');
  api.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  expect(code).toBe(0);
  for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
}
