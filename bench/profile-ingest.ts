/**
 * Where the API's CPU goes on the ingest hot path: starts the built API (1 worker) with V8's sampling
 * profiler (`--cpu-prof`), drives POST /ingest/bench with 1 KB events for a while, stops the API
 * (which writes the profile) and prints the functions with the most self time, grouped by package.
 * Needs Kafka and Cassandra running and the API built; `make bench-profile` does both.
 *
 *   npx ts-node --transpile-only bench/profile-ingest.ts [--duration 15] [--connections 64] [--events 1]
 *
 * The .cpuprofile stays under .stack/profiles/ (open it in Chrome DevTools' Performance panel or
 * speedscope for the flame graph); the tables go to bench/results/profile-ingest-<timestamp>.{json,md}.
 */
import autocannon from 'autocannon';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { API_NODE_OPTIONS, arg, BENCH_KEY, f0, f1, machine, report, ROOT, stackVersions, startApi } from './support';

const DURATION = Math.max(3, Math.min(120, Number(arg('duration', '15'))));
const CONNECTIONS = Math.max(1, Number(arg('connections', '64')));
const EVENTS = Math.max(1, Number(arg('events', '1')));
const TOP = 25;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** One 1 KB event, as bench/ingest.ts sends it. */
function event(i: number): Record<string, unknown> {
  const base = { user: `u-${i % 1000}`, page: '/products/42', ts: new Date().toISOString(), pad: '' };
  base.pad = 'x'.repeat(1024 - JSON.stringify(base).length);
  return base;
}

/** Where a frame's code lives: our own source, a package of node_modules, Node itself, or V8's (GC, idle, ...). */
function owner(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/dist/')) return 'control plane';
  return url;
}

function where(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.includes('node_modules/')
    ? url.slice(url.lastIndexOf('node_modules/') + 13)
    : url.startsWith('file://')
      ? relative(ROOT, url.slice(7))
      : url;
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dir = join(ROOT, '.stack/profiles', startedAt.toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  const api = await startApi(1, {}, [...API_NODE_OPTIONS, '--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const body = JSON.stringify(EVENTS === 1 ? event(0) : Array.from({ length: EVENTS }, (_, i) => event(i)));
  const load = (seconds: number) =>
    autocannon({
      url: `${api.url}/api/v1/ingest/bench`,
      method: 'POST',
      headers: { 'X-API-Key': BENCH_KEY, 'Content-Type': 'application/json' },
      body,
      connections: CONNECTIONS,
      duration: seconds,
      timeout: 30,
    });
  let requests = 0;
  try {
    console.log(`warm-up 3 s, then ${DURATION} s at ${CONNECTIONS} connections, ${EVENTS} event(s) per request`);
    const warm = await load(3);
    const r = await load(DURATION);
    // The profile covers the warm-up too: its requests count.
    requests = warm['2xx'] + r['2xx'];
    console.log(`${f0(r['2xx'] / r.duration)} req/s, p99 ${f1(r.latency.p99)} ms, non-2xx ${r.non2xx}`);
  } finally {
    await api.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did the API exit cleanly?`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const sampleMs = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const busy = profile.nodes.filter((n) => n.callFrame.functionName !== '(idle)' && n.callFrame.functionName !== '(program)');
  const total = busy.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);

  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const n of busy) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    byFunction.set(where(n), (byFunction.get(where(n)) ?? 0) + hits);
    const o = owner(n.callFrame.url, n.callFrame.functionName);
    byOwner.set(o, (byOwner.get(o) ?? 0) + hits);
  }
  const rows = (m: Map<string, number>, limit: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(
        ([name, hits]) =>
          `| ${name.replace(/\|/g, '\\|')} | ${((100 * hits) / total).toFixed(1)} % | ${f1(((hits * sampleMs) / Math.max(1, requests)) * 1000)} |`,
      );
  const table = [
    '| where the time goes (package) | share of busy samples | µs per request |',
    '| --- | --- | --- |',
    ...rows(byOwner, 15),
    '',
    `| top ${TOP} functions by self time | share of busy samples | µs per request |`,
    '| --- | --- | --- |',
    ...rows(byFunction, TOP),
  ].join('\n');
  const notes = [
    `${f0(requests)} requests of ${EVENTS} × 1 KB event(s) in 3 + ${DURATION} s at ${CONNECTIONS} connections, 1 API worker; ` +
      `busy samples ${f0(total)} of ${f0(profile.samples.length)} (${f1(sampleMs)} ms each); µs per request = self time ÷ requests, the 3 s warm-up's included (the API's start-up, a few % of the samples, is counted too).`,
    `The profile: ${relative(ROOT, join(dir, file))} (Chrome DevTools → Performance → Load profile, or speedscope, for the flame graph).`,
  ];
  report('profile-ingest', `Where the API's CPU goes: POST /ingest/bench, ${EVENTS} event(s) per request`, table, notes, {
    at: startedAt.toISOString(),
    stack: stackVersions(),
    machine: machine(),
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
