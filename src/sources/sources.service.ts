import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { EventsRepository, StoredEvent } from '../cassandra/events.repository';
import { SourcesRepository, StoredSchema, StoredSource } from '../cassandra/sources.repository';
import { canonicalJson, fieldErrors, readCatalogFile, schemaCompiler, schemaHash } from '../catalogs/json-schema';
import { Compatibility, DEFAULT_COMPATIBILITY, incompatibilities, unsupportedKeywords } from '../catalogs/schema-compatibility';
import { Source, SOURCE_NAME, SourcesRegistry } from '../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError, ConflictError, GoneError, NotFoundError, PreconditionFailedError } from '../common/errors/errors';
import { ifMatchAllows } from '../common/http/if-match';
import { KafkaProducer } from '../kafka/kafka.producer';
import { CreateSourceDto, SchemaCheckDto, SchemaVersionDto, SchemaVersionsDto, SourceResourceDto, SourceSettingsDto, UpdateSourceDto } from './dto/sources.dto';

/** Most of a source's recent events a schema check reads. */
export const SCHEMA_CHECK_EVENTS = 1000;
/** Refused events a schema check shows. */
const SCHEMA_CHECK_REASONS = 5;
/** Days back a schema check looks for stored events. */
const SCHEMA_CHECK_DAYS = 7;
/** After this long, a seed claim whose holder never finished is taken over (the holder crashed mid-seed). */
const SEED_STALE_MS = 60_000;
const DAY_MS = 86_400_000;

/** What changed, as the audit trail records it. */
export type SourceAction = 'source.create' | 'source.update' | 'source.archive' | 'schema.create';

/** A source as the API answers it, and its ETag. */
export interface SourceState {
  source: SourceResourceDto;
  etag: string;
}

/**
 * Sources as resources stored in Cassandra (SourcesRepository), and this process's view of them
 * (SourcesRegistry): the rules of a change (names, topics, secrets, schema compatibility, ETags),
 * the seed of an empty registry from config/sources.yaml, and the sync that swaps every process's
 * snapshot within SOURCES_SYNC_SECONDS of a change. Ingest never waits on any of this: it reads the
 * last snapshot, so it goes on while Cassandra is down; only changes need Cassandra (503).
 */
