/**
 * The pipeline's capacity: the highest constant ingest rate at which Kafka → Spark stream →
 * Cassandra keeps up. Run against a running stack with the streaming job (make up):
 *
 *   npx ts-node --transpile-only bench/pipeline.ts [--rates 500,1000,...] [--step 60] [--hold 180]
 *     [--batch 100] [--source clicks] [--event-bytes 1024] [--max-lag-seconds 5] [--quick] [--views]
 *
 * 1. Ramp: each rate of --rates held for --step seconds, POST /ingest/<source> in batches of
 *    --batch events at a constant rate. Every 2 s: the stream's Kafka lag (the topic's end offsets
 *    minus the offsets of the stream's last committed micro-batch, from its heartbeat row), the
 *    freshness of rows stored since the last sample (processedAt − receivedAt, read through
 *    GET /records), and the CPU of every stage. The ramp stops at the first step that is not bounded.
 * 2. Confirm: the highest bounded rate held for --hold seconds; 15 % lower if it is not bounded
 *    (at most twice).
 * With --views, three views on the source run throughout (count per minute per /page, p95 of
 * /duration_ms per minute, distinct /user per hour, over this run's events); a phase is bounded only
 * if each view's lag at its end is bounded too. They are deleted at the end.
 *
 * Environment: API_URL (default http://127.0.0.1:3000), API_KEYS (the first key is used),
 * STACK_DIR (default .stack/ of this checkout: the services' pid files).
 * Prints tables and writes bench/results/pipeline-<timestamp>.{json,md}.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { arg, coresCell, f0, f1, machine, pct, pomVersion, report, ROOT, sh, stackVersions } from './support';
import { coresBetween, StageCpu, STAGES } from './stage-cpu';
import { topicProgress } from '../src/common/offsets/topic-progress';
import type { MicroBatchDto, MicroBatchesDto } from '../src/processing/dto/processing.dto';

const QUICK = process.argv.includes('--quick');
/** Three views on the source while it runs (count per minute per /page, p95 of /duration_ms per minute, distinct /user per hour). */
const VIEWS = process.argv.includes('--views');
const RATES = arg('rates', QUICK ? '200,400' : '500,1000,2000,3000,4000,6000,8000,12000')
  .split(',')
  .map(Number);
