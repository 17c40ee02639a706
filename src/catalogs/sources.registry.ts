import { Inject, Injectable, Logger } from '@nestjs/common';
import { ValidateFunction } from 'ajv/dist/2020';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { APP_CONFIG, AppConfig, SecretLookup } from '../common/config/app-config';
import { GoneError, NotFoundError } from '../common/errors/errors';
import {
  bucketText,
  DEFAULT_BUCKET_SECONDS,
  DEFAULT_EVENT_BYTES,
  derivedBucketSeconds,
  formatBytes,
  MAX_PARTITION_BYTES,
  parseBucket,
  partitionBytes,
} from './buckets';
import { readCatalogFile, schemaCompiler, schemaHash } from './json-schema';
import { parseRateLimit, RateLimit } from '../common/rate-limit/rate-limit';
import { COMPATIBILITY_MODES, Compatibility, DEFAULT_COMPATIBILITY } from './schema-compatibility';
import { parseSignature, SourceSignature } from './source-signature';
import { parseCopiedHeaders } from './source-headers';

export interface Source {
  name: string;
  topic: string;
  description?: string;
  keyField?: string;
  /** Request headers (lower-case names) copied into each event's Kafka record headers (ingestion/record-headers.ts). */
  headers?: string[];
  maxBodyBytes: number;
  schema?: Record<string, unknown>;
  validate?: ValidateFunction;
  /** sha256 of the schema's canonical JSON (set with schema): which schema a dead letter failed. */
  schemaHash?: string;
  /** The registry's version of the schema (set with schema once the source is stored in the registry): what each envelope records. */
  schemaVersion?: number;
  /** How a new schema of this source must relate to the current one (schema-compatibility.ts). */
  compatibility: Compatibility;
  /** Set for a signed source: every delivery must carry a valid signature, which replaces the API key. */
  signature?: SourceSignature;
  /** What ingest does with an event that fails the schema: refuse the request (400), or quarantine the event. */
  onInvalid: OnInvalid;
  /** Set for a quarantining source: where its quarantined events go (default `<topic>.dlq`). */
  deadLetterTopic?: string;
  /** The time span of one events partition of this source, in seconds (divides a day): declared, derived from the peak rate, or 1 h. */
  bucketSeconds: number;
  /** bucketSeconds as written in the registry: `1h`, `10m`, `30s`. */
  bucket: string;
  /** Limits on ingest to this source, for every key and signed delivery alike (RateLimiter). */
  rateLimit?: RateLimit;
}

export const ON_INVALID = ['reject', 'quarantine'] as const;
export type OnInvalid = (typeof ON_INVALID)[number];

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const KNOWN_KEYS = new Set([
  'topic',
  'description',
  'keyField',
  'headers',
  'maxBodyBytes',
  'schema',
  'signature',
  'onInvalid',
  'deadLetterTopic',
  'bucket',
  'peakEventsPerSecond',
  'eventBytes',
  'compatibility',
  'rateLimit',
]);

/** A source's name: also a component of its default topic (`ingest.<name>`), so within Kafka's topic alphabet. */
export const SOURCE_NAME = NAME;

/**
 * The sources this process knows: at start-up those of config/sources.yaml, then the registry's as
 * stored in Cassandra, swapped in whole by SourcesService on every change (replace). Lookups read
 * one immutable snapshot: the ingest path's find() and get() are a Map lookup, never a query.
 */
