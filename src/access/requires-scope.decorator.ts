import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { describeRule, ScopeRule } from './scopes';

export const REQUIRED_SCOPE = 'requiredScope';

/**
 * The scope a route's key needs, declared once on the handler: the access guard enforces it on the
 * Nest route and on the hot route alike, and the OpenAPI document states it (`x-required-scope`).
 * `@RequiresScope({ ingest: 'source' })` names the route parameter holding the source. A route that
 * declares none needs `admin`.
 */
export const RequiresScope = (rule: ScopeRule) => applyDecorators(SetMetadata(REQUIRED_SCOPE, rule), ApiExtension('x-required-scope', describeRule(rule)));
