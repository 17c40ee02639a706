import type { ViewResultDto } from './dto/views.dto';
import { durationSeconds } from '../catalogs/buckets';
import { aggregateNames, FilterValue, pointerTokens, ViewAggregate, ViewDefinition, ViewFilter, windowSeconds } from './view-definition';

/**
 * A view's results over a batch of stored events, computed here as the streaming job computes them
 * in Spark (spark-jobs/stream_views.py, `view_aggregation` and `result_rows`): the same field texts
 * (get_json_object), filters, event times (a cast to timestamp, or epoch milliseconds), windows,
 * groups, duplicate check and values, with two differences: `distinct` and the percentiles are exact
 * where Spark approximates them, and a value that is no finite number (a sum over "NaN") is null.
 * Pure: POST /views/preview reads the events and hands them here.
 */

/** The most stored events a preview reads. */
export const MAX_PREVIEW_EVENTS = 10_000;
/**
 * The most (event, window) pairs a preview computes: with hopping windows each event is in
 * window / slide windows, so the work grows with that ratio.
 */
export const MAX_PREVIEW_PAIRS = 100_000;
/** The most items a preview answers (each window and group is one): what bounds the answer's size. */
export const MAX_PREVIEW_ITEMS = 10_000;

/** One stored event, as a preview is given it. */
export interface PreviewEvent {
  eventId: string;
  receivedAt: Date;
  /** The payload's JSON text, as stored. */
  payload: string;
}

/** How many windows each event belongs to: window / slide (1 for tumbling windows). */
export const windowsPerEvent = (definition: Pick<ViewDefinition, 'window' | 'slide'>): number =>
  definition.slide === undefined ? 1 : windowSeconds(definition) / durationSeconds(definition.slide)!;

/** How many events a preview of the definition reads at most: MAX_PREVIEW_EVENTS, fewer when windows overlap. */
export const previewEventLimit = (definition: Pick<ViewDefinition, 'window' | 'slide'>): number =>
  Math.max(1, Math.min(MAX_PREVIEW_EVENTS, Math.floor(MAX_PREVIEW_PAIRS / windowsPerEvent(definition))));

/** A view computed over the first `counted` of the events given. */
export interface ComputedView {
  /**
   * One item per (window, group) that holds an event, newest window first, then by group (the
   * group's values as a JSON array, compared as UTF-8 bytes): the order GET /views/{name}/results
   * reads view_results in.
   */
  items: ViewResultDto[];
  /** How many of the events given (from the first on) the items are computed over. */
  counted: number;
}

/**
 * The view over `events`, taken in the order given (a preview gives them newest first) until the
 * next one would make more than `maxItems` items: that one and those after it are left out
 * (`counted` says how many were taken). `now` dates an event time written without a date (Spark
 * takes today's).
 */
