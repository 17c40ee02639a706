import cluster, { Worker } from 'node:cluster';

/** A worker that dies this often within CRASH_WINDOW_MS means something is wrong for good: stop instead of looping. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;

/** The primary's few lifecycle lines, in the workers' JSON log format, whatever LOG_LEVEL says. */
function log(level: 'info' | 'warn' | 'error', msg: string): void {
  const levels = { info: 30, warn: 40, error: 50 };
  process.stdout.write(`${JSON.stringify({ level: levels[level], time: Date.now(), pid: process.pid, context: 'Workers', msg })}\n`);
}

/**
 * Runs `workers` copies of the API in one listening port (node:cluster), so the API can use more than
 * one core. The first worker starts alone and runs the schema migrations; the others start once it
 * listens. A worker that dies after it started is replaced; one that cannot start stops everything.
 * SIGTERM/SIGINT are passed on, and the primary exits when every worker has finished its own graceful
 * shutdown (each answers its in-flight requests first), or after the grace period plus 5 s.
 */
export function superviseWorkers(workers: number, shutdownGraceMs: number): void {
  let stopping = false;
  let exitCode = 0;
  const listened = new Set<number>();
  const crashes: number[] = [];

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once('listening', () => {
      listened.add(worker.id);
      // Ids are never reused and a worker that fails before listening stops everything, so this is true once.
      if (listened.size === workers) log('info', `all ${workers} API workers listening`);
    });
    return worker;
  };
  const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  const stop = (code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    for (const w of alive()) w.process.kill('SIGTERM');
    setTimeout(() => {
      log('error', `workers still running ${shutdownGraceMs + 5000} ms after SIGTERM; killing them`);
      for (const w of alive()) w.process.kill('SIGKILL');
      process.exit(1);
    }, shutdownGraceMs + 5000).unref();
    if (alive().length === 0) process.exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    const how = signal ?? `code ${code}`;
    if (stopping) {
      if (alive().length === 0) process.exit(exitCode);
      return;
    }
    if (!listened.has(worker.id)) {
      log('error', `API worker ${worker.process.pid} exited (${how}) before it started listening; stopping`);
      return stop(1);
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && now - crashes[0] > CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= MAX_CRASHES) {
      log('error', `API workers exited ${crashes.length} times within ${CRASH_WINDOW_MS / 1000} s; stopping`);
      return stop(1);
    }
    log('warn', `API worker ${worker.process.pid} exited (${how}); starting a replacement`);
    fork();
  });

  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));

  const first = fork();
  first.once('listening', () => {
    for (let i = 1; i < workers; i++) fork();
  });
}
