/**
 * The ceiling of the pipeline's storage stage: the highest rate at which Cassandra alone takes
 * events_by_bucket rows (1 KB payloads, as the streaming job writes them) from a direct driver on this
 * machine, with nothing else running. The pipeline's capacity (`make bench-pipeline`) is reported as
 * a ratio of it. Needs Cassandra running and the API built (the API migrates the `bench` keyspace's
 * schema on start); `make bench-cassandra-ceiling` does both.
 *
 *   npx ts-node --transpile-only bench/cassandra-ceiling.ts [--duration 10] [--concurrency 16,64] [--batch 1,20]
 *
 * Each point writes as fast as it can for `--duration` seconds: `--batch 1` one prepared INSERT per
 * row, `--batch n` unlogged batches of n rows of one partition (the Spark connector's default
 * grouping), `--concurrency` requests in flight. Not more than 64 batches of 20 in flight on the local
 * stack: 256 of them (5 MB of rows at once) ran its Cassandra (1 GiB heap) out of memory. Rows go to source `ceiling` in 1 h buckets of the
 * current time, with a 1 h TTL so the table does not keep them. Consistency LOCAL_QUORUM, as the job.
 * Environment: CASSANDRA_CONTACT_POINTS (default 127.0.0.1:9042), CASSANDRA_LOCAL_DC, CASSANDRA_KEYSPACE (default bench).
 * Prints a table and writes bench/results/cassandra-ceiling-<timestamp>.{json,md}.
 */
import { Client, types } from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import { arg, argCounts, BENCH_KEYSPACE, coresCell, f0, f1, machine, report, stackPids, stackVersions, startApi, withCpu } from './support';

const DURATION = Math.max(1, Math.min(120, Number(arg('duration', '10'))));
const CONCURRENCY = argCounts('concurrency', '16,64');
const BATCHES = argCounts('batch', '1,20');
const SOURCE = 'ceiling';
const BUCKET_MS = 3_600_000;
const TTL_SECONDS = 3600;
const PAYLOAD_PAD = 'x'.repeat(900);

interface Point {
  rowsPerBatch: number;
  concurrency: number;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cores: Record<string, number>;
}

const INSERT =
  `INSERT INTO ${BENCH_KEYSPACE}.events_by_bucket (source, bucket, received_at, event_id, key, payload, processed_at) ` +
  `VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ${TTL_SECONDS}`;

let seq = 0;
function row(now: number): unknown[] {
  const i = seq++;
  const at = new Date(now);
  const payload = JSON.stringify({ user: `u-${i % 5000}`, page: `/products/${i % 977}`, seq: i, pad: PAYLOAD_PAD });
  return [SOURCE, new Date(Math.floor(now / BUCKET_MS) * BUCKET_MS), at, types.Uuid.fromString(randomUUID()), types.unset, payload, new Date(now + 500)];
}

async function point(client: Client, rowsPerBatch: number, concurrency: number): Promise<Omit<Point, 'cores'>> {
  const latencies: number[] = [];
  let rows = 0;
  let errors = 0;
  const deadline = performance.now() + DURATION * 1000;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const now = Date.now();
      const started = performance.now();
      try {
        if (rowsPerBatch === 1) await client.execute(INSERT, row(now), { prepare: true });
        else
          await client.batch(
            Array.from({ length: rowsPerBatch }, () => ({ query: INSERT, params: row(now) })),
            { prepare: true, logged: false },
          );
        rows += rowsPerBatch;
        latencies.push(performance.now() - started);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rowsPerBatch, concurrency, rows, seconds, rowsPerSec: rows / seconds, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

async function main() {
  const startedAt = new Date();
  // The API migrates the bench keyspace's schema on start; it is stopped before any point.
  const api = await startApi(1);
  await api.stop();
  const [host, port] = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',')[0].split(':');
  const client = new Client({
    contactPoints: [host],
    protocolOptions: { port: Number(port ?? 9042) },
    localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    queryOptions: { consistency: types.consistencies.localQuorum },
    pooling: { coreConnectionsPerHost: { [types.distance.local]: 2 } },
  });
  const points: Point[] = [];
  try {
    await client.connect();
    console.log('warm-up: 3 s');
    await point(client, BATCHES[0], CONCURRENCY[0]).catch(() => undefined);
    for (const rowsPerBatch of BATCHES) {
      for (const concurrency of CONCURRENCY) {
        console.log(`${rowsPerBatch === 1 ? 'single rows' : `unlogged batches of ${rowsPerBatch}`}, ${concurrency} in flight, ${DURATION} s`);
        const { result, cores } = await withCpu({ Cassandra: stackPids.cassandra, driver: () => [process.pid] }, () =>
          point(client, rowsPerBatch, concurrency),
        );
        points.push({ ...result, cores });
      }
    }
  } finally {
    await client.shutdown();
  }
  const best = points.reduce((a, b) => (b.rowsPerSec > a.rowsPerSec ? b : a));
  const header = '| rows per request | in flight | rows/s | p50 ms | p99 ms | errors | cores used | rows/s per Cassandra core |';
  const lines = [
    header,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...points.map(
      (p) =>
        `| ${p.rowsPerBatch === 1 ? '1 (prepared INSERT)' : `${p.rowsPerBatch} (unlogged batch, one partition)`} | ${p.concurrency} | ${f0(p.rowsPerSec)} | ${f1(p.p50Ms)} | ${f1(p.p99Ms)} | ${p.errors} | ${coresCell(p.cores)} | ${f0(p.rowsPerSec / Math.max(0.01, p.cores.Cassandra))} |`,
    ),
  ];
  const notes = [
    `The ceiling: ${f0(best.rowsPerSec)} rows/s (${best.rowsPerBatch === 1 ? 'single rows' : `batches of ${best.rowsPerBatch}`}, ${best.concurrency} in flight).`,
    `Rows of ~1 KB payloads into ${BENCH_KEYSPACE}.events_by_bucket, source ${SOURCE}, one 1 h bucket partition at a time, TTL ${TTL_SECONDS} s, LOCAL_QUORUM, ${DURATION} s per point; the driver runs on the same 2 cores as Cassandra, as the streaming job does.`,
  ];
  const result = {
    bench: 'cassandra-ceiling',
    at: startedAt.toISOString(),
    points,
    ceilingRowsPerSec: best.rowsPerSec,
    stack: stackVersions(),
    machine: machine(),
  };
  report('cassandra-ceiling', 'Cassandra alone: events_by_bucket rows written by a direct driver', lines.join('\n'), notes, result);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