export function computeView(definition: ViewDefinition, events: readonly PreviewEvent[], now: Date, maxItems = MAX_PREVIEW_ITEMS): ComputedView {
  const groupBy = definition.groupBy ?? [];
  const filters = definition.filter ?? [];
  const pointers: string[] = [];
  const slot = (pointer: string): number => {
    const at = pointers.indexOf(pointer);
    return at >= 0 ? at : pointers.push(pointer) - 1;
  };
  const conditions = filters.map((f) => conditionOf(f, slot(f.field)));
  const groupSlots = groupBy.map(slot);
  const aggregates = definition.aggregates.map((a) => aggregatorOf(a, a.field === undefined ? -1 : slot(a.field)));
  const names = aggregateNames(definition);
  const timeSlot = definition.timeField === undefined ? -1 : slot(definition.timeField);
  const reader = new FieldReader(pointers);
  const windowMs = windowSeconds(definition) * 1000;
  const slideMs = definition.slide === undefined ? windowMs : durationSeconds(definition.slide)! * 1000;

  const seen = new Set<string>();
  const cells = new Map<string, Cell>();
  let counted = 0;
  for (; counted < events.length; counted++) {
    const event = events[counted];
    const texts = reader.read(event.payload);
    if (!conditions.every((matches) => matches(texts))) continue;
    const time = timeSlot < 0 ? event.receivedAt.getTime() : eventTime(texts[timeSlot], now);
    if (time === undefined || Math.abs(time) > LATEST_TIME) continue;
    // As the job's batch does: filtered, timed, then each event id once.
    if (seen.has(event.eventId)) continue;

    const values = groupSlots.map((s) => texts[s] ?? null);
    const groupKey = JSON.stringify(values);
    const starts: number[] = [];
    for (let start = Math.floor(time / slideMs) * slideMs; start > time - windowMs; start -= slideMs) starts.push(start);
    const added = starts.filter((start) => !cells.has(`${start} ${groupKey}`)).length;
    if (cells.size + added > maxItems) break;
    seen.add(event.eventId);
    const inputs = aggregates.map((a) => a.input(texts));
    for (const start of starts) {
      const key = `${start} ${groupKey}`;
      let cell = cells.get(key);
      if (cell === undefined) {
        cell = { start, groupKey, values, states: aggregates.map((a) => a.create()) };
        cells.set(key, cell);
      }
      for (let i = 0; i < aggregates.length; i++) aggregates[i].add(cell.states[i], inputs[i]);
    }
  }

  const items = [...cells.values()]
    .sort((a, b) => b.start - a.start || compareText(a.groupKey, b.groupKey))
    .map((cell) => ({
      windowStart: new Date(cell.start).toISOString(),
      windowEnd: new Date(cell.start + windowMs).toISOString(),
      group: Object.fromEntries(groupBy.map((pointer, i) => [pointer, cell.values[i]])),
      values: Object.fromEntries(aggregates.map((a, i) => [names[i], finite(a.value(cell.states[i]))])),
    }));
  return { items, counted };
}

/**
 * The farthest event time from the epoch whose windows (a day at most) a Date can still write (±8.64e15 ms,
 * about the year 275760): Spark reads a little beyond, where the preview leaves the event out.
 */
const LATEST_TIME = 8.64e15 - 2 * 86_400_000;

interface Cell {
  start: number;
  groupKey: string;
  values: (string | null)[];
  states: AggregateState[];
}

const finite = (value: number | null): number | null => (value !== null && Number.isFinite(value) ? value : null);

// ---- filters ---------------------------------------------------------------------------------------

type Texts = readonly (string | undefined)[];

/**
 * A filter condition on the text of one field (stream_views.condition_column): with a number, the
 * text read as a double (text that is none matches nothing); else the text itself, compared as
 * UTF-8 bytes. `in` matches a text among the values that are not numbers, or a number among those
 * that are. A field without a value matches no comparison, `!=` included.
 */
export function conditionOf(filter: ViewFilter, at: number): (texts: Texts) => boolean {
  if (filter.op === 'exists') return (texts) => texts[at] !== undefined;
  if (filter.op === 'in') {
    const values = filter.value as FilterValue[];
    const numbers = values.filter((v): v is number => typeof v === 'number');
    const words = new Set(values.filter((v) => typeof v !== 'number').map(literalText));
    return (texts) => {
      const text = texts[at];
      if (text === undefined) return false;
      if (words.has(text)) return true;
      if (numbers.length === 0) return false;
      const number = sparkDouble(text);
      return number !== undefined && numbers.some((n) => compareDoubles(number, n) === 0);
    };
  }
  const holds = OUTCOMES[filter.op];
  const value = filter.value as FilterValue;
  if (typeof value === 'number') {
    return (texts) => {
      const text = texts[at];
      const number = text === undefined ? undefined : sparkDouble(text);
      return number !== undefined && holds(compareDoubles(number, value));
    };
  }
  const literal = literalText(value);
  return (texts) => {
    const text = texts[at];
    return text !== undefined && holds(compareText(text, literal));
  };
}

const OUTCOMES: Record<'=' | '!=' | '<' | '<=' | '>' | '>=', (order: number) => boolean> = {
  '=': (o) => o === 0,
  '!=': (o) => o !== 0,
  '<': (o) => o < 0,
  '<=': (o) => o <= 0,
  '>': (o) => o > 0,
  '>=': (o) => o >= 0,
};

