/**
 * Ingest throughput: POST /ingest/{source} with 1 KB JSON events, single and batched, next to two
 * ceilings on the same broker with 1 KB records and acks=all: Kafka's own ProducerPerformance tool
 * and a bare kafkajs producer (idempotent, like the API's). Needs Kafka and Cassandra running and the
 * API built; `make bench-ingest` does both. Starts the API itself, once per worker count:
 *
 *   npx ts-node --transpile-only bench/ingest.ts [--duration 10] [--workers 1,2] [--perf-records 1000000]
 *
 * Environment: API_URL (use a running API instead; its first key in API_KEYS, source via --source),
 * KAFKA_BROKERS (default 127.0.0.1:9092), KAFKA_HOME (default ~/.cache/pipeline/kafka-<version>).
 * The API writes to the `bench` source (topic bench.events, 3 partitions, 4 MiB body limit); the
 * ceilings to bench.ceiling (3 partitions). Prints a table and writes bench/results/ingest-<timestamp>.{json,md}.
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import {
  API_NODE_OPTIONS,
  arg,
  argCounts,
  BENCH_KEY,
  BENCH_SIGNING_SECRET,
  BenchApi,
  coresCell,
  f0,
  f1,
  machine,
  pct,
  pomVersion,
  report,
  rssMiB,
  stackPids,
  startApi,
  stackVersions,
  withCpu,
} from './support';

const DURATION = Math.max(1, Math.min(120, Number(arg('duration', '10'))));
const SOURCE = arg('source', 'bench');
const WORKERS = argCounts('workers', '1,2');
/** Node options for the API's processes instead of its launchers' own (API_NODE_OPTIONS), e.g. to compare V8 heap settings. */
const NODE_ARGS = process.argv.includes('--node-args') ? arg('node-args', '').split(' ').filter(Boolean) : API_NODE_OPTIONS;
const PERF_RECORDS = Math.max(1000, Math.min(5_000_000, Number(arg('perf-records', '1000000'))));
const KEY = process.env.API_URL ? (process.env.API_KEYS ?? '').split(',')[0] : BENCH_KEY;
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const CEILING_TOPIC = 'bench.ceiling';
const RECORD_BYTES = 1024;
const SINGLE_CONNECTIONS = [1, 16, 64, 256];
const BATCHES = [100, 1000];
const BATCH_CONNECTIONS = 16;
/** Connections of the keyed and signed points: compared with the plain single events at 64. */
const SIGNED_CONNECTIONS = 64;
const KAFKAJS_IN_FLIGHT = 64;
const KAFKA_VERSION = pomVersion('kafka', 'kafka.version');
const KAFKA_HOME = process.env.KAFKA_HOME ?? join(process.env.PIPELINE_CACHE_DIR ?? join(homedir(), '.cache/pipeline'), `kafka-${KAFKA_VERSION}`);

/** One event whose JSON is exactly RECORD_BYTES long (the payload the caller sends). */
function event(i: number): Record<string, unknown> {
  const base = { user: `u-${i % 1000}`, page: '/products/42', ts: new Date().toISOString(), pad: '' };
  base.pad = 'x'.repeat(RECORD_BYTES - JSON.stringify(base).length);
  return base;
}

interface Row {
  workers: number;
  test: string;
  connections: number | string;
  eventsPerRequest: number;
  reqPerSec: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  cores: Record<string, number>;
  /** The API's highest resident memory during the point (all its processes). */
  apiRssMiB: number;
}

/**
 * How each request of a point is sent: `plain` with the API key; `keyed` with the API key and a new
 * Idempotency-Key per request; `hmac` to the `bench-hmac` source, each delivery a new body signed with a plain HMAC-SHA256 and
 * no API key (deduplicated by the body's hash, so one Cassandra lightweight transaction each); `signed` to the `bench-signed` source, each delivery signed
 * with Standard Webhooks under a new webhook-id (which is also its idempotency key), and no API key.
 */
type Variant = 'plain' | 'keyed' | 'hmac' | 'signed';

const SIGNING_KEY = Buffer.from(BENCH_SIGNING_SECRET.slice('whsec_'.length), 'base64');

