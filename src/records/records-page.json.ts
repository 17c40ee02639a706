import type { StoredEvent } from '../cassandra/events.repository';

/** A page of GET /records as the service reads it: rows as stored, their payload still JSON text. */
export interface RecordsPage {
  items: StoredEvent[];
  nextPageToken?: string;
}

/**
 * The body of GET /records (RecordsPageDto), written directly. A row's payload is the JSON text the
 * streaming job stored (the validated event's `payload`, serialized by the job): it is spliced in as
 * it is rather than parsed and serialized again, which was most of a page's CPU. A payload that is
 * not the text of a JSON object (a row some other writer stored) is sent as a JSON string, as before.
 */
export function recordsPageJson(page: RecordsPage): string {
  let body = '{"items":[';
  for (let i = 0; i < page.items.length; i++) body += (i === 0 ? '' : ',') + recordJson(page.items[i]);
  body += ']';
  if (page.nextPageToken !== undefined) body += `,"nextPageToken":${JSON.stringify(page.nextPageToken)}`;
  return `${body}}`;
}

function recordJson(e: StoredEvent): string {
  let json = `{"eventId":${JSON.stringify(e.eventId)},"source":${JSON.stringify(e.source)},"receivedAt":"${e.receivedAt.toISOString()}"`;
  if (e.key !== undefined) json += `,"key":${JSON.stringify(e.key)}`;
  json += `,"payload":${objectText(e.payload) ? e.payload : JSON.stringify(e.payload)}`;
  if (e.processedAt !== undefined) json += `,"processedAt":"${e.processedAt.toISOString()}"`;
  return `${json}}`;
}

/**
 * Whether a stored payload is the text of a JSON object, as the streaming job writes it. A full parse
 * is what this avoids: the job stores only a payload Spark parsed as a JSON object (json_object_keys),
 * serialized again by Jackson, so its braces and the absence of raw control characters (which JSON
 * forbids inside strings) tell its rows apart from text some other writer stored.
 */
function objectText(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return text.length >= 2 && text.charCodeAt(0) === 0x7b && text.charCodeAt(text.length - 1) === 0x7d && !/[\x00-\x1f]/.test(text);
}
