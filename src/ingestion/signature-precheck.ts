import { CanActivate, ExecutionContext, Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { SIGNED_SOURCE_PARAM } from '../common/auth/signed-source.decorator';
import { UnauthorizedError } from '../common/errors/errors';
import { CheckedRequest, CompiledChecks, CompiledGuard, Handler, RouteCheck } from '../common/http/route-check';
import { MetricsService } from '../metrics/metrics.service';
import { missingSignatureHeaders, SignatureHeaders } from './webhook-signature.verifier';

/**
 * The cheap half of a signed source's check, before its body is read, as the guard of a route marked
 * @SignatureReplacesApiKey() (after the API-key guard): a request for a signed source passes the
 * API-key guard without a key, so without this an anonymous client could have the source's whole body
 * limit buffered before being refused. A request without the scheme's signature headers is refused
 * here with the same 401 the full check (IngestionService) answers after reading the body; the
 * signature itself can only be checked on the body.
 */
@Injectable()
export class SignaturePrecheck implements CanActivate, CompiledGuard {
  private readonly compiled = new CompiledChecks(this);

  constructor(
    private readonly reflector: Reflector,
    private readonly sources: SourcesRegistry,
    private readonly metrics: MetricsService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    return this.compiled.run(context.getClass(), context.getHandler(), context.switchToHttp().getRequest<CheckedRequest>());
  }

  checkFor(controller: Type, handler: Handler): RouteCheck | undefined {
    const param = this.reflector.getAllAndOverride<string | undefined>(SIGNED_SOURCE_PARAM, [handler, controller]);
    if (param === undefined) return undefined;
    return (req) => this.require(req.params?.[param], req.headers);
  }

  /** Throws 401 when `sourceName` is a signed source and the request lacks a header its scheme needs. */
  require(sourceName: string | undefined, headers: SignatureHeaders): void {
    if (typeof sourceName !== 'string') return;
    const source = this.sources.find(sourceName);
    if (!source?.signature) return;
    const missing = missingSignatureHeaders(source.signature, headers);
    if (!missing) return;
    this.metrics.rejected(source.name, 'bad_signature', 1);
    throw new UnauthorizedError(missing.message, [{ source: source.name, scheme: source.signature.scheme, problem: missing.problem }]);
  }
}
