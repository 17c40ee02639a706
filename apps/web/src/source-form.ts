// A source's settings as the editor holds them (text fields), and back to the body the API takes.
// The API checks every value; this only turns text into JSON.
import type { Compatibility } from '../../../src/catalogs/schema-compatibility';
import type { OnInvalid } from '../../../src/catalogs/sources.registry';
import type { SourceResourceDto, UpdateSourceDto } from './api';

/** The modes and choices the API offers (its DTO's enums), for the form's selects. */
export const COMPATIBILITY: Compatibility[] = ['backward', 'forward', 'full', 'none'];
export const ON_INVALID: OnInvalid[] = ['reject', 'quarantine'];

export interface SourceForm {
  topic: string;
  description: string;
  keyField: string;
  /** The JSON Schema as typed; empty for none. */
  schema: string;
  compatibility: Compatibility;
  onInvalid: OnInvalid;
}

/** The form of a stored source, every setting it has kept. */
export function formOf(source: SourceResourceDto): SourceForm {
  return {
    topic: source.topic,
    description: source.description ?? '',
    keyField: source.keyField ?? '',
    schema: source.schema ? JSON.stringify(source.schema, null, 2) : '',
    compatibility: source.compatibility,
    onInvalid: source.onInvalid ?? 'reject',
  };
}

/** The typed schema as a JSON object, or why it is not one; empty text is no schema. */
export function parseSchema(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'schema: must be a JSON object' };
    return { value: value as Record<string, unknown> };
  } catch (err) {
    return { error: `schema: ${(err as Error).message}` };
  }
}

/**
 * The body of POST or PUT: the form's settings, empty text left out, and the settings the form does
 * not show (bucket, body limit, signature...) kept from `stored`, since PUT replaces every setting.
 */
export function settingsOf(form: SourceForm, schema: Record<string, unknown> | undefined, stored?: SourceResourceDto): UpdateSourceDto {
  const kept: UpdateSourceDto = {};
  if (stored) {
    for (const k of ['maxBodyBytes', 'signature', 'deadLetterTopic', 'bucket', 'peakEventsPerSecond', 'eventBytes'] as const) {
      if (stored[k] !== undefined) (kept as Record<string, unknown>)[k] = stored[k];
    }
  }
  const text = (v: string) => (v.trim() ? v.trim() : undefined);
  const body: UpdateSourceDto = {
    ...kept,
    topic: text(form.topic),
    description: text(form.description),
    keyField: text(form.keyField),
    schema,
    compatibility: form.compatibility,
    onInvalid: form.onInvalid,
  };
  for (const k of Object.keys(body) as (keyof UpdateSourceDto)[]) if (body[k] === undefined) delete body[k];
  return body;
}
