import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ANY_KEY, describeRule, ScopeRule } from './scopes';

export const REQUIRED_SCOPE = 'requiredScope';

/**
 * The scope a route's key needs, declared once on the handler: the access guard enforces it on the
 * Nest route and on the hot route alike, and the OpenAPI document states it (`x-required-scope`).
 * `@RequiresScope({ ingest: 'source' })` names the route parameter holding the source. A route that
 * declares none needs `admin`. ANY_KEY states no scope in the document: there is none to hold, and no 403.
 */
export const RequiresScope = (rule: ScopeRule) =>
  rule === ANY_KEY
    ? SetMetadata(REQUIRED_SCOPE, rule)
    : applyDecorators(SetMetadata(REQUIRED_SCOPE, rule), ApiExtension('x-required-scope', describeRule(rule)));
