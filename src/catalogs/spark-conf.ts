import { AppConfig } from '../common/config/app-config';
import { BadRequestError } from '../common/errors/errors';

/**
 * How a Spark setting a caller may choose is checked: a memory size (`512m`, `2g`) with a max, an
 * integer with bounds, a boolean, or one of a few values. Values reach Livy as the caller wrote them.
 */
export type ConfRule =
  { kind: 'memory'; min?: string; max: string } | { kind: 'integer'; min: number; max: number } | { kind: 'boolean' } | { kind: 'enum'; values: string[] };

/** A job's allow-list: the only Spark settings a caller may set for it, each with its rule. */
export type ConfRules = Record<string, ConfRule>;

/** An operator's ceiling on one setting (megabytes for a memory size), and the variable that sets it. */
export interface ConfCeiling {
  max: number;
  variable: string;
}

/**
 * Settings no job may leave to a caller, whatever its catalog entry says: those that run or load
 * code (JVM options, class paths, jars, files, Python executables, plugins, listeners, class names),
 * point Spark elsewhere (URLs, directories, paths, hosts, the master, cluster managers, Hadoop and
 * catalogs) or touch its security and logs. The second line of defence behind the allow-list: the
 * catalog refuses to load a job that allows one of them.
 */
export const FORBIDDEN_CONF = new RegExp(
  [
    'javaoptions',
    'classpath',
    'librarypath',
    '^spark\\.jars',
    '^spark\\.files',
    '^spark\\.archives',
    '^spark\\.submit\\.',
    '^spark\\.pyspark\\.',
    '^spark\\..*python',
    'url',
    'uri',
    'dir',
    'path',
    'location',
    'file',
    'host',
    'address',
    'port$',
    '^spark\\.master$',
    '^spark\\.kubernetes\\.',
    '^spark\\.yarn\\.',
    '^spark\\.mesos\\.',
    '^spark\\.hadoop\\.',
    '^spark\\.sql\\.catalog',
    '^spark\\.sql\\.extensions',
    '^spark\\.sql\\.warehouse',
    '^spark\\.sql\\.hive',
    '^spark\\.plugins',
    'listeners',
    'class',
    'registrator',
    'serializer',
    'codec',
    'provider',
    'factory',
    'manager',
    'impl',
    'env\\.',
    'keytab',
    'principal',
    'password',
    'secret',
    'token',
    'credential',
    'acls',
    'authenticate',
    '^spark\\.ssl',
    '^spark\\.redaction',
    '^spark\\.ui\\.',
    '^spark\\.eventlog',
    '^spark\\.metrics',
    '^spark\\.driver\\.log',
    '^spark\\.executor\\.logs',
  ].join('|'),
  'i',
);

const SPARK_KEY = /^spark\.[A-Za-z0-9_.-]+$/;
/** A JVM memory size as Spark takes it: a whole number and a unit (k, m, g or t, optionally followed by b). */
const SIZE = /^([1-9][0-9]{0,8})([kmgt])b?$/i;
const INTEGER = /^(0|[1-9][0-9]{0,9})$/;
const UNIT_MB: Record<string, number> = { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 };

/** A memory size in megabytes, or undefined when it is not one. */
export function megabytes(size: string): number | undefined {
  const m = SIZE.exec(size);
  return m ? Number(m[1]) * UNIT_MB[m[2].toLowerCase()] : undefined;
}

/** The operator's ceilings (SPARK_MAX_*), by the settings they bound. */
export function operatorCeilings(limits: AppConfig['spark']['limits']): Record<string, ConfCeiling> {
  const executors = { max: limits.maxExecutors, variable: 'SPARK_MAX_EXECUTORS' };
  return {
    'spark.executor.memory': { max: limits.maxExecutorMemoryMb, variable: 'SPARK_MAX_EXECUTOR_MEMORY_MB' },
    'spark.driver.memory': { max: limits.maxDriverMemoryMb, variable: 'SPARK_MAX_DRIVER_MEMORY_MB' },
    'spark.executor.instances': executors,
    'spark.dynamicAllocation.maxExecutors': executors,
    'spark.executor.cores': { max: limits.maxExecutorCores, variable: 'SPARK_MAX_EXECUTOR_CORES' },
  };
}

/**
 * A job's `conf:` from jobs.yaml, checked: every key a Spark setting outside FORBIDDEN_CONF, every
 * rule complete; then each bound lowered to the operator's ceiling where that is stricter.
 */
export function parseConfRules(value: unknown, where: string, ceilings: Record<string, ConfCeiling> = {}): ConfRules {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) throw new Error(`${where}: conf must map Spark settings to their rules, e.g. spark.executor.memory: { kind: memory, max: 2g }`);
  const rules: ConfRules = {};
  for (const [key, raw] of Object.entries(value)) {
    const at = `${where}: conf ${key}`;
    if (!SPARK_KEY.test(key)) throw new Error(`${at}: not a Spark setting (spark.<name>)`);
    if (FORBIDDEN_CONF.test(key)) throw new Error(`${at}: may never be left to a caller (it can run or load code, or point Spark elsewhere)`);
    rules[key] = withCeiling(parseRule(raw, at), Object.hasOwn(ceilings, key) ? ceilings[key] : undefined, at);
  }
  return rules;
}

