import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { NotFoundError } from '../common/errors/errors';
import { toAppConfig } from '../common/config/app-config';
import { validateEnvironment } from '../common/config/env.schema';
import { TEST_WEBHOOKS_SECRET, testConfig } from '../common/testing/config';
import { NamesContract, readContract } from '../common/testing/contracts';
import { SourcesRegistry } from './sources.registry';
import { sourcesRegistry } from './testing/catalogs';

const FILE = 'sources.yaml';
const DEFAULT_MAX_BODY = 1_048_576;
const SOURCES_FILE = join(__dirname, '../../config/sources.yaml');

const parse = (yaml: string) => SourcesRegistry.parse(yaml, FILE, DEFAULT_MAX_BODY);
const registryFor = (sourcesFile: string) => new SourcesRegistry(testConfig({ SOURCES_FILE: sourcesFile }));

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

  it('reads a rate limit, and refuses one that is 0, negative, no number or names an unknown setting, naming the field', () => {
    const [orders] = parse(`
sources:
  orders:
    rateLimit: { requestsPerSecond: 100, eventsPerSecond: 2000, burst: 50 }
`);
    expect(orders.rateLimit).toEqual({ requestsPerSecond: 100, eventsPerSecond: 2000, burst: 50 });

    expect(() => parse('sources:\n  orders:\n    rateLimit: { requestsPerSecond: 0 }\n')).toThrow(
      /source "orders": rateLimit.requestsPerSecond must be a positive number/,
    );
    expect(() => parse('sources:\n  orders:\n    rateLimit: { eventsPerSecond: -3 }\n')).toThrow(/rateLimit.eventsPerSecond must be a positive number/);
    expect(() => parse('sources:\n  orders:\n    rateLimit: { burst: "10" }\n')).toThrow(/rateLimit.burst must be a positive number/);
    expect(() => parse('sources:\n  orders:\n    rateLimit: { perMinute: 3 }\n')).toThrow(/rateLimit.perMinute is not a setting of a rate limit/);
    expect(() => parse('sources:\n  orders:\n    rateLimit: 5\n')).toThrow(/rateLimit must be a mapping/);
  });

  it('accepts a source with no settings at all', () => {
    expect(parse('sources:\n  bare:\n')).toEqual([expect.objectContaining({ name: 'bare', topic: 'ingest.bare', maxBodyBytes: DEFAULT_MAX_BODY })]);
  });

  it.each([
    ['a number', '5'],
    ['a string', 'foo'],
    ['a list', '[a, b]'],
  ])('rejects a source whose settings are %s', (_case, value) => {
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
      `${FILE}: source "users": unknown setting(s) topik; allowed: topic, description, keyField, headers, maxBodyBytes, schema, signature, onInvalid, deadLetterTopic`,
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

  it('reads the request headers a source copies into record headers, lower-cased, and refuses a credential', () => {
    const [a, b] = parse('sources:\n  a:\n    headers: [X-Shop-Id, User-Agent]\n  b: {}\n');
    expect(a.headers).toEqual(['x-shop-id', 'user-agent']);
    expect(b.headers).toBeUndefined();
    expect(() => parse('sources:\n  a:\n    headers: [Authorization]\n')).toThrow('source "a": headers: "Authorization" holds credentials');
  });

  it('rejects a schema that is not a valid JSON Schema', () => {
    expect(() => parse('sources:\n  a:\n    schema: { type: objekt }\n')).toThrow(/sources\.yaml: source "a": schema is not a valid JSON Schema: .*type/);
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

describe('SourcesRegistry.parse, onInvalid and dead letters', () => {
  const SCHEMA = '    schema: { type: object, required: [id] }\n';

  it('rejects invalid events by default, with no dead-letter topic', () => {
    const [source] = parse(`sources:\n  orders:\n${SCHEMA}`);
    expect(source.onInvalid).toBe('reject');
    expect(source.deadLetterTopic).toBeUndefined();
  });

  it('quarantines into <topic>.dlq by default, or into the deadLetterTopic given', () => {
    const [orders, users] = parse(`sources:
  orders:
    onInvalid: quarantine
${SCHEMA}  users:
    topic: users_created
    onInvalid: quarantine
    deadLetterTopic: users.quarantine
${SCHEMA}`);
    expect(orders).toMatchObject({ onInvalid: 'quarantine', deadLetterTopic: 'ingest.orders.dlq' });
    expect(users).toMatchObject({ onInvalid: 'quarantine', deadLetterTopic: 'users.quarantine' });
  });

  it('hashes the schema as canonical JSON: the order of keys and the YAML style do not matter, a change does', () => {
    const [a, b, c] = parse(`sources:
  a:
    schema: { type: object, properties: { x: { type: string }, y: { type: number } } }
  b:
    schema:
      properties:
        y: { type: number }
        x: { type: string }
      type: object
  c:
    schema: { type: object, properties: { x: { type: string }, y: { type: integer } } }
  d: {}
`);
    expect(a.schemaHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.schemaHash).toBe(a.schemaHash);
    expect(c.schemaHash).not.toBe(a.schemaHash);
    expect(parse('sources:\n  d: {}\n')[0].schemaHash).toBeUndefined();
  });

  it.each([
    ['an unknown onInvalid', '    onInvalid: drop\n' + SCHEMA, 'onInvalid must be one of reject, quarantine; got "drop"'],
    ['onInvalid that is not a string', '    onInvalid: [quarantine]\n' + SCHEMA, 'onInvalid must be one of reject, quarantine; got ["quarantine"]'],
    ['quarantine without a schema', '    onInvalid: quarantine\n', 'onInvalid: quarantine needs a schema (only events that fail the schema are quarantined)'],
    ['a deadLetterTopic of a rejecting source', '    deadLetterTopic: x.dlq\n' + SCHEMA, 'deadLetterTopic is only used with onInvalid: quarantine'],
    ['a deadLetterTopic that is not a string', '    onInvalid: quarantine\n    deadLetterTopic: 5\n' + SCHEMA, 'deadLetterTopic must be a string'],
    [
      'a deadLetterTopic Kafka would refuse',
      '    onInvalid: quarantine\n    deadLetterTopic: "a b"\n' + SCHEMA,
      'deadLetterTopic "a b" is not a valid Kafka topic name',
    ],
    [
      'a deadLetterTopic that is its own topic',
      '    onInvalid: quarantine\n    deadLetterTopic: ingest.orders\n' + SCHEMA,
      'deadLetterTopic "ingest.orders" is already used by source "orders"',
    ],
  ])('fails to start on %s, naming the source and the setting', (_case, settings, message) => {
    expect(() => parse(`sources:\n  orders:\n${settings}`)).toThrow(`${FILE}: source "orders": ${message}`);
  });

  it('refuses a dead-letter topic that a later source uses as its topic, or that another source quarantines into', () => {
    expect(() => parse(`sources:\n  orders:\n    onInvalid: quarantine\n${SCHEMA}  other:\n    topic: ingest.orders.dlq\n`)).toThrow(
      `${FILE}: source "orders": deadLetterTopic "ingest.orders.dlq" is already used by source "other"`,
    );
    expect(() =>
      parse(`sources:
  a:
    onInvalid: quarantine
    deadLetterTopic: shared.dlq
${SCHEMA}  b:
    onInvalid: quarantine
    deadLetterTopic: shared.dlq
${SCHEMA}`),
    ).toThrow(`${FILE}: source "b": deadLetterTopic "shared.dlq" is already used by source "a"`);
  });

  it("lists the dead-letter topics after the sources' topics, and whose each topic is", () => {
    const registry = sourcesRegistry(`sources:
  users: { topic: users_created }
  orders:
    onInvalid: quarantine
${SCHEMA}  clicks: {}
`);
    expect(registry.topics()).toEqual(['users_created', 'ingest.orders', 'ingest.clicks']);
    expect(registry.deadLetterTopics()).toEqual(['ingest.orders.dlq']);
    expect(registry.allTopics()).toEqual(['users_created', 'ingest.orders', 'ingest.clicks', 'ingest.orders.dlq']);
    expect(registry.topicSources()).toEqual([
      { topic: 'users_created', source: 'users' },
      { topic: 'ingest.orders', source: 'orders' },
      { topic: 'ingest.clicks', source: 'clicks' },
      { topic: 'ingest.orders.dlq', source: 'orders' },
    ]);
  });
});

describe('SourcesRegistry.parse, signed sources', () => {
  const KEY = Buffer.from('a 24-byte key for tests!');
  const WHSEC = `whsec_${KEY.toString('base64')}`;
  const ENV: Record<string, string> = {
    HOOKS_SECRET: WHSEC,
    OLD_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    PLAIN_SECRET: 'plain text secret',
    EMPTY: '',
  };
  const lookup = (name: string) => ENV[name];
  const parseSigned = (signature: string, env: (name: string) => string | undefined = lookup) =>
    SourcesRegistry.parse(`sources:\n  hooks:\n    signature: ${signature}\n`, FILE, DEFAULT_MAX_BODY, env)[0];
  const startupError = (signature: string, env?: (name: string) => string | undefined): string => {
    try {
      parseSigned(signature, env);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected the registry to refuse the signature settings');
  };

  it('leaves an unsigned source without signature settings', () => {
    expect(parse('sources:\n  clicks: {}\n')[0].signature).toBeUndefined();
  });

  it('reads a standard-webhooks signature: the key is the base64-decoded part of whsec_, the tolerance 300 s by default', () => {
    expect(parseSigned('{ scheme: standard-webhooks, secrets: ["${HOOKS_SECRET}"] }').signature).toEqual({
      scheme: 'standard-webhooks',
      keys: [KEY],
      toleranceSeconds: 300,
    });
  });

  it('keeps every secret, in order, for rotation', () => {
    const { signature } = parseSigned('{ scheme: standard-webhooks, secrets: ["${HOOKS_SECRET}", "${OLD_SECRET}"], toleranceSeconds: 60 }');

    expect(signature).toEqual({
      scheme: 'standard-webhooks',
      keys: [KEY, Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')],
      toleranceSeconds: 60,
    });
  });

  it('uses the utf-8 bytes of the secret for github and stripe, as those providers do', () => {
    expect(parseSigned('{ scheme: github, secrets: ["${PLAIN_SECRET}"] }').signature).toEqual({
      scheme: 'github',
      keys: [Buffer.from('plain text secret')],
    });
    expect(parseSigned('{ scheme: stripe, secrets: ["${HOOKS_SECRET}"] }').signature).toEqual({
      scheme: 'stripe',
      keys: [Buffer.from(WHSEC)],
      toleranceSeconds: 300,
    });
  });

  it('reads an hmac-sha256 signature: lower-case header names, hex by default', () => {
    expect(parseSigned('{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"], header: X-Signature }').signature).toEqual({
      scheme: 'hmac-sha256',
      keys: [Buffer.from('plain text secret')],
      header: 'x-signature',
      encoding: 'hex',
      toleranceSeconds: 300,
    });
    expect(
      parseSigned('{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"], header: X-Sig, encoding: base64, timestampHeader: X-Sig-Time, toleranceSeconds: 30 }')
        .signature,
    ).toEqual({
      scheme: 'hmac-sha256',
      keys: [Buffer.from('plain text secret')],
      header: 'x-sig',
      encoding: 'base64',
      timestampHeader: 'x-sig-time',
      toleranceSeconds: 30,
    });
  });

  it.each([
    [
      'an unknown scheme',
      '{ scheme: hmac-sha1, secrets: ["${PLAIN_SECRET}"] }',
      'signature.scheme is "hmac-sha1"; expected one of standard-webhooks, github, stripe, hmac-sha256',
    ],
    ['no scheme', '{ secrets: ["${PLAIN_SECRET}"] }', 'signature.scheme is missing; expected one of'],
    ['a scheme that is not a string', '{ scheme: [github], secrets: ["${PLAIN_SECRET}"] }', 'signature.scheme is not a string'],
    ['settings that are not a mapping', 'github', 'signature: expected a mapping with scheme and secrets'],
    [
      'an unknown setting',
      '{ scheme: github, secrets: ["${PLAIN_SECRET}"], algorithm: sha256 }',
      'signature: unknown setting(s) algorithm; allowed: scheme, secrets, toleranceSeconds, header, encoding, timestampHeader',
    ],
    ['no secrets', '{ scheme: github }', 'signature.secrets must be a non-empty list of environment variable references'],
    ['an empty list of secrets', '{ scheme: github, secrets: [] }', 'signature.secrets must be a non-empty list'],
    ['a single secret not in a list', '{ scheme: github, secrets: "${PLAIN_SECRET}" }', 'signature.secrets must be a non-empty list'],
    [
      'a reference to an unset variable',
      '{ scheme: github, secrets: ["${PLAIN_SECRET}", "${NOT_SET}"] }',
      "signature.secrets[1] refers to NOT_SET, which is not set: set NOT_SET in the API's environment",
    ],
    ['a reference to an empty variable', '{ scheme: github, secrets: ["${EMPTY}"] }', 'signature.secrets[0] refers to EMPTY, which is empty: set EMPTY'],
    [
      'a reference to a variable that is not whsec_ + base64',
      '{ scheme: standard-webhooks, secrets: ["${PLAIN_SECRET}"] }',
      'signature.secrets[0]: PLAIN_SECRET must hold "whsec_" followed by the base64 of the key',
    ],
    ['the missing header of hmac-sha256', '{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"] }', 'signature.header is required for scheme hmac-sha256'],
    [
      'a header that is no header name',
      '{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"], header: "X Sig" }',
      'signature.header must be an HTTP header name',
    ],
    [
      'a timestamp header that is no header name',
      '{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"], header: X-Sig, timestampHeader: "" }',
      'signature.timestampHeader must be an HTTP header name',
    ],
    [
      'an unknown encoding',
      '{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"], header: X-Sig, encoding: base32 }',
      'signature.encoding must be hex or base64 (default hex)',
    ],
    [
      'a tolerance without a timestamp header',
      '{ scheme: hmac-sha256, secrets: ["${PLAIN_SECRET}"], header: X-Sig, toleranceSeconds: 60 }',
      'signature.toleranceSeconds needs timestampHeader',
    ],
    [
      'a header for a scheme with fixed headers',
      '{ scheme: standard-webhooks, secrets: ["${HOOKS_SECRET}"], header: X-Sig }',
      'signature: header does not apply to scheme standard-webhooks; it takes toleranceSeconds',
    ],
    [
      'a tolerance for github, which signs no timestamp',
      '{ scheme: github, secrets: ["${PLAIN_SECRET}"], toleranceSeconds: 60 }',
      'signature: toleranceSeconds does not apply to scheme github; it takes only scheme and secrets',
    ],
    [
      'a zero tolerance',
      '{ scheme: stripe, secrets: ["${PLAIN_SECRET}"], toleranceSeconds: 0 }',
      'signature.toleranceSeconds must be a positive whole number of seconds (default 300)',
    ],
    [
      'a negative tolerance',
      '{ scheme: stripe, secrets: ["${PLAIN_SECRET}"], toleranceSeconds: -5 }',
      'signature.toleranceSeconds must be a positive whole number',
    ],
    [
      'a fractional tolerance',
      '{ scheme: stripe, secrets: ["${PLAIN_SECRET}"], toleranceSeconds: 1.5 }',
      'signature.toleranceSeconds must be a positive whole number',
    ],
    [
      'a tolerance that is not a number',
      '{ scheme: stripe, secrets: ["${PLAIN_SECRET}"], toleranceSeconds: "300" }',
      'signature.toleranceSeconds must be a positive whole number',
    ],
  ])('stops at start-up on %s, naming the file, the source and the setting', (_case, signature, message) => {
    const error = startupError(signature);

    expect(error).toContain(`${FILE}: source "hooks": `);
    expect(error).toContain(message);
  });

  it.each([
    ['a whsec_ secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['a plain string', 'hunter2-but-longer'],
    ['a reference without braces', '$HOOKS_SECRET'],
    ['a reference inside other text', 'prefix-${HOOKS_SECRET}'],
  ])('refuses %s written in the file instead of a reference, without repeating it', (_case, literal) => {
    const error = startupError(`{ scheme: github, secrets: ["\${PLAIN_SECRET}", ${JSON.stringify(literal)}] }`);

    expect(error).toContain(`${FILE}: source "hooks": signature.secrets[1] is not a reference like \${SIGNING_SECRET}: secrets are never written in the file`);
    expect(error).not.toContain(literal);
  });

  it('refuses a secret that is not a string, as not a reference', () => {
    expect(startupError('{ scheme: github, secrets: [12345] }')).toContain('signature.secrets[0] is not a reference');
  });

  it.each([
    ['without the whsec_ prefix', KEY.toString('base64')],
    ['with characters base64 does not have', 'whsec_not*base64*at*all'],
    ['with nothing after the prefix', 'whsec_'],
    ['with a truncated base64 part', `${WHSEC.slice(0, -3)}`],
  ])('refuses a standard-webhooks secret %s, without repeating its value', (_case, value) => {
    const error = startupError('{ scheme: standard-webhooks, secrets: ["${WEIRD}"] }', (name) => (name === 'WEIRD' ? value : undefined));

    expect(error).toContain(`${FILE}: source "hooks": signature.secrets[0]: WEIRD must hold "whsec_" followed by the base64 of the key`);
    if (value.length > 'whsec_'.length) expect(error).not.toContain(value);
  });

  it('resolves nothing when no lookup is given, so a reference stops the start', () => {
    expect(() => parse('sources:\n  hooks:\n    signature: { scheme: github, secrets: ["${PLAIN_SECRET}"] }\n')).toThrow(
      'refers to PLAIN_SECRET, which is not set',
    );
  });

  it('names the source and the variable when the registry file refers to a variable the environment lacks', () => {
    expect(() => sourcesRegistry('sources:\n  hooks:\n    signature: { scheme: github, secrets: ["${HOOKS_GITHUB_SECRET}"] }\n')).toThrow(
      /sources\.yaml: source "hooks": signature\.secrets\[0\] refers to HOOKS_GITHUB_SECRET, which is not set/,
    );
    expect(
      sourcesRegistry('sources:\n  hooks:\n    signature: { scheme: github, secrets: ["${HOOKS_GITHUB_SECRET}"] }\n', { HOOKS_GITHUB_SECRET: 's3cret' }).get(
        'hooks',
      ).signature,
    ).toEqual({
      scheme: 'github',
      keys: [Buffer.from('s3cret')],
    });
  });
});

describe('SourcesRegistry.parse, buckets', () => {
  const bucketOf = (settings: string, warn: (m: string) => void = () => undefined) => {
    const [source] = SourcesRegistry.parse(`sources:\n  clicks: ${settings}\n`, FILE, DEFAULT_MAX_BODY, undefined, warn);
    return [source.bucketSeconds, source.bucket];
  };

  it('gives a source that declares neither a bucket nor its volume buckets of 1h', () => {
    expect(bucketOf('{}')).toEqual([3600, '1h']);
  });

  it.each([
    ['1s', 1, '1s'],
    ['30s', 30, '30s'],
    ['90s', 90, '90s'],
    ['120s', 120, '2m'],
    ['10m', 600, '10m'],
    ['90m', 5400, '90m'],
    ['60m', 3600, '1h'],
    ['1h', 3600, '1h'],
    ['8h', 28800, '8h'],
    ['24h', 86400, '1d'],
    ['1d', 86400, '1d'],
  ])('reads the declared bucket %s as %i seconds, written %s', (text, seconds, written) => {
    expect(bucketOf(`{ bucket: ${text} }`)).toEqual([seconds, written]);
  });

  it.each([
    ['a size that does not divide a day', '7m'],
    ['more than a day', '2d'],
    ['zero', '0s'],
    ['a bare number', '3600'],
    ['an unknown unit', '1w'],
    ['a fraction', '1.5h'],
    ['a negative size', '-1h'],
    ['spaces', "'1 h'"],
    ['upper case', '1H'],
    ['a list', '[1h]'],
  ])('refuses a bucket that is %s, naming the source and what is allowed', (_case, text) => {
    expect(() => bucketOf(`{ bucket: ${text} }`)).toThrow(
      /^sources\.yaml: source "clicks": bucket must be a duration that divides a day evenly, written <n>s, <n>m, <n>h or <n>d, from 1s to 1d/,
    );
  });

  it.each([
    // rate × 1024 B × bucket ≤ 100 MiB (104,857,600 B), the largest ladder step that fits
    [0.1, 86400, '1d'],
    [1, 86400, '1d'],
    [1.2, 43200, '12h'],
    [5, 10800, '3h'],
    [28, 3600, '1h'],
    [29, 1800, '30m'],
    [200, 300, '5m'],
    [2000, 30, '30s'],
    [100_000, 1, '1s'],
    // even 1 s would overflow: the smallest bucket there is
    [1_000_000, 1, '1s'],
  ])('derives the bucket from peakEventsPerSecond %d at 1 KiB an event: %i s', (peak, seconds, written) => {
    expect(bucketOf(`{ peakEventsPerSecond: ${peak} }`)).toEqual([seconds, written]);
  });

  it('derives the bucket from eventBytes when given', () => {
    expect(bucketOf('{ peakEventsPerSecond: 2000, eventBytes: 100 }')).toEqual([300, '5m']);
    expect(bucketOf('{ peakEventsPerSecond: 2000, eventBytes: 10000 }')).toEqual([5, '5s']);
  });

  it('keeps a declared bucket over the derived one, warning with the partition size when the declared volume overflows it', () => {
    const warnings: string[] = [];

    expect(bucketOf('{ bucket: 1h, peakEventsPerSecond: 200 }', (m) => warnings.push(m))).toEqual([3600, '1h']);
    expect(warnings).toEqual([
      'sources.yaml: source "clicks": bucket 1h holds about 703.1 MiB per partition at peakEventsPerSecond 200 ' +
        '(over the 100 MiB a Cassandra partition should stay under): a smaller bucket, 5m, would keep it there',
    ]);
  });

  it('warns about nothing when the declared bucket fits the declared volume, or no volume is declared', () => {
    const warn = jest.fn();

    bucketOf('{ bucket: 5m, peakEventsPerSecond: 200 }', warn);
    bucketOf('{ bucket: 1d }', warn);

    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    ['peakEventsPerSecond: 0', /peakEventsPerSecond must be a positive number; got 0/],
    ['peakEventsPerSecond: -5', /peakEventsPerSecond must be a positive number; got -5/],
    ['peakEventsPerSecond: many', /peakEventsPerSecond must be a positive number; got "many"/],
    ['peakEventsPerSecond: 10, eventBytes: 0', /eventBytes must be a positive integer; got 0/],
    ['peakEventsPerSecond: 10, eventBytes: 1.5', /eventBytes must be a positive integer; got 1.5/],
    ['eventBytes: 100', /eventBytes is only used with peakEventsPerSecond/],
  ])('refuses %s, naming the source', (settings, message) => {
    expect(() => bucketOf(`{ ${settings} }`)).toThrow(message);
    expect(() => bucketOf(`{ ${settings} }`)).toThrow(/^sources\.yaml: source "clicks": /);
  });

  it('logs the warning at start-up', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      sourcesRegistry('sources:\n  clicks: { bucket: 1d, peakEventsPerSecond: 10 }\n');
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/source "clicks": bucket 1d holds about 843\.8 MiB per partition/));
    } finally {
      warn.mockRestore();
    }
  });
});

describe('SourcesRegistry', () => {
  const registry = registryFor(SOURCES_FILE);

  it('loads the configured sources from config/sources.yaml', () => {
    expect(registry.list().map((s) => [s.name, s.topic])).toEqual([
      ['users', 'users_created'],
      ['orders', 'ingest.orders'],
      ['clicks', 'ingest.clicks'],
      ['webhooks', 'ingest.webhooks'],
    ]);
    expect(registry.topics()).toEqual(['users_created', 'ingest.orders', 'ingest.clicks', 'ingest.webhooks']);
    expect(registry.allTopics()).toEqual(['users_created', 'ingest.orders', 'ingest.clicks', 'ingest.webhooks', 'ingest.orders.dlq']);
  });

  it('quarantines the invalid orders (into ingest.orders.dlq) and rejects the invalid events of the other sources', () => {
    expect(registry.list().map((s) => [s.name, s.onInvalid, s.deadLetterTopic])).toEqual([
      ['users', 'reject', undefined],
      ['orders', 'quarantine', 'ingest.orders.dlq'],
      ['clicks', 'reject', undefined],
      ['webhooks', 'reject', undefined],
    ]);
    expect(registry.get('orders').description).toMatch(/quarantine/);
  });

  it('allows in a user profile the fields the DAG sends and the stream projects (contracts/names.json), and a full name', () => {
    const { user_profile_fields } = readContract<NamesContract>('names.json');
    expect(Object.keys(registry.get('users').schema!.properties as object).sort()).toEqual(['name', ...user_profile_fields].sort());
  });

  it('signs the webhooks source with Standard Webhooks, its secret from WEBHOOKS_SIGNING_SECRET', () => {
    expect(registry.get('webhooks')).toMatchObject({ topic: 'ingest.webhooks', schema: undefined });
    expect(registry.get('webhooks').signature).toEqual({
      scheme: 'standard-webhooks',
      keys: [Buffer.from(TEST_WEBHOOKS_SECRET.slice('whsec_'.length), 'base64')],
      toleranceSeconds: 300,
    });
    expect(
      registry
        .list()
        .filter((s) => s.signature)
        .map((s) => s.name),
    ).toEqual(['webhooks']);
  });

  it('fails to start, naming the source and the variable, when WEBHOOKS_SIGNING_SECRET is not set', () => {
    const environment = { API_KEYS: 'k'.repeat(16), SOURCES_FILE };
    const config = toAppConfig(validateEnvironment(environment), environment);

    expect(() => new SourcesRegistry(config)).toThrow(
      /config\/sources\.yaml: source "webhooks": signature\.secrets\[0\] refers to WEBHOOKS_SIGNING_SECRET, which is not set/,
    );
  });

  describe('with NODE_ENV=production', () => {
    const PROD = { NODE_ENV: 'production', API_KEYS: 'prod-key-0123456789abcdef0123456789', PAGE_TOKEN_SECRET: 'prod-page-token-secret-0123456789abcdef' };
    const startWith = (secret: string) => {
      const environment = { ...PROD, SOURCES_FILE, WEBHOOKS_SIGNING_SECRET: secret };
      return new SourcesRegistry(toAppConfig(validateEnvironment(environment), environment));
    };

    it.each([
      ['the Makefile development secret', TEST_WEBHOOKS_SECRET, 'is a published development value'],
      ['a change-me placeholder', `whsec_${Buffer.from('change-me-to-your-own-webhooks-key').toString('base64')}`, 'is a published development value'],
      ['a key under 24 bytes', `whsec_${Buffer.from('sixteen-byte-key').toString('base64')}`, 'is 16 bytes long; at least 24 are required'],
    ])('refuses %s, naming the source and the variable, never the secret', (_case, secret, problem) => {
      let message = '';
      try {
        startWith(secret);
      } catch (err) {
        message = (err as Error).message;
      }

      expect(message).toContain(`source "webhooks": signature.secrets[0] refers to WEBHOOKS_SIGNING_SECRET, whose key ${problem} (NODE_ENV=production)`);
      expect(message).not.toContain(secret);
      expect(message).not.toContain(secret.slice('whsec_'.length));
    });

    it("accepts a random Standard Webhooks key of 24 bytes or more (the standard's own minimum)", () => {
      expect(() => startWith('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).not.toThrow();
      expect(() => startWith(`whsec_${Buffer.alloc(32, 9).toString('base64')}`)).not.toThrow();
    });

    it("requires 32 bytes of the other schemes' secrets, and no development value", () => {
      const parseProd = (secret: string) =>
        SourcesRegistry.parse(
          'sources:\n  gh:\n    signature: { scheme: github, secrets: ["${GH}"] }\n',
          FILE,
          DEFAULT_MAX_BODY,
          () => secret,
          undefined,
          true,
        );

      expect(() => parseProd('a-github-secret-of-31-bytes-xxx')).toThrow(/refers to GH, whose key is 31 bytes long; at least 32 are required/);
      expect(() => parseProd('local-dev-key-change-me-0123456789')).toThrow(/refers to GH, whose key is a published development value/);
      expect(parseProd('a-github-secret-of-32-bytes-xxxx')[0].signature).toMatchObject({ scheme: 'github' });
    });

    it('is not applied outside production', () => {
      expect(registry.get('webhooks').signature).toBeDefined();
    });
  });

  it('applies per-source settings from the file', () => {
    expect(registry.get('users')).toMatchObject({ keyField: 'email', maxBodyBytes: DEFAULT_MAX_BODY });
    expect(registry.get('clicks')).toMatchObject({ maxBodyBytes: 262144 });
    expect(registry.get('clicks').validate).toBeUndefined();
    expect(registry.get('orders').validate).toBeDefined();
  });

  it('buckets each shipped source for its volume: clicks, the busy one, by 30 s', () => {
    expect(registry.bucketSeconds()).toEqual([
      { source: 'users', seconds: 3600 },
      { source: 'orders', seconds: 1800 },
      { source: 'clicks', seconds: 30 },
      { source: 'webhooks', seconds: 3600 },
    ]);
  });

  it('answers NotFoundError for an unknown source, listing the configured names', () => {
    expect(() => registry.get('payments')).toThrow(NotFoundError);
    expect(() => registry.get('payments')).toThrow('Unknown source "payments". Configured sources: users, orders, clicks, webhooks');
  });

  it('fails to start, naming SOURCES_FILE, when the file cannot be read', () => {
    expect(() => registryFor('config/does-not-exist.yaml')).toThrow(/^SOURCES_FILE: cannot read .*does-not-exist\.yaml/);
  });
});

describe('SourcesRegistry.replace: the snapshot the registry table swaps in', () => {
  it('swaps the sources whole, calls its listeners, and answers 410 for an archived source whose records stay readable', () => {
    const registry = sourcesRegistry('sources:\n  clicks: {}\n  orders: {}\n');
    const listener = jest.fn();
    registry.onChange(listener);
    const [clicks, orders, payments] = parse('sources:\n  clicks: {}\n  orders: {}\n  payments: {}\n');

    registry.replace([clicks, payments], [orders]);

    expect(listener).toHaveBeenCalledTimes(1);
    expect(registry.list().map((s) => s.name)).toEqual(['clicks', 'payments']);
    expect(registry.allTopics()).toEqual(['ingest.clicks', 'ingest.payments']);
    expect(() => registry.get('orders')).toThrow(expect.objectContaining({ statusCode: 410, message: expect.stringContaining('"orders" was archived') }));
    expect(registry.find('orders')).toBeUndefined();
    expect(registry.readable('orders')).toBe(orders);
    expect(registry.archived()).toEqual([orders]);
    expect(() => registry.readable('nope')).toThrow(NotFoundError);
  });

  it('reads compatibility (default backward) and refuses an unknown mode', () => {
    expect(parse('sources:\n  a: {}\n  b: { compatibility: full }\n').map((s) => s.compatibility)).toEqual(['backward', 'full']);
    expect(() => parse('sources:\n  a: { compatibility: sideways }\n')).toThrow('compatibility must be one of backward, forward, full, none');
  });
});