const STEP_SECONDS = Number(arg('step', QUICK ? '20' : '60'));
const HOLD_SECONDS = Number(arg('hold', QUICK ? '30' : '180'));
const BATCH = Number(arg('batch', '100'));
const SOURCE = arg('source', 'clicks');
const EVENT_BYTES = Number(arg('event-bytes', '1024'));
const MAX_LAG_SECONDS = Number(arg('max-lag-seconds', '5'));
const DRAIN_TIMEOUT_SECONDS = Number(arg('drain-timeout', '300'));
const API = (process.env.API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const KEY = (process.env.API_KEYS ?? 'local-dev-key-change-me').split(',')[0];
const STACK_DIR = process.env.STACK_DIR ?? join(ROOT, '.stack');
const KEYSPACE = process.env.CASSANDRA_KEYSPACE ?? 'pipeline';
const STREAM_JOB = 'events_stream';

const TICK_MS = 50;
const MAX_IN_FLIGHT = 64;
const SAMPLE_MS = 2000;
const LAG_SAMPLE_MS = 500;
const MICRO_BATCHES_EVERY_MS = 20_000;
/** Rows read per freshness sample. */
const FRESHNESS_ROWS = 200;
/**
 * The bounded rule: the slope of the lag right after each micro-batch commit, over the second half
 * of a phase, as a share of the rate. The lag between commits saws up by a whole micro-batch of
 * events; right after a commit it is what the stream did not catch up with, which only trends up
 * when the stream falls behind.
 */
const MAX_SLOPE_SHARE = 0.02;
/** A phase is driven, not limited by the API or this generator, when this share of the events got a 202. */
const MIN_ACHIEVED_SHARE = 0.95;
/** Lag counted as drained. */
const DRAINED_EVENTS = 100;
const STEP_DOWN = 0.85;
const HOLD_RETRIES = 2;

const RUN = randomUUID();
const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${API}${path}`, { headers });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return (await res.json()) as T;
};

// ---------------------------------------------------------------- the events

/** Random padding, so the events do not compress better than real ones would. */
const PADS = Array.from({ length: 64 }, () => randomBytes(EVENT_BYTES).toString('base64url'));

/** One event of about EVENT_BYTES bytes of JSON, with its marker: the run and its sequence number. */
function event(seq: number): string {
  const head = `{"bench":"pipeline","run":"${RUN}","seq":${seq},"page":"/p${seq % 20}","duration_ms":${(seq * 7919) % 1000},"user":"u${seq % 5000}","pad":"`;
  return `${head}${PADS[seq % PADS.length].slice(0, Math.max(0, EVENT_BYTES - head.length - 2))}"}`;
}

// ---------------------------------------------------------------- the load generator

interface Sending {
  requests: number;
  eventsSent: number;
  eventsAccepted: number;
  /** Requests never sent because the generator was more than a tick behind, or MAX_IN_FLIGHT were pending. */
  requestsSkipped: number;
  /** Answers other than 202, by status ('error' for no answer). */
  refused: Record<string, number>;
  latenciesMs: number[];
  seconds: number;
}

let nextSeq = 0;

/**
 * POSTs batches of BATCH events at `rate` events/s for `seconds`: every TICK_MS the requests due
 * by then are sent, at most one tick's worth (a generator that fell behind skips the rest rather
 * than bursting to catch up), with at most MAX_IN_FLIGHT pending.
 */
async function drive(rate: number, seconds: number): Promise<Sending> {
  const s: Sending = { requests: 0, eventsSent: 0, eventsAccepted: 0, requestsSkipped: 0, refused: {}, latenciesMs: [], seconds };
  const intervalMs = (BATCH / rate) * 1000;
  const total = Math.round((rate * seconds) / BATCH);
  const perTick = Math.max(1, Math.ceil(TICK_MS / intervalMs));
  const pending = new Set<Promise<void>>();
  const post = async (): Promise<void> => {
    const first = nextSeq;
    nextSeq += BATCH;
    const body = `[${Array.from({ length: BATCH }, (_, i) => event(first + i)).join(',')}]`;
    const t0 = performance.now();
    s.requests++;
    s.eventsSent += BATCH;
    try {
      const res = await fetch(`${API}/api/v1/ingest/${SOURCE}`, { method: 'POST', headers, body });
      await res.arrayBuffer();
      s.latenciesMs.push(performance.now() - t0);
      if (res.status === 202) s.eventsAccepted += BATCH;
      else s.refused[res.status] = (s.refused[res.status] ?? 0) + 1;
    } catch {
      s.refused.error = (s.refused.error ?? 0) + 1;
    }
  };
  const t0 = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
    if (due - issued > perTick) {
      s.requestsSkipped += due - issued - perTick;
      issued = due - perTick;
    }
    for (; issued < due; issued++) {
      if (pending.size >= MAX_IN_FLIGHT) {
        s.requestsSkipped++;
        continue;
      }
      const p = post().finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(Math.max(1, TICK_MS - ((performance.now() - t0) % TICK_MS)));
  }
  // The last request is due one interval before the window ends: the rate is over the whole window.
  await sleep(Math.max(0, seconds * 1000 - (performance.now() - t0)));
  s.seconds = (performance.now() - t0) / 1000;
  await Promise.all(pending);
  return s;
}

// ---------------------------------------------------------------- what is measured

const kafka = new Kafka({ clientId: 'bench-pipeline', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const db = new Client({ contactPoints: ['127.0.0.1:9042'], localDataCenter: 'datacenter1' });
let topic = '';

/**
 * Events of the source's topic not yet processed by the stream: Kafka's end offsets minus the
 * offsets of the stream's last committed micro-batch (its heartbeat row), as GET /pipeline computes it.
 */
async function kafkaLag(): Promise<{ lag: number; processed: number }> {
  const [partitions, heartbeat] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    db.execute(`SELECT offsets FROM ${KEYSPACE}.stream_heartbeats WHERE stream = ?`, [STREAM_JOB], { prepare: true }),
  ]);
  const done = (JSON.parse(heartbeat.rows[0]?.offsets ?? '{}') as Record<string, Record<string, number>>)[topic] ?? {};
  const offsets = partitions.map((p) => ({ partition: p.partition, high: Number(p.high), low: Number(p.low) }));
  const { endOffset, processedOffset } = topicProgress(offsets, done);
  return { lag: endOffset - processedOffset, processed: processedOffset };
}

interface StoredRow {
  seq: number;
  receivedAt: number;
  freshnessMs: number;
}

/**
 * This run's rows among those stored since `sinceMs` (their receivedAt): up to FRESHNESS_ROWS of
 * them, ending at a random instant between that and the newest stored row, so a sample is not
 * biased towards a micro-batch's newest (freshest) rows. Also returns the newest receivedAt, the
 * next call's `sinceMs`. Reads GET /records only (the events table's layout is the API's business).
 */
async function storedSince(sinceMs: number): Promise<{ newest: number; rows: StoredRow[] }> {
  type Page = { items: { receivedAt: string; processedAt?: string; payload: { run?: string; seq?: number } }[] };
  const from = new Date(sinceMs).toISOString();
  const head = await get<Page>(`/api/v1/records/${SOURCE}?${new URLSearchParams({ from, limit: '1' })}`);
  const newest = head.items[0] ? Date.parse(head.items[0].receivedAt) : sinceMs;
  if (newest <= sinceMs) return { newest: sinceMs, rows: [] };
  const to = new Date(sinceMs + 1 + Math.random() * (newest - sinceMs)).toISOString();
  const page = await get<Page>(`/api/v1/records/${SOURCE}?${new URLSearchParams({ from, to, limit: String(FRESHNESS_ROWS) })}`);
  const rows = page.items
    .filter((r) => r.payload?.run === RUN && r.processedAt !== undefined && typeof r.payload.seq === 'number')
    .map((r) => ({ seq: r.payload.seq!, receivedAt: Date.parse(r.receivedAt), freshnessMs: Date.parse(r.processedAt!) - Date.parse(r.receivedAt) }));
  return { newest, rows };
}

const microBatches = new Map<string, MicroBatchDto>();

/** The stream's recorded micro-batches (the job's rows, so a copy restarted or adopted meanwhile loses none). */
async function readMicroBatches(): Promise<void> {
  const page = await get<MicroBatchesDto>('/api/v1/streaming/micro-batches?limit=200');
  // A replayed epoch (a copy that died before its commit) is a batch of its own, with its own end.
  for (const b of page.microBatches) microBatches.set(`${b.batchId ?? ''}:${b.epoch}:${b.at}`, b);
}

// ---------------------------------------------------------------- phases

interface LagSample {
  t: number;
  lag: number;
  /** The first sample after a micro-batch commit (the stream's processed offsets moved). */
  committed: boolean;
}

interface Phase {
  kind: 'step' | 'hold' | 'drain';
  targetRate: number;
  plannedSeconds: number;
  startedAt: string;
  wallSeconds: number;
  sending?: Sending;
  lag: LagSample[];
  freshnessMs: number[];
  cores: Record<string, number>;
  /** GET /pipeline's lag of the source at the phase's end, next to ours, as a check. */
  lagCheck?: { ours: number; pipelineApi?: number };
  /** With --views: each view's lag (events) at the phase's end. */
  viewsLag?: Record<string, number>;
}

// ---------------------------------------------------------------- the views

const VIEW_NAMES = ['pages', 'latency', 'users'].map((v) => `bench_${RUN.slice(0, 8)}_${v}`);

/** The issue's three views on the source, over this run's events from now on (not the topic's history). */
function viewDefinitions(): Record<string, unknown>[] {
  const common = { source: SOURCE, filter: [{ field: '/run', op: '=', value: RUN }], backfillFrom: new Date().toISOString() };
  return [
    { name: VIEW_NAMES[0], window: '1m', groupBy: ['/page'], aggregates: [{ fn: 'count' }], ...common },
    { name: VIEW_NAMES[1], window: '1m', aggregates: [{ fn: 'p95', field: '/duration_ms' }], ...common },
    { name: VIEW_NAMES[2], window: '1h', aggregates: [{ fn: 'distinct', field: '/user' }], ...common },
  ];
}

async function createViews(): Promise<void> {
  for (const definition of viewDefinitions()) {
    const res = await fetch(`${API}/api/v1/views`, { method: 'POST', headers, body: JSON.stringify(definition) });
    if (res.status !== 201) throw new Error(`POST /views ${definition.name as string}: ${res.status} ${await res.text()}`);
  }
  // Started by the streaming job within its poll (5 s).
  const deadline = Date.now() + 120_000;
  for (const name of VIEW_NAMES) {
    while ((await get<{ state: string }>(`/api/v1/views/${name}`)).state === 'pending') {
      if (Date.now() > deadline) throw new Error(`view ${name} still pending after 2 minutes`);
      await sleep(1000);
    }
  }
}

async function deleteViews(): Promise<void> {
  for (const name of VIEW_NAMES) await fetch(`${API}/api/v1/views/${name}`, { method: 'DELETE', headers }).catch(() => undefined);
}

/** Each view's lag: the topic's end offsets minus the offsets its last micro-batch read (GET /views/{name}). */
async function viewsLag(): Promise<Record<string, number>> {
  const ends = await admin.fetchTopicOffsets(topic);
  const end = ends.reduce((a, p) => a + Number(p.high), 0);
  const out: Record<string, number> = {};
  for (const name of VIEW_NAMES) {
    const v = await get<{ state: string; progress?: { offsetsRead: number } }>(`/api/v1/views/${name}`).catch(() => undefined);
    out[name.slice(name.lastIndexOf('_') + 1)] = v?.state === 'failed' || v?.progress === undefined ? NaN : end - v.progress.offsetsRead;
  }
  return out;
}

const cpu = new StageCpu(STACK_DIR);
let storedHead = Date.now();

let lastProcessed: number | undefined;

/** Until `until` settles: the lag every LAG_SAMPLE_MS; the rows stored since, every SAMPLE_MS; the micro-batches now and then. */
async function watch<T>(phase: Phase, seqFrom: number, until: Promise<T>): Promise<T> {
  let done = false;
  const t0 = Date.now();
  until.then(
    () => (done = true),
    () => (done = true),
  );
  const every = async (ms: number, work: () => Promise<void>) => {
    while (!done) {
      const started = Date.now();
      await work().catch(() => undefined);
      await Promise.race([sleep(Math.max(0, ms - (Date.now() - started))), until.catch(() => undefined)]);
    }
  };
  const lag = async () => {
    const t = (Date.now() - t0) / 1000;
    const now = await kafkaLag();
    phase.lag.push({ t, lag: now.lag, committed: lastProcessed !== undefined && now.processed !== lastProcessed });
    lastProcessed = now.processed;
  };
  const stored = async () => {
    const page = await storedSince(storedHead);
    storedHead = page.newest;
    for (const r of page.rows) if (r.seq >= seqFrom) phase.freshnessMs.push(r.freshnessMs);
  };
  await Promise.all([every(LAG_SAMPLE_MS, lag), every(SAMPLE_MS, stored), every(MICRO_BATCHES_EVERY_MS, readMicroBatches)]);
  return until;
}

async function phase(kind: Phase['kind'], rate: number, seconds: number): Promise<Phase> {
  const p: Phase = {
    kind,
    targetRate: rate,
    plannedSeconds: seconds,
    startedAt: new Date().toISOString(),
    wallSeconds: 0,
    lag: [],
    freshnessMs: [],
    cores: {},
  };
  const seqFrom = nextSeq;
  const before = cpu.snapshot();
  const t0 = performance.now();
  if (kind === 'drain') await watch(p, seqFrom, drained(DRAIN_TIMEOUT_SECONDS));
  else p.sending = await watch(p, seqFrom, drive(rate, seconds));
  p.wallSeconds = (performance.now() - t0) / 1000;
  p.cores = coresBetween(before, cpu.snapshot(), p.wallSeconds);
  if (kind !== 'drain') await readMicroBatches().catch(() => undefined);
  const [ours, api] = await Promise.all([
    kafkaLag().then(
      (l) => l.lag,
      () => NaN,
    ),
    pipelineApiLag(),
  ]);
  p.lagCheck = { ours, pipelineApi: api };
  if (VIEWS) p.viewsLag = await viewsLag().catch(() => undefined);
  return p;
}

async function pipelineApiLag(): Promise<number | undefined> {
  const status = await get<{ sources: { source: string; lagEvents: number }[] }>('/api/v1/pipeline').catch(() => undefined);
  return status?.sources.find((s) => s.source === SOURCE)?.lagEvents;
}

/** Resolves once the lag is back near 0 (or after the timeout). */
async function drained(timeoutSeconds: number): Promise<boolean> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (
      (await kafkaLag().then(
        (l) => l.lag,
        () => Infinity,
      )) <= DRAINED_EVENTS
    )
      return true;
    await sleep(1000);
  }
  return false;
}

