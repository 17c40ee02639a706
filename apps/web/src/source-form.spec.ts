import type { SourceResourceDto } from './api';
import { formOf, parseSchema, settingsOf } from './source-form';

const stored: SourceResourceDto = {
  name: 'orders',
  topic: 'ingest.orders',
  description: 'Orders',
  compatibility: 'full',
  onInvalid: 'quarantine',
  deadLetterTopic: 'ingest.orders.dlq',
  bucket: '1h',
  schema: { type: 'object' },
  version: 3,
  schemaVersion: 2,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
};

describe('the source form', () => {
  it('reads a JSON object as the schema, empty text as none, and says why anything else is not one', () => {
    expect(parseSchema(' ')).toEqual({});
    expect(parseSchema('{"type":"object"}')).toEqual({ value: { type: 'object' } });
    expect(parseSchema('[1]')).toEqual({ error: 'schema: must be a JSON object' });
    expect(parseSchema('{"type":')).toEqual({ error: expect.stringMatching(/^schema: /) });
  });

  it('sends back what it edited and keeps the settings it does not show, since PUT replaces them all', () => {
    const form = { ...formOf(stored), description: '  ', schema: '{"type":"object","required":["id"]}' };

    expect(settingsOf(form, { type: 'object', required: ['id'] }, stored)).toEqual({
      topic: 'ingest.orders',
      schema: { type: 'object', required: ['id'] },
      compatibility: 'full',
      onInvalid: 'quarantine',
      deadLetterTopic: 'ingest.orders.dlq',
      bucket: '1h',
    });
  });

  it('leaves out what a new source leaves empty, so that the API applies its defaults', () => {
    const form = { topic: '', description: '', keyField: 'id', schema: '', compatibility: 'backward' as const, onInvalid: 'reject' as const };

    expect(settingsOf(form, undefined)).toEqual({ keyField: 'id', compatibility: 'backward', onInvalid: 'reject' });
  });
});
