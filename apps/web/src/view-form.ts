// A view's definition as the form holds it (text, and one row per group field, condition and
// aggregate), back to the body of POST /views, and the API's 400 placed at the fields it names.
// The API checks every rule (src/views/view-definition.ts, which the streaming job shares): this
// only turns text into JSON, and leaves out what is empty so that the API names what is missing.
import { DEFAULT_LATENESS, FILTER_OPERATORS, MAX_GROUP_BY, VIEW_FUNCTIONS } from '../../../src/views/view-definition';
import type { FilterOperator, FilterValue, ViewFunction } from '../../../src/views/view-definition';
import type { ViewDefinitionDto } from './api';

/** The functions, operators and number of group fields the API offers, and the lateness it takes when none is given. */
export { DEFAULT_LATENESS, FILTER_OPERATORS, MAX_GROUP_BY, VIEW_FUNCTIONS };

export interface FilterRow {
  field: string;
  op: FilterOperator;
  /** As typed: one value, or for `in` several separated by commas (or a JSON array). */
  value: string;
}

export interface AggregateRow {
  fn: ViewFunction;
  field: string;
  as: string;
}

export interface ViewForm {
  name: string;
  source: string;
  window: string;
  slide: string;
  groupBy: string[];
  filter: FilterRow[];
  aggregates: AggregateRow[];
  timeField: string;
  lateness: string;
  backfillFrom: string;
}

/** A body as the form sends it: what is left empty is left out, and the API says it is required. */
export type DefinitionBody = Partial<ViewDefinitionDto>;

export const newForm = (source = ''): ViewForm => ({
  name: '',
  source,
  window: '1m',
  slide: '',
  groupBy: [],
  filter: [],
  aggregates: [{ fn: 'count', field: '', as: '' }],
  timeField: '',
  lateness: '',
  backfillFrom: '',
});

const text = (v: string): string | undefined => v.trim() || undefined;

/** One value as typed: a number, true or false as such, "quoted" text as the text inside, anything else as the text itself. */
export function scalarOf(typed: string): FilterValue {
  try {
    const value: unknown = JSON.parse(typed);
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  } catch {
    // not JSON: the text itself
  }
  return typed;
}

/** A condition's value as the API takes it: none for exists (or when left empty), a list for in, else one value. */
export function filterValue(op: FilterOperator, typed: string): FilterValue | FilterValue[] | undefined {
  const value = typed.trim();
  if (op === 'exists' || value === '') return undefined;
  if (op !== 'in') return scalarOf(value);
  if (value.startsWith('[')) {
    try {
      const list: unknown = JSON.parse(value);
      if (Array.isArray(list)) return list as FilterValue[];
    } catch {
      // not a JSON array: values separated by commas
    }
  }
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
    .map(scalarOf);
}

/** A value of a stored definition as the form shows it, so that filterValue reads it back the same. */
export function valueText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.trim() === value && scalarOf(value) === value ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const items = value.map(valueText);
    return items.every((t, i) => t !== '' && !t.includes(',') && (i > 0 || !t.startsWith('['))) ? items.join(', ') : JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/** The body of POST /views: every row sent in order (so the API's `filter/1/op` is the form's second condition), empty text left out. */
export function definitionOf(form: ViewForm): DefinitionBody {
  const body: Record<string, unknown> = {
    name: text(form.name),
    source: text(form.source),
    window: text(form.window),
    slide: text(form.slide),
    groupBy: form.groupBy.length ? form.groupBy.map((p) => p.trim()) : undefined,
    filter: form.filter.length ? form.filter.map((f) => defined({ field: text(f.field), op: f.op, value: filterValue(f.op, f.value) })) : undefined,
    aggregates: form.aggregates.map((a) => defined({ fn: a.fn, field: text(a.field), as: text(a.as) })),
    timeField: text(form.timeField),
    lateness: text(form.lateness),
    backfillFrom: text(form.backfillFrom),
  };
  return defined(body);
}