@Injectable()
export class SourcesRegistry {
  private readonly logger = new Logger(SourcesRegistry.name);
  private sources = new Map<string, Source>();
  private archivedSources = new Map<string, Source>();
  private readonly listeners: (() => void)[] = [];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const file = resolve(config.ingest.sourcesFile);
    const text = readCatalogFile(file, 'SOURCES_FILE', 'the sources registry');
    const warn = (message: string) => this.logger.warn(message);
    const production = config.env === 'production';
    for (const source of SourcesRegistry.parse(text, file, config.ingest.maxBodyBytes, config.secret, warn, production)) {
      this.sources.set(source.name, source);
    }
  }

  /**
   * Parses and checks a registry document; throws one message naming the file and the entry to fix.
   * `secret` resolves the `${NAME}` references of signature secrets (none resolve by default); `warn`
   * hears what is allowed but unwise (a declared bucket too large for the declared volume). In
   * `production`, a signing secret that is a published development value or too short stops the API.
   */
  static parse(
    text: string,
    file: string,
    defaultMaxBodyBytes: number,
    secret: SecretLookup = () => undefined,
    warn: (message: string) => void = () => undefined,
    production = false,
  ): Source[] {
    const doc = parseYaml(text) as { sources?: Record<string, Record<string, unknown>> } | null;
    if (!doc || typeof doc.sources !== 'object' || doc.sources === null) {
      throw new Error(`${file}: expected a top-level "sources:" mapping`);
    }
    return SourcesRegistry.parseEntries(doc.sources, file, defaultMaxBodyBytes, secret, warn, production);
  }

  /** parse() of the entries of a registry document (the mapping under `sources:`), by name. */
  static parseEntries(
    entries: Record<string, unknown>,
    file: string,
    defaultMaxBodyBytes: number,
    secret: SecretLookup = () => undefined,
    warn: (message: string) => void = () => undefined,
    production = false,
  ): Source[] {
    const compile = schemaCompiler();
    const topics = new Map<string, string>();
    const claim = (topic: string, name: string, where: string, what: string) => {
      if (!TOPIC.test(topic)) throw new Error(`${where}: ${what} "${topic}" is not a valid Kafka topic name`);
      if (topics.has(topic)) throw new Error(`${where}: ${what} "${topic}" is already used by source "${topics.get(topic)}"`);
      topics.set(topic, name);
    };
    const sources = Object.entries(entries as Record<string, Record<string, unknown> | null>).map(([name, raw]) => {
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
      claim(topic, name, where, 'topic');
      const maxBodyBytes = entry.maxBodyBytes === undefined ? defaultMaxBodyBytes : Number(entry.maxBodyBytes);
      if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new Error(`${where}: maxBodyBytes must be a positive integer`);
      if (entry.keyField !== undefined && typeof entry.keyField !== 'string') throw new Error(`${where}: keyField must be a string`);
      const headers = entry.headers === undefined ? undefined : parseCopiedHeaders(entry.headers, where);
      let validate: ValidateFunction | undefined;
      if (entry.schema !== undefined) {
        try {
          validate = compile(entry.schema as Record<string, unknown>);
        } catch (err) {
          throw new Error(`${where}: schema is not a valid JSON Schema: ${(err as Error).message}`);
        }
      }
      const onInvalid = parseOnInvalid(entry, where);
      const signature = entry.signature === undefined ? undefined : parseSignature(entry.signature, where, secret, production);
      const schema = entry.schema as Record<string, unknown> | undefined;
      const bucketSeconds = parseBucketSettings(entry, where, warn);
      const compatibility = entry.compatibility ?? DEFAULT_COMPATIBILITY;
      if (typeof compatibility !== 'string' || !(COMPATIBILITY_MODES as readonly string[]).includes(compatibility)) {
        throw new Error(`${where}: compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}; got ${JSON.stringify(compatibility)}`);
      }
      const rateLimit = entry.rateLimit === undefined ? undefined : parseRateLimit(entry.rateLimit, `${where}: `);
      return {
        name,
        topic,
        description: entry.description,
        keyField: entry.keyField,
        ...(headers?.length ? { headers } : {}),
        maxBodyBytes,
        schema,
        validate,
        ...(schema ? { schemaHash: schemaHash(schema) } : {}),
        ...(signature ? { signature } : {}),
        onInvalid,
        ...(onInvalid === 'quarantine' ? { deadLetterTopic: (entry.deadLetterTopic as string | undefined) ?? `${topic}.dlq` } : {}),
        bucketSeconds,
        bucket: bucketText(bucketSeconds),
        compatibility: compatibility as Compatibility,
        ...(rateLimit ? { rateLimit } : {}),
      } satisfies Source;
    });
    // Dead-letter topics after every source topic, so that one may not take a topic a later source names.
    for (const source of sources) {
      if (source.deadLetterTopic) claim(source.deadLetterTopic, source.name, `${file}: source "${source.name}"`, 'deadLetterTopic');
    }
    return sources;
  }

  /**
   * Swaps in a new snapshot of the registry, whole: a lookup sees the old one or the new one, never
   * a mix. `archived` are sources that take no new events (410) but whose records stay readable.
   */
  replace(live: Source[], archived: Source[] = []): void {
    const sources = new Map(live.map((s) => [s.name, s] as const));
    const archivedSources = new Map(archived.filter((s) => !sources.has(s.name)).map((s) => [s.name, s] as const));
    this.sources = sources;
    this.archivedSources = archivedSources;
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after every replace(): what must follow the sources (the stream's supervisor) learns of a change at once. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  list(): Source[] {
    return [...this.sources.values()];
  }

  /** The live source of that name: 410 when it was archived, 404 when there is none. */
  get(name: string): Source {
    const source = this.sources.get(name);
    if (!source) {
      if (this.archivedSources.has(name)) {
        throw new GoneError(`Source "${name}" was archived: it takes no new events; its stored records stay readable (GET /api/v1/records/${name})`, [
          { source: name, archived: true },
        ]);
      }
      throw new NotFoundError(`Unknown source "${name}". Configured sources: ${[...this.sources.keys()].join(', ')}`);
    }
    return source;
  }

  /** The source of that name whose stored events may be read: a live one or an archived one; 404 otherwise. */
  readable(name: string): Source {
    return this.archivedSources.get(name) ?? this.get(name);
  }

  /** The archived sources: names that take no new events and cannot be reused. */
  archived(): Source[] {
    return [...this.archivedSources.values()];
  }

  /** The source of that name, or undefined: for callers that must not answer 404 (the API-key guard). */
  find(name: string): Source | undefined {
    return this.sources.get(name);
  }

  /** The sources' own topics. */
  topics(): string[] {
    return this.list().map((s) => s.topic);
  }

  /** The dead-letter topics of the quarantining sources. */
  deadLetterTopics(): string[] {
    return this.list().flatMap((s) => (s.deadLetterTopic ? [s.deadLetterTopic] : []));
  }

  /** Every topic the pipeline carries (and the streaming job reads): the sources' topics, then the dead-letter topics. */
  allTopics(): string[] {
    return [...this.topics(), ...this.deadLetterTopics()];
  }

  /** The bucket size of every source, in seconds: what the streaming job partitions each source's events by. */
  bucketSeconds(): { source: string; seconds: number }[] {
    return this.list().map((s) => ({ source: s.name, seconds: s.bucketSeconds }));
  }

  /** Whose each topic of allTopics() is: a source's own topic and its dead-letter topic both belong to it. */
  topicSources(): { topic: string; source: string }[] {
    return [
      ...this.list().map((s) => ({ topic: s.topic, source: s.name })),
      ...this.list().flatMap((s) => (s.deadLetterTopic ? [{ topic: s.deadLetterTopic, source: s.name }] : [])),
    ];
  }
}

