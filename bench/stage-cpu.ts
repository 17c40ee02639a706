/**
 * CPU per stage of the local stack (infra/local): which processes belong to which service, and the
 * CPU seconds each group has used, read from /proc (Linux).
 *
 * A stage is its service's process (the pid file under .stack/run/) with every descendant, so the
 * API's workers, Airflow's scheduler and task processes, and the Python workers PySpark forks all
 * count. The streaming job's driver is a child of Livy (local mode: the executors run in the driver
 * JVM); it and its descendants form a stage of their own, found by its command line
 * (events_stream.py), and do not count for Livy. Other Spark batches Livy runs count for Livy.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './support';

export const STAGES = ['API', 'Kafka', 'Cassandra', 'Livy', 'Spark stream', 'Airflow', 'load gen'] as const;
export type Stage = (typeof STAGES)[number];

const CLOCK_TICKS = Number(sh('getconf CLK_TCK')) || 100;

interface Proc {
  pid: number;
  ppid: number;
  /** Own user + system ticks. */
  own: number;
  /** User + system ticks of the children it reaped. */
  reaped: number;
  /** Start time in ticks since boot: with the pid, tells a process from a later one with the same pid. */
  start: number;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]), start: Number(f[19]) };
  } catch {
    return undefined; // ended while listing
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Busy ticks of the whole machine (all cores, everything but idle and iowait), from /proc/stat. */
function machineBusyTicks(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = fields.map(Number);
  return n.slice(0, 8).reduce((a, b) => a + b, 0) - n[3] - n[4];
}

/**
 * Tracks the stages' CPU between calls of sample(): each call reads every process once, assigns it
 * to a stage and adds what each process used since the previous call. A process that ended is
 * counted through the parent that reaped it (its reaped ticks), minus what was already counted for it.
 */
export class StageCpu {
  /** CPU seconds per stage since the first sample, and the machine's busy core-seconds. */
  readonly seconds: Record<Stage | 'machine', number> = Object.fromEntries([...STAGES, 'machine'].map((s) => [s, 0])) as Record<Stage | 'machine', number>;
  private last = new Map<string, { stage: Stage; ticks: number; ppid: number }>();
  private lastMachine?: number;

  constructor(private readonly stackDir: string) {}

  /** Pids of each stage's root processes. */
  private roots(procs: Map<number, Proc>): Map<Stage, number[]> {
    const pidFile = (service: string) => {
      const file = join(this.stackDir, 'run', `${service}.pid`);
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
      return procs.has(pid) ? [pid] : [];
    };
    const byCommand = (pattern: RegExp) => [...procs.keys()].filter((pid) => pattern.test(commandLine(pid)));
    const orCommand = (pids: number[], pattern: RegExp) => (pids.length ? pids : byCommand(pattern));
    const stream = byCommand(/events_stream\.py/);
    return new Map<Stage, number[]>([
      // The stream first: its processes are Livy's descendants, and a process belongs to the first stage that claims it.
      ['Spark stream', stream.filter((pid) => !stream.includes(procs.get(pid)!.ppid))],
      ['load gen', [process.pid]],
      ['API', pidFile('api')],
      ['Kafka', orCommand(pidFile('kafka'), /kafka\.Kafka /)],
      ['Cassandra', orCommand(pidFile('cassandra'), /CassandraDaemon/)],
      ['Livy', orCommand(pidFile('livy'), /org\.apache\.livy\.server\.LivyServer/)],
      ['Airflow', pidFile('airflow')],
    ]);
  }

  /** Reads every process, adds what each stage used since the last call; returns the stage of every pid. */
  sample(): Map<number, Stage> {
    const procs = new Map<number, Proc>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const p = readProc(Number(name));
      if (p) procs.set(p.pid, p);
    }
    const children = new Map<number, number[]>();
    for (const p of procs.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
    const stageOf = new Map<number, Stage>();
    for (const [stage, roots] of this.roots(procs)) {
      const queue = [...roots];
      while (queue.length) {
        const pid = queue.pop()!;
        if (stageOf.has(pid)) continue;
        stageOf.set(pid, stage);
        queue.push(...(children.get(pid) ?? []));
      }
    }

    const first = this.lastMachine === undefined;
    const next = new Map<string, { stage: Stage; ticks: number; ppid: number }>();
    const ticks = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    for (const [pid, stage] of stageOf) {
      const p = procs.get(pid)!;
      const key = `${pid}:${p.start}`;
      const now = p.own + p.reaped;
      const before = this.last.get(key);
      // A process new since the last call started after it (or just joined a stage): all of its CPU is new.
      if (!first) ticks[stage] += before ? now - before.ticks : now;
      next.set(key, { stage, ticks: now, ppid: p.ppid });
    }
    // An ended process's CPU reappears in its parent's reaped ticks; what was counted for it already comes off.
    for (const [key, gone] of this.last) {
      if (next.has(key)) continue;
      const parent = stageOf.get(gone.ppid);
      if (parent && !first) ticks[parent] -= gone.ticks;
    }
    this.last = next;
    for (const s of STAGES) this.seconds[s] += ticks[s] / CLOCK_TICKS;
    const busy = machineBusyTicks();
    if (this.lastMachine !== undefined) this.seconds.machine += (busy - this.lastMachine) / CLOCK_TICKS;
    this.lastMachine = busy;
    return stageOf;
  }

  /** Stages none of whose processes was found (a wrong STACK_DIR, a service not running). */
  missing(): Stage[] {
    const found = new Set(this.sample().values());
    return STAGES.filter((s) => !found.has(s));
  }

  /** A copy of the counters, to subtract from a later one. */
  snapshot(): Record<Stage | 'machine', number> {
    this.sample();
    return { ...this.seconds };
  }
}

/** Cores each stage used between two snapshots taken `wallSeconds` apart. */
export function coresBetween(a: Record<string, number>, b: Record<string, number>, wallSeconds: number): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] - a[k]) / wallSeconds]));
}
