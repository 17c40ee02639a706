import type { FieldError } from './json-schema';

/**
 * How a new schema of a source must relate to the one before it (as Confluent Schema Registry
 * names its modes): backward, the new schema accepts every event the previous one accepted (the
 * default: senders that have not changed keep being accepted); forward, the previous one accepts
 * every event the new one accepts (readers of the stored events keep understanding them); full,
 * both; none, no check.
 */
export const COMPATIBILITY_MODES = ['backward', 'forward', 'full', 'none'] as const;
export type Compatibility = (typeof COMPATIBILITY_MODES)[number];
export const DEFAULT_COMPATIBILITY: Compatibility = 'backward';

/** The JSON Schema keywords the registry reasons about; a schema using any other is refused, since no verdict could be given on it. */
export const SUPPORTED_KEYWORDS = [
  '$schema',
  'title',
  'description',
  'default',
  'examples',
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
] as const;

const KEYWORDS = new Set<string>(SUPPORTED_KEYWORDS);
const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];
const COUNT_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems'];

type Schema = boolean | Record<string, unknown>;

/**
 * Where a schema leaves the subset the registry supports: one entry per offending keyword, located
 * by its JSON Pointer inside the schema. Empty: the checker can reason about every part of it.
 */
export function unsupportedKeywords(schema: unknown, path = ''): FieldError[] {
  if (typeof schema === 'boolean') return [];
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return [{ field: path || '/', message: 'a schema must be an object (or true/false)' }];
  }
  const s = schema as Record<string, unknown>;
  const out: FieldError[] = [];
  for (const key of Object.keys(s)) {
    if (!KEYWORDS.has(key))
      out.push({ field: `${path}/${pointer(key)}`, message: `keyword "${key}" is not supported; supported: ${SUPPORTED_KEYWORDS.join(', ')}` });
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.length === 0 || types.some((t) => typeof t !== 'string' || !TYPES.has(t))) {
      out.push({ field: `${path}/type`, message: `must be one of ${[...TYPES].join(', ')}, or a list of them` });
    }
  }
  if (s.enum !== undefined && !Array.isArray(s.enum)) out.push({ field: `${path}/enum`, message: 'must be a list' });
  if (s.required !== undefined && (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string'))) {
    out.push({ field: `${path}/required`, message: 'must be a list of property names' });
  }
  for (const key of [...NUMBER_KEYWORDS, ...COUNT_KEYWORDS]) {
    if (s[key] !== undefined && typeof s[key] !== 'number') out.push({ field: `${path}/${key}`, message: 'must be a number' });
  }
  for (const key of ['pattern', 'format']) {
    if (s[key] !== undefined && typeof s[key] !== 'string') out.push({ field: `${path}/${key}`, message: 'must be a string' });
  }
  if (s.properties !== undefined) {
    if (s.properties === null || typeof s.properties !== 'object' || Array.isArray(s.properties)) {
      out.push({ field: `${path}/properties`, message: 'must be an object of schemas' });
    } else {
      for (const [name, sub] of Object.entries(s.properties)) out.push(...unsupportedKeywords(sub, `${path}/properties/${pointer(name)}`));
    }
  }
  if (s.additionalProperties !== undefined) out.push(...unsupportedKeywords(s.additionalProperties, `${path}/additionalProperties`));
  if (s.items !== undefined) out.push(...unsupportedKeywords(s.items, `${path}/items`));
  return out;
}

/**
 * Why `next` may not follow `previous` under `mode`: one entry per incompatible path of the schema
 * (a JSON Pointer into it, as `/properties/amount/type`). Empty: compatible. Both schemas must be
 * within the supported subset (unsupportedKeywords); where the checker cannot prove a change
 * harmless (a pattern or format changed), it calls it incompatible.
 */
export function incompatibilities(previous: Schema, next: Schema, mode: Compatibility): FieldError[] {
  switch (mode) {
    case 'none':
      return [];
    case 'backward':
      return narrowings(previous, next, '', 'narrowed');
    case 'forward':
      return narrowings(next, previous, '', 'widened');
    case 'full':
      return dedupe([...narrowings(previous, next, '', 'narrowed'), ...narrowings(next, previous, '', 'widened')]);
  }
}

/**
 * Where `to` refuses an instance that `from` accepts. `verb` says which way the change went for the
 * message: backward calls a refusal a narrowing; forward checks the other way round, and calls it a widening.
 */
