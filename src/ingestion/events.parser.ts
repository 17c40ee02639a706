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

/** Splits a request body, as text, into events: one JSON object, a JSON array of objects, or NDJSON lines. */
export function parseEvents(text: string, format: BodyFormat): Record<string, unknown>[] {
  if (text.trim() === '') throw new BadRequestError('The request body is empty: send at least one event');
  let events: unknown[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new BadRequestError(`The body is not valid JSON: ${(err as Error).message}`);
    }
    events = Array.isArray(parsed) ? parsed : [parsed];
  } else {
    events = [];
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        events.push(JSON.parse(line));
      } catch (err) {
        throw new BadRequestError(`NDJSON line ${i + 1} is not valid JSON: ${(err as Error).message}`, [{ line: i + 1 }]);
      }
    });
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
  return events as Record<string, unknown>[];
}

/**
 * Each event's JSON text as sent, where it comes for free: the body of a single JSON object, or the
 * lines of NDJSON; undefined for a JSON array (finding its elements' bounds would cost what writing
 * them out again costs). Call only on a body parseEvents accepted, so each text is valid JSON of an object.
 */
export function eventTexts(text: string, format: BodyFormat): string[] | undefined {
  if (format === 'ndjson') return text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const trimmed = text.trim();
  return trimmed.startsWith('{') ? [trimmed] : undefined;
}
