import { createHash, randomBytes } from 'node:crypto';

/** Every key the API issues starts with this, so a leaked one is recognizable (and findable by a secret scanner). */
export const KEY_PREFIX = 'pk_';

const KEY = /^pk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A new key id: 12 hex digits, short enough to read out, URL-safe, and free of `_` so the key splits unambiguously. */
export const newKeyId = (): string => randomBytes(6).toString('hex');

/** A new secret: 32 random bytes, base64url. Not a password: one SHA-256 of it is as strong as any slow hash. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** What the caller sends: `pk_<id>_<secret>`. */
export const formatKey = (id: string, secret: string): string => `${KEY_PREFIX}${id}_${secret}`;

/** The start of a key that names it without giving it away, as listings show it. */
export const keyPrefix = (id: string): string => `${KEY_PREFIX}${id}_`;

/** The id and secret of a key in the issued format; undefined for anything else (a key of API_KEYS, a typo). */
export function parseKey(presented: string): { id: string; secret: string } | undefined {
  const match = KEY.exec(presented);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

/** What is stored of a secret: its SHA-256, hex. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');
