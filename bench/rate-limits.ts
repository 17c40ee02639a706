/**
 * Rate limits across workers and replicas, and fairness: two API replicas (one with API_WORKERS=2,
 * so three processes sharing Cassandra's rate_limit_usage) started from dist/ in the `bench`
 * keyspace, each limited subject driven at three times its limit over both replicas, while another key
 * sends to another source at a steady rate. Needs Kafka and Cassandra running and the API built;
 * `make bench-rate-limits` does both.
 *
 *   npx ts-node --transpile-only bench/rate-limits.ts [--windows 2] [--limit 50]
 *
 * Per case: the limit, what was accepted in each 10 s window (by when the request was sent), the
 * worst deviation from the limit in %, and the other key's accepted rate (and its refusals) while
 * one floods. Prints a table and writes bench/results/rate-limits-<timestamp>.{json,md}.
 */
import { arg, BENCH_KEY, BenchApi, f1, machine, closeConnections, report, send, startApi, stackVersions } from './support';

const WINDOWS = Math.max(1, Math.min(12, Number(arg('windows', '2'))));
const LIMIT = Math.max(1, Number(arg('limit', '50')));
const WINDOW_S = 10;
/** The other key's steady rate (requests of one event each), to a source of its own. */
const OTHER_RATE = 20;
const BATCH = 20;

interface Answer {
  status: number;
  sentAt: number;
}

