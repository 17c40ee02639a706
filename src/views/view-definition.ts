import { durationSeconds, parseBucket } from '../catalogs/buckets';
import { parseDateTime } from '../common/time/instant';

/**
 * A streaming view's definition, as POST /views takes it and the `views` table stores it (JSON,
 * camelCase, exactly as accepted: defaults are the streaming job's to fill in), and the rules it
 * must follow. Pure: the streaming job (spark-jobs/stream_views.py, `view_from_json`) judges the
 * same definitions alike (contracts/views.json), and a source is only looked up through the
 * function the caller gives.
 */

/** A view's name: also what the streaming job names its query by. */
export const VIEW_NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** The name of an aggregate's value: a key of each result's `values`, and a column of the job's aggregation. */
export const AGGREGATE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const VIEW_FUNCTIONS = ['count', 'sum', 'avg', 'min', 'max', 'distinct', 'p50', 'p95', 'p99'] as const;
export type ViewFunction = (typeof VIEW_FUNCTIONS)[number];
/** The functions of a number: a field the source's schema types as anything else cannot feed them. */
export const NUMERIC_FUNCTIONS: readonly ViewFunction[] = ['sum', 'avg', 'min', 'max', 'p50', 'p95', 'p99'];

export const FILTER_OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'exists'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export const MAX_GROUP_BY = 3;
export const MAX_FILTERS = 20;
export const MAX_IN_VALUES = 100;
export const MAX_AGGREGATES = 20;
/** What the streaming job takes when a definition sets no lateness. */
export const DEFAULT_LATENESS = '10m';
export const MAX_LATENESS_SECONDS = 7 * 86_400;
const DAY_SECONDS = 86_400;

export type FilterValue = string | number | boolean;

export interface ViewFilter {
  field: string;
  op: FilterOperator;
  value?: FilterValue | FilterValue[];
}

export interface ViewAggregate {
  fn: ViewFunction;
  field?: string;
  as?: string;
}

/** A definition that passed viewDefinitionErrors: the body of POST /views, as stored. */
export interface ViewDefinition {
  name: string;
  source: string;
  window: string;
  slide?: string;
  groupBy?: string[];
  filter?: ViewFilter[];
  aggregates: ViewAggregate[];
  timeField?: string;
  lateness?: string;
  backfillFrom?: string;
}

/** What a view needs to know of its source: whether it still takes events, and its JSON Schema if it has one. */
export interface ViewSource {
  archived: boolean;
  schema?: Record<string, unknown>;
}

/** The source of that name, or undefined when there is none. */
export type ViewSourceLookup = (name: string) => ViewSource | undefined;

/** One broken rule: where in the body (`window`, `aggregates/1/field`) and what is wrong. */
export interface FieldError {
  field: string;
  message: string;
}