function slope(samples: LagSample[]): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const ml = samples.reduce((a, s) => a + s.lag, 0) / n;
  const num = samples.reduce((a, s) => a + (s.t - mt) * (s.lag - ml), 0);
  const den = samples.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return den ? num / den : NaN;
}

const BOUNDED_RULE =
  `bounded: over the second half of the phase, the least-squares slope of the lag right after each micro-batch commit is below ${MAX_SLOPE_SHARE * 100} % of the target rate ` +
  `and the last sample's lag below ${MAX_LAG_SECONDS} s of events; and ${MIN_ACHIEVED_SHARE * 100} % of the events got a 202 (no refusals)`;

interface Verdict {
  bounded: boolean;
  why: string;
  slope: number;
  achievedRate: number;
  refused: number;
}

function judge(p: Phase): Verdict {
  const s = p.sending!;
  // A stream that commits nothing (stalled) leaves too few points after commits: then every sample counts.
  const half = p.lag.filter((x) => x.t >= p.wallSeconds / 2);
  const afterCommits = half.filter((x) => x.committed);
  const k = slope(afterCommits.length >= 3 ? afterCommits : half.length >= 3 ? half : p.lag);
  const last = p.lag.at(-1)?.lag ?? NaN;
  const achievedRate = s.eventsAccepted / s.seconds;
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  const why: string[] = [];
  if (!(k < MAX_SLOPE_SHARE * p.targetRate)) why.push(`lag grows ${f0(k)} ev/s`);
  if (!(last < MAX_LAG_SECONDS * p.targetRate)) why.push(`lag ${f0(last)} events`);
  const planned = p.targetRate * p.plannedSeconds;
  if (s.eventsAccepted < MIN_ACHIEVED_SHARE * planned) why.push(`${f0((100 * s.eventsAccepted) / planned)} % accepted`);
  if (refused) why.push(`${refused} refused`);
  for (const [view, lag] of Object.entries(p.viewsLag ?? {})) if (!(lag < MAX_LAG_SECONDS * p.targetRate)) why.push(`view ${view} lag ${f0(lag)} events`);
  return { bounded: why.length === 0, why: why.join(', '), slope: k, achievedRate, refused };
}