function requestsOf(variant: Variant, body: string): autocannon.Request[] | undefined {
  if (variant === 'plain') return undefined;
  const run = randomUUID().slice(0, 8);
  let n = 0;
  if (variant === 'hmac') {
    // A signed source is deduplicated by what its signature covers, here the body: each delivery is a new body, as a sender's would be.
    return [
      {
        setupRequest: (req: autocannon.Request): autocannon.Request => {
          const unique = `{"delivery":"${run}_${n++}",${body.slice(1)}`;
          const signature = createHmac('sha256', BENCH_SIGNING_SECRET).update(unique).digest('hex');
          return { ...req, path: '/api/v1/ingest/bench-hmac', body: unique, headers: { 'Content-Type': 'application/json', 'X-Bench-Signature': signature } };
        },
      },
    ];
  }
  return [
    {
      setupRequest: (req: autocannon.Request): autocannon.Request => {
        const id = `msg_${run}_${n++}`;
        if (variant === 'keyed') return { ...req, headers: { ...req.headers, 'Idempotency-Key': id } };
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signature = createHmac('sha256', SIGNING_KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
        return {
          ...req,
          path: '/api/v1/ingest/bench-signed',
          headers: { 'Content-Type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` },
        };
      },
    },
  ];
}

async function cannon(api: BenchApi, test: string, connections: number, eventsPerRequest: number, seconds: number, variant: Variant = 'plain'): Promise<Row> {
  const body = JSON.stringify(eventsPerRequest === 1 ? event(0) : Array.from({ length: eventsPerRequest }, (_, i) => event(i)));
  const {
    result: r,
    cores,
    peakRssMiB,
  } = await withCpu({ API: () => api.pids(), ...stackPids, 'load gen': () => [process.pid] }, () =>
    autocannon({
      url: `${api.url}/api/v1/ingest/${SOURCE}`,
      method: 'POST',
      headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
      body,
      requests: requestsOf(variant, body),
      connections,
      pipelining: 1,
      duration: seconds,
      timeout: 30,
    }),
  );
  const ok = r['2xx'];
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count]));
  return {
    workers: api.workers,
    test,
    connections,
    eventsPerRequest,
    reqPerSec: ok / r.duration,
    eventsPerSec: (ok * eventsPerRequest) / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    statusCodes,
    cores,
    apiRssMiB: peakRssMiB.API,
  };
}

/**
 * What Kafka keeps of each benchmark topic (bench.*): an hour, and at most 1 GiB per partition. A run
 * writes several GB to them; without a bound, runs add up until the disk is full and Kafka stops.
 */
const BENCH_TOPIC_RETENTION = [
  { name: 'retention.ms', value: String(3_600_000) },
  { name: 'retention.bytes', value: String(1024 ** 3) },
];

/** Creates the ceiling topic if missing, and bounds the retention of every bench.* topic there is. */
async function prepareTopics(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let topics = await admin.listTopics();
    if (!topics.includes(CEILING_TOPIC)) {
      await admin.createTopics({ topics: [{ topic: CEILING_TOPIC, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
      topics = [...topics, CEILING_TOPIC];
    }
    const bench = topics.filter((t) => t.startsWith('bench.'));
    await admin.alterConfigs({
      validateOnly: false,
      resources: bench.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configEntries: BENCH_TOPIC_RETENTION })),
    });
  } finally {
    await admin.disconnect();
  }
}

interface PerfResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgMs: number;
  maxMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  summary: string;
}

/** Kafka's ProducerPerformance; its last line is the summary. */
function perfTest(): PerfResult {
  const out = execFileSync(
    'java',
    [
      '-cp',
      `${KAFKA_HOME}/libs/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      CEILING_TOPIC,
      '--num-records',
      String(PERF_RECORDS),
      '--record-size',
      String(RECORD_BYTES),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${BROKERS.join(',')}`,
      'acks=all',
    ],
    { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 2 ** 20 },
  );
  const summary =
    out
      .trim()
      .split('\n')
      .filter((l) => /records sent/.test(l))
      .pop() ?? '';
  const m = summary.match(
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/,
  );
  if (!m) throw new Error(`unexpected ProducerPerformance output: ${out.slice(-500)}`);
  const n = m.slice(1).map(Number);
  return { records: n[0], recordsPerSec: n[1], mbPerSec: n[2], avgMs: n[3], maxMs: n[4], p50Ms: n[5], p95Ms: n[6], p99Ms: n[7], p999Ms: n[8], summary };
}

