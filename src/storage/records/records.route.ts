import type { ValidationPipe } from '@nestjs/common';
import { parse } from 'node:querystring';
import { HotRoute } from '../../common/http/hot-route';
import { RecordsQueryDto } from './dto/records.dto';
import { recordsPageBody } from './records-json';
import { plainRecordsQuery } from './records-query';
import { RecordsController } from './records.controller';
import { RecordsService } from './records.service';

/**
 * GET /records/{source} as a hot route (served ahead of Express, see hot-routes.ts): the query
 * checked as the global validation pipe would (Express 5 parses a query with node:querystring, so a
 * repeated parameter is a list here too; a plain query is checked directly, anything else by the
 * pipe), then the controller's guards and call; the page is written out with each stored payload spliced in
 * as it is (records-json.ts).
 */
export function recordsRoute(records: RecordsService, pipe: ValidationPipe): HotRoute {
  return {
    method: 'GET',
    path: 'records/:source',
    controller: RecordsController,
    handler: 'list',
    async answer(_req, source, query) {
      const params = parse(query ?? '');
      const checked = plainRecordsQuery(params) ?? ((await pipe.transform(params, { type: 'query', metatype: RecordsQueryDto })) as RecordsQueryDto);
      const { items, nextPageToken } = await records.page(source, checked);
      return { status: 200, body: recordsPageBody(items, nextPageToken) };
    },
  };
}