@Injectable()
export class SourcesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SourcesService.name);
  private readonly holder = randomUUID();
  /** Each source as last built, by name: a source whose version did not move is not parsed (nor its schema compiled) again. */
  private built = new Map<string, { version: number; source: Source }>();
  /** name:version of every row of the last applied snapshot: nothing is swapped while it stays the same. */
  private applied = '';
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private readonly failing = new Set<string>();

  constructor(
    private readonly repository: SourcesRepository,
    private readonly registry: SourcesRegistry,
    private readonly kafka: KafkaProducer,
    private readonly events: EventsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Seeds (in the background: Cassandra being down must not stop the API from starting), then syncs every SOURCES_SYNC_SECONDS. */
  onApplicationBootstrap(): void {
    void this.seedThenSync();
    this.timer = setInterval(() => void this.syncQuietly(), this.config.sources.syncSeconds * 1000);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async seedThenSync(): Promise<void> {
    try {
      await this.seed();
    } catch (err) {
      this.logger.warn(`sources registry not seeded yet (${(err as Error).message}); the next start tries again`);
    }
    await this.syncQuietly();
  }

  /**
   * Seeds an empty registry with config/sources.yaml, once: the replica that wins the claim (a
   * lightweight transaction) writes every source of its file, each IF NOT EXISTS. A registry that
   * holds anything is never seeded again: from then on the registry wins over the file.
   */
  async seed(): Promise<boolean> {
    if ((await this.repository.list()).length > 0) return false;
    if (!(await this.repository.claimSeed(this.holder, SEED_STALE_MS))) return false;
    const file = resolve(this.config.ingest.sourcesFile);
    const doc = parseYaml(readCatalogFile(file, 'SOURCES_FILE', 'the sources registry')) as { sources: Record<string, Record<string, unknown> | null> };
    const now = new Date();
    for (const [name, entry] of Object.entries(doc.sources)) {
      const definition = entry ?? {};
      const schema = definition.schema as Record<string, unknown> | undefined;
      const row: StoredSource = { name, version: 1, definition, ...(schema ? { schemaVersion: 1 } : {}), createdAt: now, updatedAt: now };
      await this.repository.create(row, schema ? schemaRow(name, 1, schema, compatibilityOf(definition), now) : undefined);
    }
    await this.repository.seedDone(this.holder);
    this.logger.log(`sources registry seeded from ${file}`);
    return true;
  }

  /** One sync, logged instead of thrown: a failed read keeps the last snapshot (ingest goes on as it was). */
  async syncQuietly(): Promise<void> {
    try {
      await this.sync();
    } catch (err) {
      this.logger.warn(`sources registry not read (${(err as Error).message}); keeping the last snapshot`);
    }
  }

  /**
   * Reads the registry and, when anything changed, swaps this process's snapshot. Concurrent calls
   * share one read. An empty registry (not seeded yet) leaves the file's sources in place. A source
   * that does not build here (a signing secret's variable unset in this process) keeps its last
   * build, or stays out, and says why once.
   */
  sync(): Promise<void> {
    this.syncing ??= this.readAndApply().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async readAndApply(): Promise<void> {
    const rows = await this.repository.list();
    if (rows.length === 0) return;
    const applied = rows
      .map((r) => `${r.name}:${r.version}`)
      .sort()
      .join(',');
    if (applied === this.applied) return;
    const built = new Map<string, { version: number; source: Source }>();
    const live: Source[] = [];
    const archived: Source[] = [];
    for (const row of rows) {
      let entry = this.built.get(row.name);
      if (entry?.version !== row.version) {
        try {
          entry = { version: row.version, source: this.build(row) };
          this.failing.delete(row.name);
        } catch (err) {
          if (!this.failing.has(row.name)) this.logger.error(`source "${row.name}" (version ${row.version}) not applied here: ${(err as Error).message}`);
          this.failing.add(row.name);
        }
      }
      if (!entry) continue;
      built.set(row.name, entry);
      (row.archivedAt ? archived : live).push(entry.source);
    }
    const before = new Set(this.registry.allTopics());
    this.built = built;
    this.applied = applied;
    this.registry.replace(live, archived);
    const added = this.registry.allTopics().filter((t) => !before.has(t));
    if (added.length) {
      this.kafka.ensureTopics(added).then(
        () => this.logger.log(`topics ready: ${added.join(', ')}`),
        (err: Error) => this.logger.warn(`topics ${added.join(', ')} not created yet (${err.message}); they are checked again on first use`),
      );
    }
  }

  /** A stored source as the ingest path uses it: parsed and checked as a sources.yaml entry, its secrets resolved here. */
  private build(row: StoredSource): Source {
    const [source] = SourcesRegistry.parseEntries(
      { [row.name]: row.definition },
      'the sources registry',
      this.config.ingest.maxBodyBytes,
      this.config.secret,
      (message) => this.logger.warn(message),
      this.config.env === 'production',
    );
    return source.schema && row.schemaVersion !== undefined ? { ...source, schemaVersion: row.schemaVersion } : source;
  }

  /** GET /sources?format=yaml: the live registry as a sources.yaml document, which seeds (or documents) another registry as it is. */
  async exportYaml(): Promise<string> {
    const rows = (await this.repository.list()).filter((r) => !r.archivedAt).sort((a, b) => a.name.localeCompare(b.name));
    const sources = Object.fromEntries(rows.map((r) => [r.name, r.definition]));
    return stringifyYaml({ sources }, { lineWidth: 0 });
  }

  async get(name: string): Promise<SourceState> {
    return state(await this.stored(name));
  }

  async create(input: CreateSourceDto): Promise<SourceState> {
    // A taken name is answered first: whatever else the body holds, the caller needs another name.
    checkName(input.name);
    const rows = await this.repository.list();
    const existing = rows.find((r) => r.name === input.name);
    if (existing) throw nameTaken(existing);
    const definition = definitionOf(input);
    this.check(input.name, definition);
    this.checkTopics(input.name, definition, rows);
    const now = new Date();
    const schema = definition.schema as Record<string, unknown> | undefined;
    const row: StoredSource = { name: input.name, version: 1, definition, ...(schema ? { schemaVersion: 1 } : {}), createdAt: now, updatedAt: now };
    const version = schema ? schemaRow(input.name, 1, schema, compatibilityOf(definition), now) : undefined;
    if (!(await this.repository.create(row, version))) throw nameTaken((await this.repository.get(input.name)) ?? row);
    this.audit('source.create', input.name, { version: 1 });
    if (version) this.audit('schema.create', input.name, { schemaVersion: 1 });
    await this.syncQuietly();
    return state(row);
  }

  /**
   * Replaces a source's settings. With If-Match, only over that version (412 otherwise); without,
   * over whatever is current. A changed schema must be compatible with the current one under the
   * source's compatibility mode (409 naming each incompatible path), and becomes the next version.
   */
  async update(name: string, input: UpdateSourceDto, ifMatch?: string): Promise<SourceState> {
    if (input.name !== undefined && input.name !== name) {
      throw new BadRequestError(`name "${input.name}" is not the source in the path ("${name}"): a source cannot be renamed`, [
        { field: 'name', message: 'must be the name in the path' },
      ]);
    }
    const current = await this.live(name);
    checkIfMatch(current, ifMatch);
    const definition = definitionOf(input);
    this.check(name, definition);
    const topic = (definition.topic as string | undefined) ?? `ingest.${name}`;
    const currentTopic = (current.definition.topic as string | undefined) ?? `ingest.${name}`;
    if (topic !== currentTopic) {
      throw new BadRequestError(`topic cannot change (it is "${currentTopic}"): events already published stay there; create a new source instead`, [
        { field: 'topic', message: 'cannot change once the source exists' },
      ]);
    }
    this.checkTopics(
      name,
      definition,
      (await this.repository.list()).filter((r) => r.name !== name),
    );
    const before = current.definition.schema as Record<string, unknown> | undefined;
    const after = definition.schema as Record<string, unknown> | undefined;
    const schemaChanged = canonicalJson(before ?? null) !== canonicalJson(after ?? null);
    const mode = compatibilityOf(definition);
    if (schemaChanged) {
      const problems = incompatibilities(before ?? true, after ?? true, mode);
      if (problems.length) {
        throw new ConflictError(
          `the new schema of source "${name}" is not ${mode}-compatible with version ${current.schemaVersion}: ${problems[0].field} ${problems[0].message}` +
            (problems.length > 1 ? ` (${problems.length - 1} more in details)` : ''),
          problems,
        );
      }
    }
    const now = new Date();
    const schemaVersion = schemaChanged && after ? (current.schemaVersion ?? 0) + 1 : current.schemaVersion;
    const row: StoredSource = {
      ...current,
      version: current.version + 1,
      definition,
      ...(schemaVersion === undefined ? {} : { schemaVersion }),
      updatedAt: now,
    };
    const version = schemaChanged && after ? schemaRow(name, schemaVersion!, after, mode, now) : undefined;
    if (!(await this.repository.update(row, current.version, version))) throw changedMeanwhile(name);
    this.audit('source.update', name, { version: row.version });
    if (version) this.audit('schema.create', name, { schemaVersion });
    await this.syncQuietly();
    return state(row);
  }

  /** Archives a source: ingest answers 410 within SOURCES_SYNC_SECONDS everywhere, its records stay readable, the name stays taken. */
  async archive(name: string, ifMatch?: string): Promise<SourceState> {
    const current = await this.live(name);
    checkIfMatch(current, ifMatch);
    const now = new Date();
    const row: StoredSource = { ...current, version: current.version + 1, archivedAt: now, updatedAt: now };
    if (!(await this.repository.update(row, current.version))) throw changedMeanwhile(name);
    this.audit('source.archive', name, { version: row.version });
    await this.syncQuietly();
    return state(row);
  }

  async schemas(name: string): Promise<SchemaVersionsDto> {
    await this.stored(name);
    return { versions: (await this.repository.schemaVersions(name)).map(schemaView) };
  }

  async schema(name: string, version: number): Promise<SchemaVersionDto> {
    await this.stored(name);
    // Versions are Cassandra ints: a larger number names no version.
    const found = version >= 1 && version <= MAX_VERSION ? await this.repository.schemaVersion(name, version) : undefined;
    if (!found) throw new NotFoundError(`Source "${name}" has no schema version ${version}`);
    return schemaView(found);
  }

  /**
   * Would `candidate` be taken as the source's next schema, and what would it have done to the
   * source's most recent stored events (at most SCHEMA_CHECK_EVENTS, newest first, over the last
   * SCHEMA_CHECK_DAYS days)? Changes nothing.
   */
  async schemaCheck(name: string, candidate: Record<string, unknown>): Promise<SchemaCheckDto> {
    const current = await this.stored(name);
    const validate = compileChecked(candidate, 'schema');
    const mode = compatibilityOf(current.definition);
    const previous = (current.definition.schema as Record<string, unknown> | undefined) ?? true;
    const problems = incompatibilities(previous, candidate, mode);
    const recent = await this.recentEvents(name, SCHEMA_CHECK_EVENTS);
    let refused = 0;
    const reasons: SchemaCheckDto['reasons'] = [];
    for (const event of recent) {
      let payload: unknown;
      try {
        payload = JSON.parse(event.payload.toString('utf8'));
      } catch {
        payload = event.payload.toString('utf8');
      }
      if (validate(payload)) continue;
      refused++;
      if (reasons.length < SCHEMA_CHECK_REASONS) {
        const [first] = fieldErrors(validate.errors);
        reasons.push({
          eventId: event.eventId,
          receivedAt: event.receivedAt.toISOString(),
          field: first?.field ?? '/',
          message: first?.message ?? 'is invalid',
        });
      }
    }
    return { compatible: problems.length === 0, compatibility: mode, incompatibilities: problems, checked: recent.length, refused, reasons };
  }

  /** The newest stored events of a source, newest bucket first, through the events repository (what GET /records reads). */
  private async recentEvents(source: string, limit: number): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    const now = Date.now();
    const from = new Date(now - SCHEMA_CHECK_DAYS * DAY_MS);
    const to = new Date(now + DAY_MS);
    for (let d = 0; d < SCHEMA_CHECK_DAYS && out.length < limit; d++) {
      const day = new Date(now - d * DAY_MS).toISOString().slice(0, 10);
      for (const bucket of await this.events.bucketsOf(source, day, to)) {
        const page = await this.events.eventsPage(source, bucket.start, from, to, limit - out.length);
        out.push(...page.events);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  private async stored(name: string): Promise<StoredSource> {
    const row = await this.repository.get(name);
    if (!row) throw new NotFoundError(`Unknown source "${name}"`);
    return row;
  }

  /** The stored source, unless archived: an archived source takes no change (410). */
  private async live(name: string): Promise<StoredSource> {
    const row = await this.stored(name);
    if (row.archivedAt)
      throw new GoneError(`Source "${name}" was archived on ${row.archivedAt.toISOString()}: it takes no change`, [{ source: name, archived: true }]);
    return row;
  }

  /**
   * The settings as the registry's parser checks a sources.yaml entry, plus the schema within the
   * subset the compatibility checker reasons about; a signing secret's variable must be set here
   * (and, in production, not a development value). 400 naming the field.
   */
  private check(name: string, definition: Record<string, unknown>): void {
    checkName(name);
    if (definition.schema !== undefined) compileChecked(definition.schema as Record<string, unknown>, 'schema');
    try {
      this.build({ name, version: 0, definition, createdAt: new Date(0), updatedAt: new Date(0) });
    } catch (err) {
      const message = (err as Error).message.replace(/^the sources registry: source "[^"]*": /, '');
      throw new BadRequestError(message, [{ field: fieldOf(message), message }]);
    }
  }

  /** A topic (the source's or its dead-letter topic) may not be one another source, live or archived, uses. */
  private checkTopics(name: string, definition: Record<string, unknown>, others: StoredSource[]): void {
    const taken = new Map<string, string>();
    for (const other of others) for (const topic of topicsOf(other.name, other.definition)) taken.set(topic, other.name);
    for (const topic of topicsOf(name, definition)) {
      const owner = taken.get(topic);
      if (owner !== undefined)
        throw new ConflictError(`topic "${topic}" is already used by source "${owner}"`, [{ field: 'topic', message: `used by source "${owner}"` }]);
    }
  }

  /**
   * The one place a change of the registry is recorded for the audit trail: the actor and the
   * request are added by the access module's AuditService once it is wired here.
   */
  private audit(action: SourceAction, target: string, changes: Record<string, unknown>): void {
    this.logger.log(`${action} ${target} ${JSON.stringify(changes)}`);
  }
}

/** The largest schema version a source can have (versions are stored as 32-bit ints). */
const MAX_VERSION = 2 ** 31 - 1;

function checkName(name: string): void {
  if (!SOURCE_NAME.test(name))
    throw new BadRequestError(`name must match ${SOURCE_NAME.source}`, [{ field: 'name', message: `must match ${SOURCE_NAME.source}` }]);
}

/** The settings of a request body as a sources.yaml entry: only what was given. */
function definitionOf(input: SourceSettingsDto & { name?: string }): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([k, v]) => k !== 'name' && v !== undefined));
}

function compatibilityOf(definition: Record<string, unknown>): Compatibility {
  return (definition.compatibility as Compatibility | undefined) ?? DEFAULT_COMPATIBILITY;
}

function topicsOf(name: string, definition: Record<string, unknown>): string[] {
  const topic = (definition.topic as string | undefined) ?? `ingest.${name}`;
  if (definition.onInvalid !== 'quarantine') return [topic];
  return [topic, (definition.deadLetterTopic as string | undefined) ?? `${topic}.dlq`];
}

/** The schema checked for the supported subset, then compiled: 400 naming each offending path. */
function compileChecked(schema: Record<string, unknown>, field: string) {
  const unsupported = unsupportedKeywords(schema);
  if (unsupported.length) {
    throw new BadRequestError(
      `${field} is outside the JSON Schema subset the registry supports: ${field}${unsupported[0].field} ${unsupported[0].message}`,
      unsupported.map((e) => ({ field: `${field}${e.field}`, message: e.message })),
    );
  }
  try {
    return schemaCompiler()(schema);
  } catch (err) {
    throw new BadRequestError(`${field} is not a valid JSON Schema: ${(err as Error).message}`, [{ field, message: (err as Error).message }]);
  }
}

/** The setting a parser message is about: the first one it names. */
function fieldOf(message: string): string {
  const match = /^((?:signature|rateLimit)(?:\.\w+)?|[a-zA-Z]+)\b/.exec(message);
  return match ? match[1] : 'body';
}

function schemaRow(source: string, version: number, schema: Record<string, unknown>, compatibility: Compatibility, at: Date): StoredSchema {
  return { source, version, schema, schemaHash: schemaHash(schema), compatibility, createdAt: at };
}

/** The ETag of a source's state: its version, quoted (a strong validator: every change bumps it). */
export const etagOf = (version: number): string => `"${version}"`;

function checkIfMatch(current: StoredSource, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (ifMatchAllows(ifMatch, etagOf(current.version))) return;
  throw new PreconditionFailedError(
    `If-Match ${ifMatch} does not match the current state of source "${current.name}" (ETag ${etagOf(current.version)}): read it again and reapply the change`,
    [{ field: 'If-Match', message: `expected ${etagOf(current.version)}` }],
  );
}

const changedMeanwhile = (name: string) =>
  new PreconditionFailedError(`source "${name}" changed while this change was being made: read it again and reapply the change`, [
    { field: 'If-Match', message: 'the source changed meanwhile' },
  ]);

function nameTaken(existing: StoredSource): ConflictError {
  const archived = existing.archivedAt ? ' (archived: the name of an archived source is not reused, so that its stored records keep one meaning)' : '';
  return new ConflictError(`source "${existing.name}" already exists${archived}`, [
    { field: 'name', message: `"${existing.name}" is taken${archived ? ' by an archived source' : ''}` },
  ]);
}

function state(row: StoredSource): SourceState {
  const definition = row.definition as Partial<SourceResourceDto>;
  const source: SourceResourceDto = {
    name: row.name,
    ...definition,
    topic: definition.topic ?? `ingest.${row.name}`,
    compatibility: compatibilityOf(row.definition),
    version: row.version,
    ...(definition.schema && row.schemaVersion !== undefined ? { schemaVersion: row.schemaVersion } : {}),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    ...(row.archivedAt ? { archivedAt: row.archivedAt.toISOString() } : {}),
  };
  return { source, etag: etagOf(row.version) };
}

function schemaView(s: StoredSchema): SchemaVersionDto {
  return {
    source: s.source,
    version: s.version,
    schema: s.schema,
    schemaHash: s.schemaHash,
    compatibility: s.compatibility,
    createdAt: s.createdAt.toISOString(),
  };
}
