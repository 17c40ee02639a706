import type { StoredEvent } from '../cassandra/events.repository';

/**
 * A page of records as JSON text, written out directly: the same document as JSON.stringify of the
 * RecordsPageDto (same fields, same order), but each stored payload, JSON text the stream wrote from
 * a validated event, goes into the answer as it is stored instead of being parsed and written out
 * again, which was the larger part of a page's CPU. A payload that is not a JSON object or array
 * (not written by the stream) is parsed first, as RecordsService does for the DTO.
 */
export function recordsPageJson(items: StoredEvent[], nextPageToken: string | undefined): string {
  let json = '{"items":[';
  for (let i = 0; i < items.length; i++) {
    const e = items[i];
    if (i > 0) json += ',';
    json += `{"eventId":${JSON.stringify(e.eventId)},"source":${JSON.stringify(e.source)},"receivedAt":"${e.receivedAt.toISOString()}"`;
    if (e.key !== undefined) json += `,"key":${JSON.stringify(e.key)}`;
    json += `,"payload":${payloadJson(e.payload)}`;
    if (e.processedAt !== undefined) json += `,"processedAt":"${e.processedAt.toISOString()}"`;
    json += '}';
  }
  json += ']';
  if (nextPageToken !== undefined) json += `,"nextPageToken":${JSON.stringify(nextPageToken)}`;
  return json + '}';
}

/** The stored payload as JSON: as stored when it is an object or array, otherwise parsed (a string if it does not parse). */
export function payloadJson(stored: string): string {
  const first = stored.charCodeAt(0);
  const last = stored.charCodeAt(stored.length - 1);
  if ((first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d)) return stored;
  return JSON.stringify(storedPayload(stored));
}

/** What a stored payload stands for: its JSON value, or the text itself when it is not JSON. */
export function storedPayload(stored: string): unknown {
  try {
    return JSON.parse(stored) as unknown;
  } catch {
    return stored;
  }
}
