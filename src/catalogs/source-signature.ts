import { SecretLookup } from '../common/config/app-config';
import { productionSecretProblem } from '../common/config/dev-secrets';

/** How the sender of a source signs its deliveries (see docs/api.md, "Webhooks"). */
export type SignatureScheme = 'standard-webhooks' | 'github' | 'stripe' | 'hmac-sha256';

export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = ['standard-webhooks', 'github', 'stripe', 'hmac-sha256'];

interface Keys {
  /**
   * The HMAC keys, one per configured secret: a delivery is accepted when it matches any of them,
   * so a secret is rotated by listing the new one beside the old one for a while.
   */
  keys: Buffer[];
}

/** The signature settings of a source, checked and with its secrets resolved, as the verifier uses them. */
export type SourceSignature =
  | (Keys & { scheme: 'standard-webhooks'; toleranceSeconds: number })
  | (Keys & { scheme: 'github' })
  | (Keys & { scheme: 'stripe'; toleranceSeconds: number })
  | (Keys & {
      scheme: 'hmac-sha256';
      /** Lower-case, as Node hands header names over. */
      header: string;
      encoding: 'hex' | 'base64';
      timestampHeader?: string;
      toleranceSeconds: number;
    });

export const DEFAULT_TOLERANCE_SECONDS = 300;

const KNOWN_KEYS = ['scheme', 'secrets', 'toleranceSeconds', 'header', 'encoding', 'timestampHeader'];
/** The settings each scheme takes besides scheme and secrets; anything else is a mistake worth stopping for. */
const SCHEME_KEYS: Record<SignatureScheme, string[]> = {
  'standard-webhooks': ['toleranceSeconds'],
  github: [],
  stripe: ['toleranceSeconds'],
  'hmac-sha256': ['header', 'encoding', 'timestampHeader', 'toleranceSeconds'],
};
const REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const WHSEC = 'whsec_';
/**
 * The shortest Standard Webhooks key a production API takes: the standard's own lower bound (24 to 64
 * bytes), which its reference secrets use; every other scheme's secret needs MIN_SECRET_BYTES.
 */
const MIN_STANDARD_WEBHOOKS_KEY_BYTES = 24;

/**
 * Parses and checks the `signature` setting of a source, resolving each `${NAME}` of its secrets
 * through `secret`. Throws one message prefixed with `where` (the file and the source) naming the
 * setting or the variable to fix; a message never contains a secret, nor a literal found in place of
 * a reference. In `production`, a secret that is a published development value or too short is refused too.
 */
export function parseSignature(raw: unknown, where: string, secret: SecretLookup, production = false): SourceSignature {
  const at = `${where}: signature`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`${at}: expected a mapping with scheme and secrets`);
  }
  const entry = raw as Record<string, unknown>;
  const unknown = Object.keys(entry).filter((k) => !KNOWN_KEYS.includes(k));
  if (unknown.length) throw new Error(`${at}: unknown setting(s) ${unknown.join(', ')}; allowed: ${KNOWN_KEYS.join(', ')}`);

  const scheme = entry.scheme;
  if (typeof scheme !== 'string' || !(SIGNATURE_SCHEMES as readonly string[]).includes(scheme)) {
    const shown = typeof scheme === 'string' ? `"${scheme}"` : scheme === undefined ? 'missing' : 'not a string';
    throw new Error(`${at}.scheme is ${shown}; expected one of ${SIGNATURE_SCHEMES.join(', ')}`);
  }
  const s = scheme as SignatureScheme;
  const misplaced = Object.keys(entry).filter((k) => k !== 'scheme' && k !== 'secrets' && !SCHEME_KEYS[s].includes(k));
  if (misplaced.length) {
    const takes = SCHEME_KEYS[s].length ? `it takes ${SCHEME_KEYS[s].join(', ')}` : 'it takes only scheme and secrets';
    throw new Error(`${at}: ${misplaced.join(', ')} does not apply to scheme ${s}; ${takes}`);
  }

  const keys = resolveKeys(entry.secrets, at, s, secret, production);
  const toleranceSeconds = tolerance(entry.toleranceSeconds, at);
  switch (s) {
    case 'standard-webhooks':
    case 'stripe':
      return { scheme: s, keys, toleranceSeconds };
    case 'github':
      return { scheme: s, keys };
    case 'hmac-sha256': {
      if (entry.header === undefined) throw new Error(`${at}.header is required for scheme hmac-sha256: the header that carries the signature`);
      const header = headerName(entry.header, `${at}.header`);
      const timestampHeader = entry.timestampHeader === undefined ? undefined : headerName(entry.timestampHeader, `${at}.timestampHeader`);
      if (entry.toleranceSeconds !== undefined && timestampHeader === undefined) {
        throw new Error(`${at}.toleranceSeconds needs timestampHeader: without a signed timestamp there is nothing to check it against`);
      }
      const encoding = entry.encoding ?? 'hex';
      if (encoding !== 'hex' && encoding !== 'base64') {
        throw new Error(`${at}.encoding must be hex or base64 (default hex)`);
      }
      return { scheme: s, keys, header, encoding, ...(timestampHeader ? { timestampHeader } : {}), toleranceSeconds };
    }
  }
}

