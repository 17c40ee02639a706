import { CanActivate, ExecutionContext, Inject, Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { ApiKeys } from '../common/auth/api-keys';
import { IS_PUBLIC, PublicRule } from '../common/auth/public.decorator';
import { SIGNED_SOURCE_PARAM } from '../common/auth/signed-source.decorator';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { ForbiddenError } from '../common/errors/errors';
import { CheckedRequest, CompiledChecks, CompiledGuard, Handler, RouteCheck } from '../common/http/route-check';
import { AUDITED, AuditRule } from './audit-rule';
import { targetOf } from './audit.interceptor';
import { AuditService } from './audit.service';
import { KeyRing } from './key-ring';
import { setPrincipal } from './principal';
import { RateLimiter } from './rate-limiter';
import { REQUIRED_SCOPE } from './requires-scope.decorator';
import { grants, neededScope, ScopeRule } from './scopes';

/** What a route that declares no scope needs: the most, so that a forgotten declaration fails closed. */
const DEFAULT_RULE: ScopeRule = 'admin';

/**
 * The one access check, for every route not marked @Public(): the request's key (`Authorization:
 * Bearer <key>` or `X-API-Key: <key>`) must be known (KeyRing: API_KEYS, or a stored key neither
 * revoked nor expired), 401 otherwise; and it must hold the scope the handler declares with
 * @RequiresScope (admin when none), 403 naming that scope otherwise. A signed source on a route
 * marked @SignatureReplacesApiKey() needs no key: its signature is checked instead (credentials sent
 * anyway must still agree with each other). Each handler's rule is resolved once and shared with
 * the hot routes (CompiledGuard), so they enforce the same scopes without reflection per request. A
 * key with a rate limit is then counted against its requestsPerSecond (RateLimiter: 429 past it). A
 * refusal of an authenticated caller on an @Audited handler is recorded in the audit trail here,
 * since it happens before any interceptor.
 */
@Injectable()
export class AccessGuard implements CanActivate, CompiledGuard {
  private readonly compiled = new CompiledChecks(this);

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sources: SourcesRegistry,
    private readonly keys: KeyRing,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    return this.compiled.run(context.getClass(), context.getHandler(), context.switchToHttp().getRequest<CheckedRequest>());
  }

  checkFor(controller: Type, handler: Handler): RouteCheck | undefined {
    const targets = [handler, controller];
    const rule = this.reflector.getAllAndOverride<PublicRule | undefined>(IS_PUBLIC, targets);
    if (rule === true || (typeof rule === 'function' && rule(this.config))) return undefined;
    const needed = neededScope(this.reflector.getAllAndOverride<ScopeRule | undefined>(REQUIRED_SCOPE, targets) ?? DEFAULT_RULE);
    const audited = this.reflector.get<AuditRule | undefined>(AUDITED, handler);
    const param = this.reflector.getAllAndOverride<string | undefined>(SIGNED_SOURCE_PARAM, targets);
    const authorize: RouteCheck = (req) => {
      const principal = this.keys.authenticate(req.headers);
      setPrincipal(req, principal);
      const scope = needed(req.params);
      if (grants(principal.scopes, scope)) return this.limiter.request(principal.keyId);
      const refusal = new ForbiddenError(`This key does not hold the scope this route requires: ${scope}`, [{ field: 'scope', message: `requires ${scope}` }]);
      if (audited) {
        const requestId = (req as CheckedRequest & { id?: string }).id;
        void this.audit.record({ principal, action: audited.action, target: targetOf(audited, req), requestId, outcome: refusal.statusCode });
      }
      throw refusal;
    };
    if (param === undefined) return authorize;
    return (req) => {
      if (this.signed(req.params?.[param])) ApiKeys.presentedKey(req.headers);
      else authorize(req);
    };
  }

  private signed(source: string | undefined): boolean {
    return typeof source === 'string' && this.sources.find(source)?.signature !== undefined;
  }
}
