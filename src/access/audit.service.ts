import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditEvent, AuditEventsRepository } from '../cassandra/audit-events.repository';
import type { Principal } from '../common/auth/credentials';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError } from '../common/errors/errors';
import { uuidV7 } from '../common/ids/uuid-v7';
import { openPageToken, pageTokenKey, sealPageToken } from '../common/paging/page-token';
import { dayOf, daysNewestFirst, parseInstant } from '../common/time/time-range';
import { AuditEventDto, AuditPageDto, AuditQueryDto } from './dto/audit.dto';

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_MS = 7 * DAY_MS;
/** Reads one page of GET /audit may make: with filters that match little, a page comes back short rather than late. */
const MAX_READS_PER_PAGE = 20;
/** The most of a request's body an event keeps, as JSON text. */
const MAX_CHANGES_CHARS = 8192;
const SECRET_FIELD = /secret|password|token|^key$|apikey|api_key|credential/i;

/** One entry of the audit trail, as a caller of record() gives it. */
export interface AuditEntry {
  /** Who: the principal the access guard found; undefined only for a request no key authenticated. */
  principal?: Principal;
  /** `<resource>.<verb>`: `source.create`, `schema.add`, ... */
  action: string;
  /** What the action was on: an id, a source, a DAG id. */
  target?: string;
  requestId?: string;
  /** The status the request was answered with. */
  outcome: number;
  /** What the request asked to change: its body, or a before/after of the changed fields. Secrets are left out here. */
  changes?: unknown;
}

interface Cursor {
  from: number;
  to: number;
  actor: string | null;
  action: string | null;
  day: string;
  pageState?: string;
}

