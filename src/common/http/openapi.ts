import type { OpenAPIObject } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';

type Schema = Record<string, unknown>;
const REF_PREFIX = '#/components/schemas/';

/**
 * Makes the generated document say what the server enforces, for every route at once:
 * - the DTOs a request body is read into refuse unknown properties (the global ValidationPipe's
 *   forbidNonWhitelisted), so their schemas, and the DTOs nested in them, get additionalProperties: false;
 * - any request can be refused with 431 before routing (headers over Node's 16 KB), in the one error shape;
 * - an operation that declares the scope its key needs (`x-required-scope`, set by @RequiresScope) says
 *   so in its description, and can be refused with 403 naming that scope.
 */
export function declareEnforcedRules(document: OpenAPIObject): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const strict = new Set<string>();
  const visit = (schema: unknown): void => {
    if (typeof schema !== 'object' || schema === null) return;
    const s = schema as Schema;
    if (typeof s.$ref === 'string' && s.$ref.startsWith(REF_PREFIX)) {
      const name = s.$ref.slice(REF_PREFIX.length);
      const target = schemas[name];
      if (!target || strict.has(name)) return;
      strict.add(name);
      if (target.additionalProperties === undefined) target.additionalProperties = false;
      visit(target);
      return;
    }
    for (const key of ['allOf', 'anyOf', 'oneOf']) for (const part of (s[key] as unknown[] | undefined) ?? []) visit(part);
    if (s.items) visit(s.items);
    for (const property of Object.values((s.properties as Record<string, unknown> | undefined) ?? {})) visit(property);
  };
  const errorRef = { $ref: `${REF_PREFIX}${ErrorResponseDto.name}` };
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(
      operations as Record<
        string,
        {
          requestBody?: { content?: Record<string, { schema?: unknown }> };
          responses?: Record<string, unknown>;
          description?: string;
          'x-required-scope'?: string;
        }
      >,
    )) {
      if (typeof operation !== 'object' || operation === null || !operation.responses) continue;
      for (const media of Object.values(operation.requestBody?.content ?? {})) visit(media.schema);
      const scope = operation['x-required-scope'];
      if (scope !== undefined) {
        const sentence = `Requires a key with the scope ${scope}${scope === 'admin' ? '' : ' (or admin)'}.`;
        operation.description = operation.description ? `${operation.description} ${sentence}` : sentence;
        operation.responses['403'] ??= {
          description: `The key does not hold the scope ${scope}: details name it ({field: "scope", message: "requires ${scope}"})`,
          content: { 'application/json': { schema: errorRef } },
        };
      }
      operation.responses['431'] ??= {
        description: 'The request headers are too large (over 16 KB in all); refused before routing',
        content: { 'application/json': { schema: errorRef } },
      };
    }
  }
  return document;
}
