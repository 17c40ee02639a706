import { Injectable } from '@nestjs/common';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { UnauthorizedError } from '../common/errors/errors';
import { MetricsService } from '../metrics/metrics.service';
import { missingSignatureHeaders, SignatureHeaders } from './webhook-signature.verifier';

/**
 * The cheap half of a signed source's check, before its body is read: a request for a signed source
 * passes the API-key guard without a key, so without this an anonymous client could have the source's
 * whole body limit buffered before being refused. A request without the scheme's signature headers
 * is refused here with the same 401 the full check (IngestionService) answers after reading the body;
 * the signature itself can only be checked on the body.
 */
@Injectable()
export class SignaturePrecheck {
  constructor(
    private readonly sources: SourcesRegistry,
    private readonly metrics: MetricsService,
  ) {}

  /** Throws 401 when `sourceName` is a signed source and the request lacks a header its scheme needs. */
  require(sourceName: string, headers: SignatureHeaders): void {
    const source = this.sources.find(sourceName);
    if (!source?.signature) return;
    const missing = missingSignatureHeaders(source.signature, headers);
    if (!missing) return;
    this.metrics.rejected(source.name, 'bad_signature', 1);
    throw new UnauthorizedError(missing.message, [{ source: source.name, scheme: source.signature.scheme, problem: missing.problem }]);
  }
}