const PROPERTIES = ['name', 'source', 'window', 'slide', 'groupBy', 'filter', 'aggregates', 'timeField', 'lateness', 'backfillFrom'];
const FILTER_PROPERTIES = ['field', 'op', 'value'];
const AGGREGATE_PROPERTIES = ['fn', 'field', 'as'];
/** What the job's get_json_object path `$['a']['b']` cannot carry inside its quotes. */
const UNQUOTABLE = /['\\[\]]/;
const DURATION_RULE = 'a duration: a whole number of seconds, minutes, hours or days, such as 30s, 5m, 1h or 1d';

/** The seconds of a window as written in a stored (valid) definition. */
export const windowSeconds = (definition: Pick<ViewDefinition, 'window'>): number => parseBucket(definition.window)!;

/** What is wrong with a JSON Pointer (RFC 6901) to a payload field, or undefined when it is one the job can read. */
export function pointerProblem(pointer: unknown): string | undefined {
  if (typeof pointer !== 'string') return 'must be a JSON Pointer (a string such as "/currency")';
  if (!pointer.startsWith('/') || pointer === '/') return 'must be a JSON Pointer to a payload field, such as "/currency"';
  for (const raw of pointer.slice(1).split('/')) {
    if (/~(?![01])/.test(raw)) return 'is not a JSON Pointer: ~ is written ~0, and / inside a field name ~1';
    const token = unescape(raw);
    if (token === '') return 'names a field with an empty name';
    if (UNQUOTABLE.test(token)) return "names a field holding ', \\, [ or ], which a view cannot read";
  }
  return undefined;
}

/** The field names of a valid pointer, unescaped: `/a~1b/c` → [`a/b`, `c`]. */
export const pointerTokens = (pointer: string): string[] => pointer.slice(1).split('/').map(unescape);

// RFC 6901: ~1 first, then ~0, so that ~01 is the text ~1.
const unescape = (token: string): string => token.replace(/~1/g, '/').replace(/~0/g, '~');

/** The name an aggregate's value takes without `as`: `count` for a bare count, else `<fn>_<field names joined by _>` (`sum_amount`). */
export const aggregateName = (fn: string, field: string | undefined): string => (field === undefined ? fn : `${fn}_${pointerTokens(field).join('_')}`);

/** The name of each aggregate's value, in order. */
export const aggregateNames = (definition: Pick<ViewDefinition, 'aggregates'>): string[] =>
  definition.aggregates.map((a) => a.as ?? aggregateName(a.fn, a.field));

/**
 * Every rule `body` breaks, as one entry each (none: a valid definition). `source` looks up the
 * source it names; `now` is what backfillFrom may not be later than.
 */
export function viewDefinitionErrors(body: unknown, source: ViewSourceLookup, now: Date): FieldError[] {
  if (!isObject(body)) return [{ field: 'body', message: 'must be a JSON object: a view definition' }];
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  unknownProperties(body, PROPERTIES, '', fail);

  if (body.name === undefined) fail('name', 'is required');
  else if (typeof body.name !== 'string') fail('name', 'must be a string');
  else if (!VIEW_NAME.test(body.name)) fail('name', `must match ${VIEW_NAME.source}: lower-case letters, digits and _, starting with a letter, at most 63`);

  let schema: Record<string, unknown> | undefined;
  if (body.source === undefined) fail('source', 'is required');
  else if (typeof body.source !== 'string') fail('source', 'must be a string');
  else {
    const found = source(body.source);
    if (!found) fail('source', `names no source ("${body.source}"): GET /sources lists them`);
    else if (found.archived) fail('source', `"${body.source}" is archived: it takes no new events to aggregate`);
    else schema = found.schema;
  }

  const window = windowOf(body.window, fail);
  if (body.slide !== undefined) slideOf(body.slide, window, fail);

  const fields = new SchemaFields(schema);
  const groupBy = body.groupBy;
  if (groupBy !== undefined) {
    if (!Array.isArray(groupBy)) fail('groupBy', `must be an array of at most ${MAX_GROUP_BY} JSON Pointers`);
    // A list over its bound is named as a whole: its items are not checked one by one (the answer stays small).
    else if (groupBy.length > MAX_GROUP_BY) fail('groupBy', `holds at most ${MAX_GROUP_BY} pointers; it holds ${groupBy.length}`);
    else {
      groupBy.forEach((pointer: unknown, i) => {
        const at = `groupBy/${i}`;
        const problem = pointerProblem(pointer) ?? fields.problem(pointer as string);
        if (problem) return fail(at, problem);
        const first = groupBy.indexOf(pointer);
        if (first < i) fail(at, `repeats groupBy/${first} (${pointer as string})`);
      });
    }
  }

  if (body.filter !== undefined) {
    if (!Array.isArray(body.filter)) fail('filter', `must be an array of at most ${MAX_FILTERS} conditions {field, op, value}`);
    else if (body.filter.length > MAX_FILTERS) fail('filter', `holds at most ${MAX_FILTERS} conditions; it holds ${body.filter.length}`);
    else body.filter.forEach((condition, i) => filterErrors(condition, `filter/${i}`, fields, fail));
  }

  if (body.aggregates === undefined) fail('aggregates', 'is required: at least one of count, sum, avg, min, max, distinct, p50, p95, p99');
  else if (!Array.isArray(body.aggregates) || body.aggregates.length === 0 || body.aggregates.length > MAX_AGGREGATES) {
    fail('aggregates', `must be an array of 1 to ${MAX_AGGREGATES} aggregates {fn, field?, as?}`);
  } else {
    const names = new Map<string, number>();
    body.aggregates.forEach((aggregate, i) => {
      const name = aggregateErrors(aggregate, `aggregates/${i}`, fields, fail);
      if (name === undefined) return;
      const first = names.get(name);
      if (first === undefined) names.set(name, i);
      else {
        const at = `aggregates/${i}/${(aggregate as Record<string, unknown>).as === undefined ? 'fn' : 'as'}`;
        fail(at, `names its value "${name}", as aggregates/${first} does: give one of them another name with as`);
      }
    });
  }

  if (body.timeField !== undefined) {
    const problem = pointerProblem(body.timeField) ?? fields.problem(body.timeField as string);
    if (problem) fail('timeField', problem);
    else {
      const types = fields.types(body.timeField as string);
      if (types && !types.some((t) => t === 'string' || t === 'number' || t === 'integer')) {
        fail(
          'timeField',
          `the source's schema says ${body.timeField as string} is ${describe(types)}; an event time is a date-time string or epoch milliseconds`,
        );
      }
    }
  }

  if (body.lateness !== undefined) {
    const seconds = typeof body.lateness === 'string' ? durationSeconds(body.lateness) : undefined;
    if (seconds === undefined) fail('lateness', `must be ${DURATION_RULE}`);
    else if (seconds > MAX_LATENESS_SECONDS) fail('lateness', 'must be at most 7d');
  }

  if (body.backfillFrom !== undefined) {
    const at = typeof body.backfillFrom === 'string' ? parseDateTime(body.backfillFrom) : undefined;
    if (!at) fail('backfillFrom', 'must be an RFC 3339 date-time with a zone, such as 2026-12-01T00:00:00Z');
    else if (at.getTime() > now.getTime()) fail('backfillFrom', 'must not be in the future');
  }
  return errors;
}

type Fail = (field: string, message: string) => void;

function windowOf(value: unknown, fail: Fail): number | undefined {
  if (value === undefined) return void fail('window', 'is required: the span of each window, such as 1m');
  const seconds = typeof value === 'string' ? durationSeconds(value) : undefined;
  if (seconds === undefined) return void fail('window', `must be ${DURATION_RULE}`);
  if (seconds > DAY_SECONDS) return void fail('window', 'must be at most 1d');
  if (DAY_SECONDS % seconds !== 0) return void fail('window', `must divide a day evenly; ${value as string} (${seconds} s) does not divide 86400 s`);
  return seconds;
}

function slideOf(value: unknown, window: number | undefined, fail: Fail): void {
  const seconds = typeof value === 'string' ? durationSeconds(value) : undefined;
  if (seconds === undefined) return fail('slide', `must be ${DURATION_RULE}`);
  if (window === undefined) return;
  if (seconds > window) return fail('slide', `must be at most the window (${window} s)`);
  if (window % seconds !== 0) fail('slide', `must divide the window (${window} s) evenly; ${seconds} s does not`);
}

function filterErrors(condition: unknown, at: string, fields: SchemaFields, fail: Fail): void {
  if (!isObject(condition)) return fail(at, 'must be a condition {field, op, value}');
  unknownProperties(condition, FILTER_PROPERTIES, `${at}/`, fail);
  if (condition.field === undefined) fail(`${at}/field`, 'is required');
  else {
    const problem = pointerProblem(condition.field) ?? fields.problem(condition.field as string);
    if (problem) fail(`${at}/field`, problem);
  }
  const op = condition.op;
  if (op === undefined) return fail(`${at}/op`, 'is required');
  if (!(FILTER_OPERATORS as readonly unknown[]).includes(op)) return fail(`${at}/op`, `must be one of ${FILTER_OPERATORS.join(' ')}`);
  const value = condition.value;
  if (op === 'exists') {
    if (value !== undefined) fail(`${at}/value`, 'must be left out: exists takes no value');
  } else if (op === 'in') {
    if (!Array.isArray(value) || value.length === 0 || value.length > MAX_IN_VALUES) {
      fail(`${at}/value`, `must be an array of 1 to ${MAX_IN_VALUES} strings, numbers or booleans`);
    } else {
      value.forEach((item, k) => {
        if (!isScalar(item)) fail(`${at}/value/${k}`, 'must be a string, a number or a boolean');
      });
    }
  } else if (!isScalar(value)) {
    fail(`${at}/value`, `${value === undefined ? 'is required' : 'must be a string, a number or a boolean'}: ${op as string} compares with one value`);
  }
}

/** Checks one aggregate; the name of its value when it is valid enough to have one. */
function aggregateErrors(aggregate: unknown, at: string, fields: SchemaFields, fail: Fail): string | undefined {
  if (!isObject(aggregate)) return void fail(at, 'must be an aggregate {fn, field?, as?}');
  unknownProperties(aggregate, AGGREGATE_PROPERTIES, `${at}/`, fail);
  const { fn, field, as } = aggregate;
  let named = true;
  const known = (VIEW_FUNCTIONS as readonly unknown[]).includes(fn);
  if (fn === undefined) fail(`${at}/fn`, 'is required');
  else if (!known) fail(`${at}/fn`, `must be one of ${VIEW_FUNCTIONS.join(' ')}`);
  if (!known) named = false;

  if (field === undefined) {
    if (known && fn !== 'count') {
      fail(`${at}/field`, `is required: ${fn as string} needs a field (only count may go without one)`);
      named = false;
    }
  } else {
    const problem = pointerProblem(field) ?? fields.problem(field as string);
    if (problem) {
      fail(`${at}/field`, problem);
      named = false;
    } else if (known && NUMERIC_FUNCTIONS.includes(fn as ViewFunction)) {
      const types = fields.types(field as string);
      if (types && !types.some((t) => t === 'number' || t === 'integer')) {
        fail(`${at}/field`, `the source's schema says ${field as string} is ${describe(types)}; ${fn as string} needs a number`);
      }
    }
  }

  if (as !== undefined) {
    if (typeof as !== 'string' || !AGGREGATE_NAME.test(as)) {
      fail(`${at}/as`, `must match ${AGGREGATE_NAME.source}: letters, digits and _, not starting with a digit, at most 63`);
      return undefined;
    }
    return as;
  }
  if (!named) return undefined;
  const name = aggregateName(fn as string, field as string | undefined);
  if (!AGGREGATE_NAME.test(name)) {
    fail(`${at}/as`, `is required here: the default name "${name}" does not match ${AGGREGATE_NAME.source}`);
    return undefined;
  }
  return name;
}

function unknownProperties(value: Record<string, unknown>, known: string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) fail(`${prefix}${key}`, `is not a setting here (one of ${known.join(', ')})`);
}

