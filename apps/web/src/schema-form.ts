// A form from a job's JSON Schema (GET /jobs, `args`): one field per property, rendered from the
// schema, and the values turned back into the JSON the API checks. The API validates; the form
// only shows its answer at the fields (see ApiError.fieldErrors).

type Schema = Record<string, unknown>;

export type FieldKind = 'text' | 'integer' | 'number' | 'boolean' | 'enum' | 'list' | 'json';

export interface FormField {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  /** For a list: its items are numbers. */
  numericItems?: boolean;
  /** An HTML input type for text-like kinds (date for format: date). */
  inputType?: 'text' | 'date' | 'number';
  min?: number;
  max?: number;
  placeholder?: string;
  /** The value the field starts with, as the input shows it. */
  initial: string;
}

const typeOf = (schema: Schema): string | undefined => {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') as string | undefined;
  return typeof t === 'string' ? t : undefined;
};

const display = (value: unknown, kind: FieldKind): string => {
  if (value === undefined || value === null) return '';
  if (kind === 'list' && Array.isArray(value)) return value.join(', ');
  if (kind === 'json' || typeof value === 'object') return JSON.stringify(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
};

/** The fields of an object schema, in the order of its properties. */
export function formFields(schema: Schema | undefined): FormField[] {
  const properties = (schema?.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, prop]) => {
    const type = typeOf(prop);
    const items = (prop.items ?? {}) as Schema;
    let kind: FieldKind;
    if (Array.isArray(prop.enum)) kind = 'enum';
    else if (type === 'integer') kind = 'integer';
    else if (type === 'number') kind = 'number';
    else if (type === 'boolean') kind = 'boolean';
    else if (type === 'array' && ['string', 'integer', 'number'].includes(typeOf(items) ?? '')) kind = 'list';
    else if (type === 'string') kind = 'text';
    else kind = 'json';
    const examples = prop.examples as unknown[] | undefined;
    const example = examples?.[0];
    return {
      name,
      label: name.replace(/_/g, ' '),
      kind,
      required: required.has(name),
      description: typeof prop.description === 'string' ? prop.description : undefined,
      options: kind === 'enum' ? (prop.enum as unknown[]).map(String) : undefined,
      numericItems: kind === 'list' ? typeOf(items) !== 'string' : undefined,
      inputType: kind === 'text' ? (prop.format === 'date' ? 'date' : 'text') : kind === 'integer' || kind === 'number' ? 'number' : undefined,
      min: typeof prop.minimum === 'number' ? prop.minimum : undefined,
      max: typeof prop.maximum === 'number' ? prop.maximum : undefined,
      placeholder: example === undefined ? (kind === 'list' ? 'comma-separated' : undefined) : display(example, kind),
      initial: display(prop.default, kind),
    };
  });
}

/**
 * The args the form's values stand for: empty fields are left out (the API applies defaults and
 * says what is missing), numbers and lists are converted, anything unreadable is sent as typed so
 * that the API names the problem at its field.
 */
export function formValues(fields: FormField[], values: Record<string, string>): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = (values[field.name] ?? '').trim();
    if (field.kind === 'boolean') {
      if (raw) args[field.name] = raw === 'true';
      continue;
    }
    if (raw === '') continue;
    switch (field.kind) {
      case 'integer':
      case 'number':
        args[field.name] = Number.isNaN(Number(raw)) ? raw : Number(raw);
        break;
      case 'list':
        args[field.name] = raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => (field.numericItems && !Number.isNaN(Number(s)) ? Number(s) : s));
        break;
      case 'json':
        try {
          args[field.name] = JSON.parse(raw);
        } catch {
          args[field.name] = raw;
        }
        break;
      default:
        args[field.name] = raw;
    }
  }
  return args;
}

/** The field a JSON Pointer from the API's details names (`/sources/0` → sources); '' for the whole document. */
export function fieldOf(pointer: string): string {
  const first = pointer.split('/')[1] ?? '';
  return first.replace(/~1/g, '/').replace(/~0/g, '~');
}