// ---------------------------------------------------------------- output

const stageCores = (cores: Record<string, number>) => coresCell(Object.fromEntries([...STAGES, 'machine'].map((s) => [s, cores[s] ?? NaN])));

function busiest(cores: Record<string, number>): [string, number] {
  return STAGES.filter((s) => s !== 'load gen')
    .map((s) => [s, cores[s]] as [string, number])
    .sort((a, b) => b[1] - a[1])[0];
}

function microBatchSummary(p: Phase) {
  const from = Date.parse(p.startedAt);
  const to = from + p.wallSeconds * 1000;
  const list = [...microBatches.values()].filter((b) => Date.parse(b.at) >= from && Date.parse(b.at) <= to);
  const durations = list.map((b) => b.durationMs).sort((a, b) => a - b);
  const rows = list.map((b) => b.rows);
  const busyMs = durations.reduce((a, b) => a + b, 0);
  const rowsTotal = rows.reduce((a, b) => a + b, 0);
  return {
    batches: list.length,
    rows: rowsTotal,
    rowsPerBatchMean: list.length ? rowsTotal / list.length : NaN,
    rowsPerBatchMax: rows.length ? Math.max(...rows) : NaN,
    durationMs: { p50: pct(durations, 50), p99: pct(durations, 99), max: durations.at(-1) ?? NaN },
    /** Share of the phase's wall time spent in micro-batches: near 100 %, the stream is the limit. */
    busyShare: busyMs / (p.wallSeconds * 1000),
    rowsPerBusySecond: busyMs ? rowsTotal / (busyMs / 1000) : NaN,
  };
}