function resolveKeys(secrets: unknown, at: string, scheme: SignatureScheme, secret: SecretLookup, production: boolean): Buffer[] {
  const example = scheme === 'standard-webhooks' ? 'WEBHOOKS_SIGNING_SECRET' : 'SIGNING_SECRET';
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new Error(`${at}.secrets must be a non-empty list of environment variable references, e.g. ["\${${example}}"]`);
  }
  return secrets.map((ref, i) => {
    const match = typeof ref === 'string' ? REFERENCE.exec(ref) : null;
    if (!match) {
      // The value is not repeated: it may be the very secret that must not be in the file.
      throw new Error(
        `${at}.secrets[${i}] is not a reference like \${${example}}: secrets are never written in the file; ` +
          'put the secret in an environment variable of the API and name that variable here',
      );
    }
    const variable = match[1];
    const value = secret(variable);
    if (value === undefined || value === '') {
      throw new Error(
        `${at}.secrets[${i}] refers to ${variable}, which is ${value === undefined ? 'not set' : 'empty'}: set ${variable} in the API's environment`,
      );
    }
    if (scheme !== 'standard-webhooks') return production ? strong(Buffer.from(value, 'utf8'), value, at, i, variable) : Buffer.from(value, 'utf8');
    const encoded = value.startsWith(WHSEC) ? value.slice(WHSEC.length) : '';
    const key = BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    // Buffer.from(..., 'base64') skips what it cannot decode; a round trip tells a typo from a key.
    if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
      throw new Error(`${at}.secrets[${i}]: ${variable} must hold "whsec_" followed by the base64 of the key, as Standard Webhooks senders show it`);
    }
    return production ? strong(key, value, at, i, variable, MIN_STANDARD_WEBHOOKS_KEY_BYTES) : key;
  });
}

/**
 * The key, unless a production API must refuse it: the variable's value or the key it holds is a
 * published development value, or the key is shorter than `minBytes`. The message names the
 * variable, never its value.
 */
function strong(key: Buffer, value: string, at: string, i: number, variable: string, minBytes?: number): Buffer {
  const problem = productionSecretProblem(value, 0) ?? productionSecretProblem(key, minBytes);
  if (problem) {
    throw new Error(
      `${at}.secrets[${i}] refers to ${variable}, whose key ${problem} (NODE_ENV=production): ` + `set ${variable} to a random secret of your own`,
    );
  }
  return key;
}

function tolerance(value: unknown, at: string): number {
  if (value === undefined) return DEFAULT_TOLERANCE_SECONDS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${at}.toleranceSeconds must be a positive whole number of seconds (default ${DEFAULT_TOLERANCE_SECONDS})`);
  }
  return value;
}

function headerName(value: unknown, at: string): string {
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) throw new Error(`${at} must be an HTTP header name, e.g. X-Signature`);
  return value.toLowerCase();
}
