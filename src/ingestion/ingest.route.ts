import { SourcesRegistry } from '../catalogs/sources.registry';
import { HotRoute } from '../common/http/hot-routes';
import { IngestionService } from './ingestion.service';
import { SignaturePrecheck } from './signature-precheck';

/**
 * POST /ingest/{source} as a hot route (served ahead of Express, see hot-routes.ts): the route every
 * event takes. The same call as IngestionController's, which documents the route and serves the
 * other spellings Express matches.
 */
export function ingestRoute(ingestion: IngestionService, sources: SourcesRegistry, precheck: SignaturePrecheck): HotRoute {
  return {
    method: 'POST',
    path: 'ingest/:source',
    signed: (source) => sources.find(source)?.signature !== undefined,
    async answer(req, source) {
      const { headers } = req;
      // A signed source's request passed without a key: its signature headers at least, before the body is read.
      precheck.require(source, headers);
      const { response, replayed } = await ingestion.ingest({
        source,
        body: req,
        contentLength: headers['content-length'],
        contentType: headers['content-type'],
        contentEncoding: headers['content-encoding'],
        idempotencyKey: single(headers['idempotency-key']),
        headers,
      });
      return { status: 202, body: JSON.stringify(response), headers: replayed ? { 'Idempotent-Replayed': 'true' } : undefined };
    },
  };
}

/** A header as one string: Node joins the repeated lines of such a header itself, the type says it might not. */
const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);
