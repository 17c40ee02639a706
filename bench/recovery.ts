/**
 * How fast the pipeline heals, and what watching it costs. Run against a running stack with the
 * streaming job (make up):
 *
 *   npx ts-node --transpile-only bench/recovery.ts [--idle-seconds 60]
 *
 * 1. The stream's driver SIGKILLed (the supervisor starts a new copy), then 2. Livy SIGKILLed and
 *    restarted (its driver lives on as an orphan): a probe event is sent every 250 ms and read back
 *    through GET /records; "flowing again" is the time from the kill until an event sent after the
 *    kill is readable, and the worst probe latency during the scenario says how long data waited.
 * 3. Idle cost: with no traffic, the API's CPU (all its processes) and the Cassandra requests the
 *    control plane and the job make per minute, per table (Cassandra's coordinator metrics in
 *    system_views; the job's heartbeat included, the API's own readiness probes excluded).
 *
 * Environment: API_URL (default http://127.0.0.1:3000), API_KEYS (the first key is used).
 * Prints a table and writes bench/results/recovery-<timestamp>.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { arg, f1, machine, report, ROOT, sh, stackVersions } from './support';

const API = (process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const KEY = (process.env.API_KEYS ?? 'local-dev-key-change-me').split(',')[0];
const IDLE_SECONDS = Number(arg('idle-seconds', '60'));
const STACK_DIR = process.env.STACK_DIR ?? join(ROOT, '.stack');
const SOURCE = 'clicks';
const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };

const get = async (path: string) => (await fetch(`${API}${path}`, { headers })).json() as Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pidOf = (service: string) => Number(readFileSync(join(STACK_DIR, 'run', `${service}.pid`), 'utf8').trim());
const pgrep = (pattern: string) =>
  sh(`pgrep -f '${pattern}'`)
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

/** Waits until the stream runs; with `notRun`, a copy other than that run (a killed copy looks fresh for a few seconds). */
async function streamRunning(timeoutMs: number, notRun?: unknown): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s: Record<string, unknown> = await get('/api/v1/streaming').catch(() => ({}));
    if ((s.state === 'running' || s.state === 'running-unmanaged') && (notRun === undefined || s.runId !== notRun)) return s;
    if (Date.now() > deadline) throw new Error(`the stream is not running after ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await sleep(1000);
  }
}

/** Sends a probe every 250 ms and polls GET /records until each is readable. */
function probes() {
  const sent = new Map<string, number>(); // eventId -> when the 202 came
  const seen = new Map<string, number>();
  let running = true;
  const started = Date.now();
  const sender = (async () => {
    for (let i = 0; running; i++) {
      const res = await fetch(`${API}/api/v1/ingest/${SOURCE}`, { method: 'POST', headers, body: JSON.stringify({ probe: i }) }).catch(() => undefined);
      if (res?.status === 202) sent.set(((await res.json()) as { eventIds: string[] }).eventIds[0], Date.now());
      await sleep(250);
    }
  })();
  const poller = (async () => {
    while (running || seen.size < sent.size) {
      const from = new Date(started - 5000).toISOString();
      let token: string | undefined;
      do {
        const q = new URLSearchParams({ from, limit: '1000' });
        if (token) q.set('pageToken', token);
        const page = await get(`/api/v1/records/${SOURCE}?${q}`).catch(() => ({ items: [] }) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
        for (const item of page.items ?? []) if (sent.has(item.eventId) && !seen.has(item.eventId)) seen.set(item.eventId, Date.now());
        token = page.nextPageToken;
      } while (token);
      if (!running && Date.now() - started > 600_000) break;
      await sleep(200);
    }
  })();
  return {
    async stop(): Promise<{ sent: Map<string, number>; seen: Map<string, number> }> {
      running = false;
      await sender;
      await Promise.race([poller, sleep(180_000)]);
      return { sent, seen };
    },
  };
}

async function scenario(name: string, kill: () => void, heal: () => void, newCopy: boolean): Promise<Record<string, string | number>> {
  await streamRunning(300_000);
  const before = await get('/api/v1/streaming');
  const p = probes();
  await sleep(3000);
  const killedAt = Date.now();
  kill();
  heal();
  const after = await streamRunning(300_000, newCopy ? before.runId : undefined);
  const runningAgainMs = Date.now() - killedAt;
  await sleep(10_000);
  const { sent, seen } = await p.stop();
  const afterKill = [...sent].filter(([, at]) => at >= killedAt).sort((a, b) => a[1] - b[1]);
  const firstReadable = afterKill.map(([id]) => seen.get(id)).find((t) => t !== undefined);
  const latencies = [...sent].filter(([id]) => seen.has(id)).map(([id, at]) => seen.get(id)! - at);
  return {
    scenario: name,
    'copy running (s)': f1(runningAgainMs / 1000),
    'flowing again (s)': firstReadable === undefined ? 'never' : f1((firstReadable - killedAt) / 1000),
    'worst probe latency (s)': f1(Math.max(...latencies) / 1000),
    'probes sent / readable': `${sent.size} / ${seen.size}`,
    'state after': String(after.state),
    'restarts before → after': `${before.restarts} → ${after.restarts}`,
  };
}

/** Cassandra's coordinator request counts per table of the keyspace (reads, writes, range scans). */
async function requestCounts(db: Client): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const view of ['coordinator_read_latency', 'coordinator_write_latency', 'coordinator_scan_latency']) {
    const rs = await db.execute(`SELECT keyspace_name, table_name, count FROM system_views.${view}`);
    for (const r of rs.rows) {
      if (r.keyspace_name !== 'pipeline') continue;
      const key = `${r.table_name}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(r.count));
    }
  }
  return counts;
}