async function createKey(api: BenchApi, name: string, scopes: string[], rateLimit?: object): Promise<{ id: string; key: string }> {
  const res = await send(api.url, 'POST', '/api/v1/keys', BENCH_KEY, { name, scopes, ...(rateLimit && { rateLimit }) });
  if (res.status !== 201) throw new Error(`POST /keys answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as { id: string; key: string };
}

/** A source of the bench keyspace's registry, made if missing (the registry outlives a run), with these settings. */
async function source(api: BenchApi, name: string, settings: object): Promise<void> {
  const got = await send(api.url, 'GET', `/api/v1/sources/${name}`, BENCH_KEY);
  if (got.status === 404) {
    const made = await send(api.url, 'POST', '/api/v1/sources', BENCH_KEY, { name, topic: `bench.${name}`, ...settings });
    if (made.status !== 201) throw new Error(`POST /sources ${name} answered ${made.status}: ${made.text}`);
    return;
  }
  const put = await send(api.url, 'PUT', `/api/v1/sources/${name}`, BENCH_KEY, { topic: `bench.${name}`, ...settings });
  if (put.status !== 200) throw new Error(`PUT /sources/${name} answered ${put.status}: ${put.text}`);
}

/** Sends `perSecond` requests for `seconds`, paced, round robin over the replicas: every answer. */
async function drive(urls: string[], perSecond: number, seconds: number, one: (url: string, i: number) => Promise<Answer>): Promise<Answer[]> {
  const answers: Promise<Answer>[] = [];
  const start = Date.now();
  for (let i = 0; i < perSecond * seconds; i++) {
    const wait = start + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    answers.push(one(urls[i % urls.length], i));
  }
  return Promise.all(answers);
}

interface Case {
  name: string;
  limit: string;
  /** What one accepted request counts against the limit (1, or the batch's events). */
  unit: number;
  perSecond: number;
  flood: (url: string, i: number) => Promise<Answer>;
}

async function main(): Promise<void> {
  const apis = [await startApi(2), await startApi(1)];
  const urls = apis.map((a) => a.url);
  try {
    await source(apis[0], 'bench-other', {});
    await source(apis[0], 'bench-limited', { rateLimit: { requestsPerSecond: LIMIT } });
    const byRequests = await createKey(apis[0], 'bench requests-limited', ['ingest:bench'], { requestsPerSecond: LIMIT });
    const byEvents = await createKey(apis[0], 'bench events-limited', ['ingest:bench'], { eventsPerSecond: LIMIT * BATCH });
    const plain = await createKey(apis[0], 'bench unlimited sender', ['ingest:bench-limited']);
    const other = await createKey(apis[0], 'bench other sender', ['ingest:bench-other']);
    const keys = [byRequests, byEvents, plain, other];
    // Every process reads the keys table and the registry within a few seconds.
    await new Promise((r) => setTimeout(r, 6000));

    const cases: Case[] = [
      {
        name: 'key requestsPerSecond',
        limit: `${LIMIT} req/s`,
        unit: 1,
        perSecond: 3 * LIMIT,
        flood: (url, i) => send(url, 'POST', '/api/v1/ingest/bench', byRequests.key, { n: i }),
      },
      {
        name: `key eventsPerSecond (batches of ${BATCH})`,
        limit: `${LIMIT * BATCH} events/s`,
        unit: BATCH,
        perSecond: 3 * LIMIT,
        flood: (url, i) =>
          send(
            url,
            'POST',
            '/api/v1/ingest/bench',
            byEvents.key,
            Array.from({ length: BATCH }, (_, j) => ({ n: i, j })),
          ),
      },
      {
        name: 'source requestsPerSecond (an unlimited key)',
        limit: `${LIMIT} req/s`,
        unit: 1,
        perSecond: 3 * LIMIT,
        flood: (url, i) => send(url, 'POST', '/api/v1/ingest/bench-limited', plain.key, { n: i }),
      },
    ];
    const rows: Record<string, unknown>[] = [];
    for (const c of cases) {
      const seconds = WINDOWS * WINDOW_S;
      const [flood, steady] = await Promise.all([
        drive(urls, c.perSecond, seconds, c.flood),
        drive(urls, OTHER_RATE, seconds, (url, i) => send(url, 'POST', '/api/v1/ingest/bench-other', other.key, { n: i })),
      ]);
      const start = Math.min(...flood.map((a) => a.sentAt));
      const windows = Array.from(
        { length: WINDOWS },
        (_, w) =>
          flood.filter((a) => a.status === 202 && a.sentAt >= start + w * WINDOW_S * 1000 && a.sentAt < start + (w + 1) * WINDOW_S * 1000).length * c.unit,
      );
      const expected = (c.unit === 1 ? LIMIT : LIMIT * BATCH) * WINDOW_S;
      const deviations = windows.map((n) => (100 * (n - expected)) / expected);
      const worst = deviations.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
      const otherAccepted = steady.filter((a) => a.status === 202).length;
      const unexpected = [...flood, ...steady].filter((a) => a.status !== 202 && a.status !== 429).length;
      rows.push({ case: c.name, limit: c.limit, offered: c.perSecond * c.unit, expected, windows, worst, otherAccepted, otherSent: steady.length, unexpected });
      // Past the case's buckets and shares before the next one.
      await new Promise((r) => setTimeout(r, 3000));
    }
    for (const k of keys) await send(apis[0].url, 'DELETE', `/api/v1/keys/${k.id}`, BENCH_KEY);
    await source(apis[0], 'bench-limited', {});

    const table = [
      '| case | limit | offered per s | accepted per 10 s window (expected) | worst deviation | other key, 202 per s while one floods | neither 202 nor 429 |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.case} | ${r.limit} | ${r.offered} | ${(r.windows as number[]).join(' · ')} (${r.expected}) | ${f1(r.worst as number)} % | ` +
          `${f1((r.otherAccepted as number) / (WINDOWS * WINDOW_S))} of ${OTHER_RATE} (${(r.otherSent as number) - (r.otherAccepted as number)} refused) | ${r.unexpected} |`,
      ),
    ].join('\n');
    report(
      'rate-limits',
      'Rate limits across 2 replicas (3 processes) and fairness between keys',
      table,
      [
        `Two replicas started from dist/ in keyspace bench, one with API_WORKERS=2; RATE_LIMIT_SYNC_MS at its default. Each case sends three times its limit for ${WINDOWS} windows of ${WINDOW_S} s, round robin over the replicas on kept-alive connections (16 per replica, spread over the workers by the kernel).`,
        `Accepted counts go by when a request was sent; an events case counts ${BATCH} per accepted batch. The other key sends ${OTHER_RATE} single events a second to source bench-other, which has no limit, meanwhile.`,
        'The bucket of a limit holds half a second of it (the default burst): a full start adds at most 5 % to the first window.',
      ],
      { at: new Date().toISOString(), stack: stackVersions(), machine: machine(), ...{ rows } },
    );
  } finally {
    closeConnections();
    for (const api of apis) await api.stop();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