function freshness(p: Phase) {
  const sorted = [...p.freshnessMs].sort((a, b) => a - b);
  return { rows: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted.at(-1) ?? NaN };
}

function summarize(p: Phase) {
  const v = judge(p);
  const lags = p.lag.map((x) => x.lag);
  return {
    kind: p.kind,
    targetRate: p.targetRate,
    startedAt: p.startedAt,
    wallSeconds: p.wallSeconds,
    achievedRate: v.achievedRate,
    eventsSent: p.sending!.eventsSent,
    eventsAccepted: p.sending!.eventsAccepted,
    requestsSkipped: p.sending!.requestsSkipped,
    refused: p.sending!.refused,
    postMs: (() => {
      const l = [...p.sending!.latenciesMs].sort((a, b) => a - b);
      return { p50: pct(l, 50), p99: pct(l, 99) };
    })(),
    lag: { start: lags[0] ?? NaN, end: lags.at(-1) ?? NaN, min: Math.min(...lags), max: Math.max(...lags), slopePerSecond: v.slope, samples: p.lag },
    lagCheck: p.lagCheck,
    viewsLag: p.viewsLag,
    bounded: v.bounded,
    notBoundedBecause: v.why || undefined,
    freshnessMs: freshness(p),
    cores: p.cores,
    microBatches: microBatchSummary(p),
  };
}
type Summary = ReturnType<typeof summarize>;