function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / (Number(sh('getconf CLK_TCK')) || 100);
}

async function idleCost(): Promise<Record<string, string | number>[]> {
  await streamRunning(300_000);
  await sleep(5000);
  const db = new Client({ contactPoints: ['127.0.0.1:9042'], localDataCenter: 'datacenter1' });
  await db.connect();
  const apiPids = [pidOf('api'), ...pgrep(`-P ${pidOf('api')}`)];
  const before = await requestCounts(db);
  const cpuBefore = cpuSeconds(apiPids);
  await sleep(IDLE_SECONDS * 1000);
  const cpuAfter = cpuSeconds(apiPids);
  const after = await requestCounts(db);
  await db.shutdown();
  const perMinute = (n: number) => (n * 60) / IDLE_SECONDS;
  const rows: Record<string, string | number>[] = [...after]
    .map(([table, n]) => ({ table, requests: perMinute(n - (before.get(table) ?? 0)) }))
    .filter((r) => r.requests > 0)
    .sort((a, b) => b.requests - a.requests)
    .map((r) => ({ what: `Cassandra requests/min, table ${r.table}`, value: f1(r.requests) }));
  rows.unshift({ what: `API CPU while idle (% of one core, ${apiPids.length} process(es))`, value: f1(((cpuAfter - cpuBefore) / IDLE_SECONDS) * 100) });
  return rows;
}

async function main(): Promise<void> {
  const stack = join(ROOT, 'infra/local/stack.sh');
  // The driver first, while the copy is managed (Livy can tell it ended); Livy's kill then leaves an orphan.
  const driverKill = await scenario(
    'driver SIGKILLed',
    () => {
      for (const pid of [...pgrep('^[^ ]*python[^ ]* [^ ]*events_stream\\.py'), ...pgrep('java .*SparkSubmit.*events_stream\\.py')])
        process.kill(pid, 'SIGKILL');
    },
    () => undefined,
    true,
  );
  const livyKill = await scenario(
    'Livy SIGKILLed, restarted',
    () => {
      const pid = pidOf('livy');
      process.kill(pid, 'SIGKILL');
      // The runner would take a process that is still being reaped for a running Livy.
      while (sh(`kill -0 ${pid} 2>/dev/null && echo alive`) === 'alive') execFileSync('sleep', ['0.2']);
    },
    () => execFileSync(stack, ['up', 'livy'], { stdio: 'ignore' }),
    false,
  );
  const idle = await idleCost();
  const md = (rows: Record<string, string | number>[]) => {
    const cols = Object.keys(rows[0]);
    return [`| ${cols.join(' | ')} |`, `| ${cols.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`)].join('\n');
  };
  const table = `${md([driverKill, livyKill])}\n\n${md(idle)}`;
  report(
    'recovery',
    'Recovery after a kill, and what supervising the stream costs',
    table,
    [
      `probe: one ${SOURCE} event every 250 ms through POST /ingest, read back through GET /records`,
      'copy running: GET /streaming says running again (after the driver kill: a new copy, another run id); flowing again: the first event sent after the kill is readable',
      `idle: ${IDLE_SECONDS} s without traffic, the stream running; API CPU covers every process of the stack's API`,
    ],
    { at: new Date().toISOString(), stack: { ...stackVersions(), api: API }, machine: machine() },
  );
}

main().catch((err: Error) => {
  process.stderr.write(`recovery bench failed: ${err.message}\n`);
  process.exit(1);
});
