import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One failed check of a JSON document, located by its JSON Pointer. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Compiles the JSON Schemas (2020-12, with formats) of one catalog file. `useDefaults` fills in
 * declared defaults while validating, as the job catalog wants for job args.
 */
export function schemaCompiler(options: { useDefaults?: boolean } = {}): (schema: Record<string, unknown>) => ValidateFunction {
  const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: options.useDefaults ?? false });
  addFormats(ajv);
  return (schema) => ajv.compile(schema);
}

/**
 * Ajv's errors as fields a caller can fix: a missing property is named at its own path, and an
 * unexpected one is named in the message.
 */
export function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const field = e.keyword === 'required' ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}` : e.instancePath || '/';
    const extra = e.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : '';
    return { field, message: `${e.message ?? 'is invalid'}${extra}` };
  });
}

/** Reads a catalog file at start-up; the error names the setting that points at it. */
export function readCatalogFile(file: string, setting: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${setting}: cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * JSON text with object keys sorted at every level and no whitespace: one text per JSON value,
 * however its keys were ordered or indented (the YAML file and its JSON Schema alike).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** sha256 (hex) of a schema's canonical JSON: says which version of a source's schema an event was checked against. */
export function schemaHash(schema: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(schema)).digest('hex');
}
