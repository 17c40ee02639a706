import { Global, Module } from '@nestjs/common';
import { CassandraModule } from '../cassandra/cassandra.module';
import { CatalogsModule } from '../catalogs/catalogs.module';
import { Credentials } from '../common/auth/credentials';
import { AccessGuard } from './access.guard';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';
import { AuditService } from './audit.service';
import { KeyRing } from './key-ring';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';
import { RateLimiter } from './rate-limiter';

/** What other modules use of access: the decorators every route declares its scope and audit with. */
export { Audited, NotAudited } from './audited.decorator';
export { RequiresScope } from './requires-scope.decorator';
export { actorOf } from './principal';
export type { AuditEntry } from './audit.service';
export { AuditService, RateLimiter };

/**
 * Keys with scopes (hashes only), the rate limits of keys and sources, and the audit trail. Global, because every controller declares its
 * scope (@RequiresScope) and the handlers that change state are audited (@Audited, whose interceptor
 * needs AuditService in the controller's module); AccessGuard is the app's one guard (APP_GUARD),
 * which the hot routes run too.
 */
@Global()
@Module({
  imports: [CassandraModule, CatalogsModule],
  controllers: [KeysController, AuditController],
  providers: [KeyRing, { provide: Credentials, useExisting: KeyRing }, KeysService, AuditService, AuditInterceptor, AccessGuard, RateLimiter],
  exports: [KeyRing, Credentials, AuditService, AuditInterceptor, AccessGuard, RateLimiter],
})
export class AccessModule {}
