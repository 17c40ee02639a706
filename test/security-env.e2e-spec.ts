import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { eventually, pgrep, ROOT, stackPid } from './support/harness';

/**
 * Which process holds which secret, read from /proc/<pid>/environ of the stack `make` started
 * (infra/local/with-stack.sh with the Makefile's exports): the API's keys and signing secrets are in
 * the API process alone; Livy, every Spark driver it started (any job's code), Kafka, Cassandra and
 * Airflow have none of them; Airflow has its own key (PIPELINE_API_KEY, in its pipeline_api
 * connection) but not API_KEYS.
 */

// The environment this run was started with: the secrets `make` exported (its defaults when jest runs alone).
const env = { ...process.env };
const PIPELINE_API_KEY = env.PIPELINE_API_KEY || 'local-dev-airflow-key-change-me';
const API_KEYS = (env.API_KEYS || `local-dev-key-change-me,${PIPELINE_API_KEY}`)
  .split(',')
  .map((k) => k.trim())
  .filter(Boolean);

/** The API's secret variables: its own, and every `${NAME}` config/sources.yaml names (signing secrets). */
const SECRET_NAMES = [
  'API_KEYS',
  'PIPELINE_API_KEY',
  'WEBHOOKS_SIGNING_SECRET',
  'PAGE_TOKEN_SECRET',
  'KAFKA_SASL_PASSWORD',
  'CASSANDRA_PASSWORD',
  ...[...readFileSync(resolve(ROOT, 'config/sources.yaml'), 'utf8').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]),
];
/** The values to look for: every API key, and every secret variable's value this run has. */
const SECRET_VALUES = [
  ...new Set([
    ...API_KEYS,
    ...SECRET_NAMES.filter((n) => n !== 'API_KEYS')
      .map((n) => env[n])
      .filter((v): v is string => !!v),
  ]),
];

function environ(pid: number): Map<string, string> | undefined {
  try {
    const vars = new Map<string, string>();
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return vars;
  } catch {
    return undefined; // it ended meanwhile
  }
}

/** The pid and every descendant of it (from the parent pids in /proc/<pid>/stat). */
function withDescendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

const commandLine = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120);
  } catch {
    return '?';
  }
};

/** "pid (command): VAR" for every secret variable or value a process holds; `allowed` values are not reported. */
function secretsHeld(pids: number[], allowed: string[] = []): string[] {
  const found: string[] = [];
  for (const pid of pids) {
    const vars = environ(pid);
    if (!vars) continue;
    for (const [name, value] of vars) {
      if (SECRET_NAMES.includes(name) && !(name === 'PIPELINE_API_KEY' && allowed.includes(value))) found.push(`${pid} (${commandLine(pid)}): ${name}`);
      else if (SECRET_VALUES.some((s) => !allowed.includes(s) && value.includes(s))) found.push(`${pid} (${commandLine(pid)}): the value of ${name}`);
    }
  }
  return found;
}

function servicePids(service: string): number[] {
  const pid = stackPid(service);
  if (pid === undefined) throw new Error(`${service} is not running (no live pid in .stack/run/${service}.pid)`);
  return withDescendants(pid);
}

describe('secrets stay with the API process', () => {
  it('reads the environment it checks: the API process holds API_KEYS (the control for the tests below)', () => {
    const api = environ(stackPid('api') ?? -1);
    expect(api).toBeDefined();
    expect(api!.get('API_KEYS')).toBeTruthy();
  });

  it('gives Livy and its children none of the API keys or secrets', () => {
    const pids = servicePids('livy');

    expect(secretsHeld(pids)).toEqual([]);
  });

  it("gives every Spark driver (the streaming job's included) none of them", async () => {
    const jvms = await eventually(
      'a Spark driver running (the streaming job of make up)',
      async () => {
        const found = pgrep('org.apache.spark.deploy.SparkSubmit');
        return found.length ? found : undefined;
      },
      120000,
      1000,
    );
    const pids = [...new Set([...jvms, ...pgrep(`python[0-9.]* ${ROOT}/spark-jobs/`)].flatMap(withDescendants))];

    expect(pids.length).toBeGreaterThan(0);
    expect(secretsHeld(pids)).toEqual([]);
  });

  it('gives Kafka and Cassandra none of them', () => {
    expect(secretsHeld([...servicePids('kafka'), ...servicePids('cassandra')])).toEqual([]);
  });

  it("gives Airflow its own key in its pipeline_api connection, and not API_KEYS or the API's other secrets", () => {
    const pids = servicePids('airflow');

    expect(secretsHeld(pids, [PIPELINE_API_KEY])).toEqual([]);
    const connections = pids.map((pid) => environ(pid)?.get('AIRFLOW_CONN_PIPELINE_API')).filter((c): c is string => !!c);
    expect(connections.length).toBeGreaterThan(0);
    if (!env.AIRFLOW_CONN_PIPELINE_API) {
      for (const conn of connections) expect(decodeURIComponent(new URL(conn).password)).toBe(PIPELINE_API_KEY);
    }
  });
});
