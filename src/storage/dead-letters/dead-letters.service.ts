import { Inject, Injectable, Logger } from '@nestjs/common';
import { DeadLetter, DeadLettersRepository } from '../../cassandra/dead-letters.repository';
import { FieldError, fieldErrors } from '../../catalogs/json-schema';
import { Source, SourcesRegistry } from '../../catalogs/sources.registry';
import { mapLimited } from '../../common/async/map-limited';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { BadRequestError, NotFoundError } from '../../common/errors/errors';
import { EventEnvelope, partitionKey } from '../../common/envelope/envelope';
import { KafkaProducer, OutgoingMessage } from '../../kafka/kafka.producer';
import { MetricsService } from '../../metrics/metrics.service';
import { parseInstant } from '../../common/time/time-range';
import { pageTokenKey } from '../../common/paging/page-token';
import { decodeDeadLettersToken, encodeDeadLettersToken } from './dead-letters-token';
import { DeadLetterDto, DeadLettersPageDto, DeadLettersQueryDto, ReplayRequestDto, ReplayResponseDto, StillFailingDto } from './dto/dead-letters.dto';

/** The envelope of a replayed event: the one it was quarantined with, and when it was replayed. */
export interface ReplayedEnvelope extends EventEnvelope {
  replayedAt: string;
}

/** Every instant Cassandra and JavaScript share: the window of a listing without from or to. */
const FIRST = new Date(0);
const LAST = new Date(8_640_000_000_000_000);
/** Rows read per page while a replay gathers its selection. */
const SCAN_PAGE = 500;
/** A replay publishes in requests of at most this many events and bytes, each below Kafka's default 1 MiB batch. */
const PUBLISH_EVENTS = 500;
const PUBLISH_BYTES = 900_000;
/** Lightweight transactions in flight at once while marking a published chunk. */
const MARK_CONCURRENCY = 8;

interface Replayable {
  deadLetter: DeadLetter;
  eventId: string;
  message: OutgoingMessage;
}

/**
 * Dead letters: the events a quarantining source's ingest set aside, and the Kafka records the
 * streaming job could not read, as the job stored them in dead_letters; and their replay into the
 * source's topic once the schema (or the sender) is fixed.
 */
@Injectable()
export class DeadLettersService {
  private readonly logger = new Logger(DeadLettersService.name);
  private readonly tokenKey: Buffer;

  constructor(
    private readonly deadLetters: DeadLettersRepository,
    private readonly sources: SourcesRegistry,
    private readonly kafka: KafkaProducer,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.tokenKey = pageTokenKey(config.records.pageTokenSecret());
  }

  /** A source's dead letters, newest first; the token carries the query and the driver's paging state. */
  async list(sourceName: string, query: DeadLettersQueryDto): Promise<DeadLettersPageDto> {
    this.sources.get(sourceName);
    let range = queryRange(query.from, query.to);
    let pageState: string | undefined;
    if (query.pageToken !== undefined) {
      const cursor = decodeDeadLettersToken(query.pageToken, this.tokenKey);
      const sameQuery =
        cursor.source === sourceName &&
        (query.from === undefined || range.from.getTime() === cursor.from) &&
        (query.to === undefined || range.to.getTime() === cursor.to);
      if (!sameQuery) throw new BadRequestError('pageToken belongs to a different query: keep source, from and to unchanged while paging');
      range = { from: new Date(cursor.from), to: new Date(cursor.to) };
      pageState = cursor.pageState;
    }
    const page = await this.deadLetters.page(sourceName, range.from, range.to, query.limit, pageState);
    return {
      items: page.deadLetters.map(toDto),
      ...(page.pageState
        ? {
            nextPageToken: encodeDeadLettersToken(
              { source: sourceName, from: range.from.getTime(), to: range.to.getTime(), pageState: page.pageState },
              this.tokenKey,
            ),
          }
        : {}),
    };
  }

  /**
   * Publishes the selected dead letters that now pass the source's current schema to the source's
   * topic, oldest first, each under its own event id and receivedAt: the stream upserts events by
   * those, so an event published twice (a retry after a failure between publish and mark, or two
   * replays at once) is stored once. Each is then marked replayed with a lightweight transaction,
   * so it is counted replayed by one request only and never selected again. Kafka or Cassandra
   * failing halfway answers 503; repeating the request finishes the job without duplicates.
   */
  async replay(sourceName: string, body: ReplayRequestDto): Promise<ReplayResponseDto> {
    const source = this.sources.get(sourceName);
    const selected = await this.select(source, body);
    let alreadyReplayed = selected.filter((d) => d.replayedAt !== undefined).length;
    const pending = selected.filter((d) => d.replayedAt === undefined).reverse();
    const max = this.config.ingest.maxEvents;
    if (pending.length > max) {
      throw new BadRequestError(
        `The selection holds more than ${max} dead letters not replayed yet: narrow it with from and to (at most INGEST_MAX_EVENTS per replay)`,
        [{ limit: max, selected: pending.length }],
      );
    }

    const replayedAt = new Date();
    const stillFailing: StillFailingDto[] = [];
    const replayable: Replayable[] = [];
    for (const deadLetter of pending) {
      const checked = replayableOrWhy(source, deadLetter, replayedAt);
      if ('reasons' in checked) stillFailing.push({ id: deadLetter.id, reasons: checked.reasons });
      else replayable.push(checked);
    }

    const eventIds: string[] = [];
    for (const chunk of chunks(replayable)) {
      await this.kafka.publish(
        source.topic,
        chunk.map((r) => r.message),
      );
      const marked = await mapLimited(chunk, MARK_CONCURRENCY, (r) => this.deadLetters.markReplayed(r.deadLetter, replayedAt, r.eventId));
      const mine = chunk.filter((_, i) => marked[i]);
      eventIds.push(...mine.map((r) => r.eventId));
      alreadyReplayed += chunk.length - mine.length;
      this.metrics.replayed(source.name, mine.length);
    }
    if (eventIds.length > 0) this.logger.log(`replayed ${eventIds.length} dead letter(s) of source ${source.name} into ${source.topic}`);
    return { replayed: eventIds.length, eventIds, alreadyReplayed, stillFailing };
  }

