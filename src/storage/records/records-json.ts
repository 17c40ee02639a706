import type { StoredEvent } from '../../cassandra/events.repository';
import { isoInstant } from '../../common/time/instant';

/** Room for one record's fields besides its payload and key: ids, source, two instants and the JSON around them. */
const RECORD_BYTES = 256;

/**
 * A page of records as JSON bytes, written out directly: the same document as JSON.stringify of the
 * RecordsPageDto (same fields, same order), but each stored payload, JSON text the stream wrote from
 * a validated event, goes into the answer as the bytes Cassandra sent instead of being decoded,
 * parsed and encoded again, which was the larger part of a page's CPU. A payload that is not a JSON
 * object or array (not written by the stream) is parsed first, as RecordsService does for the DTO.
 */
export function recordsPageBody(items: StoredEvent[], nextPageToken: string | undefined): Buffer {
  let size = 64 + (nextPageToken?.length ?? 0);
  for (let i = 0; i < items.length; i++) size += items[i].payload.length + RECORD_BYTES;
  const out = new ByteWriter(size);
  out.text('{"items":[');
  let source = '';
  let sourceJson = '""';
  for (let i = 0; i < items.length; i++) {
    const e = items[i];
    if (e.source !== source) sourceJson = JSON.stringify((source = e.source));
    // An event id is a UUID read from a uuid column: nothing in it to escape.
    out.text(
      `${i > 0 ? ',' : ''}{"eventId":"${e.eventId}","source":${sourceJson},"receivedAt":"${isoInstant(e.receivedAt)}"` +
        `${e.key === undefined ? '' : `,"key":${JSON.stringify(e.key)}`},"payload":`,
    );
    if (isObjectOrArray(e.payload)) out.bytes(e.payload);
    else out.text(JSON.stringify(storedPayload(e.payload.toString('utf8'))));
    if (e.processedAt !== undefined) out.text(`,"processedAt":"${isoInstant(e.processedAt)}"`);
    if (e.schemaVersion !== undefined) out.text(`,"schemaVersion":${e.schemaVersion}`);
    // A trace id is 32 hex digits (the job stores only a valid one): nothing in it to escape.
    if (e.traceId !== undefined) out.text(`,"traceId":"${e.traceId}"`);
    out.text(e.headers === undefined ? '}' : `,"headers":${JSON.stringify(e.headers)}}`);
  }
  out.text(nextPageToken === undefined ? ']}' : `],"nextPageToken":${JSON.stringify(nextPageToken)}}`);
  return out.written();
}

/** What a stored payload stands for: its JSON value, or the text itself when it is not JSON. */
export function storedPayload(stored: string): unknown {
  try {
    return JSON.parse(stored) as unknown;
  } catch {
    return stored;
  }
}

/** Whether stored bytes are written as they are: text of a JSON object or array, as the stream stores a payload. */
function isObjectOrArray(stored: Buffer): boolean {
  if (stored.length < 2) return false;
  const first = stored[0];
  const last = stored[stored.length - 1];
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d);
}

/** Appends text (as UTF-8) and bytes to one buffer, growing it when a piece would not fit. */
class ByteWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  text(text: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    this.room(text.length * 3);
    this.length += this.buffer.write(text, this.length);
  }

  bytes(bytes: Buffer): void {
    this.room(bytes.length);
    this.length += bytes.copy(this.buffer, this.length);
  }

  written(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
