import { ChildProcess, spawn } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'fs';
import { homedir, tmpdir } from 'os';
import { basename, dirname, join } from 'path';
import { parse as parseYaml } from 'yaml';
import { eventually, freePort, ROOT } from './support/harness';

/**
 * The Livy container of infra/docker-compose.yml, without Docker: the image that
 * infra/docker/livy/Dockerfile builds is laid out in a temporary directory and its ENTRYPOINT is run
 * with the environment the container would have (the base image's, the Dockerfile's ENV, the compose
 * file's `environment`), nothing else. Only the Dockerfile's COPY, `mkdir -p`, ENV, WORKDIR and
 * ENTRYPOINT are followed, so a change to those files changes what starts here.
 *
 * Stand-ins: apache/spark:3.5.7's /opt/spark is the local PySpark 3.5.7 distribution (the same Spark;
 * like the image, without a conf/ directory), its Java 17 the local one, the Maven stage's jars the
 * local stack's Livy jars (the same pom.xml). Image paths (/opt, /var, /tmp) are moved under the
 * temporary directory in the files, the ENV and the ENTRYPOINT. Livy listens on a free loopback port
 * (through LIVY_CONF_EXTRA, the image's own way to add settings), not the shared stack's 8998.
 */
const DOCKERFILE = process.env.LIVY_DOCKERFILE ?? join(ROOT, 'infra/docker/livy/Dockerfile');
const COMPOSE_FILE = process.env.COMPOSE_FILE ?? join(ROOT, 'infra/docker-compose.yml');
const CACHE_DIR = process.env.PIPELINE_CACHE_DIR ?? join(homedir(), '.cache/pipeline');
const JAVA17_HOME = process.env.JAVA17_HOME ?? '/usr/lib/jvm/java-17-openjdk-amd64';

function livyJars(): string {
  const version = /<livy\.version>([^<]+)</.exec(readFileSync(join(ROOT, 'infra/local/livy/pom.xml'), 'utf8'))![1];
  return join(CACHE_DIR, `livy-${version}`, 'libs');
}

function sparkDistribution(): string {
  const version = /^pyspark==(.+)$/m.exec(readFileSync(join(ROOT, 'infra/local/spark/requirements.txt'), 'utf8'))![1].trim();
  const lib = join(CACHE_DIR, 'venvs', `pyspark-${version}`, 'lib');
  const python = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python')) : undefined;
  return join(lib, python ?? 'python3', 'site-packages', 'pyspark');
}

/** The instructions of the Dockerfile's last stage, continuation lines joined. */
function finalStage(text: string): Array<{ op: string; args: string }> {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const last = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  return lines.slice(last).map((l) => {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(l)!;
    return { op: op.toUpperCase(), args };
  });
}

/** `${VAR:-default}` and the like as Compose sees them with every variable unset. */
const composeDefaults = (value: string): string =>
  value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g, (m, _name, op, arg) => (m === '$$' ? '$' : op && op.endsWith('-') ? arg : ''));

