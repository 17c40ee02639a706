import { join } from 'node:path';
import { NotFoundError } from '../common/errors/errors';
import { testConfig } from '../common/testing/config';
import { SourcesRegistry } from './sources.registry';

const FILE = 'sources.yaml';
const DEFAULT_MAX_BODY = 1_048_576;
const SOURCES_FILE = join(__dirname, '../../config/sources.yaml');

const parse = (yaml: string) => SourcesRegistry.parse(yaml, FILE, DEFAULT_MAX_BODY);
const registryFor = (sourcesFile: string) =>
  new SourcesRegistry(testConfig({ SOURCES_FILE: sourcesFile }));

describe('SourcesRegistry.parse', () => {
  it('reads each source with its settings and the defaults for the rest', () => {
    const [orders, clicks] = parse(`
sources:
  orders:
    topic: shop.orders
    description: Orders
    keyField: order_id
    maxBodyBytes: 2048
  clicks: {}
`);

    expect(orders).toMatchObject({ name: 'orders', topic: 'shop.orders', description: 'Orders', keyField: 'order_id', maxBodyBytes: 2048 });
    expect(orders.validate).toBeUndefined();
    expect(clicks).toMatchObject({ name: 'clicks', topic: 'ingest.clicks', maxBodyBytes: DEFAULT_MAX_BODY });
    expect(clicks.description).toBeUndefined();
    expect(clicks.keyField).toBeUndefined();
  });

  it('accepts a source with no settings at all', () => {
    expect(parse('sources:\n  bare:\n')).toEqual([
      expect.objectContaining({ name: 'bare', topic: 'ingest.bare', maxBodyBytes: DEFAULT_MAX_BODY }),
    ]);
  });

  it.each([['a number', '5'], ['a string', 'foo'], ['a list', '[a, b]']])('rejects a source whose settings are %s', (_case, value) => {
    expect(() => parse(`sources:\n  users: ${value}\n`)).toThrow(`${FILE}: source "users": expected a mapping of settings`);
  });

  it('compiles the schema into a validator for payloads', () => {
    const [source] = parse(`
sources:
  orders:
    schema:
      type: object
      required: [amount]
      properties:
        amount: { type: number }
        email: { type: string, format: email }
`);

    expect(source.validate?.({ amount: 3 })).toBe(true);
    expect(source.validate?.({ amount: 'three' })).toBe(false);
    expect(source.validate?.({ amount: 1, email: 'not-an-email' })).toBe(false);
    expect(source.validate?.({})).toBe(false);
  });

  it.each(['Users', '1users', 'users!', 'a'.repeat(65)])('rejects the source name %j', (name) => {
    expect(() => parse(`sources:\n  ${name}: {}\n`)).toThrow(`${FILE}: source "${name}": name must match`);
  });

  it('rejects an unknown setting, listing the allowed ones', () => {
    expect(() => parse('sources:\n  users:\n    topik: users_created\n')).toThrow(
      `${FILE}: source "users": unknown setting(s) topik; allowed: topic, description, keyField, maxBodyBytes, schema`,
    );
  });

  it('rejects two sources writing to the same topic', () => {
    expect(() => parse('sources:\n  a:\n    topic: shared\n  b:\n    topic: shared\n')).toThrow(
      `${FILE}: source "b": topic "shared" is already used by source "a"`,
    );
  });

  it('rejects an explicit topic that collides with another source default topic', () => {
    expect(() => parse('sources:\n  a: {}\n  b:\n    topic: ingest.a\n')).toThrow('topic "ingest.a" is already used by source "a"');
  });

  it('rejects a topic name Kafka would refuse', () => {
    expect(() => parse('sources:\n  a:\n    topic: "has space"\n')).toThrow('topic "has space" is not a valid Kafka topic name');
  });

  it.each(['0', '-5', '1.5', 'lots'])('rejects maxBodyBytes %s', (value) => {
    expect(() => parse(`sources:\n  a:\n    maxBodyBytes: ${value}\n`)).toThrow('source "a": maxBodyBytes must be a positive integer');
  });

  it('rejects a keyField that is not a string', () => {
    expect(() => parse('sources:\n  a:\n    keyField: [id]\n')).toThrow('source "a": keyField must be a string');
  });

  it('rejects a schema that is not a valid JSON Schema', () => {
    expect(() => parse('sources:\n  a:\n    schema: { type: objekt }\n')).toThrow(
      /sources\.yaml: source "a": schema is not a valid JSON Schema: .*type/,
    );
  });

  it.each([
    ['an empty document', ''],
    ['a document without sources', 'topics: {}\n'],
    ['a null sources entry', 'sources:\n'],
    ['a scalar sources entry', 'sources: users\n'],
  ])('rejects %s, asking for a top-level sources mapping', (_case, yaml) => {
    expect(() => parse(yaml)).toThrow(`${FILE}: expected a top-level "sources:" mapping`);
  });
});

describe('SourcesRegistry', () => {
  const registry = registryFor(SOURCES_FILE);

  it('loads the configured sources from config/sources.yaml', () => {
    expect(registry.list().map((s) => [s.name, s.topic])).toEqual([
      ['users', 'users_created'],
      ['orders', 'ingest.orders'],
      ['clicks', 'ingest.clicks'],
    ]);
    expect(registry.topics()).toEqual(['users_created', 'ingest.orders', 'ingest.clicks']);
  });

  it('applies per-source settings from the file', () => {
    expect(registry.get('users')).toMatchObject({ keyField: 'email', maxBodyBytes: DEFAULT_MAX_BODY });
    expect(registry.get('clicks')).toMatchObject({ maxBodyBytes: 262144 });
    expect(registry.get('clicks').validate).toBeUndefined();
    expect(registry.get('orders').validate).toBeDefined();
  });

  it('answers NotFoundError for an unknown source, listing the configured names', () => {
    expect(() => registry.get('payments')).toThrow(NotFoundError);
    expect(() => registry.get('payments')).toThrow('Unknown source "payments". Configured sources: users, orders, clicks');
  });

  it('fails to start, naming SOURCES_FILE, when the file cannot be read', () => {
    expect(() => registryFor('config/does-not-exist.yaml')).toThrow(/^SOURCES_FILE: cannot read .*does-not-exist\.yaml/);
  });
});
