/**
 * End-to-end freshness: the time from the 202 of POST /ingest to the event being visible through
 * GET /records, at a steady rate. Run against a running stack with the streaming job (make up):
 *
 *   npx ts-node --transpile-only bench/freshness.ts [--rate 200] [--seconds 60] [--source clicks] [--view]
 *
 * With --view, also the time from the 202 to a view's current window reflecting the event: a view
 * (count per minute per /probe, over this run's events) is created first; about 5 events a second carry a
 * probe number of its own, and GET /views/{name}/results is polled for its group. Deleted at the end.
 *
 * Environment: API_URL (default http://127.0.0.1:3000), API_KEYS (the first key is used).
 * Prints a table and writes bench/results/freshness-<timestamp>.{json,md}.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { arg, machine, pct, pomVersion, closeConnections, report, ROOT, send as post, sh, stackVersions } from './support';

const RATE = Number(arg('rate', '200'));
const SECONDS = Number(arg('seconds', '60'));
const SOURCE = arg('source', 'clicks');
const API = (process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const KEY = (process.env.API_KEYS ?? 'local-dev-key-change-me').split(',')[0];
const POLL_MS = 100;
const WINDOW_MARGIN_MS = 1000;
/** Kept-alive connections the events are sent over: a paced load queues here when answers slow down. */
const CONNECTIONS = 64;
const DRAIN_SECONDS = 30;
const VIEW = process.argv.includes('--view');
const RUN = randomUUID();
const VIEW_NAME = `bench_fresh_${RUN.slice(0, 8)}`;
/** One event in this many is a probe the view is polled for: about 5 a second, so a page of results holds the last two minutes of them. */
const PROBE_EVERY = Math.max(1, Math.round(RATE / 5));
const probeAcked = new Map<number, number>(); // probe -> when the 202 arrived
const probeVisible = new Map<number, number>(); // probe -> when the view's results first showed it

const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };
const acked = new Map<string, number>(); // eventId -> when the 202 arrived
const ackedWall = new Map<string, number>(); // eventId -> wall-clock time of the 202, to bound the polled window
const visible = new Map<string, number>(); // eventId -> when GET /records first returned it
let failures = 0;
/** Why requests failed (the status and error, or the connection's error code), with how often. */
const failureReasons = new Map<string, number>();
let sending = true;

async function send(i: number): Promise<void> {
  const probe = VIEW && i % PROBE_EVERY === 0 ? { probe: String(i) } : {};
  const res = await post(API, 'POST', `/api/v1/ingest/${SOURCE}`, KEY, { bench: 'freshness', run: RUN, i, ...probe }, CONNECTIONS);
  if (res.status !== 202) {
    let why = res.text;
    if (res.status !== 0) {
      try {
        why = `${res.status} ${(JSON.parse(res.text) as { error?: string }).error ?? ''}`.trim();
      } catch {
        why = String(res.status);
      }
    }
    failures++;
    failureReasons.set(why, (failureReasons.get(why) ?? 0) + 1);
    return;
  }
  const body = JSON.parse(res.text) as { eventIds: string[] };
  acked.set(body.eventIds[0], performance.now());
  if ('probe' in probe) probeAcked.set(i, performance.now());
  ackedWall.set(body.eventIds[0], Date.now());
}

/**
 * The oldest event not seen yet bounds the window polled, so each poll reads only recent rows: from
 * WINDOW_MARGIN_MS before its 202 (its receivedAt is earlier than the 202 by the request's own time).
 * Every row of the window is read on each poll, so the margin is what the polling costs the API and
 * this process (on the machine under test) at high rates: 5 s of rows at 1,000 events/s was 50,000
 * rows a second read back.
 */
function windowStart(fallback: number): string {
  let oldest = Infinity;
  for (const [id, at] of ackedWall) {
    if (visible.has(id)) ackedWall.delete(id);
    else oldest = Math.min(oldest, at);
  }
  return new Date((oldest === Infinity ? fallback : oldest) - WINDOW_MARGIN_MS).toISOString();
}

async function poll(): Promise<void> {
  while (sending || (visible.size < acked.size && performance.now() < drainDeadline)) {
    const started = performance.now();
    const from = windowStart(Date.now());
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ from, limit: '1000' });
      if (token) q.set('pageToken', token);
      // A kept-alive connection the server closed meanwhile fails one poll, not the run.
      const res = await fetch(`${API}/api/v1/records/${SOURCE}?${q}`, { headers }).catch(() => undefined);
      if (!res?.ok) break;
      const page = (await res.json()) as { items: { eventId: string }[]; nextPageToken?: string };
      const now = performance.now();
      for (const item of page.items) if (acked.has(item.eventId) && !visible.has(item.eventId)) visible.set(item.eventId, now);
      token = page.nextPageToken;
    } while (token);
    const spent = performance.now() - started;
    if (spent < POLL_MS) await new Promise((r) => setTimeout(r, POLL_MS - spent));
  }
}

let drainDeadline = Infinity;