function narrowings(from: Schema, to: Schema, path: string, verb: 'narrowed' | 'widened'): FieldError[] {
  const field = (keyword: string) => `${path}/${keyword}`;
  // Forward checks the schemas the other way round: the message still reads from the old schema to the new one.
  const fromTo = (x: unknown, y: unknown) => (verb === 'narrowed' ? `from ${String(x)} to ${String(y)}` : `from ${String(y)} to ${String(x)}`);
  if (isOpen(to) || from === false) return [];
  if (to === false) return [{ field: path || '/', message: `${verb}: accepts nothing any more` }];
  const a: Record<string, unknown> = from === true ? {} : from;
  const b = to as Record<string, unknown>;
  const out: FieldError[] = [];

  const ta = typeSet(a.type);
  const tb = typeSet(b.type);
  if (tb) {
    const lost = ta ? [...ta].filter((t) => !tb.has(t) && !(t === 'integer' && tb.has('number'))) : ['any type'];
    if (lost.length) out.push({ field: field('type'), message: `${verb} ${fromTo(typeText(a.type), typeText(b.type))}` });
  }

  if (Array.isArray(b.enum)) {
    if (!Array.isArray(a.enum)) out.push({ field: field('enum'), message: `${verb}: an enum now limits the values` });
    else {
      const kept = new Set(b.enum.map((v) => JSON.stringify(v)));
      const dropped = a.enum.filter((v) => !kept.has(JSON.stringify(v)));
      if (dropped.length) out.push({ field: field('enum'), message: `${verb}: ${dropped.map((v) => JSON.stringify(v)).join(', ')} no longer allowed` });
    }
  }
  if (b.const !== undefined && JSON.stringify(a.const) !== JSON.stringify(b.const)) {
    const only = Array.isArray(a.enum) && a.enum.length === 1 && JSON.stringify(a.enum[0]) === JSON.stringify(b.const);
    if (!only) out.push({ field: field('const'), message: `${verb}: only ${JSON.stringify(b.const)} is allowed` });
  }

  for (const key of ['minimum', 'exclusiveMinimum', 'minLength', 'minItems']) {
    const nb = b[key] as number | undefined;
    const na = a[key] as number | undefined;
    if (nb !== undefined && (na === undefined || nb > na)) out.push({ field: field(key), message: `${verb} ${fromTo(na ?? 'no bound', nb)}` });
  }
  for (const key of ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems']) {
    const nb = b[key] as number | undefined;
    const na = a[key] as number | undefined;
    if (nb !== undefined && (na === undefined || nb < na)) out.push({ field: field(key), message: `${verb} ${fromTo(na ?? 'no bound', nb)}` });
  }
  for (const key of ['pattern', 'format']) {
    if (b[key] !== undefined && b[key] !== a[key]) {
      out.push({
        field: field(key),
        message: `${verb}: ${key} ${a[key] === undefined ? 'added' : `changed from ${JSON.stringify(a[key])}`} (${JSON.stringify(b[key])})`,
      });
    }
  }

  const requiredBefore = new Set((a.required as string[] | undefined) ?? []);
  for (const name of (b.required as string[] | undefined) ?? []) {
    if (!requiredBefore.has(name)) out.push({ field: `${field('properties')}/${pointer(name)}`, message: `${verb}: "${name}" is now required` });
  }

  const pa = (a.properties as Record<string, Schema> | undefined) ?? {};
  const pb = (b.properties as Record<string, Schema> | undefined) ?? {};
  const restA = additional(a);
  const restB = additional(b);
  for (const name of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    const at = `${field('properties')}/${pointer(name)}`;
    const before = name in pa ? pa[name] : restA;
    const after = name in pb ? pb[name] : restB;
    if (!(name in pb) && after === false) {
      out.push({ field: at, message: `${verb}: "${name}" is no longer allowed (additionalProperties is false)` });
      continue;
    }
    out.push(...narrowings(before, after, at, verb));
  }
  if (restB === false && restA !== false) out.push({ field: field('additionalProperties'), message: `${verb}: closed where it was open` });
  else if (restB !== true && restA !== false) out.push(...narrowings(restA, restB, field('additionalProperties'), verb));

  if (b.items !== undefined) out.push(...narrowings(a.items === undefined ? true : (a.items as Schema), b.items as Schema, field('items'), verb));
  return out;
}

/** What a schema says of properties it does not name: true when open. */
function additional(s: Record<string, unknown>): Schema {
  const rest = s.additionalProperties;
  return rest === undefined ? true : isOpen(rest as Schema) ? true : (rest as Schema);
}

function isOpen(s: Schema): boolean {
  if (s === true) return true;
  if (s === false) return false;
  return Object.keys(s).every((k) => k === '$schema' || k === 'title' || k === 'description' || k === 'default' || k === 'examples');
}

function typeSet(type: unknown): Set<string> | undefined {
  if (type === undefined) return undefined;
  return new Set(Array.isArray(type) ? (type as string[]) : [type as string]);
}

function typeText(type: unknown): string {
  if (type === undefined) return 'any type';
  return Array.isArray(type) ? type.join(' or ') : typeof type === 'string' ? type : JSON.stringify(type);
}

/** A property name as a JSON Pointer segment (RFC 6901). */
function pointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.field}\n${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
