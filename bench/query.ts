/**
 * Query overhead: GET /api/v1/records/{source} pages of 100 against the same query through
 * cassandra-driver directly, on a table holding at least a million rows. Needs Cassandra and Kafka
 * running and the API built; `make bench-query` does both. Seeds the rows once (source `bench`,
 * five fixed UTC days in 1 h buckets, as bench/config/sources.yaml declares, deterministic ids:
 * re-running finds them and skips the seeding).
 *
 *   npx ts-node --transpile-only bench/query.ts [--rows 1000000] [--duration 10] [--concurrency 1,8,32] [--pages 10] [--workers 1,2]
 *
 * Each client repeatedly picks a random instant in the seeded range and reads `--pages` consecutive
 * pages of 100 newest-first from there (following nextPageToken / the driver's paging state), so the
 * reads spread over the whole table instead of its newest rows.
 * Environment: CASSANDRA_CONTACT_POINTS (default 127.0.0.1:9042), CASSANDRA_LOCAL_DC, CASSANDRA_KEYSPACE (default bench, the keyspace of the API it starts).
 * Prints a table and writes bench/results/query-<timestamp>.{json,md}.
 */
import { Client, concurrent, ExecutionProfile, types } from 'cassandra-driver';
import { Agent, request } from 'node:http';
import { v5 as uuidv5 } from 'uuid';
import { arg, argCounts, BENCH_KEY, BENCH_KEYSPACE, coresCell, f0, f1, machine, pct, report, stackPids, startApi, stackVersions, withCpu } from './support';

const ROWS = Math.max(10_000, Number(arg('rows', '1000000')));
const DURATION = Math.max(1, Math.min(120, Number(arg('duration', '10'))));
const WORKERS = argCounts('workers', '1,2');
const CONCURRENCY = argCounts('concurrency', '1,8,32');
const PAGES = Math.max(1, Number(arg('pages', '10')));
const PAGE = 100;
const SOURCE = 'bench';
const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05'];
const PER_DAY = Math.ceil(ROWS / DAYS.length);
const FROM = Date.parse(`${DAYS[0]}T00:00:00Z`);
const TO = Date.parse(`${DAYS[DAYS.length - 1]}T00:00:00Z`) + 86_400_000;
const NAMESPACE = '3b0d7f52-93f4-4a43-8d59-2c7f1f0c1a9e';
const KEYSPACE = BENCH_KEYSPACE;
const PAYLOAD_PAD = 'x'.repeat(380);
/** The bucket of source `bench` (bench/config/sources.yaml): 24 partitions a day. */
const BUCKET_SECONDS = 3600;
const BUCKET_MS = BUCKET_SECONDS * 1000;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Rows of a seeded day: one count per bucket partition the index lists. */
async function countDay(client: Client, day: string): Promise<number> {
  const index = await client.execute(`SELECT bucket FROM ${KEYSPACE}.event_buckets WHERE source = ? AND day = ?`, [SOURCE, types.LocalDate.fromString(day)], {
    prepare: true,
  });
  let total = 0;
  for (const { bucket } of index.rows) {
    const counted = await client.execute(`SELECT count(*) FROM ${KEYSPACE}.events_by_bucket WHERE source = ? AND bucket = ?`, [SOURCE, bucket], {
      prepare: true,
      readTimeout: 120_000,
    });
    total += Number(counted.first().count);
  }
  return total;
}