/** A filter value as the job writes it in text: a boolean as true or false. */
const literalText = (value: FilterValue): string => (typeof value === 'boolean' ? (value ? 'true' : 'false') : String(value));

/**
 * Spark's order of doubles: NaN equal to itself and above every other number (Infinity included),
 * -0 equal to 0.
 */
export function compareDoubles(a: number, b: number): number {
  if (a === b) return 0;
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if (aNaN || bNaN) return aNaN && bNaN ? 0 : aNaN ? 1 : -1;
  return a < b ? -1 : 1;
}

/**
 * The order of texts as UTF-8 bytes (Spark's strings, Cassandra's text), which is the order of code
 * points: UTF-16 puts a surrogate pair (U+10000 and up) before U+E000..U+FFFF, UTF-8 after them.
 */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

// ---- numbers ---------------------------------------------------------------------------------------

/** What Java's Double.parseDouble reads (after trimming), with its optional f/d suffix. */
const JAVA_DECIMAL = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/;
const JAVA_HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)[fFdD]?$/;
/** What Spark reads besides, lower-cased: Cast.processFloatingPointSpecialLiterals. */
const SPECIAL_DOUBLES = new Map<string, number>([
  ['inf', Infinity],
  ['+inf', Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-inf', -Infinity],
  ['-infinity', -Infinity],
  ['nan', NaN],
]);

/**
 * A field's text cast to double as Spark casts it (`cast("double")`, not ANSI): Java's
 * Double.parseDouble of the text (surrounding characters up to U+0020 trimmed; `1e3`, `.5`, `+5`,
 * `12d`, `NaN`, `Infinity`, a hexadecimal `0x1p4`), else inf, infinity or nan in any case; undefined
 * (SQL's NULL) for anything else, JSON's `true` and an empty text included.
 */
export function sparkDouble(text: string): number | undefined {
  const trimmed = trimJava(text);
  if (JAVA_DECIMAL.test(trimmed)) return Number(/[fFdD]$/.test(trimmed) ? trimmed.slice(0, -1) : trimmed);
  const hex = JAVA_HEX.exec(trimmed);
  if (hex && hex[2].length + (hex[3]?.length ?? 0) > 0) {
    const fraction = hex[3] ?? '';
    const mantissa = parseInt(`${hex[2]}${fraction}` || '0', 16);
    return (hex[1] === '-' ? -1 : 1) * mantissa * 2 ** (Number(hex[4]) - 4 * fraction.length);
  }
  return SPECIAL_DOUBLES.get(trimmed.toLowerCase());
}

/** Java's String.trim: every character up to U+0020 off both ends. */
function trimJava(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

// ---- event time ------------------------------------------------------------------------------------

const EPOCH_MILLIS = /^[0-9]{1,15}$/;

/**
 * The event time a timeField's text gives (stream_views.event_time), in epoch milliseconds: up to
 * 15 digits are epoch milliseconds; anything else is cast to a timestamp; undefined when neither
 * reads.
 */
export function eventTime(text: string | undefined, now: Date): number | undefined {
  if (text === undefined) return undefined;
  return EPOCH_MILLIS.test(text) ? Number(text) : sparkTimestamp(text, now);
}

const [PLUS, MINUS, DOT, COLON, SPACE, LETTER_T] = ['+', '-', '.', ':', ' ', 'T'].map((c) => c.charCodeAt(0));

/**
 * A text cast to a timestamp as Spark casts it (`cast("timestamp")`, not ANSI, with the job's
 * session time zone, UTC), in epoch milliseconds (floored from Spark's microseconds); undefined
 * where Spark reads NULL. Spark's forms (DateTimeUtils.stringToTimestamp), trimmed of characters up
 * to U+0020 and U+007F: `[+-]yyyy[yy]`, `-[m]m`, `-[d]d`, then ` ` or `T` and `[h]h`, `:[m]m`,
 * `:[s]s`, `.` and a fraction (digits past the sixth ignored), then a zone; or a time alone
 * (`[h]h:[m]m:[s]s` or `T[h]h...`), dated today in its zone. Upper-case `T` and `Z` only. A zone is
 * `Z`, an offset (`+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss`, also `+h:mm` and
 * `+hh:m`, at most 18 hours), `UTC`, `GMT` or `UT` alone or before such an offset, or EST, MST or
 * HST; without one, UTC. Spark also reads a zone named by a region (`Europe/Paris`, `CET`): the
 * preview does not, and leaves such an event out.
 */
export function sparkTimestamp(text: string, now: Date): number | undefined {
  let j = 0;
  let end = text.length;
  while (j < end && isTrimmedByte(text.charCodeAt(j))) j++;
  while (end > j && isTrimmedByte(text.charCodeAt(end - 1))) end--;
  if (j === end) return undefined;

  // year, month, day, hour, minute, second, microseconds, and two more a zone may follow
  const segments = [1, 1, 1, 0, 0, 0, 0, 0, 0];
  let i = 0;
  let value = 0;
  let digits = 0;
  let fractionDigits = 0;
  let justTime = false;
  let yearSign = 0;
  let zone: string | undefined;
  const close = (segment: number): boolean => {
    if (!validDigits(segment, digits)) return false;
    segments[segment] = value;
    value = 0;
    digits = 0;
    return true;
  };

  const first = text.charCodeAt(j);
  if (first === MINUS || first === PLUS) {
    yearSign = first === MINUS ? -1 : 1;
    j++;
  }
  for (; j < end; j++) {
    const c = text.charCodeAt(j);
    const digit = c - 48;
    if (digit >= 0 && digit <= 9) {
      if (i === 6) fractionDigits++;
      if (i !== 6 || digits < 6) value = value * 10 + digit;
      digits++;
    } else if (j === 0 && c === LETTER_T) {
      justTime = true;
      i += 3;
    } else if (i < 2) {
      if (c === MINUS) {
        if (!close(i++)) return undefined;
      } else if (i === 0 && c === COLON && yearSign === 0) {
        justTime = true;
        if (!close(3)) return undefined;
        i = 4;
      } else return undefined;
    } else if (i === 2) {
      if ((c !== SPACE && c !== LETTER_T) || !close(i++)) return undefined;
    } else if (i === 3 || i === 4) {
      if (c !== COLON || !close(i++)) return undefined;
    } else if (i === 5 || i === 6) {
      if (c === DOT && i === 5) {
        if (!close(i++)) return undefined;
      } else {
        if (!close(i++)) return undefined;
        zone = text.slice(j, end);
        j = end - 1;
      }
      if (i === 6 && c !== DOT) i++;
    } else if (i < segments.length && (c === COLON || c === SPACE)) {
      if (!close(i++)) return undefined;
    } else return undefined;
  }
  if (i >= segments.length || !close(i)) return undefined;
  for (; fractionDigits < 6; fractionDigits++) segments[6] *= 10;

  const offset = zone === undefined ? 0 : zoneOffsetSeconds(trimJava(zone));
  if (offset === undefined) return undefined;
  const [hour, minute, second, micros] = segments.slice(3, 7);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let [year, month, day] = [yearSign === -1 ? -segments[0] : segments[0], segments[1], segments[2]];
  if (justTime) {
    const today = new Date(now.getTime() + offset * 1000);
    [year, month, day] = [today.getUTCFullYear(), today.getUTCMonth() + 1, today.getUTCDate()];
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const local = new Date(0);
  // setUTCFullYear, unlike Date.UTC, keeps years 0-99 as they are.
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, 0);
  const millis = local.getTime() - offset * 1000 + Math.floor(micros / 1000);
  return Number.isFinite(millis) && Math.abs(millis) <= 8.64e15 ? millis : undefined;
}

/** The bytes Spark trims off a timestamp's text: whitespace and ISO control characters, ASCII only. */
const isTrimmedByte = (c: number): boolean => c <= 0x20 || c === 0x7f;

/** Whether a segment of a timestamp may have so many digits: a year 4 to 6, a fraction any, the rest 1 or 2. */
const validDigits = (segment: number, digits: number): boolean =>
  segment === 6 ||
  (segment === 0 && digits >= 4 && digits <= 6) ||
  (segment === 7 && digits <= 2) ||
  (segment !== 0 && segment < 6 && digits > 0 && digits <= 2);

const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** ZoneId.SHORT_IDS that name a fixed offset; the others name regions. */
const FIXED_SHORT_IDS: Record<string, string> = { EST: '-05:00', MST: '-07:00', HST: '-10:00' };

/**
 * The offset of a zone as Spark reads it (DateTimeUtils.getZoneId: `+h:mm` and `+hh:m` padded, then
 * Java's ZoneId.of with the short ids), in seconds east of UTC; undefined for a zone that is not
 * valid, or that names a region.
 */
function zoneOffsetSeconds(text: string): number | undefined {
  let id = text
    .replace(/([+-])(\d):/, (_m, sign: string, h: string) => `${sign}0${h}:`)
    .replace(/([+-])(\d\d):(\d)$/, (_m, sign: string, h: string, m: string) => `${sign}${h}:0${m}`);
  id = FIXED_SHORT_IDS[id] ?? id;
  if (id.length <= 1 || id.startsWith('+') || id.startsWith('-')) return offsetSeconds(id);
  const prefix = id.startsWith('UTC') || id.startsWith('GMT') ? 3 : id.startsWith('UT') ? 2 : 0;
  if (prefix === 0) return undefined;
  if (id.length === prefix) return 0;
  const sign = id.charCodeAt(prefix);
  return sign === PLUS || sign === MINUS ? offsetSeconds(id.slice(prefix)) : undefined;
}

/** Java's ZoneOffset.of: Z, or ±h, ±hh, ±hhmm, ±hh:mm, ±hhmmss, ±hh:mm:ss, within ±18:00. */
function offsetSeconds(id: string): number | undefined {
  if (id === 'Z') return 0;
  if (id.length === 2) id = `${id[0]}0${id[1]}`;
  const two = (at: number, afterColon: boolean): number => {
    if (afterColon && id[at - 1] !== ':') return NaN;
    return /^\d\d$/.test(id.slice(at, at + 2)) ? Number(id.slice(at, at + 2)) : NaN;
  };
  let parts: number[];
  switch (id.length) {
    case 3:
      parts = [two(1, false), 0, 0];
      break;
    case 5:
      parts = [two(1, false), two(3, false), 0];
      break;
    case 6:
      parts = [two(1, false), two(4, true), 0];
      break;
    case 7:
      parts = [two(1, false), two(3, false), two(5, false)];
      break;
    case 9:
      parts = [two(1, false), two(4, true), two(7, true)];
      break;
    default:
      return undefined;
  }
  const [hours, minutes, seconds] = parts;
  if (id[0] !== '+' && id[0] !== '-') return undefined;
  if (![hours, minutes, seconds].every(Number.isInteger) || hours > 18 || minutes > 59 || seconds > 59) return undefined;
  const total = hours * 3600 + minutes * 60 + seconds;
  if (total > 18 * 3600) return undefined;
  return id[0] === '-' ? -total : total;
}

// ---- aggregates ------------------------------------------------------------------------------------

type AggregateState = { n: number; sum: number; best?: number; texts?: Set<string>; numbers?: number[] };
type Input = number | string | boolean | undefined;

interface Aggregator {
  /** What the aggregate takes of one event, read once however many windows it is in. */
  input(texts: Texts): Input;
  create(): AggregateState;
  add(state: AggregateState, input: Input): void;
  value(state: AggregateState): number | null;
}

const PERCENTILES = { p50: 0.5, p95: 0.95, p99: 0.99 } as const;

/** One aggregate (stream_views._aggregate_column) over the field at `at` (-1 for a bare count). */
function aggregatorOf(aggregate: ViewAggregate, at: number): Aggregator {
  const create = (): AggregateState => ({ n: 0, sum: 0 });
  // NaN and the infinities are no numbers to aggregate (stream_views._number): left out, as text is.
  const number = (texts: Texts): number | undefined => {
    const value = texts[at] === undefined ? undefined : sparkDouble(texts[at]);
    return value !== undefined && Number.isFinite(value) ? value : undefined;
  };
  switch (aggregate.fn) {
    case 'count':
      return {
        input: (texts) => at < 0 || texts[at] !== undefined,
        create,
        add: (s, has) => void (has && s.n++),
        value: (s) => s.n,
      };
    case 'sum':
    case 'avg':
      return {
        input: number,
        create,
        add: (s, x) => {
          if (x === undefined) return;
          s.n++;
          s.sum += x as number;
        },
        value: (s) => (s.n === 0 ? null : aggregate.fn === 'sum' ? s.sum : s.sum / s.n),
      };
    case 'min':
    case 'max': {
      const sign = aggregate.fn === 'min' ? -1 : 1;
      return {
        input: number,
        create,
        add: (s, x) => {
          if (x !== undefined && (s.best === undefined || sign * compareDoubles(x as number, s.best) > 0)) s.best = x as number;
        },
        value: (s) => s.best ?? null,
      };
    }
    case 'distinct':
      return {
        input: (texts) => texts[at],
        create: () => ({ n: 0, sum: 0, texts: new Set<string>() }),
        add: (s, text) => void (text !== undefined && s.texts!.add(text as string)),
        value: (s) => s.texts!.size,
      };
    default: {
      // The value at rank ceil(p * n), 1-based, of the numbers in Spark's order: what percentile_approx
      // answers while its summary is exact (QuantileSummaries.query). Its compression keeps the
      // smallest value only if it is <= the next one, which a NaN never is: then the answer is NaN.
      // (With NaN among the values, Spark's answer also depends on how it merged partial summaries,
      // whose merge compares with <: the preview cannot follow that.)
      const p = PERCENTILES[aggregate.fn];
      return {
        input: number,
        create: () => ({ n: 0, sum: 0, numbers: [] }),
        add: (s, x) => void (x !== undefined && s.numbers!.push(x as number)),
        value: (s) => {
          const numbers = s.numbers!;
          if (numbers.length === 0) return null;
          numbers.sort(compareDoubles);
          if (numbers.length > 1 && Number.isNaN(numbers[1])) return NaN;
          return numbers[Math.max(1, Math.ceil(p * numbers.length)) - 1];
        },
      };
    }
  }
}

// ---- field texts -----------------------------------------------------------------------------------

interface PointerNode {
  children: Map<string, PointerNode>;
  /** The pointers that end here, by their index. */
  ends: number[];
  /** The pointers that end here or below. */
  below: number[];
}

class MalformedJson extends Error {}

/**
 * The texts of some JSON Pointers in a payload, as Spark's get_json_object gives them on the job's
 * paths (`$['a']['b']`), read in one pass over the payload's text: a string's text unescaped; a
 * number, true or false as written (the stored payload is Spark's own compact JSON, so `1000.0`
 * stays `1000.0` and a large integer keeps every digit); an object or an array as its compact JSON
 * text; undefined for a field absent or JSON null. A token that is an array index (`0`, `12`: the
 * job's path writes it `[12]`) indexes an array and never names an object's field; any other token
 * names a field. Of a field named twice the first occurrence that yields a value counts. A payload
 * that is not a JSON object has no field.
 */
export class FieldReader {
  private readonly root: PointerNode = node();

  constructor(private readonly pointers: readonly string[]) {
    pointers.forEach((pointer, index) => {
      let at = this.root;
      at.below.push(index);
      for (const token of pointerTokens(pointer)) {
        let next = at.children.get(token);
        if (next === undefined) at.children.set(token, (next = node()));
        at = next;
        at.below.push(index);
      }
      at.ends.push(index);
    });
  }

  /** Each pointer's text, in the order of the pointers given. */
  read(payload: string): (string | undefined)[] {
    const texts = new Array<string | undefined>(this.pointers.length).fill(undefined);
    if (this.pointers.length === 0) return texts;
    try {
      new JsonScan(payload, texts).document(this.root);
    } catch (err) {
      // A payload stored by the job is well-formed JSON; anything else has no field, as no path reads in it.
      if (!(err instanceof MalformedJson) && !(err instanceof SyntaxError)) throw err;
      texts.fill(undefined);
    }
    return texts;
  }
}

const node = (): PointerNode => ({ children: new Map(), ends: [], below: [] });

/** A pointer token that indexes an array (stream_views.json_path writes it `[n]`). */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,8})$/;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]/;

