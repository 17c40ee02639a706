import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IS_PUBLIC, PublicRule } from './public.decorator';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Requires `Authorization: Bearer <key>` or `X-API-Key: <key>` on every route not marked @Public(). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.keys = config.http.apiKeys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const rule = this.reflector.getAllAndOverride<PublicRule | undefined>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (rule === true || (typeof rule === 'function' && rule(this.config))) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const presented = ApiKeyGuard.presentedKey(req);
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

  static presentedKey(req: Request): string | undefined {
    const header = req.headers['x-api-key'];
    if (typeof header === 'string' && header.length > 0) return header;
    const auth = req.headers.authorization;
    const match = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    return match ? match[1] : undefined;
  }
}