/**
 * The audit trail: every change of state made through the API, and every refusal of one after the
 * caller was authenticated, in Cassandra for AUDIT_RETENTION_DAYS. Recording never fails the
 * request it describes: a write that fails is logged at warn and the request goes on.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);
  private readonly ttlSeconds: number;
  private readonly retentionDays: number;
  private readonly tokenKey: Buffer;
  private lastAt = 0;

  constructor(
    private readonly repository: AuditEventsRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.retentionDays = config.access.auditRetentionDays;
    this.ttlSeconds = this.retentionDays * 86_400;
    this.tokenKey = pageTokenKey(config.records.pageTokenSecret());
  }

  /** Records one entry; resolves once it is written, or once its failure is logged. Never rejects. */
  async record(entry: AuditEntry): Promise<void> {
    // One millisecond apart at least: rows of one day are ordered by time, and two events of a burst must keep their order.
    this.lastAt = Math.max(Date.now(), this.lastAt + 1);
    const at = new Date(this.lastAt);
    const event: AuditEvent = {
      day: dayOf(at),
      at,
      id: uuidV7(),
      actor: entry.principal?.actor ?? 'anonymous',
      actorName: entry.principal?.name ?? 'anonymous',
      action: entry.action,
      target: entry.target,
      requestId: entry.requestId,
      outcome: entry.outcome,
      changes: changesText(entry.changes),
    };
    try {
      await this.repository.insert(event, this.ttlSeconds);
    } catch (err) {
      this.logger.warn(
        `could not record ${event.action} by ${event.actor} (request ${event.requestId ?? '-'}, outcome ${event.outcome}) in the audit trail: ${(err as Error).message}`,
      );
    }
  }

  /** A page of events, newest first, matching the query; page on with nextPageToken. */
  async list(query: AuditQueryDto): Promise<AuditPageDto> {
    const to = query.to === undefined ? new Date() : parseInstant('to', query.to);
    const from = query.from === undefined ? new Date(to.getTime() - DEFAULT_RANGE_MS) : parseInstant('from', query.from);
    if (from.getTime() >= to.getTime()) throw new BadRequestError('from must be earlier than to', [{ field: 'from', message: 'must be earlier than to' }]);
    // A day past the retention on either side: nothing older is kept anyway.
    if (to.getTime() - from.getTime() > (this.retentionDays + 1) * DAY_MS) {
      throw new BadRequestError(
        `The range from..to spans more than ${this.retentionDays + 1} days, longer than events are kept (AUDIT_RETENTION_DAYS): narrow it`,
        [{ field: 'from', message: 'too far before to' }],
      );
    }
    const actor = query.actor ?? null;
    const action = query.action ?? null;
    const days = daysNewestFirst({ from, to });
    let index = 0;
    let pageState: string | undefined;
    if (query.pageToken !== undefined) {
      const cursor = this.open(query.pageToken);
      if (cursor.from !== from.getTime() || cursor.to !== to.getTime() || cursor.actor !== actor || cursor.action !== action || !days.includes(cursor.day)) {
        throw new BadRequestError('pageToken belongs to a different query: keep from, to, actor and action unchanged while paging', [
          { field: 'pageToken', message: 'belongs to a different query' },
        ]);
      }
      index = days.indexOf(cursor.day);
      pageState = cursor.pageState;
    }
    const matches = matcher(actor, action);
    const events: AuditEventDto[] = [];
    for (let reads = 0; index < days.length && events.length < query.limit && reads < MAX_READS_PER_PAGE; reads++) {
      // Exactly what is missing: every row read is then either answered or filtered out, so the paging state never skips one.
      const page = await this.repository.page(days[index], from, to, query.limit - events.length, pageState);
      events.push(...page.events.filter(matches).map(toDto));
      pageState = page.pageState;
      if (pageState === undefined) index++;
    }
    const nextPageToken =
      index < days.length
        ? sealPageToken({ v: 1, k: 'audit', f: from.getTime(), t: to.getTime(), a: actor, c: action, d: days[index], p: pageState ?? null }, this.tokenKey)
        : undefined;
    return { events, nextPageToken };
  }

  private open(token: string): Cursor {
    return openPageToken(token, this.tokenKey, (doc) =>
      doc.v === 1 &&
      doc.k === 'audit' &&
      Number.isFinite(doc.f) &&
      Number.isFinite(doc.t) &&
      (doc.a === null || typeof doc.a === 'string') &&
      (doc.c === null || typeof doc.c === 'string') &&
      typeof doc.d === 'string' &&
      (doc.p === null || typeof doc.p === 'string')
        ? { from: doc.f as number, to: doc.t as number, actor: doc.a, action: doc.c, day: doc.d, pageState: doc.p ?? undefined }
        : undefined,
    );
  }
}

function matcher(actor: string | null, action: string | null): (e: AuditEvent) => boolean {
  const prefix = action?.endsWith('.*') ? action.slice(0, -1) : undefined;
  return (e) => (actor === null || e.actor === actor) && (action === null || (prefix !== undefined ? e.action.startsWith(prefix) : e.action === action));
}

function toDto(e: AuditEvent): AuditEventDto {
  return {
    at: e.at.toISOString(),
    id: e.id,
    actor: e.actor,
    actorName: e.actorName,
    action: e.action,
    target: e.target,
    requestId: e.requestId,
    outcome: e.outcome,
    changes: e.changes === undefined ? undefined : (JSON.parse(e.changes) as Record<string, unknown>),
  };
}

/** The changes as stored: JSON text with every field that may hold a secret replaced, and bounded in size. */
function changesText(changes: unknown): string | undefined {
  if (changes === undefined || changes === null) return undefined;
  if (typeof changes === 'object' && !Array.isArray(changes) && Object.keys(changes).length === 0) return undefined;
  const text = JSON.stringify(changes, (field, value: unknown) => (field !== '' && SECRET_FIELD.test(field) ? '<redacted>' : value));
  if (text.length <= MAX_CHANGES_CHARS) return text;
  const fields = typeof changes === 'object' && !Array.isArray(changes) ? Object.keys(changes) : [];
  return JSON.stringify({ truncated: true, fields });
}
