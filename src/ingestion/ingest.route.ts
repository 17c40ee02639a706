import { HotRoute } from '../common/http/hot-route';
import { IngestionController } from './ingestion.controller';
import { ingestRequest, IngestionService } from './ingestion.service';

/**
 * POST /ingest/{source} as a hot route (served ahead of Express, see hot-routes.ts): the route every
 * event takes. The same guards and call as IngestionController.ingest's, which documents the route and
 * serves the other spellings Express matches.
 */
export function ingestRoute(ingestion: IngestionService): HotRoute {
  return {
    method: 'POST',
    path: 'ingest/:source',
    controller: IngestionController,
    handler: 'ingest',
    async answer(req, source) {
      const { response, replayed } = await ingestion.ingest(ingestRequest(source, req));
      return { status: 202, body: JSON.stringify(response), headers: replayed ? { 'Idempotent-Replayed': 'true' } : undefined };
    },
  };
}
