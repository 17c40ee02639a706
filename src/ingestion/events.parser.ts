import { BadRequestError, UnsupportedMediaTypeError } from '../common/errors/errors';

export type BodyFormat = 'json' | 'ndjson';

const FORMATS: Record<string, BodyFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
};

/** Maps a Content-Type header to the body format it announces, or answers 415. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const format = FORMATS[mediaType];
  if (!format) {
    throw new UnsupportedMediaTypeError(
      `${mediaType ? `Content-Type "${mediaType}" is not supported` : 'Content-Type is missing'}: ` +
        'send application/json (one event or an array of events) or application/x-ndjson (one event per line)',
    );
  }
  return format;
}

/**
 * A body's events, and each event's JSON text as sent: the body of a single JSON object, the lines
 * of NDJSON, the elements of an array. Each text is valid JSON of its event; they go into the
 * envelopes as they are, instead of each parsed event being written out again.
 */
export interface ParsedEvents {
  events: Record<string, unknown>[];
  texts?: string[];
}

/** Splits a request body, as text, into events: one JSON object, a JSON array of objects, or NDJSON lines. */
export function parseEvents(text: string, format: BodyFormat): ParsedEvents {
  if (text.trim() === '') throw new BadRequestError('The request body is empty: send at least one event');
  let events: unknown[];
  let texts: string[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new BadRequestError(`The body is not valid JSON: ${(err as Error).message}`);
    }
    events = Array.isArray(parsed) ? parsed : [parsed];
    texts = Array.isArray(parsed) ? elementTexts(text) : [text.trim()];
  } else {
    events = [];
    texts = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      try {
        events.push(JSON.parse(line));
      } catch (err) {
        throw new BadRequestError(`NDJSON line ${i + 1} is not valid JSON: ${(err as Error).message}`, [{ line: i + 1 }]);
      }
      texts.push(line);
    }
  }
  if (events.length === 0) throw new BadRequestError('The batch is empty: send at least one event');
  const notObjects = events
    .map((e, index) => ({ index, type: e === null ? 'null' : Array.isArray(e) ? 'array' : typeof e }))
    .filter((e) => e.type !== 'object');
  if (notObjects.length > 0) {
    const first = notObjects[0];
    throw new BadRequestError(
      `Every event must be a JSON object; event ${first.index} is ${first.type === 'array' ? 'an array' : `a ${first.type}`}` +
        (notObjects.length > 1 ? ` (and ${notObjects.length - 1} more)` : ''),
      notObjects.slice(0, 100),
    );
  }
  return { events: events as Record<string, unknown>[], texts: texts.length === events.length ? texts : undefined };
}

/**
 * The text of each object in a JSON array, as sent: valid JSON (JSON.parse took it) whose elements
 * are objects; anything else gives fewer texts than elements, and the caller drops them. Strings are
 * skipped with indexOf, so a 1 KB event costs a fraction of a microsecond.
 */
function elementTexts(json: string): string[] {
  const texts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = json.indexOf('[') + 1; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      i = json.indexOf('"', i + 1);
      while (i > 0 && escaped(json, i)) i = json.indexOf('"', i + 1);
      if (i < 0) return texts;
    } else if (c === 0x7b || c === 0x5b) {
      if (depth++ === 0) start = i;
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0 && c === 0x7d) texts.push(json.slice(start, i + 1));
      if (depth < 0) break;
    }
  }
  return texts;
}

/** Whether the quote at `at` is escaped: preceded by an odd number of backslashes. */
function escaped(json: string, at: number): boolean {
  let backslashes = 0;
  while (json.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
  return backslashes % 2 === 1;
}
