import { BadRequestError } from '../errors/errors';
import { parseDateOrDateTime } from './instant';

const DAY_MS = 86_400_000;

export interface TimeRange {
  from: Date;
  to: Date;
}

/** Parses ?from&to (RFC 3339 dates or date-times; `to` exclusive), applying a default window that ends now. */
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

export function parseInstant(name: string, text: string): Date {
  // A date-time must name its zone, so the answer never depends on the server's time zone; a day
  // must be one the calendar has (2026-02-30 is refused, not read as March 2).
  const date = parseDateOrDateTime(text);
  if (!date) {
    throw new BadRequestError(
      `${name} must be a real calendar date (YYYY-MM-DD) or an RFC 3339 date-time with a zone, e.g. 2026-01-01T00:00:00Z; got "${text}"`,
      [{ field: name, message: 'must be a date (YYYY-MM-DD) or a date-time with a zone' }],
    );
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
