/**
 * What the benchmarks share: arguments, the API process they start, and the machine and versions
 * every result file records.
 */
import { ChildProcess, execSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..');
/** The key of the API the benchmarks start (any 16+ characters). */
export const BENCH_KEY = 'bench-key-0123456789';
/**
 * The keyspace of the APIs the benchmarks start: a registry of their own, seeded from
 * bench/config/sources.yaml (the sources registry seeds an empty registry only), and their rows
 * kept apart from the pipeline's.
 */
export const BENCH_KEYSPACE = process.env.CASSANDRA_KEYSPACE ?? 'bench';
/** The signing secret of the `bench-signed` source (whsec_ + base64 of the HMAC key). */
export const BENCH_SIGNING_SECRET = `whsec_${Buffer.from('bench-signing-key-0123456789').toString('base64')}`;

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** A comma-separated list of whole numbers of at least 1 (`--workers 1,2`); anything else in it is dropped. */
export function argCounts(name: string, fallback: string): number[] {
  return arg(name, fallback)
    .split(',')
    .map(Number)
    .filter((n) => n >= 1);
}

export function sh(cmd: string): string {
  try {
    return execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export const pomVersion = (dir: string, prop: string) => sh(`sed -n 's:.*<${prop}>\\(.*\\)</${prop}>.*:\\1:p' ${join(ROOT, `infra/local/${dir}/pom.xml`)}`);

export function stackVersions(): Record<string, string> {
  return {
    kafka: pomVersion('kafka', 'kafka.version'),
    cassandra: pomVersion('cassandra', 'cassandra.version'),
    kafkajs: sh(`node -p "require('kafkajs/package.json').version"`),
    'cassandra-driver': sh(`node -p "require('cassandra-driver/package.json').version"`),
    nestjs: sh(`node -p "require('@nestjs/core/package.json').version"`),
    autocannon: sh(`node -p "require('autocannon/package.json').version"`),
  };
}

export function machine(): Record<string, string | number | undefined> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    java: sh('java -version 2>&1 | head -1'),
  };
}

export const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;
export const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

export interface BenchApi {
  url: string;
  workers: number;
  /** The API's processes (the primary and its workers); none for an API at API_URL. */
  pids(): number[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/**
 * The Node options every launcher of the API gives it (package.json's start, infra/local/api/service.sh,
 * the Dockerfile; apps/api/launchers.spec.ts checks they agree): a 4 MiB young generation semi-space
 * instead of V8's 16 MiB bounds the resident memory under large batches (docs/performance.md).
 */
export const API_NODE_OPTIONS = ['--max-semi-space-size=4'];

/** An answer of `send`: status 0 when the connection failed, with the error's code in `text`. */
export interface Sent {
  status: number;
  sentAt: number;
  text: string;
}

const agents = new Map<string, Agent>();
/**
 * A request with a JSON body (or none) over kept-alive connections, at most `maxSockets` per base URL:
 * a paced load then queues in the client when answers slow down, instead of opening a connection per
 * request until the server's connection bound (HTTP_MAX_CONNECTIONS) closes the new ones.
 */
export function send(url: string, method: string, path: string, key: string, body?: unknown, maxSockets = 16): Promise<Sent> {
  const sentAt = Date.now();
  const { hostname, port } = new URL(url);
  const agent = agents.get(url) ?? agents.set(url, new Agent({ keepAlive: true, maxSockets })).get(url)!;
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      { host: hostname, port, method, path, agent, headers: { 'X-API-Key': key, ...(text && { 'Content-Type': 'application/json' }) } },
      (res) => {
        let out = '';
        res.on('data', (c: Buffer) => (out += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sentAt, text: out }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, sentAt, text: err.code ?? err.message }));
    req.end(text);
  });
}

