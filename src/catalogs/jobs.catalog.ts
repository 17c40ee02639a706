import { Inject, Injectable } from '@nestjs/common';
import { ValidateFunction } from 'ajv/dist/2020';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, NotFoundError } from '../common/errors/errors';
import { fieldErrors, readCatalogFile, schemaCompiler } from './json-schema';
import { checkConf, ConfCeiling, ConfRules, operatorCeilings, parseConfRules } from './spark-conf';

/** Settings the control plane passes to a job from its own configuration. */
export const PROVIDED = ['topics', 'kafka', 'cassandra', 'checkpoint', 'batch'] as const;
export type Provided = (typeof PROVIDED)[number];

export interface SparkJob {
  name: string;
  provided: Provided[];
  file: string;
  pyFiles: string[];
  description: string;
  streaming: boolean;
  args: Record<string, unknown>;
  /** The Spark settings a caller may set for this job, with their bounds (the operator's ceilings applied); no other. */
  conf: ConfRules;
  validate: ValidateFunction;
}

/** The Spark job catalog: spark-jobs/jobs.yaml, read and checked once at start-up. */
@Injectable()
export class JobsCatalog {
  private readonly jobs = new Map<string, SparkJob>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const file = join(config.spark.jobsDir, 'jobs.yaml');
    const text = readCatalogFile(file, 'SPARK_JOBS_DIR', 'the job catalog');
    for (const job of JobsCatalog.parse(text, file, config.spark.jobsDir, operatorCeilings(config.spark.limits))) this.jobs.set(job.name, job);
  }

  /** `ceilings`: the operator's bounds on a job's conf; where stricter than the catalog's, they apply. */
  static parse(text: string, file: string, jobsDir: string, ceilings: Record<string, ConfCeiling> = {}): SparkJob[] {
    const doc = parseYaml(text) as { jobs?: Record<string, Record<string, unknown>> } | null;
    if (!doc || typeof doc.jobs !== 'object' || doc.jobs === null || Array.isArray(doc.jobs)) throw new Error(`${file}: expected a top-level "jobs:" mapping`);
    const compile = schemaCompiler({ useDefaults: true });
    return Object.entries(doc.jobs).map(([name, entry]) => {
      const where = `${file}: job "${name}"`;
      if (typeof entry?.file !== 'string') throw new Error(`${where}: "file" is required`);
      const pyFiles = (entry.pyFiles ?? []) as string[];
      for (const f of [entry.file, ...pyFiles]) {
        if (!existsSync(join(jobsDir, f))) throw new Error(`${where}: ${join(jobsDir, f)} does not exist`);
      }
      const provided = (entry.provided ?? []) as Provided[];
      const unknown = provided.filter((p) => !PROVIDED.includes(p));
      if (unknown.length) throw new Error(`${where}: provided may list ${PROVIDED.join(', ')}; not ${unknown.join(', ')}`);
      const args = (entry.args ?? { type: 'object', additionalProperties: false, properties: {} }) as Record<string, unknown>;
      let validate: ValidateFunction;
      try {
        validate = compile(args);
      } catch (err) {
        throw new Error(`${where}: args is not a valid JSON Schema: ${(err as Error).message}`);
      }
      return {
        name,
        file: entry.file,
        pyFiles,
        provided,
        description: typeof entry.description === 'string' ? entry.description.trim() : '',
        streaming: entry.streaming === true,
        args,
        conf: parseConfRules(entry.conf, where, ceilings),
        validate,
      };
    });
  }

  list(): SparkJob[] {
    return [...this.jobs.values()];
  }

  get(name: string): SparkJob {
    const job = this.jobs.get(name);
    if (!job) throw new NotFoundError(`Unknown job "${name}". Jobs in the catalog: ${[...this.jobs.keys()].join(', ')}`);
    return job;
  }

  /** Checks a caller's Spark conf against the job's allow-list (400 naming each key it refuses); the control plane's own settings are added after it. */
  static toSparkConf(job: SparkJob, conf: Record<string, string>): Record<string, string> {
    return checkConf(job.name, job.conf, conf);
  }

  /**
   * Checks args against the job's schema and turns them into command-line flags:
   * {sources: ["a", "b"], day: "2026-01-01"} becomes --sources a,b --day 2026-01-01.
   */
  static toCommandLine(job: SparkJob, args: Record<string, unknown>): string[] {
    const copy = structuredClone(args);
    if (!job.validate(copy)) {
      const problems = fieldErrors(job.validate.errors);
      throw new BadRequestError(`Invalid args for job "${job.name}": ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, problems);
    }
    return Object.entries(copy).flatMap(([key, value]) => {
      const flag = `--${key.replace(/_/g, '-')}`;
      if (typeof value === 'boolean') return value ? [flag] : [];
      return [flag, Array.isArray(value) ? value.join(',') : String(value)];
    });
  }
}