const refusedCell = (s: Summary) => {
  const parts = Object.entries(s.refused).map(([code, n]) => `${n}×${code}`);
  return parts.length ? parts.join(' ') : '0';
};

function rampTable(steps: Summary[]): string {
  return [
    '| rate target → achieved (ev/s) | non-202 | POST p99 ms | lag start → end (events) | lag slope (ev/s) | bounded | freshness p50 / p99 ms (rows) | stream busy | cores |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...steps.map(
      (s) =>
        `| ${f0(s.targetRate)} → ${f0(s.achievedRate)} | ${refusedCell(s)} | ${f0(s.postMs.p99)} | ${f0(s.lag.start)} → ${f0(s.lag.end)} | ${f0(s.lag.slopePerSecond)} | ` +
        `${s.bounded ? 'yes' : `no (${s.notBoundedBecause})`} | ${f0(s.freshnessMs.p50)} / ${f0(s.freshnessMs.p99)} (${s.freshnessMs.rows}) | ` +
        `${f0(s.microBatches.busyShare * 100)} % | ${stageCores(s.cores)} |`,
    ),
  ].join('\n');
}

function holdTable(holds: Summary[]): string {
  return [
    '| rate target → achieved (ev/s) | seconds | events sent / 202 | non-202 | lag min / max / last | lag slope (ev/s) | bounded | freshness p50 / p99 / max ms (rows) | cores |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...holds.map(
      (s) =>
        `| ${f0(s.targetRate)} → ${f0(s.achievedRate)} | ${f0(s.wallSeconds)} | ${f0(s.eventsSent)} / ${f0(s.eventsAccepted)} | ${refusedCell(s)} | ` +
        `${f0(s.lag.min)} / ${f0(s.lag.max)} / ${f0(s.lag.end)} | ${f0(s.lag.slopePerSecond)} | ${s.bounded ? 'yes' : `no (${s.notBoundedBecause})`} | ` +
        `${f0(s.freshnessMs.p50)} / ${f0(s.freshnessMs.p99)} / ${f0(s.freshnessMs.max)} (${s.freshnessMs.rows}) | ${stageCores(s.cores)} |`,
    ),
  ].join('\n');
}

function microBatchTable(s: Summary): string {
  const m = s.microBatches;
  return [
    '| micro-batches | rows | rows per batch mean / max | duration p50 / p99 / max ms | busy (Σ duration / wall) | rows per busy second |',
    '| --- | --- | --- | --- | --- | --- |',
    `| ${m.batches} | ${f0(m.rows)} | ${f0(m.rowsPerBatchMean)} / ${f0(m.rowsPerBatchMax)} | ${f0(m.durationMs.p50)} / ${f0(m.durationMs.p99)} / ${f0(m.durationMs.max)} | ${f0(m.busyShare * 100)} % | ${f0(m.rowsPerBusySecond)} |`,
  ].join('\n');
}

