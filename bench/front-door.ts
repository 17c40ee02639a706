/**
 * What clients that do not belong cost the API: unauthenticated 1 MB bodies on a control route, bodies
 * trickled a byte at a time, and headers that never end. Per case: the API's resident memory before and
 * at its peak, how many connections the API answered, and how long until it closed each one. Starts the
 * built API (make build) with its defaults (HTTP_* limits unset) and needs Kafka and Cassandra only to
 * start it:
 *   npx ts-node --transpile-only bench/front-door.ts [--connections 50] [--give-up 120]
 */
import { connect, Socket } from 'node:net';
import { arg, BENCH_KEY, f0, f1, machine, pct, report, rssMiB, stackVersions, startApi } from './support';

const CONNECTIONS = Number(arg('connections', '50'));
/** The longest a case waits for the API to close a connection; a connection still open then counts as never closed. */
const GIVE_UP_S = Number(arg('give-up', '120'));
const MB = 1024 * 1024;

interface Outcome {
  answered: boolean;
  status?: number;
  closedAfterS: number;
}

/** Opens a connection, writes `head`, then calls `feed` until the server closes it or GIVE_UP_S passes. */
function attempt(port: number, head: string, feed: (socket: Socket) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = () => {
      clearTimeout(giveUp);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1];
      resolve({ answered: status !== undefined, status: status ? Number(status) : undefined, closedAfterS: (performance.now() - t0) / 1000 });
    };
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ answered: reply.startsWith('HTTP/'), closedAfterS: Infinity });
    }, GIVE_UP_S * 1000);
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.on('connect', () => {
      socket.write(head);
      feed(socket);
    });
  });
}

async function run(name: string, port: number, pids: () => number[], make: () => Promise<Outcome>) {
  const before = rssMiB(pids());
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pids()))), 100);
  const outcomes = await Promise.all(Array.from({ length: CONNECTIONS }, make));
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(pids()));
  const closed = outcomes.map((o) => o.closedAfterS).sort((a, b) => a - b);
  const statuses = [...new Set(outcomes.map((o) => o.status ?? '-'))].join(', ');
  console.log(`${name}: done`);
  return {
    name,
    before,
    peak,
    answered: outcomes.filter((o) => o.answered).length,
    statuses,
    p50: pct(closed, 50),
    max: closed[closed.length - 1],
    neverClosed: closed.filter((s) => !Number.isFinite(s)).length,
  };
}

async function main(): Promise<void> {
  const api = await startApi(1);
  const port = Number(new URL(api.url).port);
  const body = Buffer.alloc(MB, 0x20);
  const post = (key: boolean, length: number) =>
    `POST /api/v1/jobs/daily_rollup/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n` +
    `${key ? `X-API-Key: ${BENCH_KEY}\r\n` : ''}\r\n`;
  const rows = [];
  try {
    rows.push(
      await run(
        'unauthenticated 1 MB bodies, sent whole',
        port,
        () => api.pids(),
        () => attempt(port, post(false, MB), (s) => s.write(body)),
      ),
    );
    rows.push(
      await run(
        'authenticated body trickled 1 byte/s',
        port,
        () => api.pids(),
        () =>
          attempt(port, post(true, MB), (s) => {
            const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(' ')), 1000);
            s.on('close', () => clearInterval(t));
          }),
      ),
    );
    rows.push(
      await run(
        'headers never finished (a line every 5 s)',
        port,
        () => api.pids(),
        () =>
          attempt(port, 'GET /api/v1/sources HTTP/1.1\r\nHost: 127.0.0.1\r\n', (s) => {
            const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('X-Slow: 1\r\n')), 5000);
            s.on('close', () => clearInterval(t));
          }),
      ),
    );
  } finally {
    await api.stop();
  }
  const seconds = (s: number) => (Number.isFinite(s) ? f1(s) : `> ${GIVE_UP_S}`);
  const table = [
    '| case | connections | API RSS before → peak MiB | answered (status) | closed after, p50 / max s | still open after the give-up |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${CONNECTIONS} | ${f0(r.before)} → ${f0(r.peak)} | ${r.answered} (${r.statuses}) | ${seconds(r.p50)} / ${seconds(r.max)} | ${r.neverClosed} |`,
    ),
  ].join('\n');
  report(
    'front-door',
    'What clients that do not belong cost the API',
    table,
    [
      `Each case opens ${CONNECTIONS} connections at once to the API (1 worker, the HTTP_* defaults); POST /api/v1/jobs/daily_rollup/batches for the bodies, GET /api/v1/sources for the headers.`,
      `A connection the API has not closed within ${GIVE_UP_S} s is closed by this script and counted in the last column.`,
    ],
    { at: new Date().toISOString(), stack: stackVersions(), machine: machine(), ...{ rows } },
  );
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