/** Polls the view's results of the last two minutes for the probes' groups. */
async function pollView(): Promise<void> {
  while (sending || (probeVisible.size < probeAcked.size && performance.now() < drainDeadline)) {
    const started = performance.now();
    const q = new URLSearchParams({ from: new Date(Date.now() - 120_000).toISOString(), limit: '1000' });
    const res = await fetch(`${API}/api/v1/views/${VIEW_NAME}/results?${q}`, { headers }).catch(() => undefined);
    if (res?.ok) {
      const page = (await res.json()) as { items: { group: Record<string, string | null> }[] };
      const now = performance.now();
      for (const item of page.items) {
        const probe = Number(item.group['/probe']);
        if (probeAcked.has(probe) && !probeVisible.has(probe)) probeVisible.set(probe, now);
      }
    }
    const spent = performance.now() - started;
    if (spent < POLL_MS) await new Promise((r) => setTimeout(r, POLL_MS - spent));
  }
}

async function createView(): Promise<void> {
  const definition = {
    name: VIEW_NAME,
    source: SOURCE,
    window: '1m',
    groupBy: ['/probe'],
    filter: [
      { field: '/run', op: '=', value: RUN },
      { field: '/probe', op: 'exists' },
    ],
    aggregates: [{ fn: 'count' }],
    backfillFrom: new Date().toISOString(),
  };
  const res = await fetch(`${API}/api/v1/views`, { method: 'POST', headers, body: JSON.stringify(definition) });
  if (res.status !== 201) throw new Error(`POST /views: ${res.status} ${await res.text()}`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const view = (await (await fetch(`${API}/api/v1/views/${VIEW_NAME}`, { headers })).json()) as { state: string };
    if (view.state === 'running') return;
    if (Date.now() > deadline) throw new Error(`view ${VIEW_NAME} is ${view.state} after 2 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const percentiles = (values: number[]) => {
  const l = [...values].sort((a, b) => a - b);
  return l.length ? { p50: pct(l, 50), p95: pct(l, 95), p99: pct(l, 99), max: l[l.length - 1] } : null;
};

async function main(): Promise<void> {
  const startedAt = new Date();
  if (VIEW) await createView();
  const poller = Promise.all([poll(), VIEW ? pollView() : undefined]);
  const interval = 1000 / RATE;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(send(i));
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - t0) / 1000;
  drainDeadline = performance.now() + DRAIN_SECONDS * 1000;
  sending = false;
  await poller;
  closeConnections();
  if (VIEW) await fetch(`${API}/api/v1/views/${VIEW_NAME}`, { method: 'DELETE', headers }).catch(() => undefined);
  const viewLatencies = [...probeVisible.entries()].map(([probe, at]) => at - probeAcked.get(probe)!);

  const latencies = [...visible.entries()].map(([id, at]) => at - acked.get(id)!).sort((a, b) => a - b);
  const result = {
    bench: 'freshness',
    at: startedAt.toISOString(),
    target: { rate: RATE, seconds: SECONDS, source: SOURCE },
    achievedRate: Math.round(acked.size / sendSeconds),
    acked: acked.size,
    failed: failures,
    failureReasons: Object.fromEntries(failureReasons),
    notVisibleAfterDrain: acked.size - visible.size,
    latencyMs: latencies.length ? { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99), max: latencies[latencies.length - 1] } : null,
    pollIntervalMs: POLL_MS,
    view: VIEW ? { probes: probeAcked.size, notVisibleAfterDrain: probeAcked.size - probeVisible.size, latencyMs: percentiles(viewLatencies) } : undefined,
    stack: {
      ...stackVersions(),
      livy: pomVersion('livy', 'livy.version'),
      pyspark: sh(`sed -n 's/^pyspark==//p' ${join(ROOT, 'infra/local/spark/requirements.txt')}`),
      streaming: sh(`curl -s -H 'X-API-Key: ${KEY}' ${API}/api/v1/streaming`),
    },
    machine: machine(),
  };
  const f = (n?: number) => (n === undefined ? '-' : n.toFixed(0));
  const table = [
    '| rate (target/achieved ev/s) | seconds | acked | failed | not visible | p50 ms | p95 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${RATE}/${result.achievedRate} | ${SECONDS} | ${result.acked} | ${result.failed} | ${result.notVisibleAfterDrain} | ${f(result.latencyMs?.p50)} | ${f(result.latencyMs?.p95)} | ${f(result.latencyMs?.p99)} | ${f(result.latencyMs?.max)} |`,
    ...(result.view
      ? [
          '',
          `A view's current window (count per minute per /probe; one event in ${PROBE_EVERY} a probe), 202 → shown by GET /views/{name}/results:`,
          '',
          '| probes | not visible | p50 ms | p95 ms | p99 ms | max ms |',
          '| --- | --- | --- | --- | --- | --- |',
          `| ${result.view.probes} | ${result.view.notVisibleAfterDrain} | ${f(result.view.latencyMs?.p50)} | ${f(result.view.latencyMs?.p95)} | ${f(result.view.latencyMs?.p99)} | ${f(result.view.latencyMs?.max)} |`,
        ]
      : []),
    ...(failureReasons.size ? ['', `Failed requests: ${[...failureReasons].map(([why, n]) => `${why} ×${n}`).join(', ')}`] : []),
  ].join('\n');
  report('freshness', `Freshness: 202 of POST /ingest/${SOURCE} → visible in GET /records (polled every ${POLL_MS} ms)`, table, [], result);
}

main().catch((err: Error) => {
  console.error(`freshness bench failed: ${err.message}`);
  process.exit(1);
});
