import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ApiKeys } from './api-keys';
import { IS_PUBLIC, PublicRule } from './public.decorator';
import { SIGNED_SOURCE_PARAM } from './signed-source.decorator';

/**
 * Requires `Authorization: Bearer <key>` or `X-API-Key: <key>` on every route not marked @Public(),
 * except for a signed source on a route marked @SignatureReplacesApiKey(), whose signature the
 * service checks instead (credentials sent anyway must still agree with each other).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeys;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sources: SourcesRegistry,
  ) {
    this.keys = new ApiKeys(config.http.apiKeys);
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const rule = this.reflector.getAllAndOverride<PublicRule | undefined>(IS_PUBLIC, targets);
    if (rule === true || (typeof rule === 'function' && rule(this.config))) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (this.signedSource(req, this.reflector.getAllAndOverride<string | undefined>(SIGNED_SOURCE_PARAM, targets))) {
      ApiKeys.presentedKey(req.headers);
      return true;
    }
    this.keys.check(req.headers);
    return true;
  }

  /** Whether the route lets a signature replace the key and its source (a route parameter) is signed. */
  private signedSource(req: Request, param: string | undefined): boolean {
    if (param === undefined) return false;
    const name = (req.params as Record<string, string | undefined> | undefined)?.[param];
    return typeof name === 'string' && this.sources.find(name)?.signature !== undefined;
  }
}