function parseRule(raw: unknown, at: string): ConfRule {
  if (!isMapping(raw)) throw new Error(`${at}: expected a rule such as { kind: integer, min: 1, max: 4 }`);
  const fields = (...allowed: string[]) => {
    const extra = Object.keys(raw).filter((k) => !['kind', ...allowed].includes(k));
    if (extra.length) throw new Error(`${at}: a ${String(raw.kind)} rule takes ${allowed.join(', ') || 'nothing but kind'}; not ${extra.join(', ')}`);
  };
  switch (raw.kind) {
    case 'memory': {
      fields('min', 'max');
      // A size that is not text (a bare number, a mapping) is none: it reaches the checks below as ''.
      const [min, max] = [raw.min, raw.max].map((v) => (v === undefined ? undefined : typeof v === 'string' ? v : ''));
      if (max === undefined || megabytes(max) === undefined) throw new Error(`${at}: max is required, a size such as 2g or 512m`);
      if (min !== undefined && (megabytes(min) === undefined || megabytes(min)! > megabytes(max)!))
        throw new Error(`${at}: min must be a size no larger than max`);
      return { kind: 'memory', ...(min === undefined ? {} : { min }), max };
    }
    case 'integer': {
      fields('min', 'max');
      const min = raw.min ?? 1;
      const { max } = raw;
      if (!Number.isSafeInteger(max) || !Number.isSafeInteger(min) || (min as number) < 0 || (min as number) > (max as number)) {
        throw new Error(`${at}: max is required; min (default 1) and max must be whole numbers, 0 <= min <= max`);
      }
      return { kind: 'integer', min: min as number, max: max as number };
    }
    case 'boolean':
      fields();
      return { kind: 'boolean' };
    case 'enum': {
      fields('values');
      const { values } = raw;
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string' && /^[\w.-]+$/.test(v))) {
        throw new Error(`${at}: values must list the accepted words (letters, digits, _, . or -)`);
      }
      return { kind: 'enum', values: values as string[] };
    }
    default:
      throw new Error(`${at}: kind must be memory, integer, boolean or enum`);
  }
}

/** The rule with its max lowered to the operator's ceiling when that is stricter. */
function withCeiling(rule: ConfRule, ceiling: ConfCeiling | undefined, at: string): ConfRule {
  if (!ceiling) return rule;
  const lowest = rule.kind === 'memory' ? megabytes(rule.min ?? '1m')! : rule.kind === 'integer' ? rule.min : undefined;
  if (lowest === undefined) return rule;
  if (lowest > ceiling.max) throw new Error(`${at}: its min is above the operator's ceiling ${ceiling.variable}=${ceiling.max}`);
  if (rule.kind === 'memory' && megabytes(rule.max)! > ceiling.max) return { ...rule, max: `${ceiling.max}m` };
  if (rule.kind === 'integer' && rule.max > ceiling.max) return { ...rule, max: ceiling.max };
  return rule;
}

/**
 * A caller's Spark conf checked against a job's allow-list: every key must be one the job allows and
 * every value within its rule, or 400 naming each offending key (`conf.<key>`) and what is allowed.
 */
export function checkConf(jobName: string, rules: ConfRules, conf: Record<string, string>): Record<string, string> {
  const problems: { field: string; message: string }[] = [];
  for (const [key, value] of Object.entries(conf)) {
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    const problem = rule ? valueProblem(rule, value) : notAllowed(jobName, rules, key);
    if (problem) problems.push({ field: `conf.${key}`, message: problem });
  }
  if (problems.length) {
    throw new BadRequestError(`Invalid conf for job "${jobName}": ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, problems);
  }
  return { ...conf };
}

function notAllowed(jobName: string, rules: ConfRules, key: string): string {
  const allowed = Object.entries(rules).map(([k, rule]) => `${k} (${describeRule(rule)})`);
  const which = allowed.length ? `it accepts only ${allowed.join(', ')}` : 'it accepts no Spark setting';
  return FORBIDDEN_CONF.test(key)
    ? `is never accepted (it can run or load code, or point Spark elsewhere); for job "${jobName}" ${which}`
    : `is not a setting job "${jobName}" accepts; ${which}`;
}

function valueProblem(rule: ConfRule, value: string): string | undefined {
  switch (rule.kind) {
    case 'memory': {
      const mb = megabytes(value);
      if (mb === undefined) return `must be a memory size such as 512m or 2g; allowed: ${describeRule(rule)}`;
      if (mb > megabytes(rule.max)! || (rule.min !== undefined && mb < megabytes(rule.min)!)) return `must be ${describeRule(rule)}; not ${value}`;
      return undefined;
    }
    case 'integer': {
      if (!INTEGER.test(value)) return `must be a whole number; allowed: ${describeRule(rule)}`;
      const n = Number(value);
      return n < rule.min || n > rule.max ? `must be ${describeRule(rule)}; not ${value}` : undefined;
    }
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : `must be ${describeRule(rule)}`;
    case 'enum':
      return rule.values.includes(value) ? undefined : `must be ${describeRule(rule)}`;
  }
}

export function describeRule(rule: ConfRule): string {
  switch (rule.kind) {
    case 'memory':
      return rule.min === undefined ? `a memory size up to ${rule.max}` : `a memory size from ${rule.min} to ${rule.max}`;
    case 'integer':
      return `an integer from ${rule.min} to ${rule.max}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${rule.values.join(', ')}`;
  }
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