/** onInvalid and deadLetterTopic: quarantining needs a schema to fail, and a dead-letter topic only means something then. */
function parseOnInvalid(entry: Record<string, unknown>, where: string): OnInvalid {
  const onInvalid = entry.onInvalid ?? 'reject';
  if (typeof onInvalid !== 'string' || !(ON_INVALID as readonly string[]).includes(onInvalid)) {
    throw new Error(`${where}: onInvalid must be one of ${ON_INVALID.join(', ')}; got ${JSON.stringify(onInvalid)}`);
  }
  if (onInvalid === 'quarantine' && entry.schema === undefined) {
    throw new Error(`${where}: onInvalid: quarantine needs a schema (only events that fail the schema are quarantined)`);
  }
  if (entry.deadLetterTopic !== undefined) {
    if (typeof entry.deadLetterTopic !== 'string') throw new Error(`${where}: deadLetterTopic must be a string`);
    if (onInvalid !== 'quarantine') throw new Error(`${where}: deadLetterTopic is only used with onInvalid: quarantine`);
  }
  return onInvalid as OnInvalid;
}

/**
 * bucket, peakEventsPerSecond and eventBytes → the source's bucket size in seconds: the declared
 * bucket, else the largest ladder size that keeps a partition within MAX_PARTITION_BYTES at the
 * declared peak, else DEFAULT_BUCKET_SECONDS.
 */
function parseBucketSettings(entry: Record<string, unknown>, where: string, warn: (message: string) => void): number {
  const { bucket, peakEventsPerSecond: peak, eventBytes } = entry;
  if (peak !== undefined && (typeof peak !== 'number' || !Number.isFinite(peak) || peak <= 0)) {
    throw new Error(`${where}: peakEventsPerSecond must be a positive number; got ${JSON.stringify(peak)}`);
  }
  if (eventBytes !== undefined) {
    if (typeof eventBytes !== 'number' || !Number.isInteger(eventBytes) || eventBytes < 1) {
      throw new Error(`${where}: eventBytes must be a positive integer; got ${JSON.stringify(eventBytes)}`);
    }
    if (peak === undefined) throw new Error(`${where}: eventBytes is only used with peakEventsPerSecond`);
  }
  const bytes = eventBytes ?? DEFAULT_EVENT_BYTES;
  if (bucket === undefined) return peak === undefined ? DEFAULT_BUCKET_SECONDS : derivedBucketSeconds(peak, bytes);
  const seconds = typeof bucket === 'string' ? parseBucket(bucket) : undefined;
  if (seconds === undefined) {
    throw new Error(
      `${where}: bucket must be a duration that divides a day evenly, written <n>s, <n>m, <n>h or <n>d, from 1s to 1d (e.g. 10m, 1h); got ${JSON.stringify(bucket)}`,
    );
  }
  if (peak !== undefined && partitionBytes(seconds, peak, bytes) > MAX_PARTITION_BYTES) {
    const size = formatBytes(partitionBytes(seconds, peak, bytes));
    warn(
      `${where}: bucket ${bucket as string} holds about ${size} per partition at peakEventsPerSecond ${peak} ` +
        `(over the ${formatBytes(MAX_PARTITION_BYTES)} a Cassandra partition should stay under): ` +
        `a smaller bucket, ${bucketText(derivedBucketSeconds(peak, bytes))}, would keep it there`,
    );
  }
  return seconds;
}
