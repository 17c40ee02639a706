import type { OpenAPIObject } from '@nestjs/swagger';
import { declareEnforcedRules } from './openapi';

function documentWith(): OpenAPIObject {
  return {
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: {
      '/schedules': {
        post: {
          description: 'Create a schedule.',
          ...({ 'x-required-scope': 'operate' } as Record<string, string>),
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateScheduleDto' } } } },
          responses: { '201': { description: 'created', content: { 'application/json': { schema: { $ref: '#/components/schemas/ScheduleDto' } } } } },
        },
      },
      '/schedules/{id}': {
        patch: {
          requestBody: { content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/UpdateScheduleDto' }], minProperties: 1 } } } },
          responses: { '200': { description: 'ok' } },
        },
      },
    },
    components: {
      schemas: {
        CreateScheduleDto: {
          type: 'object',
          properties: { target: { $ref: '#/components/schemas/ScheduleTargetDto' }, args: { type: 'object', additionalProperties: true } },
        },
        UpdateScheduleDto: { type: 'object', properties: { name: { type: 'string' } } },
        ScheduleTargetDto: { type: 'object', properties: { name: { type: 'string' } } },
        ScheduleDto: { type: 'object', properties: { id: { type: 'string' } } },
        ErrorResponseDto: { type: 'object' },
      },
    },
  };
}

describe('declareEnforcedRules', () => {
  const document = declareEnforcedRules(documentWith());
  const schemas = document.components!.schemas as Record<string, Record<string, unknown>>;

  it('forbids unknown properties in request bodies and the DTOs nested in them', () => {
    expect(schemas.CreateScheduleDto.additionalProperties).toBe(false);
    expect(schemas.ScheduleTargetDto.additionalProperties).toBe(false);
    expect(schemas.UpdateScheduleDto.additionalProperties).toBe(false);
  });

  it('leaves free-form objects and response DTOs as they are', () => {
    expect((schemas.CreateScheduleDto.properties as Record<string, Record<string, unknown>>).args.additionalProperties).toBe(true);
    expect(schemas.ScheduleDto.additionalProperties).toBeUndefined();
  });

  it('documents 431 on every operation, in the one error shape', () => {
    for (const operation of [document.paths['/schedules'].post!, document.paths['/schedules/{id}'].patch!]) {
      expect(operation.responses['431']).toEqual({
        description: expect.stringContaining('16 KB'),
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } },
      });
    }
  });

  it('states the scope an operation declares in its description, and documents its 403', () => {
    const post = document.paths['/schedules'].post!;

    expect(post.description).toBe('Create a schedule. Requires a key with the scope operate (or admin).');
    expect(post.responses['403']).toEqual({
      description: expect.stringContaining('requires operate'),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } },
    });
  });

  it('adds no 403 to an operation that declares no scope', () => {
    expect(document.paths['/schedules/{id}'].patch!.responses['403']).toBeUndefined();
  });
});
