// A sample event for a source's JSON Schema, prefilled in the source page's test event: it must pass
// the source's own schema, or a quarantining source sets it aside instead of storing it. Covers the
// subset sources use (types, required, enum and const, examples, string lengths, simple patterns,
// formats, numeric bounds, arrays, nested objects); what it cannot satisfy, the API names at its field.

type Schema = Record<string, unknown>;

const typeOf = (schema: Schema): string | undefined => {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') as string | undefined;
  if (typeof t === 'string') return t;
  if (schema.properties) return 'object';
  return undefined;
};

/** An example event for a source's schema: each property with a valid value, required ones first. */
export function exampleFor(schema: Schema | undefined): Record<string, unknown> {
  if (!schema || typeOf(schema) !== 'object' || !schema.properties) return { message: 'hello from the console' };
  return objectFor(schema, true);
}

function objectFor(schema: Schema, topLevel: boolean): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = (schema.required as string[] | undefined) ?? [];
  // Without required properties the first few show what the event looks like; nested objects need no more than asked.
  const names = required.length ? required : topLevel ? Object.keys(properties).slice(0, 3) : [];
  const example: Record<string, unknown> = {};
  for (const name of names) example[name] = valueFor(name, properties[name] ?? {});
  return example;
}

/** A value that satisfies one property's schema. */
export function valueFor(name: string, schema: Schema): unknown {
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const examples = schema.examples as unknown[] | undefined;
  if (examples?.length) return examples[0];
  switch (typeOf(schema)) {
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      const items = (schema.items ?? {}) as Schema;
      const count = typeof schema.minItems === 'number' ? schema.minItems : 0;
      return Array.from({ length: count }, () => valueFor(name, items));
    }
    case 'object':
      return objectFor(schema, false);
    default:
      return stringFor(name, schema);
  }
}

function numberFor(schema: Schema, integer: boolean): number {
  const bound = (key: string) => (typeof schema[key] === 'number' ? schema[key] : undefined);
  // An exclusive bound is stepped over by one for an integer, by a small margin otherwise.
  const step = (x: number) => (integer ? 1 : Math.max(Math.abs(x), 1) * 1e-9);
  const exMin = bound('exclusiveMinimum');
  const exMax = bound('exclusiveMaximum');
  let low = Math.max(bound('minimum') ?? -Infinity, exMin === undefined ? -Infinity : exMin + step(exMin));
  let high = Math.min(bound('maximum') ?? Infinity, exMax === undefined ? Infinity : exMax - step(exMax));
  if (integer) [low, high] = [Math.ceil(low), Math.floor(high)];
  // 1 reads as a plausible amount or count; otherwise the nearest bound.
  return Math.min(Math.max(1, low), high);
}

function stringFor(name: string, schema: Schema): string {
  const now = new Date();
  switch (schema.format) {
    case 'email':
      return 'ada@example.com';
    case 'date-time':
      return now.toISOString();
    case 'date':
      return now.toISOString().slice(0, 10);
    case 'time':
      return now.toISOString().slice(11, 19) + 'Z';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'hostname':
      return 'example.com';
    case 'ipv4':
      return '127.0.0.1';
  }
  if (typeof schema.pattern === 'string') {
    const matching = fromPattern(schema.pattern);
    if (matching !== undefined) return matching;
  }
  let value = `console-${name}-${now.getTime().toString(36)}`;
  if (typeof schema.maxLength === 'number') value = value.slice(0, schema.maxLength);
  if (typeof schema.minLength === 'number') value = value.padEnd(schema.minLength, 'x');
  return value;
}

const CLASS_ESCAPES: Record<string, string> = { d: '0', w: 'a', s: ' ' };

/**
 * A string a simple pattern matches: literals, escapes, character classes and quantifiers, with
 * anchors (such as `^[A-Z]{3}$` or `^o-\d+$`). Anything richer (groups, alternation) gives
 * undefined, and so does a result the pattern itself does not accept.
 */
export function fromPattern(pattern: string): string | undefined {
  let i = 0;
  let out = '';
  const body = pattern.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
  while (i < body.length) {
    let atom: string;
    const c = body[i];
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined) return undefined;
      atom = CLASS_ESCAPES[next] ?? (/[A-Za-z0-9]/.test(next) ? '' : next);
      if (atom === '' && !(next in CLASS_ESCAPES)) return undefined;
      i += 2;
    } else if (c === '[') {
      const end = body.indexOf(']', i + 2);
      if (end < 0 || body[i + 1] === '^') return undefined;
      const set = body.slice(i + 1, end);
      atom = set[0] === '\\' ? (CLASS_ESCAPES[set[1]] ?? set[1]) : set[0];
      i = end + 1;
    } else if ('()|{}*+?^$'.includes(c)) {
      return undefined;
    } else {
      atom = c === '.' ? 'a' : c;
      i += 1;
    }
    let times = 1;
    const q = body[i];
    if (q === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(body.slice(i));
      if (!m) return undefined;
      times = Number(m[1]);
      i += m[0].length;
    } else if (q === '+') {
      i += 1;
    } else if (q === '*' || q === '?') {
      times = 0;
      i += 1;
    }
    out += atom.repeat(times);
  }
  try {
    return new RegExp(pattern, 'u').test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}