describe('the Livy image of infra/docker-compose.yml starts (emulated without Docker)', () => {
  let root: string;
  let livy: ChildProcess | undefined;
  let output = '';
  let exited: number | null | undefined;
  let logDir: string;
  let port: number;

  // Image paths under the temporary root; the base image's Java is the local Java 17.
  const map = (text: string): string =>
    text.replace(/\/opt\/java\/openjdk/g, JAVA17_HOME).replace(/(^|[\s='":,;(])\/(opt|var|tmp)\//g, (_m, before, top) => `${before}${root}/${top}/`);

  beforeAll(async () => {
    const jars = livyJars();
    const spark = sparkDistribution();
    for (const [what, where] of [
      ["Livy's jars (make e2e installs them)", jars],
      ['the PySpark distribution (make e2e installs it)', join(spark, 'jars')],
      ['Java 17 (JAVA17_HOME)', join(JAVA17_HOME, 'bin/java')],
    ]) {
      if (!existsSync(where)) throw new Error(`${what} not found at ${where}`);
    }
    root = mkdtempSync(join(tmpdir(), 'docker-livy-'));
    port = await freePort();

    // apache/spark:3.5.7 (apache/spark-docker): the distribution's bin, jars, python, sbin, examples and
    // data under /opt/spark, no conf/; WORKDIR /opt/spark/work-dir; SPARK_HOME and the JDK's variables.
    mkdirSync(join(root, 'opt/spark/work-dir'), { recursive: true });
    for (const dir of ['bin', 'jars', 'python', 'sbin', 'examples', 'data']) {
      if (existsSync(join(spark, dir))) symlinkSync(join(spark, dir), join(root, 'opt/spark', dir));
    }
    const env: Record<string, string> = {
      JAVA_HOME: '/opt/java/openjdk',
      PATH: '/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      SPARK_HOME: '/opt/spark',
    };
    let cwd = '/opt/spark/work-dir';
    let entrypoint: string[] = [];

    for (const { op, args } of finalStage(readFileSync(DOCKERFILE, 'utf8'))) {
      if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const from = parts.find((p) => p.startsWith('--from='));
        const [src, dest] = parts.filter((p) => !p.startsWith('--'));
        const target = join(root, dest.endsWith('/') ? join(dest, basename(src)) : dest);
        mkdirSync(dirname(target), { recursive: true });
        if (from) {
          // The Maven stage's dependency:copy-dependencies output, i.e. the jars of infra/local/livy/pom.xml.
          expect(src).toBe('/opt/livy/jars');
          symlinkSync(jars, target);
        } else {
          copyFileSync(join(ROOT, src), target);
          writeFileSync(target, map(readFileSync(target, 'utf8')));
        }
      } else if (op === 'RUN') {
        for (const m of args.matchAll(/mkdir -p ([^&;|]+)/g)) for (const d of m[1].trim().split(/\s+/)) mkdirSync(join(root, d), { recursive: true });
        // A shell redirection into a directory the image does not have stops the build.
        for (const m of args.matchAll(/>>?\s*(\/[^\s;&|]+)/g)) {
          if (!existsSync(dirname(join(root, m[1])))) throw new Error(`the build stops: RUN writes ${m[1]}, but ${dirname(m[1])} does not exist in the image`);
        }
      } else if (op === 'ENV') {
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[m[1]] = m[2];
      } else if (op === 'WORKDIR') {
        cwd = args;
      } else if (op === 'ENTRYPOINT') {
        entrypoint = JSON.parse(args) as string[];
      }
    }

    const service = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }).services.livy;
    for (const [key, value] of Object.entries<string>(service.environment ?? {})) env[key] = composeDefaults(String(value));
    env.LIVY_CONF_EXTRA = [env.LIVY_CONF_EXTRA, 'livy.server.host = 127.0.0.1', `livy.server.port = ${port}`].filter(Boolean).join('\n');
    for (const key of Object.keys(env)) env[key] = map(env[key]);
    logDir = env.LIVY_LOG_DIR ?? join(env.LIVY_HOME ?? '', 'logs');

    mkdirSync(join(root, cwd), { recursive: true });
    // Its own process group, so that stopping it also stops whatever it started.
    livy = spawn(map(entrypoint[0]), entrypoint.slice(1).map(map), { cwd: join(root, cwd), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    livy.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    livy.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    livy.on('exit', (code) => (exited = code));
  }, 30000);

  afterAll(async () => {
    if (livy?.pid && exited === undefined) {
      process.kill(-livy.pid, 'SIGTERM');
      const deadline = Date.now() + 15000;
      while (exited === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (exited === undefined) process.kill(-livy.pid, 'SIGKILL');
    }
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('answers GET /batches with an empty list, with neither LIVY_HOME nor a Docker engine', async () => {
    // A Livy that exited says why; waiting longer would not change it.
    const answer = await eventually<{ body?: { sessions: unknown[] }; exit?: number | null }>(
      'Livy answering GET /batches (or exiting)',
      async () => {
        if (exited !== undefined) return { exit: exited };
        const res = await fetch(`http://127.0.0.1:${port}/batches`);
        return res.ok ? { body: (await res.json()) as { sessions: unknown[] } } : undefined;
      },
      90000,
    );
    if (!answer.body) throw new Error(`Livy exited (${answer.exit}):\n${output.split('\n').slice(-25).join('\n')}`);
    const body = answer.body;

    expect(body.sessions).toEqual([]);
    expect(output).not.toMatch(/key not found/);
  }, 120000);

  it("writes Jetty's request log into the image's log directory", () => {
    const logs = readdirSync(logDir).filter((f) => f.endsWith('.request.log'));
    expect(logs.length).toBe(1);
    expect(statSync(join(logDir, logs[0])).isFile()).toBe(true);
  });

  it("puts Spark's configuration where spark-submit reads it: the Ivy cache and WARN logging", () => {
    const conf = join(root, 'opt/spark/conf');
    expect(readFileSync(join(conf, 'spark-defaults.conf'), 'utf8')).toMatch(new RegExp(`^spark\\.jars\\.ivy\\s+${root}/var/lib/spark/ivy$`, 'm'));
    expect(readFileSync(join(conf, 'log4j2.properties'), 'utf8')).toMatch(/^rootLogger\.level\s*=\s*warn$/m);
  });
});