// ---------------------------------------------------------------- main

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
}

async function drain(phases: Phase[], why: string): Promise<void> {
  log(`draining (${why}): waiting until the lag is ≤ ${DRAINED_EVENTS} events (at most ${DRAIN_TIMEOUT_SECONDS} s)`);
  const d = await phase('drain', 0, 0);
  phases.push(d);
  log(`  lag ${f0(d.lagCheck?.ours ?? NaN)} after ${f0(d.wallSeconds)} s`);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const sources = await get<{ sources: { name: string; topic: string }[] }>('/api/v1/sources');
  const found = sources.sources.find((s) => s.name === SOURCE);
  if (!found) throw new Error(`no source ${SOURCE} in GET /api/v1/sources`);
  topic = found.topic;
  const streaming = await get<{ state: string }>('/api/v1/streaming');
  if (!streaming.state.startsWith('running')) throw new Error(`the stream is ${streaming.state}, not running (make up starts it)`);
  await Promise.all([admin.connect(), db.connect()]);
  const missing = cpu.missing();
  if (missing.length) log(`no process found for ${missing.join(', ')} (pid files under ${STACK_DIR}/run; set STACK_DIR): their cores read 0`);

  log(
    `run ${RUN}: ${SOURCE} (topic ${topic}), ${EVENT_BYTES}-byte events in batches of ${BATCH}; rates ${RATES.join(', ')} ev/s, ${STEP_SECONDS} s each; hold ${HOLD_SECONDS} s`,
  );
  const phases: Phase[] = [];
  if ((await kafkaLag()).lag > DRAINED_EVENTS) await drain(phases, 'a backlog before the start');
  if (VIEWS) {
    log(`creating the views ${VIEW_NAMES.join(', ')}`);
    await createViews();
    process.on('SIGINT', () => void deleteViews().finally(() => process.exit(130)));
  }

  const steps: Summary[] = [];
  for (const rate of RATES) {
    log(`step ${f0(rate)} ev/s for ${STEP_SECONDS} s`);
    const p = await phase('step', rate, STEP_SECONDS);
    phases.push(p);
    const s = summarize(p);
    steps.push(s);
    log(
      `  achieved ${f0(s.achievedRate)} ev/s, lag ${f0(s.lag.start)} → ${f0(s.lag.end)} (slope ${f0(s.lag.slopePerSecond)} ev/s; GET /pipeline at the end ${f0(p.lagCheck?.pipelineApi ?? NaN)}), ` +
        `freshness p50 ${f0(s.freshnessMs.p50)} ms, ${s.bounded ? 'bounded' : `NOT bounded: ${s.notBoundedBecause}`}; cores ${stageCores(s.cores)}`,
    );
    if (!s.bounded) break;
  }
  const firstUnbounded = steps.find((s) => !s.bounded);
  const highestBounded = [...steps].reverse().find((s) => s.bounded);
  if (firstUnbounded) await drain(phases, `${f0(firstUnbounded.targetRate)} ev/s was not bounded`);

  const holds: Summary[] = [];
  let rate = highestBounded?.targetRate ?? Math.round(RATES[0] * STEP_DOWN);
  for (let attempt = 0; attempt <= HOLD_RETRIES; attempt++) {
    log(`hold ${f0(rate)} ev/s for ${HOLD_SECONDS} s`);
    const p = await phase('hold', rate, HOLD_SECONDS);
    phases.push(p);
    const s = summarize(p);
    holds.push(s);
    log(
      `  achieved ${f0(s.achievedRate)} ev/s, lag max ${f0(s.lag.max)}, last ${f0(s.lag.end)}; ${s.bounded ? 'bounded' : `NOT bounded: ${s.notBoundedBecause}`}`,
    );
    if (s.bounded) break;
    await drain(phases, 'the hold was not bounded');
    rate = Math.round(rate * STEP_DOWN);
  }
  if (VIEWS) await deleteViews();
  await admin.disconnect();
  await db.shutdown();

  const confirmed = holds.find((h) => h.bounded);
  const last = confirmed ?? holds.at(-1)!;
  const [stage, cores] = busiest(last.cores);
  const verdict = confirmed
    ? `capacity: ${f0(confirmed.targetRate)} events/s (bounded for ${f0(HOLD_SECONDS)} s); busiest stage: ${stage} (${cores.toFixed(2)} cores)`
    : `capacity: not confirmed (no hold down to ${f0(last.targetRate)} events/s was bounded); busiest stage: ${stage} (${cores.toFixed(2)} cores)`;
  const limit = firstUnbounded
    ? `at ${f0(firstUnbounded.targetRate)} ev/s (the first step not bounded): the stream was in micro-batches ${f0(firstUnbounded.microBatches.busyShare * 100)} % of the time ` +
      `(${f0(firstUnbounded.microBatches.rowsPerBusySecond)} rows per busy second), the machine ${f1(firstUnbounded.cores.machine)} of ${machine().cpus} cores busy; ` +
      `busiest stage ${busiest(firstUnbounded.cores)[0]} (${busiest(firstUnbounded.cores)[1].toFixed(2)} cores)`
    : `every step up to ${f0(RATES.at(-1)!)} ev/s was bounded: the capacity is at least that (add higher --rates)`;

  const stream = await get<Record<string, unknown>>('/api/v1/streaming').catch(() => ({}));
  const result = {
    bench: 'pipeline',
    at: startedAt.toISOString(),
    run: RUN,
    settings: {
      source: SOURCE,
      topic,
      rates: RATES,
      stepSeconds: STEP_SECONDS,
      holdSeconds: HOLD_SECONDS,
      batch: BATCH,
      eventBytes: EVENT_BYTES,
      tickMs: TICK_MS,
      maxInFlight: MAX_IN_FLIGHT,
      sampleMs: SAMPLE_MS,
      freshnessRowsPerSample: FRESHNESS_ROWS,
      boundedRule: BOUNDED_RULE,
      views: VIEWS ? viewDefinitions().map(({ backfillFrom: _from, ...v }) => v) : [],
    },
    verdict,
    limit,
    steps,
    holds,
    drains: phases.filter((p) => p.kind === 'drain').map((p) => ({ startedAt: p.startedAt, seconds: p.wallSeconds, lagEnd: p.lagCheck?.ours, cores: p.cores })),
    stack: {
      ...stackVersions(),
      livy: pomVersion('livy', 'livy.version'),
      pyspark: sh(`sed -n 's/^pyspark==//p' ${join(ROOT, 'infra/local/spark/requirements.txt')}`),
      streaming: JSON.stringify(stream),
      api: API,
    },
    machine: machine(),
  };

  const table = [
    `Ramp (${STEP_SECONDS} s per step; ${BATCH} events of ${EVENT_BYTES} bytes per POST /ingest/${SOURCE}):`,
    '',
    rampTable(steps),
    '',
    `Hold (${HOLD_SECONDS} s):`,
    '',
    holdTable(holds),
    '',
    `Micro-batches over the ${confirmed ? 'confirmed' : 'last'} hold (GET /streaming/micro-batches):`,
    '',
    microBatchTable(last),
    '',
    `**${verdict}**`,
  ].join('\n');
  report(
    'pipeline',
    `Pipeline capacity: POST /ingest/${SOURCE} → Kafka → Spark stream → Cassandra at constant rates`,
    table,
    [
      BOUNDED_RULE,
      `lag: the topic's end offsets (Kafka) minus the offsets of the stream's last committed micro-batch (stream_heartbeats), every ${LAG_SAMPLE_MS} ms; GET /pipeline computes the same (its value at each phase end is in the JSON, lagCheck)`,
      `freshness: processedAt − receivedAt of this run's rows stored since the previous sample (GET /records, up to ${FRESHNESS_ROWS} rows ending at a random instant of that span)`,
      'cores: CPU seconds / wall seconds of each stage with all its processes (/proc); Spark stream = the driver JVM (local mode: executors inside) and its Python processes; machine = all busy cores',
      'stream busy: Σ micro-batch durations / wall time; near 100 % the stream is working back to back and is the limit',
      limit,
    ],
    result,
  );
}

main().catch((err: Error) => {
  console.error(`pipeline bench failed: ${err.message}`);
  process.exit(1);
});