/** The form of a definition written as JSON (best effort: fromJson says when it does not hold it exactly). */
export function formOf(definition: Record<string, unknown>): ViewForm {
  const str = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const item = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const op = (v: unknown): FilterOperator => ((FILTER_OPERATORS as readonly unknown[]).includes(v) ? (v as FilterOperator) : '=');
  const fn = (v: unknown): ViewFunction => ((VIEW_FUNCTIONS as readonly unknown[]).includes(v) ? (v as ViewFunction) : 'count');
  return {
    name: str(definition.name),
    source: str(definition.source),
    window: str(definition.window),
    slide: str(definition.slide),
    groupBy: list(definition.groupBy).map(str),
    filter: list(definition.filter)
      .map(item)
      .map((f) => ({ field: str(f.field), op: op(f.op), value: valueText(f.value) })),
    aggregates: list(definition.aggregates)
      .map(item)
      .map((a) => ({ fn: fn(a.fn), field: str(a.field), as: str(a.as) })),
    timeField: str(definition.timeField),
    lateness: str(definition.lateness),
    backfillFrom: str(definition.backfillFrom),
  };
}

/** The body as JSON text, for editing it by hand. */
export const definitionText = (form: ViewForm): string => JSON.stringify(definitionOf(form), null, 2);

/**
 * A definition typed as JSON, read back into the form; refused (an error) when it is no JSON object,
 * or when the form cannot hold it exactly (a property it has no field for, a value of another type,
 * spaces around a value): the form would send something else than what was typed.
 */
export function fromJson(typed: string): { form?: ViewForm; error?: string } {
  let value: unknown;
  try {
    value = JSON.parse(typed);
  } catch (err) {
    return { error: `definition: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'definition: must be a JSON object' };
  const form = formOf(value as Record<string, unknown>);
  if (!sameJson(definitionOf(form), value)) {
    return {
      error: 'The form cannot show this definition exactly (a setting it has no field for, a value of another type, or empty text): keep editing it as JSON.',
    };
  }
  return { form };
}

/** Where the form can show an error: each setting, each list, each row, each field of a row. */
export function fieldsOf(form: ViewForm): Set<string> {
  const fields = new Set(['name', 'source', 'window', 'slide', 'groupBy', 'filter', 'aggregates', 'timeField', 'lateness', 'backfillFrom']);
  form.groupBy.forEach((_, i) => fields.add(`groupBy/${i}`));
  form.filter.forEach((_, i) => ['', '/field', '/op', '/value'].forEach((f) => fields.add(`filter/${i}${f}`)));
  form.aggregates.forEach((_, i) => ['', '/fn', '/field', '/as'].forEach((f) => fields.add(`aggregates/${i}${f}`)));
  return fields;
}

/**
 * The API's field errors (ApiError.fieldErrors) placed at the form's fields: each at the nearest
 * field that holds its path (`filter/0/value/2` at the value of the first condition, saying which
 * item); those the form has no field for (the whole body, a property it does not send) elsewhere.
 * With `within`, the definition is a property of the body (POST /views/preview names `definition/window`):
 * only the paths inside it are the form's.
 */
export function placeErrors(
  errors: Map<string, string[]>,
  fields: Set<string>,
  within?: string,
): { at: Map<string, string[]>; elsewhere: [string, string[]][] } {
  const at = new Map<string, string[]>();
  const elsewhere: [string, string[]][] = [];
  for (const [field, messages] of errors) {
    const path = field.replace(/^\//, '');
    const inside = within === undefined ? path : path.startsWith(`${within}/`) ? path.slice(within.length + 1) : undefined;
    const parts = inside === undefined ? [] : inside.split('/');
    let placed = false;
    for (let n = parts.length; n > 0 && !placed; n--) {
      const slot = parts.slice(0, n).join('/');
      if (!fields.has(slot)) continue;
      const rest = parts.slice(n).join('/');
      const said = rest === '' ? messages : messages.map((m) => `${/^\d+$/.test(rest) ? `item ${rest}` : rest}: ${m}`);
      at.set(slot, [...(at.get(slot) ?? []), ...said]);
      placed = true;
    }
    if (!placed) elsewhere.push([field, messages]);
  }
  return { at, elsewhere };
}

/** The object without its undefined properties. */
function defined<T extends Record<string, unknown>>(value: T): T {
  for (const k of Object.keys(value)) if (value[k] === undefined) delete value[k];
  return value;
}

/** Whether two JSON values are the same, whatever the order of their properties. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => sameJson(v, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
