import type { OpenAPIObject } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';

type Schema = Record<string, unknown>;
const REF_PREFIX = '#/components/schemas/';

/**
 * Makes the generated document say what the server enforces, for every route at once:
 * - the DTOs a request body is read into refuse unknown properties (the global ValidationPipe's
 *   forbidNonWhitelisted), so their schemas, and the DTOs nested in them, get additionalProperties: false;
 * - any request can be refused with 431 before routing (headers over Node's 16 KB), in the one error shape.
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
      operations as Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> }; responses?: Record<string, unknown> }>,
    )) {
      if (typeof operation !== 'object' || operation === null || !operation.responses) continue;
      for (const media of Object.values(operation.requestBody?.content ?? {})) visit(media.schema);
      operation.responses['431'] ??= {
        description: 'The request headers are too large (over 16 KB in all); refused before routing',
        content: { 'application/json': { schema: errorRef } },
      };
    }
  }
  return document;
}
