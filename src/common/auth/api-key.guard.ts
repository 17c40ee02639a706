import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IS_PUBLIC, PublicRule } from './public.decorator';
import { SIGNED_SOURCE_PARAM } from './signed-source.decorator';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Requires `Authorization: Bearer <key>` or `X-API-Key: <key>` on every route not marked @Public(),
 * except for a signed source on a route marked @SignatureReplacesApiKey(), whose signature the
 * service checks instead.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sources: SourcesRegistry,
  ) {
    this.keys = config.http.apiKeys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const rule = this.reflector.getAllAndOverride<PublicRule | undefined>(IS_PUBLIC, targets);
    if (rule === true || (typeof rule === 'function' && rule(this.config))) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const presented = ApiKeyGuard.presentedKey(req);
    if (this.signedSource(req, this.reflector.getAllAndOverride<string | undefined>(SIGNED_SOURCE_PARAM, targets))) return true;
    if (presented === undefined) {
      throw new UnauthorizedException('Missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"');
    }
    // Compare digests in constant time so neither the key nor its length leaks through timing.
    const candidate = digest(presented);
    if (!this.keys.some((key) => timingSafeEqual(key, candidate))) {
      throw new UnauthorizedException('Invalid API key');
    }
    return true;
  }

  /** Whether the route lets a signature replace the key and its source (a route parameter) is signed. */
  private signedSource(req: Request, param: string | undefined): boolean {
    if (param === undefined) return false;
    const name = (req.params as Record<string, string | undefined> | undefined)?.[param];
    return typeof name === 'string' && this.sources.find(name)?.signature !== undefined;
  }

  /**
   * The key the request presents, X-API-Key or a bearer token. Both present and different is
   * refused rather than one of them picked: which one a proxy or a client library would honour is
   * anyone's guess.
   */
  static presentedKey(req: Request): string | undefined {
    const header = req.headers['x-api-key'];
    const apiKey = typeof header === 'string' && header.length > 0 ? header : undefined;
    const auth = req.headers.authorization;
    const match = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    const bearer = match ? match[1] : undefined;
    // A credential that does not check out is refused, even beside a valid one: never ignored.
    if (auth !== undefined && bearer === undefined && apiKey !== undefined) {
      throw new UnauthorizedException('Authorization must be "Bearer <key>" with the same key as X-API-Key, or be left out');
    }
    if (apiKey !== undefined && bearer !== undefined && !timingSafeEqual(digest(apiKey), digest(bearer))) {
      throw new UnauthorizedException('X-API-Key and Authorization carry different keys');
    }
    return apiKey ?? bearer;
  }
}
