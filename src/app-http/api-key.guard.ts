import { CanActivate, ExecutionContext, Inject, Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { ApiKeys } from '../common/auth/api-keys';
import { IS_PUBLIC, PublicRule } from '../common/auth/public.decorator';
import { SIGNED_SOURCE_PARAM } from '../common/auth/signed-source.decorator';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { CheckedRequest, CompiledChecks, CompiledGuard, Handler, RouteCheck } from '../common/http/route-check';

/**
 * Requires `Authorization: Bearer <key>` or `X-API-Key: <key>` on every route not marked @Public(),
 * except for a signed source on a route marked @SignatureReplacesApiKey(), whose signature is checked
 * instead (credentials sent anyway must still agree with each other). The rule of each handler is
 * resolved once and shared with the hot routes (see CompiledGuard).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, CompiledGuard {
  private readonly keys: ApiKeys;
  private readonly compiled = new CompiledChecks(this);

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sources: SourcesRegistry,
  ) {
    this.keys = new ApiKeys(config.http.apiKeys);
  }

  canActivate(context: ExecutionContext): boolean {
    return this.compiled.run(context.getClass(), context.getHandler(), context.switchToHttp().getRequest<CheckedRequest>());
  }

  checkFor(controller: Type, handler: Handler): RouteCheck | undefined {
    const targets = [handler, controller];
    const rule = this.reflector.getAllAndOverride<PublicRule | undefined>(IS_PUBLIC, targets);
    if (rule === true || (typeof rule === 'function' && rule(this.config))) return undefined;
    const param = this.reflector.getAllAndOverride<string | undefined>(SIGNED_SOURCE_PARAM, targets);
    if (param === undefined) return (req) => this.keys.check(req.headers);
    return (req) => {
      if (this.signed(req.params?.[param])) ApiKeys.presentedKey(req.headers);
      else this.keys.check(req.headers);
    };
  }

  private signed(source: string | undefined): boolean {
    return typeof source === 'string' && this.sources.find(source)?.signature !== undefined;
  }
}
