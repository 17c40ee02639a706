/** The page-token secret used outside production when PAGE_TOKEN_SECRET is unset: documented, hence public. */
export const DEV_PAGE_TOKEN_SECRET = 'local-dev-page-token-secret-change-me';

/** The fewest bytes a production secret (an API key, a signing secret, the page-token secret) may have. */
export const MIN_SECRET_BYTES = 32;

/**
 * The secrets the repository publishes for local use (Makefile, infra/.env.example, README): anyone
 * can read them, so a production API refuses to start with any of them. `values` are refused as
 * they are; `marker` catches the placeholders of infra/.env.example (`change-me...`) and any other
 * value that says it is one.
 */
export const DEV_SECRETS = {
  values: [
    'local-dev-key-change-me',
    'local-dev-airflow-key-change-me',
    // The Makefile's WEBHOOKS_SIGNING_SECRET, and the key it encodes.
    'whsec_bG9jYWwtZGV2LXdlYmhvb2tzLWtleS1jaGFuZ2UtbWU=',
    'local-dev-webhooks-key-change-me',
    DEV_PAGE_TOKEN_SECRET,
  ] as readonly string[],
  marker: /change[-_]?me/i,
} as const;

/** Whether a secret is one of the published development values (as text, or as the bytes of a decoded key). */
export function isDevSecret(value: string | Buffer): boolean {
  const text = typeof value === 'string' ? value : value.toString('latin1');
  return DEV_SECRETS.values.includes(text) || DEV_SECRETS.marker.test(text);
}

/**
 * Why `value` may not be a production secret, or undefined when it may: never the value itself, so
 * the answer can be printed. `minBytes` is MIN_SECRET_BYTES unless a scheme fixes its own minimum.
 */
export function productionSecretProblem(value: string | Buffer, minBytes = MIN_SECRET_BYTES): string | undefined {
  if (isDevSecret(value)) return 'is a published development value';
  const bytes = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  if (bytes < minBytes) return `is ${bytes} bytes long; at least ${minBytes} are required`;
  return undefined;
}
