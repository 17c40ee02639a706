import { Inject, Injectable } from '@nestjs/common';
import { ValidateFunction } from 'ajv/dist/2020';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { APP_CONFIG, AppConfig, SecretLookup } from '../common/config/app-config';
import { NotFoundError } from '../common/errors/errors';
import { readCatalogFile, schemaCompiler } from './json-schema';
import { parseSignature, SourceSignature } from './source-signature';

export interface Source {
  name: string;
  topic: string;
  description?: string;
  keyField?: string;
  maxBodyBytes: number;
  schema?: Record<string, unknown>;
  validate?: ValidateFunction;
  /** Set for a signed source: every delivery must carry a valid signature, which replaces the API key. */
  signature?: SourceSignature;
}

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const KNOWN_KEYS = new Set(['topic', 'description', 'keyField', 'maxBodyBytes', 'schema', 'signature']);

/** The configured sources (config/sources.yaml), loaded and checked once at start-up. */
@Injectable()
export class SourcesRegistry {
  private readonly sources = new Map<string, Source>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const file = resolve(config.ingest.sourcesFile);
    const text = readCatalogFile(file, 'SOURCES_FILE', 'the sources registry');
    for (const source of SourcesRegistry.parse(text, file, config.ingest.maxBodyBytes, config.secret)) {
      this.sources.set(source.name, source);
    }
  }

  /**
   * Parses and checks a registry document; throws one message naming the file and the entry to fix.
   * `secret` resolves the `${NAME}` references of signature secrets (none resolve by default).
   */
  static parse(text: string, file: string, defaultMaxBodyBytes: number, secret: SecretLookup = () => undefined): Source[] {
    const doc = parseYaml(text) as { sources?: Record<string, Record<string, unknown>> } | null;
    if (!doc || typeof doc.sources !== 'object' || doc.sources === null) {
      throw new Error(`${file}: expected a top-level "sources:" mapping`);
    }
    const compile = schemaCompiler();
    const topics = new Map<string, string>();
    return Object.entries(doc.sources).map(([name, raw]) => {
      const where = `${file}: source "${name}"`;
      if (!NAME.test(name)) throw new Error(`${where}: name must match ${NAME}`);
      if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
        throw new Error(`${where}: expected a mapping of settings (or nothing, for all defaults)`);
      }
      const entry = raw ?? {};
      const unknown = Object.keys(entry).filter((k) => !KNOWN_KEYS.has(k));
      if (unknown.length) throw new Error(`${where}: unknown setting(s) ${unknown.join(', ')}; allowed: ${[...KNOWN_KEYS].join(', ')}`);
      if (entry.topic !== undefined && typeof entry.topic !== 'string') throw new Error(`${where}: topic must be a string`);
      if (entry.description !== undefined && typeof entry.description !== 'string') throw new Error(`${where}: description must be a string`);
      const topic = entry.topic ?? `ingest.${name}`;
      if (!TOPIC.test(topic)) throw new Error(`${where}: topic "${topic}" is not a valid Kafka topic name`);
      if (topics.has(topic)) throw new Error(`${where}: topic "${topic}" is already used by source "${topics.get(topic)}"`);
      topics.set(topic, name);
      const maxBodyBytes = entry.maxBodyBytes === undefined ? defaultMaxBodyBytes : Number(entry.maxBodyBytes);
      if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new Error(`${where}: maxBodyBytes must be a positive integer`);
      if (entry.keyField !== undefined && typeof entry.keyField !== 'string') throw new Error(`${where}: keyField must be a string`);
      let validate: ValidateFunction | undefined;
      if (entry.schema !== undefined) {
        try {
          validate = compile(entry.schema as Record<string, unknown>);
        } catch (err) {
          throw new Error(`${where}: schema is not a valid JSON Schema: ${(err as Error).message}`);
        }
      }
      const signature = entry.signature === undefined ? undefined : parseSignature(entry.signature, where, secret);
      return {
        name,
        topic,
        description: entry.description,
        keyField: entry.keyField,
        maxBodyBytes,
        schema: entry.schema as Record<string, unknown> | undefined,
        validate,
        ...(signature ? { signature } : {}),
      };
    });
  }

  list(): Source[] {
    return [...this.sources.values()];
  }

  get(name: string): Source {
    const source = this.sources.get(name);
    if (!source) {
      throw new NotFoundError(`Unknown source "${name}". Configured sources: ${[...this.sources.keys()].join(', ')}`);
    }
    return source;
  }

  /** The source of that name, or undefined: for callers that must not answer 404 (the API-key guard). */
  find(name: string): Source | undefined {
    return this.sources.get(name);
  }

  topics(): string[] {
    return this.list().map((s) => s.topic);
  }
}