/**
 * What a source's JSON Schema says of the field a pointer names. It follows `properties` (and
 * `items`, for an index into an array), and stops, saying nothing, wherever the schema does not
 * simply say (no schema, an open object, a combinator): a view may read any field the schema allows.
 */
class SchemaFields {
  constructor(private readonly schema: Record<string, unknown> | undefined) {}

  /** Why the pointer names a field the schema allows no event to have, or undefined. */
  problem(pointer: string): string | undefined {
    const found = this.resolve(pointer);
    return found.kind === 'nothing' ? `names nothing the source's schema allows (${found.why})` : undefined;
  }

  /** The types the schema declares for the field, when it declares some. */
  types(pointer: string): string[] | undefined {
    const found = this.resolve(pointer);
    return found.kind === 'schema' ? declaredTypes(found.schema) : undefined;
  }

  private resolve(pointer: string): { kind: 'schema'; schema: Record<string, unknown> } | { kind: 'nothing'; why: string } | { kind: 'unknown' } {
    if (this.schema === undefined) return { kind: 'unknown' };
    let node: unknown = this.schema;
    let path = '';
    for (const token of pointerTokens(pointer)) {
      if (node === false) return { kind: 'nothing', why: `${path || 'the payload'} allows no value` };
      if (!isObject(node)) return { kind: 'unknown' };
      const types = declaredTypes(node);
      const asObject = types === undefined || types.includes('object');
      const asIndex = (types === undefined || types.includes('array')) && /^(0|[1-9]\d*)$/.test(token);
      const properties = isObject(node.properties) ? node.properties : undefined;
      const here = path || 'the payload';
      path = `${path}/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (asObject && properties && Object.hasOwn(properties, token)) {
        node = properties[token];
      } else if (asIndex) {
        if (!isObject(node.items) && node.items !== false) return { kind: 'unknown' };
        node = node.items;
      } else if (asObject) {
        if (node.additionalProperties === false) return { kind: 'nothing', why: `${here} allows no property "${token}"` };
        if (!isObject(node.additionalProperties)) return { kind: 'unknown' };
        node = node.additionalProperties;
      } else {
        return { kind: 'nothing', why: `${here} is ${describe(types)}, with no field "${token}"` };
      }
    }
    if (node === false) return { kind: 'nothing', why: `${pointer} allows no value` };
    return isObject(node) ? { kind: 'schema', schema: node } : { kind: 'unknown' };
  }
}

function declaredTypes(schema: Record<string, unknown>): string[] | undefined {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type) && schema.type.every((t) => typeof t === 'string')) return schema.type;
  return undefined;
}

const ARTICLE: Record<string, string> = { integer: 'an integer', object: 'an object', array: 'an array', null: 'null' };
const describe = (types: string[]): string => types.map((t) => ARTICLE[t] ?? `a ${t}`).join(' or ');

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): value is FilterValue =>
  typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