/** Closes the kept-alive connections of `send`, so the process can exit. */
export function closeConnections(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

/**
 * Starts the built API (dist/, `make build`) on a free loopback port with the benchmark sources
 * (bench/config/sources.yaml, in its own keyspace: BENCH_KEYSPACE), no streaming job, warn-level logs, and `workers` processes;
 * `nodeArgs` go to node before the script (e.g. --cpu-prof).
 * With API_URL set, that API is used instead and nothing is started.
 */
export async function startApi(workers: number, env: Record<string, string> = {}, nodeArgs: string[] = API_NODE_OPTIONS): Promise<BenchApi> {
  if (process.env.API_URL) return { url: process.env.API_URL.replace(/\/$/, ''), workers: NaN, pids: () => [], stop: async () => undefined };
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'dist/apps/api/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      API_KEYS: BENCH_KEY,
      API_WORKERS: String(workers),
      SOURCES_FILE: join(ROOT, 'bench/config/sources.yaml'),
      CASSANDRA_KEYSPACE: BENCH_KEYSPACE,
      STREAMING_AUTOSTART: 'false',
      LOG_LEVEL: 'warn',
      BENCH_SIGNING_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-10_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited with code ${child.exitCode}; is dist/ built (make build)?`);
    const ok = await fetch(`${url}/api/v1/sources`, { headers: { 'X-API-Key': BENCH_KEY } }).then(
      (r) => r.ok,
      () => false,
    );
    // With several workers, the others start once the first listens: wait until all of them do.
    if (ok && (workers === 1 || logs.includes(`all ${workers} API workers listening`))) break;
    if (Date.now() > deadline) throw new Error('the API did not answer within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    workers,
    pids: () => (child.pid ? [child.pid, ...pgrep(`-P ${child.pid}`)] : []),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Pids pgrep finds with these arguments (none when it finds nothing). */
function pgrep(args: string): number[] {
  const out = sh(`pgrep ${args}`);
  return out === 'unknown' ? [] : out.split('\n').filter(Boolean).map(Number);
}

/** Pids of the local Kafka broker and Cassandra node (the stack runner's processes). */
export const stackPids = {
  kafka: () => pgrep('-f kafka.Kafka'),
  cassandra: () => pgrep('-f CassandraDaemon'),
};

const CLOCK_TICKS = Number(sh('getconf CLK_TCK')) || 100;

/** CPU seconds used so far by these processes (user + system, from /proc; Linux). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended; it no longer counts
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Resident memory of these processes now, in MiB (VmRSS from /proc; Linux). */
export function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process ended; it no longer counts
    }
  }
  return kib / 1024;
}

/**
 * Cores each group of processes used while `work` ran (CPU seconds / wall seconds), so a table can
 * say where the machine's cores went: the API, Kafka, Cassandra, and this load generator; and the
 * highest resident memory of each group, sampled every 250 ms.
 */
export async function withCpu<T>(
  groups: Record<string, () => number[]>,
  work: () => Promise<T>,
): Promise<{ result: T; cores: Record<string, number>; peakRssMiB: Record<string, number> }> {
  const pids = Object.fromEntries(Object.entries(groups).map(([name, list]) => [name, list()]));
  const before = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, cpuSeconds(list)]));
  const peakRssMiB = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const sample = () => {
    for (const [name, list] of Object.entries(pids)) peakRssMiB[name] = Math.max(peakRssMiB[name], rssMiB(list));
  };
  sample();
  const sampler = setInterval(sample, 250);
  const t0 = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - t0) / 1000;
    const cores = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, (cpuSeconds(list) - before[name]) / seconds]));
    sample();
    return { result, cores, peakRssMiB };
  } finally {
    clearInterval(sampler);
  }
}

/** "API 0.85 · Kafka 0.20 · …" for a table cell. */
export const coresCell = (cores: Record<string, number>) =>
  Object.entries(cores)
    .map(([name, n]) => `${name} ${n.toFixed(2)}`)
    .join(' · ');

/**
 * Prints the table and its notes, and writes them to bench/results/<name>-<timestamp>.md (with the
 * stack and machine) and the whole result to the .json beside it.
 */
export function report(
  name: string,
  title: string,
  table: string,
  notes: string[],
  result: { at: string; stack: Record<string, string>; machine: Record<string, unknown> },
): void {
  const m = result.machine;
  console.log(`\n${title}\n\n${table}${notes.length ? `\n\n${notes.join('\n')}` : ''}`);
  console.log(`\nmachine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, node ${m.node}, ${m.java}`);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = result.at.replace(/[:.]/g, '-');
  const about = JSON.stringify({ stack: result.stack, machine: result.machine }, null, 2);
  writeFileSync(join(dir, `${name}-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(
    join(dir, `${name}-${stamp}.md`),
    `# ${title} (${result.at})\n\n${table}\n\n${notes.map((n) => `- ${n}\n`).join('')}${notes.length ? '\n' : ''}\`\`\`json\n${about}\n\`\`\`\n`,
  );
  console.log(`\nresults: bench/results/${name}-${stamp}.{json,md}`);
}
