import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError, BadRequestError, NotFoundError } from '../common/errors/errors';
import { testConfig as configWith } from '../common/testing/config';
import { JobsCatalog, SparkJob } from './jobs.catalog';

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the call to throw');
}

describe('JobsCatalog (spark-jobs/jobs.yaml)', () => {
  // SPARK_JOBS_DIR defaults to 'spark-jobs', resolved against the cwd: the repository root under jest.
  const catalog = new JobsCatalog(configWith());

  it('lists the streaming job with everything the control plane provides, and the daily rollup', () => {
    const jobs = catalog.list();

    expect(jobs.map((j) => j.name)).toEqual(['events_stream', 'daily_rollup']);
    expect(catalog.get('events_stream')).toMatchObject({
      file: 'events_stream.py',
      pyFiles: [
        'pipeline_names.py',
        'job_args.py',
        'pipeline_transforms.py',
        'stream_decisions.py',
        'stream_store.py',
        'stream_guard.py',
        'stream_views.py',
        'stream_view_runner.py',
      ],
      streaming: true,
      provided: ['topics', 'kafka', 'cassandra', 'checkpoint', 'batch'],
    });
    expect(catalog.get('daily_rollup')).toMatchObject({ file: 'daily_rollup.py', streaming: false, provided: ['cassandra'] });
    expect(catalog.get('daily_rollup').description).toMatch(/^Recomputes one UTC day/);
  });

  it('lets a caller set only a few bounded Spark settings of the daily rollup, and none of the streaming job', () => {
    expect(catalog.get('daily_rollup').conf).toEqual({
      'spark.driver.memory': { kind: 'memory', min: '512m', max: '2g' },
      'spark.executor.memory': { kind: 'memory', min: '512m', max: '2g' },
      'spark.executor.instances': { kind: 'integer', min: 1, max: 4 },
      'spark.executor.cores': { kind: 'integer', min: 1, max: 2 },
      'spark.sql.shuffle.partitions': { kind: 'integer', min: 1, max: 1000 },
    });
    expect(catalog.get('events_stream').conf).toEqual({});
  });

  it("applies the operator's SPARK_MAX_* ceilings to the catalog's bounds", () => {
    const strict = new JobsCatalog(
      configWith({ SPARK_MAX_EXECUTOR_MEMORY_MB: '1536', SPARK_MAX_DRIVER_MEMORY_MB: '1024', SPARK_MAX_EXECUTORS: '2', SPARK_MAX_EXECUTOR_CORES: '1' }),
    );

    expect(strict.get('daily_rollup').conf).toMatchObject({
      'spark.driver.memory': { max: '1024m' },
      'spark.executor.memory': { max: '1536m' },
      'spark.executor.instances': { max: 2 },
      'spark.executor.cores': { max: 1 },
    });
  });

  it("answers an unknown job with 404 naming the catalog's jobs", () => {
    const err = thrown(() => catalog.get('nope'));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.statusCode).toBe(404);
    expect(err.message).toContain('"nope"');
    expect(err.message).toContain('events_stream');
    expect(err.message).toContain('daily_rollup');
  });

  it('refuses to start when jobs.yaml cannot be read, naming SPARK_JOBS_DIR', () => {
    const empty = mkdtempSync(join(tmpdir(), 'jobs-empty-'));
    try {
      expect(() => new JobsCatalog(configWith({ SPARK_JOBS_DIR: empty }))).toThrow(/SPARK_JOBS_DIR: cannot read the job catalog .*jobs\.yaml/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('JobsCatalog.toCommandLine', () => {
  const catalog = new JobsCatalog(configWith());
  const rollup = catalog.get('daily_rollup');
  const stream = catalog.get('events_stream');

  it('turns each property into --<name> <value>, joining arrays with commas', () => {
    expect(JobsCatalog.toCommandLine(rollup, { day: '2026-01-01', sources: ['a', 'b'] })).toEqual(['--day', '2026-01-01', '--sources', 'a,b']);
  });

  it("keeps the order of the caller's properties", () => {
    expect(JobsCatalog.toCommandLine(rollup, { sources: ['users'], day: '2026-01-01' })).toEqual(['--sources', 'users', '--day', '2026-01-01']);
  });

  it("applies the schema's defaults and turns snake_case names into kebab-case flags", () => {
    expect(JobsCatalog.toCommandLine(stream, {})).toEqual([
      '--trigger-ms',
      '250',
      '--starting-offsets',
      'earliest',
      '--max-offsets-per-trigger',
      '20000',
      '--min-offsets-per-trigger',
      '1000',
      '--max-trigger-delay-ms',
      '1000',
      '--minute-counts',
      'recount',
    ]);
  });

  it("lets the caller's values win over the defaults", () => {
    const flags = JobsCatalog.toCommandLine(stream, { trigger_ms: 2000, starting_offsets: 'latest' });

    expect(flags).toEqual([
      '--trigger-ms',
      '2000',
      '--starting-offsets',
      'latest',
      '--max-offsets-per-trigger',
      '20000',
      '--min-offsets-per-trigger',
      '1000',
      '--max-trigger-delay-ms',
      '1000',
      '--minute-counts',
      'recount',
    ]);
  });

  it("does not change the caller's object", () => {
    const args = { trigger_ms: 1000 };

    JobsCatalog.toCommandLine(stream, args);

    expect(args).toEqual({ trigger_ms: 1000 });
  });

  it('answers a missing required property with 400 naming the field', () => {
    const err = thrown(() => JobsCatalog.toCommandLine(rollup, { day: '2026-01-01' }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('daily_rollup');
    expect(err.message).toContain('/sources');
    expect(err.details).toEqual([{ field: '/sources', message: expect.stringContaining('sources') }]);
  });

  it('answers a value of the wrong format with 400 naming the field', () => {
    const err = thrown(() => JobsCatalog.toCommandLine(rollup, { day: '2026-02-30', sources: ['users'] }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain('/day');
    expect(err.details).toEqual([{ field: '/day', message: expect.stringContaining('date') }]);
  });

  it('names the array item that breaks the pattern', () => {
    const err = thrown(() => JobsCatalog.toCommandLine(rollup, { day: '2026-01-01', sources: ['users', 'Not A Source'] }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.details).toEqual([{ field: '/sources/1', message: expect.stringContaining('pattern') }]);
  });

  it('answers a property the schema does not list with 400 naming it', () => {
    const err = thrown(() => JobsCatalog.toCommandLine(rollup, { day: '2026-01-01', sources: ['users'], keyspace: 'other' }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain('keyspace');
    expect(err.details).toEqual([{ field: '/', message: expect.stringContaining('(keyspace)') }]);
  });

  it('reports every problem at once', () => {
    const err = thrown(() => JobsCatalog.toCommandLine(stream, { trigger_ms: 5, starting_offsets: 'middle', checkpoint_dir: '/tmp' }));

    expect(err).toBeInstanceOf(BadRequestError);
    const fields = (err.details as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(['/', '/starting_offsets', '/trigger_ms']);
  });
});

describe('JobsCatalog.parse', () => {
  let dir: string;
  const file = () => join(dir, 'jobs.yaml');
  const parse = (text: string): SparkJob[] => JobsCatalog.parse(text, file(), dir);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jobs-catalog-'));
    writeFileSync(join(dir, 'job.py'), 'print("job")\n');
    writeFileSync(join(dir, 'lib.py'), '# helpers\n');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a minimal job with the defaults: no pyFiles, nothing provided, not streaming, no args', () => {
    const [job] = parse('jobs:\n  minimal:\n    file: job.py\n');

    expect(job).toMatchObject({ name: 'minimal', file: 'job.py', pyFiles: [], provided: [], streaming: false, description: '' });
    expect(JobsCatalog.toCommandLine(job, {})).toEqual([]);
    expect(() => JobsCatalog.toCommandLine(job, { anything: 1 })).toThrow(BadRequestError);
  });

  it('trims the description and keeps pyFiles and provided', () => {
    const [job] = parse(
      [
        'jobs:',
        '  full:',
        '    file: job.py',
        '    pyFiles: [lib.py]',
        '    provided: [kafka, topics]',
        '    streaming: true',
        '    description: "  Does things.  "',
      ].join('\n'),
    );

    expect(job).toMatchObject({ pyFiles: ['lib.py'], provided: ['kafka', 'topics'], streaming: true, description: 'Does things.' });
  });

  it('passes a true boolean as a bare flag and leaves a false one out', () => {
    const [job] = parse(
      [
        'jobs:',
        '  flags:',
        '    file: job.py',
        '    args:',
        '      type: object',
        '      properties:',
        '        dry_run: { type: boolean }',
        '        limit: { type: integer }',
      ].join('\n'),
    );

    expect(JobsCatalog.toCommandLine(job, { dry_run: true, limit: 3 })).toEqual(['--dry-run', '--limit', '3']);
    expect(JobsCatalog.toCommandLine(job, { dry_run: false })).toEqual([]);
  });

  it.each([
    ['an empty document', ''],
    ['no jobs mapping', 'sources: {}\n'],
    ['an empty jobs key', 'jobs: null\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parse(text)).toThrow(`${file()}: expected a top-level "jobs:" mapping`);
  });

  it('refuses a job without file', () => {
    expect(() => parse('jobs:\n  broken:\n    description: no file\n')).toThrow(`job "broken": "file" is required`);
  });

  it('refuses a job whose file does not exist, naming the path', () => {
    expect(() => parse('jobs:\n  ghost:\n    file: ghost.py\n')).toThrow(`job "ghost": ${join(dir, 'ghost.py')} does not exist`);
  });

  it('refuses a job whose pyFile does not exist', () => {
    expect(() => parse('jobs:\n  partial:\n    file: job.py\n    pyFiles: [lib.py, missing.py]\n')).toThrow(`${join(dir, 'missing.py')} does not exist`);
  });

  it('refuses an unknown provided entry, naming it and the allowed ones', () => {
    expect(() => parse('jobs:\n  greedy:\n    file: job.py\n    provided: [kafka, zookeeper]\n')).toThrow(
      /job "greedy": provided may list topics, kafka, cassandra, checkpoint, batch; not zookeeper$/,
    );
  });

  const withConf = (...lines: string[]) => ['jobs:', '  tuned:', '    file: job.py', '    conf:', ...lines.map((l) => `      ${l}`)].join('\n');

  it('reads the allowed conf with each rule, the integer min defaulting to 1; a job without conf allows none', () => {
    const [job] = parse(
      withConf(
        'spark.executor.memory: { kind: memory, max: 2g }',
        'spark.driver.memory: { kind: memory, min: 512m, max: 1g }',
        'spark.executor.instances: { kind: integer, max: 4 }',
        'spark.speculation: { kind: boolean }',
        'spark.sql.adaptive.coalescePartitions.parallelismFirst: { kind: enum, values: ["true", "false"] }',
      ),
    );

    expect(job.conf).toEqual({
      'spark.executor.memory': { kind: 'memory', max: '2g' },
      'spark.driver.memory': { kind: 'memory', min: '512m', max: '1g' },
      'spark.executor.instances': { kind: 'integer', min: 1, max: 4 },
      'spark.speculation': { kind: 'boolean' },
      'spark.sql.adaptive.coalescePartitions.parallelismFirst': { kind: 'enum', values: ['true', 'false'] },
    });
    expect(parse('jobs:\n  minimal:\n    file: job.py\n')[0].conf).toEqual({});
  });

  it.each([
    'spark.driver.extraJavaOptions',
    'spark.executor.extraJavaOptions',
    'spark.driver.extraClassPath',
    'spark.executor.extraLibraryPath',
    'spark.jars',
    'spark.jars.packages',
    'spark.jars.ivySettings',
    'spark.files',
    'spark.archives',
    'spark.submit.pyFiles',
    'spark.submit.deployMode',
    'spark.pyspark.python',
    'spark.pyspark.driver.python',
    'spark.executorEnv.PYTHONPATH',
    'spark.yarn.dist.files',
    'spark.kubernetes.container.image',
    'spark.hadoop.fs.s3a.endpoint',
    'spark.sql.catalog.spark_catalog',
    'spark.sql.warehouse.dir',
    'spark.local.dir',
    'spark.history.fs.logDirectory',
    'spark.eventLog.dir',
    'spark.driver.host',
    'spark.master',
    'spark.plugins',
    'spark.extraListeners',
    'spark.serializer',
    'spark.sql.streaming.checkpointLocation',
    'spark.ui.proxyBase',
    'spark.metrics.conf',
  ])('refuses at parse a job that allows %s, which may never be left to a caller', (key) => {
    expect(() => parse(withConf(`${key}: { kind: enum, values: [x] }`))).toThrow(
      `job "tuned": conf ${key}: may never be left to a caller (it can run or load code, or point Spark elsewhere)`,
    );
  });

  it.each([
    ['a key that is not a Spark setting', 'java.home: { kind: boolean }', /conf java\.home: not a Spark setting/],
    ['an unknown kind', 'spark.executor.memory: { kind: string }', /kind must be memory, integer, boolean or enum/],
    ['a memory rule without max', 'spark.executor.memory: { kind: memory }', /max is required, a size such as 2g/],
    ['a memory max that is no size', 'spark.executor.memory: { kind: memory, max: lots }', /max is required/],
    ['a memory min above the max', 'spark.executor.memory: { kind: memory, min: 4g, max: 2g }', /min must be a size no larger than max/],
    ['an integer rule without max', 'spark.executor.instances: { kind: integer }', /max is required/],
    ['an integer min above the max', 'spark.executor.instances: { kind: integer, min: 5, max: 4 }', /0 <= min <= max/],
    ['an enum without values', 'spark.sql.shuffle.mode: { kind: enum }', /values must list/],
    ['a rule field the kind does not take', 'spark.speculation: { kind: boolean, max: 3 }', /a boolean rule takes nothing but kind; not max/],
    ['a rule that is not a mapping', 'spark.speculation: true', /expected a rule/],
  ])('refuses %s', (_case, line, message) => {
    expect(() => parse(withConf(line))).toThrow(message);
  });

  it("lowers each bound to the operator's ceiling where that is stricter, and refuses a min above it", () => {
    const ceilings = {
      'spark.executor.memory': { max: 1024, variable: 'SPARK_MAX_EXECUTOR_MEMORY_MB' },
      'spark.executor.instances': { max: 8, variable: 'SPARK_MAX_EXECUTORS' },
    };
    const text = withConf('spark.executor.memory: { kind: memory, min: 512m, max: 4g }', 'spark.executor.instances: { kind: integer, max: 4 }');

    expect(JobsCatalog.parse(text, file(), dir, ceilings)[0].conf).toEqual({
      'spark.executor.memory': { kind: 'memory', min: '512m', max: '1024m' },
      'spark.executor.instances': { kind: 'integer', min: 1, max: 4 },
    });
    expect(() => JobsCatalog.parse(text, file(), dir, { 'spark.executor.memory': { max: 256, variable: 'SPARK_MAX_EXECUTOR_MEMORY_MB' } })).toThrow(
      "conf spark.executor.memory: its min is above the operator's ceiling SPARK_MAX_EXECUTOR_MEMORY_MB=256",
    );
  });

  it('refuses args that are not a valid JSON Schema', () => {
    expect(() => parse('jobs:\n  odd:\n    file: job.py\n    args: { type: objekt }\n')).toThrow(/job "odd": args is not a valid JSON Schema/);
  });
});
