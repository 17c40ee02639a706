/**
 * Dates and instants as callers write them, checked against the calendar: `Date` itself rolls
 * 2026-02-30 over to March 2, so a real day is checked field by field before it is built.
 */

/** RFC 3339 full-date, e.g. 2026-01-31. */
const FULL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** RFC 3339 date-time, e.g. 2026-01-31T23:59:59.999Z or 2026-01-31T23:59:59+02:00 (T and Z in either case). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number) => new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function utc(year: number, month: number, day: number, hours = 0, minutes = 0, seconds = 0, ms = 0): Date {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as they are.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hours, minutes, seconds, ms);
  return date;
}

/** The UTC midnight starting a real calendar day written as YYYY-MM-DD, or undefined. */
export function parseFullDate(text: string): Date | undefined {
  const m = FULL_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  return utc(year, month, day);
}

/** The instant an RFC 3339 date-time names (a real day, hours < 24, minutes and seconds < 60, an offset within ±23:59), or undefined. */
export function parseDateTime(text: string): Date | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hours, minutes, seconds] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let offsetMinutes = 0;
  if (!m[8]) {
    const [offsetHours, offsetMins] = [Number(m[10]), Number(m[11])];
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const instant = new Date(utc(year, month, day, hours, minutes, seconds, ms).getTime() - offsetMinutes * 60_000);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

/** A full-date (its UTC midnight) or a date-time, or undefined: what ?from and ?to accept. */
export const parseDateOrDateTime = (text: string): Date | undefined => parseFullDate(text) ?? parseDateTime(text);

const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
/** The last two UTC minutes written, as `date.toISOString()` starts them (up to the seconds). */
const minutes: { minute: number; prefix: string }[] = [
  { minute: NaN, prefix: '' },
  { minute: NaN, prefix: '' },
];

/**
 * `date.toISOString()`, for many instants close together (the rows of a page of records): V8's
 * toISOString costs ~0.3 µs, two per row; here the text up to the minute is reused while instants
 * fall in the last two minutes written, and only the seconds and milliseconds are appended.
 */
export function isoInstant(date: Date): string {
  const ms = date.getTime();
  const minute = Math.floor(ms / 60_000);
  let entry = minutes[0].minute === minute ? minutes[0] : minutes[1].minute === minute ? minutes[1] : undefined;
  if (entry === undefined) {
    const iso = date.toISOString();
    entry = { minute, prefix: iso.slice(0, iso.length - 'ss.mmmZ'.length) };
    minutes[1] = minutes[0];
    minutes[0] = entry;
  }
  const inMinute = ms - minute * 60_000;
  const seconds = Math.floor(inMinute / 1000);
  return `${entry.prefix}${TWO_DIGITS[seconds]}.${THREE_DIGITS[inMinute - seconds * 1000]}Z`;
}
