import type { ValidationPipe } from '@nestjs/common';
import { parse } from 'node:querystring';
import { HotRoute } from '../common/http/hot-routes';
import { RecordsQueryDto } from './dto/records.dto';
import { recordsPageJson } from './records-json';
import { RecordsService } from './records.service';

/**
 * GET /records/{source} as a hot route (served ahead of Express, see hot-routes.ts): the query
 * checked by the global validation pipe as Nest would (Express 5 parses a query with node:querystring,
 * so a repeated parameter is a list here too), then the controller's call; the page is written out
 * with each stored payload spliced in as it is (records-json.ts).
 */
export function recordsRoute(records: RecordsService, pipe: ValidationPipe): HotRoute {
  return {
    method: 'GET',
    path: 'records/:source',
    async answer(_req, source, query) {
      const checked = (await pipe.transform(parse(query ?? ''), { type: 'query', metatype: RecordsQueryDto })) as RecordsQueryDto;
      const { items, nextPageToken } = await records.page(source, checked);
      return { status: 200, json: recordsPageJson(items, nextPageToken) };
    },
  };
}
