import { BadRequestError } from '../common/errors/errors';

const DAY_MS = 86_400_000;
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export interface TimeRange {
  from: Date;
  to: Date;
}

/** Parses ?from&to (ISO 8601; `to` exclusive), applying a default window that ends now. */
export function timeRange(fromText: string | undefined, toText: string | undefined, defaultMs: number, maxDays: number): TimeRange {
  const to = toText === undefined ? new Date() : parseInstant('to', toText);
  const from = fromText === undefined ? new Date(to.getTime() - defaultMs) : parseInstant('from', fromText);
  return checkedRange(from, to, maxDays);
}

/** Enforces the rules every range obeys, whether it came from the query or from a page token. */
export function checkedRange(from: Date, to: Date, maxDays: number): TimeRange {
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new BadRequestError('from and to must be valid instants');
  if (from.getTime() >= to.getTime()) throw new BadRequestError('from must be earlier than to');
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
    throw new BadRequestError(`The range from..to spans more than ${maxDays} days: narrow it (RECORDS_MAX_RANGE_DAYS)`);
  }
  return { from, to };
}

/** An ISO 8601 instant of the query (`from`, `to`): a date, or a date-time with its zone; 400 naming the parameter otherwise. */
export function parseInstant(name: string, text: string): Date {
  const date = new Date(text);
  // A date-time must name its zone, so the answer never depends on the server's time zone.
  if (!INSTANT.test(text) || Number.isNaN(date.getTime())) {
    throw new BadRequestError(`${name} must be an ISO 8601 date or a date-time with a zone, e.g. 2026-01-01T00:00:00Z; got "${text}"`);
  }
  return date;
}

/** The UTC day (YYYY-MM-DD) an instant falls in. */
export const dayOf = (instant: Date | number): string => new Date(instant).toISOString().slice(0, 10);

/** UTC days touched by [from, to), newest first. */
export function daysNewestFirst(range: TimeRange): string[] {
  const days: string[] = [];
  const first = Date.parse(dayOf(range.from));
  for (let d = Date.parse(dayOf(range.to.getTime() - 1)); d >= first; d -= DAY_MS) days.push(dayOf(d));
  return days;
}