  /** The dead letters a replay request names, newest first: by id (all must exist), in a range of failedAt, or all. */
  private async select(source: Source, body: ReplayRequestDto): Promise<DeadLetter[]> {
    const ranged = body.from !== undefined || body.to !== undefined;
    const modes = [body.ids !== undefined, ranged, body.all === true].filter(Boolean).length;
    if (modes !== 1 || body.all === false) {
      throw new BadRequestError('Say which dead letters to replay, in one way: {"ids": [...]}, {"from": ..., "to": ...}, or {"all": true}', [
        { field: 'ids', message: 'these dead letters' },
        { field: 'from, to', message: 'the dead letters that failed in [from, to)' },
        { field: 'all', message: 'true: every dead letter of the source' },
      ]);
    }
    if (body.ids !== undefined) {
      const found = await this.deadLetters.byIds(source.name, body.ids);
      const known = new Set(found.map((d) => d.id));
      const missing = body.ids.filter((id) => !known.has(id));
      if (missing.length > 0) {
        const named = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
        throw new NotFoundError(
          `No dead letter of source "${source.name}" has the id(s) ${named}; nothing was replayed`,
          missing.map((id) => ({ id })),
        );
      }
      return found;
    }
    const range = ranged ? queryRange(body.from, body.to) : { from: FIRST, to: LAST };
    const max = this.config.ingest.maxEvents;
    const selected: DeadLetter[] = [];
    let pending = 0;
    let pageState: string | undefined;
    do {
      const page = await this.deadLetters.page(source.name, range.from, range.to, SCAN_PAGE, pageState);
      selected.push(...page.deadLetters);
      pending += page.deadLetters.filter((d) => d.replayedAt === undefined).length;
      pageState = page.pageState;
    } while (pageState && pending <= max); // one past the limit is enough to refuse
    return selected;
  }
}

/** ?from&to of a listing or a replay: either may be absent (then unbounded on that side). */
function queryRange(fromText?: string, toText?: string): { from: Date; to: Date } {
  const from = fromText === undefined ? FIRST : parseInstant('from', fromText);
  const to = toText === undefined ? LAST : parseInstant('to', toText);
  if (from.getTime() >= to.getTime()) throw new BadRequestError('from must be earlier than to');
  return { from, to };
}

/** The message a dead letter is replayed as, or why it cannot be: it holds no event, or the event still fails the schema. */
function replayableOrWhy(source: Source, deadLetter: DeadLetter, replayedAt: Date): Replayable | { reasons: FieldError[] } {
  const payload = parsedPayload(deadLetter.payload);
  if (!deadLetter.eventId || !deadLetter.receivedAt || payload === undefined) {
    return {
      reasons: [
        {
          field: '/',
          message: `holds no event to replay: the stream could not read this Kafka record (${deadLetter.reason}); fix and resend it at its origin`,
        },
      ],
    };
  }
  if (source.validate && !source.validate(payload)) return { reasons: fieldErrors(source.validate.errors) };
  const key = partitionKey(payload, source.keyField);
  const envelope: ReplayedEnvelope = {
    eventId: deadLetter.eventId,
    source: source.name,
    receivedAt: deadLetter.receivedAt.toISOString(),
    ...(key ? { key } : {}),
    replayedAt: replayedAt.toISOString(),
    payload,
  };
  return { deadLetter, eventId: deadLetter.eventId, message: { key: key ?? deadLetter.eventId, value: JSON.stringify(envelope) } };
}

function parsedPayload(text?: string): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Consecutive runs of at most PUBLISH_EVENTS events and about PUBLISH_BYTES bytes (one event is never split). */
function chunks(items: Replayable[]): Replayable[][] {
  const out: Replayable[][] = [];
  let current: Replayable[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = item.message.key.length + item.message.value.length;
    if (current.length > 0 && (current.length >= PUBLISH_EVENTS || bytes + size > PUBLISH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function toDto(d: DeadLetter): DeadLetterDto {
  return {
    id: d.id,
    source: d.source,
    failedAt: d.failedAt.toISOString(),
    reason: d.reason,
    ...(d.reasons === undefined ? {} : { reasons: parsedReasons(d.reasons) }),
    ...(d.eventId === undefined ? {} : { eventId: d.eventId }),
    ...(d.receivedAt === undefined ? {} : { receivedAt: d.receivedAt.toISOString() }),
    ...(d.payload === undefined ? {} : { payload: parsedJson(d.payload) }),
    ...(d.raw === undefined ? {} : { raw: d.raw }),
    ...(d.schemaHash === undefined ? {} : { schemaHash: d.schemaHash }),
    ...(d.topic === undefined ? {} : { topic: d.topic }),
    ...(d.partition === undefined ? {} : { partition: d.partition }),
    ...(d.offset === undefined ? {} : { offset: d.offset }),
    ...(d.replayedAt === undefined ? {} : { replayedAt: d.replayedAt.toISOString() }),
    ...(d.replayedEventId === undefined ? {} : { replayedEventId: d.replayedEventId }),
  };
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parsedReasons(text: string): FieldError[] {
  const value = parsedJson(text);
  return Array.isArray(value) ? (value as FieldError[]) : [{ field: '/', message: String(text) }];
}