interface BareResult {
  messagesPerRecord: number;
  inFlight: number;
  messages: number;
  messagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** A bare kafkajs producer, configured like the API's, with IN_FLIGHT concurrent send() calls for `seconds`. */
async function bareKafkajs(kafka: Kafka, batch: number, seconds: number): Promise<BareResult> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const value = JSON.stringify(event(0));
  const latencies: number[] = [];
  let messages = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    // Bounded by time, and by a generous count in case the clock misbehaves.
    for (let i = 0; i < 10_000_000 && performance.now() < deadline; i++) {
      const started = performance.now();
      try {
        await producer.send({ topic: CEILING_TOPIC, acks: -1, messages: Array.from({ length: batch }, () => ({ key: randomUUID(), value })) });
        messages += batch;
        latencies.push(performance.now() - started);
      } catch {
        errors++;
        if (errors > 1000) return;
      }
    }
  };
  await Promise.all(Array.from({ length: KAFKAJS_IN_FLIGHT }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await producer.disconnect();
  latencies.sort((a, b) => a - b);
  return {
    messagesPerRecord: batch,
    inFlight: KAFKAJS_IN_FLIGHT,
    messages,
    messagesPerSec: messages / elapsed,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    errors,
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const rows: Row[] = [];
  const idleRssMiB: Record<string, number> = {};
  const kafka = new Kafka({ clientId: 'bench-ingest', brokers: BROKERS, logLevel: logLevel.NOTHING });
  await prepareTopics(kafka);
  for (const workers of process.env.API_URL ? [NaN] : WORKERS) {
    const api = await startApi(workers, {}, NODE_ARGS);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      idleRssMiB[String(workers)] = rssMiB(api.pids());
      console.log(`API with ${workers} worker(s) at ${api.url}; warm-up: 3 s at 16 connections on /ingest/${SOURCE}`);
      await cannon(api, 'warm-up', 16, 1, 3);
      for (const c of SINGLE_CONNECTIONS) {
        console.log(`single events, ${c} connections, ${DURATION} s`);
        rows.push(await cannon(api, 'single', c, 1, DURATION));
      }
      for (const b of BATCHES) {
        console.log(`batches of ${b}, ${BATCH_CONNECTIONS} connections, ${DURATION} s`);
        rows.push(await cannon(api, `batch ${b}`, BATCH_CONNECTIONS, b, DURATION));
      }
      console.log(`single events with an Idempotency-Key each, ${SIGNED_CONNECTIONS} connections, ${DURATION} s`);
      rows.push(await cannon(api, 'single, Idempotency-Key', SIGNED_CONNECTIONS, 1, DURATION, 'keyed'));
      if (!process.env.API_URL) {
        console.log(`single deliveries signed with HMAC-SHA256 (bench-hmac), ${SIGNED_CONNECTIONS} connections, ${DURATION} s`);
        rows.push(await cannon(api, 'single, HMAC-signed', SIGNED_CONNECTIONS, 1, DURATION, 'hmac'));
        console.log(`single signed deliveries (bench-signed), ${SIGNED_CONNECTIONS} connections, ${DURATION} s`);
        rows.push(await cannon(api, 'single, signed', SIGNED_CONNECTIONS, 1, DURATION, 'signed'));
      }
    } finally {
      await api.stop();
    }
  }

  // Again: the API created its bench.* topics meanwhile on a first run.
  await prepareTopics(kafka);
  console.log(`ProducerPerformance: ${PERF_RECORDS} records of ${RECORD_BYTES} B to ${CEILING_TOPIC}, acks=all`);
  const { result: perf, cores: perfCores } = await withCpu(stackPids, async () => perfTest());
  console.log(`bare kafkajs: ${KAFKAJS_IN_FLIGHT} sends in flight, 1 message per send, ${DURATION} s`);
  const bare = { ...stackPids, kafkajs: () => [process.pid] };
  const { result: bare1, cores: bare1Cores } = await withCpu(bare, () => bareKafkajs(kafka, 1, DURATION));
  console.log(`bare kafkajs: ${KAFKAJS_IN_FLIGHT} sends in flight, 100 messages per send, ${DURATION} s`);
  const { result: bare100, cores: bare100Cores } = await withCpu(bare, () => bareKafkajs(kafka, 100, DURATION));

  const ratio = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)} %` : '-');
  const bareFor = (r: Row) => (r.eventsPerRequest === 1 ? bare1 : bare100);
  const codes = (r: Row) =>
    Object.entries(r.statusCodes)
      .filter(([c]) => !c.startsWith('2'))
      .map(([c, n]) => `${c}×${n}`)
      .join(' ') || '-';
  const table = [
    '| test | API workers | connections / in flight | events/request | req/s | events/s | p50 ms | p99 ms | non-2xx (codes) | errors | ours / perf-test | ours / bare kafkajs | cores used | API RSS peak MiB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| POST /ingest/${SOURCE} ${r.test} | ${Number.isNaN(r.workers) ? '?' : r.workers} | ${r.connections} | ${r.eventsPerRequest} | ${f0(r.reqPerSec)} | ${f0(r.eventsPerSec)} | ${f1(r.p50Ms)} | ${f1(r.p99Ms)} | ${r.non2xx} (${codes(r)}) | ${r.errors} | ${ratio(r.eventsPerSec, perf.recordsPerSec)} | ${ratio(r.eventsPerSec, bareFor(r).messagesPerSec)} (vs ${bareFor(r).messagesPerRecord}/send) | ${coresCell(r.cores)} | ${f0(r.apiRssMiB)} |`,
    ),
    `| Kafka ProducerPerformance (${f0(perf.records)} records) | - | producer default | - | - | ${f0(perf.recordsPerSec)} | ${perf.p50Ms} | ${perf.p99Ms} | - | - | 100 % | - | ${coresCell(perfCores)} (+ the tool's JVM) | - |`,
    ...(
      [
        [bare1, bare1Cores],
        [bare100, bare100Cores],
      ] as const
    ).map(
      ([b, cores]) =>
        `| bare kafkajs, ${b.messagesPerRecord} msg/send | - | ${b.inFlight} | ${b.messagesPerRecord} | ${f0(b.messagesPerSec / b.messagesPerRecord)} | ${f0(b.messagesPerSec)} | ${f1(b.p50Ms)} | ${f1(b.p99Ms)} | - | ${b.errors} | ${ratio(b.messagesPerSec, perf.recordsPerSec)} | 100 % | ${coresCell(cores)} | - |`,
    ),
  ].join('\n');
  const notes = [
    `Records are ${RECORD_BYTES} B of JSON as sent by the caller (the API wraps each in its envelope, so its Kafka records are ~${RECORD_BYTES + 200} B). acks=all everywhere.`,
    `Single-event rows are compared with bare kafkajs at 1 message/send; batched rows with 100 messages/send. ${DURATION} s per point; batches use ${BATCH_CONNECTIONS} connections.`,
    `Ceilings write to ${CEILING_TOPIC} (3 partitions); ProducerPerformance latency is per record, kafkajs and API latency per request/send.`,
    'Cores used: CPU seconds per wall second of each process group during the point (API = the primary and its workers; load gen = this process, autocannon or the bare kafkajs producer).',
    `API RSS: resident memory of all its processes, sampled every 250 ms (peak per point); idle, 2 s after start and before any request: ${Object.entries(
      idleRssMiB,
    )
      .map(([workers, mib]) => `${f0(mib)} MiB with ${workers} worker(s)`)
      .join(', ')}. The API's Node options: ${NODE_ARGS.join(' ') || "none (V8's defaults)"}.`,
  ];

  const result = {
    bench: 'ingest',
    at: startedAt.toISOString(),
    target: {
      api: process.env.API_URL ?? 'started by the bench',
      workers: WORKERS,
      source: SOURCE,
      durationSeconds: DURATION,
      recordBytes: RECORD_BYTES,
      singleConnections: SINGLE_CONNECTIONS,
      batches: BATCHES,
      batchConnections: BATCH_CONNECTIONS,
      apiNodeOptions: NODE_ARGS,
    },
    api: rows,
    idleRssMiB,
    ceilings: {
      producerPerformance: { ...perf, cores: perfCores },
      bareKafkajs: [
        { ...bare1, cores: bare1Cores },
        { ...bare100, cores: bare100Cores },
      ],
      topic: CEILING_TOPIC,
    },
    notes,
    stack: stackVersions(),
    machine: machine(),
  };
  report('ingest', `Ingest throughput: POST /ingest/${SOURCE} (${RECORD_BYTES} B JSON events) vs. Kafka ceilings`, table, notes, result);
}

main().catch((err: Error) => {
  console.error(`ingest bench failed: ${err.message}`);
  process.exit(1);
});
