import { Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeysRepository } from '../../cassandra/api-keys.repository';
import { AuditEventsRepository } from '../../cassandra/audit-events.repository';
import { InMemoryApiKeysRepository } from '../../cassandra/testing/in-memory-api-keys.repository';
import { InMemoryAuditEventsRepository } from '../../cassandra/testing/in-memory-audit-events.repository';
import { RateLimitUsageRepository } from '../../cassandra/rate-limit-usage.repository';
import { InMemoryRateLimitUsageRepository } from '../../cassandra/testing/in-memory-rate-limit-usage.repository';
import { Credentials } from '../../common/auth/credentials';
import type { RateLimit } from '../../common/rate-limit/rate-limit';
import { AccessGuard } from '../access.guard';
import { AuditInterceptor } from '../audit.interceptor';
import { AuditService } from '../audit.service';
import { formatKey, hashSecret } from '../key-secret';
import { KeyRing } from '../key-ring';
import { RateLimiter } from '../rate-limiter';

/**
 * What the access guard needs, wired as AccessModule wires it, over in-memory keys and audit tables:
 * the app's one guard (APP_GUARD), the key ring it checks keys with (API_KEYS of the APP_CONFIG the
 * test module provides, and the keys stored in `keys`, read when the application starts), and the
 * audit trail @Audited handlers record to, and the rate limiter (its processes' counts in `usage`). The module must provide APP_CONFIG and SourcesRegistry.
 */
export function accessProviders(
  keys = new InMemoryApiKeysRepository(),
  audit = new InMemoryAuditEventsRepository(),
  usage = new InMemoryRateLimitUsageRepository(),
): Provider[] {
  return [
    { provide: ApiKeysRepository, useValue: keys.repository },
    { provide: AuditEventsRepository, useValue: audit.repository },
    { provide: RateLimitUsageRepository, useValue: usage.repository },
    RateLimiter,
    KeyRing,
    { provide: Credentials, useExisting: KeyRing },
    AuditService,
    AuditInterceptor,
    { provide: APP_GUARD, useClass: AccessGuard },
  ];
}

/**
 * Stores a key with these scopes in `keys`, as POST /keys would, and answers the key to send; a key
 * ring sees it at its next read, with its rate limit if given. The id is derived from the name, so a test can name it in assertions.
 */
export async function storedKey(
  keys: InMemoryApiKeysRepository,
  name: string,
  scopes: string[],
  at = new Date(),
  rateLimit?: RateLimit,
): Promise<{ id: string; key: string }> {
  const id = hashSecret(name).slice(0, 12);
  const secret = hashSecret(`secret of ${name}`)
    .slice(0, 43)
    .replace(/[^A-Za-z0-9]/g, 'x');
  await keys.insert({ id, name, scopes, hash: hashSecret(secret), createdAt: at, ...(rateLimit && { rateLimit }) });
  return { id, key: formatKey(id, secret) };
}
