import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvironmentVariables } from './env.schema';

/**
 * Variables the configuration table may document besides those of EnvironmentVariables, each read
 * elsewhere: WEBHOOKS_SIGNING_SECRET through `${...}` in config/sources.yaml (the sources registry).
 */
const READ_ELSEWHERE = ['WEBHOOKS_SIGNING_SECRET'];

interface Row {
  names: string[];
  defaults: string;
}

/** The rows of the `## Configuration` table of docs/operations.md: the variables each names, and its default cell. */
function configurationRows(markdown: string): Row[] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(markdown);
  if (!section) throw new Error('docs/operations.md has no "## Configuration" section');
  return section[1]
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names, defaults] = line.split(' | ');
      return { names: [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]), defaults: defaults.trim() };
    });
}

/**
 * The defaults a cell states plainly, one per variable of the row: `3000`, or `admin`, `admin-local-password`
 * for a row of two; `(unset)` for none. Anything in words (`false` (`make up`: `true`), another variable's
 * name) states no plain default and is not compared.
 */
function plainDefaults(cell: string, count: number, variables: Set<string>): (string | undefined)[] | undefined {
  if (cell === '(unset)') return Array<undefined>(count).fill(undefined);
  const values = /^`[^`]*`(, `[^`]*`)*$/.test(cell) ? [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]) : [];
  if (values.length === 0 || values.some((v) => variables.has(v))) return undefined;
  if (values.length === count) return values;
  return values.length === 1 ? Array<string>(count).fill(values[0]) : undefined;
}

const schemaVariables = (): string[] => [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((m) => m.propertyName),
  ),
];

describe('the configuration table of docs/operations.md', () => {
  const rows = configurationRows(readFileSync(resolve(__dirname, '../../../docs/operations.md'), 'utf8'));
  const documented = rows.flatMap((r) => r.names);
  const variables = new Set(schemaVariables());
  const defaults = new EnvironmentVariables() as unknown as Record<string, string | number | boolean | undefined>;

  it('has a row for every variable of the environment schema', () => {
    expect(variables.size).toBeGreaterThan(50);
    expect([...variables].filter((name) => !documented.includes(name))).toEqual([]);
  });

  it('names only variables of the schema, or of the short list read elsewhere', () => {
    expect(rows.length).toBeGreaterThan(50);
    for (const row of rows) expect(row.names.length).toBeGreaterThan(0);
    expect(documented.filter((name) => !variables.has(name) && !READ_ELSEWHERE.includes(name))).toEqual([]);
    expect(documented.filter((name, i) => documented.indexOf(name) !== i)).toEqual([]);
  });

  it("states each plainly given default as the schema's own", () => {
    let compared = 0;
    for (const row of rows) {
      const stated = plainDefaults(row.defaults, row.names.length, variables);
      if (!stated) continue;
      row.names.forEach((name, i) => {
        const actual = defaults[name] === undefined ? undefined : String(defaults[name]);
        expect({ name, default: stated[i] }).toEqual({ name, default: actual });
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(50);
  });
});