class JsonScan {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly texts: (string | undefined)[],
  ) {}

  document(root: PointerNode): void {
    this.space();
    if (this.text.charCodeAt(this.pos) === 0x7b) this.value(root);
  }

  /** Reads the value at pos; `at` (when some of its pointers still have no text) records it, or looks into it. */
  private value(at: PointerNode | undefined): void {
    this.space();
    const start = this.pos;
    const c = this.text.charCodeAt(start);
    if (c === 0x7b) this.object(at);
    else if (c === 0x5b) this.array(at);
    else if (c === 0x22) this.string();
    else this.scalar();
    if (at === undefined || at.ends.length === 0) return;
    const raw = this.text.slice(start, this.pos);
    let text: string | undefined;
    if (c === 0x22) text = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    else if (c === 0x7b || c === 0x5b) text = compact(raw);
    else if (raw !== 'null') text = raw;
    if (text === undefined) return;
    for (const index of at.ends) if (this.texts[index] === undefined) this.texts[index] = text;
  }

  private object(at: PointerNode | undefined): void {
    this.pos++;
    this.space();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.space();
      if (this.text.charCodeAt(this.pos) !== 0x22) throw new MalformedJson();
      const start = this.pos;
      this.string();
      const raw = this.text.slice(start, this.pos);
      this.space();
      if (this.text.charCodeAt(this.pos++) !== 0x3a) throw new MalformedJson();
      let child: PointerNode | undefined;
      if (at !== undefined && at.children.size > 0) {
        const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        child = ARRAY_INDEX.test(name) ? undefined : this.wanted(at.children.get(name));
      }
      this.value(child);
      this.space();
      const next = this.text.charCodeAt(this.pos++);
      if (next === 0x7d) return;
      if (next !== 0x2c) throw new MalformedJson();
    }
  }

  /** A child whose pointers still lack a text, else undefined (nothing more to read below it). */
  private wanted(child: PointerNode | undefined): PointerNode | undefined {
    return child !== undefined && child.below.some((index) => this.texts[index] === undefined) ? child : undefined;
  }

  private array(at: PointerNode | undefined): void {
    this.pos++;
    this.space();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.value(at !== undefined && at.children.size > 0 ? this.wanted(at.children.get(String(i))) : undefined);
      this.space();
      const next = this.text.charCodeAt(this.pos++);
      if (next === 0x5d) return;
      if (next !== 0x2c) throw new MalformedJson();
    }
  }

  private string(): void {
    let from = this.pos + 1;
    for (;;) {
      const quote = this.text.indexOf('"', from);
      if (quote < 0) throw new MalformedJson();
      let backslashes = 0;
      while (this.text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) {
        this.pos = quote + 1;
        return;
      }
      from = quote + 1;
    }
  }

  private scalar(): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    NUMBER.lastIndex = this.pos;
    if (!NUMBER.test(this.text)) throw new MalformedJson();
    this.pos = NUMBER.lastIndex;
  }

  private space(): void {
    for (let c = this.text.charCodeAt(this.pos); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = this.text.charCodeAt(this.pos)) this.pos++;
  }
}

/** An object's or array's JSON text without the whitespace between tokens, as Spark writes it. */
function compact(raw: string): string {
  if (!WHITESPACE.test(raw)) return raw;
  let out = '';
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      out += c;
      if (c === '\\') out += raw[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      out += c;
      inString = true;
    } else if (!WHITESPACE.test(c)) out += c;
  }
  return out;
}