async function seed(client: Client): Promise<number> {
  const insert =
    `INSERT INTO ${KEYSPACE}.events_by_bucket (source, bucket, received_at, event_id, key, payload, processed_at) ` + 'VALUES (?, ?, ?, ?, ?, ?, ?)';
  const index = `INSERT INTO ${KEYSPACE}.event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)`;
  let total = 0;
  for (const day of DAYS) {
    const have = await countDay(client, day);
    if (have >= PER_DAY) {
      console.log(`  ${day}: ${f0(have)} rows already there`);
      total += have;
      continue;
    }
    const start = Date.parse(`${day}T00:00:00Z`);
    const step = 86_400_000 / PER_DAY;
    const t0 = performance.now();
    // The index first, as the streaming job lists a bucket before its rows are all written.
    const buckets = Array.from({ length: 86_400 / BUCKET_SECONDS }, (_, b) => [
      SOURCE,
      types.LocalDate.fromString(day),
      new Date(start + b * BUCKET_MS),
      BUCKET_SECONDS,
    ]);
    await concurrent.executeConcurrent(client, index, buckets, { concurrencyLevel: 32, executionProfile: 'seed' });
    for (let from = 0; from < PER_DAY; from += 20_000) {
      const params = [];
      for (let i = from; i < Math.min(PER_DAY, from + 20_000); i++) {
        const at = new Date(start + Math.floor(i * step));
        const bucket = new Date(Math.floor(at.getTime() / BUCKET_MS) * BUCKET_MS);
        const payload = JSON.stringify({ user: `u-${i % 5000}`, page: `/products/${i % 977}`, seq: i, ts: at.toISOString(), pad: PAYLOAD_PAD });
        params.push([SOURCE, bucket, at, uuidv5(`${day}/${i}`, NAMESPACE), types.unset, payload, new Date(at.getTime() + 500)]);
      }
      await concurrent.executeConcurrent(client, insert, params, { concurrencyLevel: 256, executionProfile: 'seed' });
    }
    console.log(`  ${day}: wrote ${f0(PER_DAY)} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    total += PER_DAY;
  }
  return total;
}

interface Point {
  path: 'API' | 'driver';
  workers?: number;
  concurrency: number;
  pages: number;
  rows: number;
  pagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cores?: Record<string, number>;
  /** The API's highest resident memory during the point (all its processes). */
  apiRssMiB?: number;
}

/** Runs `concurrency` clients for DURATION seconds, each walking PAGES pages from a random instant. */
async function measure(
  path: Point['path'],
  concurrency: number,
  page: (to: number, cursor?: string) => Promise<{ rows: number; next?: string }>,
  seconds = DURATION,
): Promise<Point> {
  const latencies: number[] = [];
  let rows = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const to = FROM + 86_400_000 + Math.floor(Math.random() * (TO - FROM - 86_400_000));
      let cursor: string | undefined;
      for (let p = 0; p < PAGES && performance.now() < deadline; p++) {
        const started = performance.now();
        try {
          const result = await page(to, cursor);
          latencies.push(performance.now() - started);
          rows += result.rows;
          cursor = result.next;
        } catch (err) {
          errors++;
          if (errors === 1) console.error(`  ${path}: ${(err as Error).message}`);
          if (errors > 100) return;
          break;
        }
        if (!cursor) break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    path,
    concurrency,
    pages: latencies.length,
    rows,
    pagesPerSec: latencies.length / elapsed,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    errors,
  };
}

/**
 * Rows and next token of an answer without parsing it whole: like HTTP load tools, the client side
 * measures time to the last byte, not the client's own JSON decoding.
 */
function pageSummary(text: string): { rows: number; next?: string } {
  let rows = 0;
  for (let i = text.indexOf('"eventId":'); i >= 0; i = text.indexOf('"eventId":', i + 10)) rows++;
  const at = text.lastIndexOf('"nextPageToken":"');
  return { rows, next: at < 0 ? undefined : text.slice(at + 17, text.indexOf('"', at + 17)) };
}

/** The API's page: GET /records with from/to and the page token, over a keep-alive connection. */
function apiPage(base: string, agent: Agent) {
  const url = new URL(base);
  return (to: number, cursor?: string) =>
    new Promise<{ rows: number; next?: string }>((resolve, reject) => {
      const query = new URLSearchParams({ from: new Date(FROM).toISOString(), to: new Date(to).toISOString(), limit: String(PAGE) });
      if (cursor) query.set('pageToken', cursor);
      const req = request(
        { host: url.hostname, port: url.port, path: `/api/v1/records/${SOURCE}?${query}`, agent, headers: { 'X-API-Key': BENCH_KEY } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`GET /records answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
            resolve(pageSummary(Buffer.concat(chunks).toString()));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
}

/**
 * The same walk straight through the driver, as the API does it, with the API's queries: a page that
 * goes on in a bucket reads on there first; then days newest first, in each the index's buckets that
 * start before `to` (or before the bucket just finished), newest first, and each bucket partition
 * page by page (fetchSize 100).
 */
function driverPage(client: Client) {
  const buckets = `SELECT bucket, bucket_seconds FROM ${KEYSPACE}.event_buckets WHERE source = ? AND day = ? AND bucket <= ?`;
  const events = `SELECT event_id, received_at, key, textAsBlob(payload) AS payload, processed_at FROM ${KEYSPACE}.events_by_bucket WHERE source = ? AND bucket = ? AND received_at >= ? AND received_at < ?`;
  const read = (bucket: Date, to: number, fetchSize: number, pageState?: string) =>
    client.execute(events, [SOURCE, bucket, new Date(FROM), new Date(to)], { prepare: true, fetchSize, pageState });
  return async (to: number, cursor?: string) => {
    // The cursor is "<day>|<bucket ms>|<paging state>", the driver-side equivalent of the API's page token.
    const [cursorDay, cursorBucket, cursorState] = cursor ? cursor.split('|') : [dayOf(to - 1), '', ''];
    let rows = 0;
    if (cursorState) {
      const rs = await read(new Date(Number(cursorBucket)), to, PAGE, cursorState);
      rows += rs.rows.length;
      if (rs.pageState) return { rows, next: `${cursorDay}|${cursorBucket}|${rs.pageState}` };
    }
    for (let day = cursorDay; Date.parse(`${day}T00:00:00Z`) >= FROM; day = dayOf(Date.parse(`${day}T00:00:00Z`) - 1)) {
      let until = to - 1;
      if (day === cursorDay && cursorBucket) until = Math.min(until, Number(cursorBucket) - 1);
      const index = await client.execute(buckets, [SOURCE, types.LocalDate.fromString(day), new Date(until)], { prepare: true });
      const listed = index.rows.filter((r) => (r.bucket as Date).getTime() + Number(r.bucket_seconds) * 1000 > FROM);
      for (const [i, { bucket }] of listed.entries()) {
        if (rows >= PAGE) return { rows, next: `${cursorDay}|${cursorBucket}|` };
        const rs = await read(bucket as Date, to, PAGE - rows);
        rows += rs.rows.length;
        if (rs.pageState) return { rows, next: `${day}|${(bucket as Date).getTime()}|${rs.pageState}` };
        const more = i + 1 < listed.length || Date.parse(`${day}T00:00:00Z`) > FROM;
        if (rows >= PAGE) return { rows, next: more ? `${day}|${(bucket as Date).getTime()}|` : undefined };
      }
    }
    return { rows };
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const [host, port] = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',')[0].split(':');
  const client = new Client({
    contactPoints: [host],
    protocolOptions: { port: Number(port ?? 9042) },
    localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    // The API reads at LOCAL_QUORUM; so does the driver here.
    queryOptions: { consistency: types.consistencies.localQuorum },
    profiles: [new ExecutionProfile('seed', { readTimeout: 60_000 })],
  });
  const points: Point[] = [];
  let seeded = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...CONCURRENCY) });
  try {
    await client.connect();
    const viaDriver = driverPage(client);
    for (const [n, workers] of WORKERS.entries()) {
      // The API migrates the schema on start, so the first one starts before the seeding.
      const api = await startApi(workers);
      try {
        if (n === 0) {
          console.log(`seeding ${f0(ROWS)} rows of source "${SOURCE}" over ${DAYS[0]}..${DAYS[DAYS.length - 1]} (skipped when present)`);
          seeded = await seed(client);
          console.log('warm-up: 3 s, driver');
          await measure('driver', 8, viaDriver, 3);
          for (const c of CONCURRENCY) {
            console.log(`driver, ${c} concurrent client(s), ${DURATION} s`);
            const { result, cores } = await withCpu({ Cassandra: stackPids.cassandra, bench: () => [process.pid] }, () => measure('driver', c, viaDriver));
            points.push({ ...result, cores });
          }
        }
        const viaApi = apiPage(api.url, agent);
        console.log(`API with ${workers} worker(s); warm-up: 3 s`);
        await measure('API', 8, viaApi, 3);
        for (const c of CONCURRENCY) {
          console.log(`API with ${workers} worker(s), ${c} concurrent client(s), ${DURATION} s`);
          const { result, cores, peakRssMiB } = await withCpu({ API: () => api.pids(), Cassandra: stackPids.cassandra, bench: () => [process.pid] }, () =>
            measure('API', c, viaApi),
          );
          points.push({ ...result, workers, cores, apiRssMiB: peakRssMiB.API });
        }
      } finally {
        await api.stop();
      }
    }
  } finally {
    agent.destroy();
    await client.shutdown();
  }

  const table = [
    '| concurrency | path | pages/s | rows/s | p50 ms | p99 ms | errors | API p50 / driver p50 | API p99 / driver p99 | driver pages/s / API pages/s | cores used | API RSS peak MiB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...[...points]
      .sort((a, b) => a.concurrency - b.concurrency || (a.path === 'driver' ? -1 : 1))
      .map((p) => {
        const d = points.find((q) => q.path === 'driver' && q.concurrency === p.concurrency)!;
        const ratios =
          p.path === 'API'
            ? `${(p.p50Ms / d.p50Ms).toFixed(2)}× | ${(p.p99Ms / d.p99Ms).toFixed(2)}× | ${(d.pagesPerSec / p.pagesPerSec).toFixed(2)}×`
            : '- | - | -';
        const label =
          p.path === 'driver'
            ? 'cassandra-driver, same query'
            : `GET /api/v1/records, ${Number.isNaN(p.workers) ? 'the API at API_URL' : `API with ${p.workers} worker(s)`}`;
        return `| ${p.concurrency} | ${label} | ${f0(p.pagesPerSec)} | ${f0(p.pagesPerSec * PAGE)} | ${f1(p.p50Ms)} | ${f1(p.p99Ms)} | ${p.errors} | ${ratios} | ${p.cores ? coresCell(p.cores) : '-'} | ${p.apiRssMiB === undefined ? '-' : f0(p.apiRssMiB)} |`;
      }),
  ].join('\n');
  const notes = [
    `Table: events_by_bucket, source "${SOURCE}": ${f0(seeded)} rows over ${DAYS.length} days of ${BUCKET_SECONDS / 3600} h buckets (${(DAYS.length * 86_400) / BUCKET_SECONDS} partitions, listed in event_buckets), ~${PAYLOAD_PAD.length + 100} B payloads.`,
    `Each client reads up to ${PAGES} consecutive pages of ${PAGE} from a random instant; latency is per page. ${DURATION} s per point.`,
    "The driver path runs in the benchmark process with the API's queries (payloads read with textAsBlob); the API path adds HTTP, the API key, the query's validation, the page token and the JSON answer.",
    'Cores used: CPU seconds per wall second of each process during the point (bench = this process: the driver, or the HTTP client).',
  ];
  const result = { bench: 'query', at: startedAt.toISOString(), rows: seeded, points, notes, stack: stackVersions(), machine: machine() };
  report('query', `Query overhead: GET /records pages of ${PAGE} vs cassandra-driver`, table, notes, result);
}

main().catch((err: Error) => {
  console.error(`query bench failed: ${err.message}`);
  process.exit(1);
});
