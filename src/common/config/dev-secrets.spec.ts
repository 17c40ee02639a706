import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_PAGE_TOKEN_SECRET, DEV_SECRETS, isDevSecret, productionSecretProblem } from './dev-secrets';

/** The variables of a dotenv file, by name. */
function dotenv(path: string): Record<string, string> {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line));
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe('DEV_SECRETS', () => {
  it.each([...DEV_SECRETS.values])('holds %s', (value) => {
    expect(isDevSecret(value)).toBe(true);
    expect(productionSecretProblem(value)).toBe('is a published development value');
  });

  it('knows the Makefile webhooks key in its decoded form too, and the page-token dev default', () => {
    expect(isDevSecret(Buffer.from('whsec_bG9jYWwtZGV2LXdlYmhvb2tzLWtleS1jaGFuZ2UtbWU='.slice(6), 'base64'))).toBe(true);
    expect(isDevSecret(DEV_PAGE_TOKEN_SECRET)).toBe(true);
  });

  it('takes any value that says change-me or changeme for a placeholder', () => {
    for (const value of ['change-me-airflow-jwt-secret', 'my-key-CHANGEME-0123456789abcdef0123', 'please_change_me_0123456789abcdef0']) {
      expect(isDevSecret(value)).toBe(true);
    }
  });

  // infra/.env.example is the published configuration of the compose stack: none of its secrets may start a production API
  // (it leaves them empty, or a placeholder).
  it('covers every API key and secret infra/.env.example publishes', () => {
    const example = dotenv(join(__dirname, '../../../infra/.env.example'));
    const secrets = Object.entries(example).filter(([name, value]) => /(^|_)(KEYS?|SECRET)(_|$)/.test(name) && value !== '');

    for (const [name, value] of secrets) expect({ name, dev: value.split(',').every(isDevSecret) }).toEqual({ name, dev: true });
  });

  it('accepts a random value of 32 bytes or more, and says how short a shorter one is', () => {
    expect(productionSecretProblem('Zm9vYmFyYmF6cXV4LTAxMjM0NTY3ODlhYmNkZWY=')).toBeUndefined();
    expect(productionSecretProblem('0123456789abcdef0123456789abcde')).toBe('is 31 bytes long; at least 32 are required');
    expect(productionSecretProblem(Buffer.alloc(24, 7), 24)).toBeUndefined();
  });
});
