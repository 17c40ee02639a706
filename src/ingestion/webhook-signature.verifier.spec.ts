import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SourceSignature } from '../catalogs/source-signature';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { TEST_WEBHOOKS_SECRET, testConfig } from '../common/testing/config';
import { SignatureCheck, SignatureHeaders, verifySignature } from './webhook-signature.verifier';

// timingSafeEqual, watched: the constant-time test counts the comparisons.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const ms = (unixSeconds: number) => unixSeconds * 1000;
const hmac = (key: Buffer | string, ...parts: (Buffer | string)[]) => {
  const h = createHmac('sha256', key);
  for (const part of parts) h.update(part);
  return h.digest();
};

/** A refusal, or a failed test when the delivery was accepted. */
function refusal(check: SignatureCheck): { problem: string; message: string } {
  if (check.ok) throw new Error('expected the signature to be refused');
  return check;
}

describe('verifySignature, standard-webhooks', () => {
  // The test vector of the Standard Webhooks / svix reference libraries.
  const SECRET_KEY = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
  const MSG_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const TIMESTAMP = 1614265330;
  const PAYLOAD = Buffer.from('{"test": 2432232314}');
  const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const OTHER_KEY = Buffer.from('another key, for rotation');

  const scheme = (keys: Buffer[] = [SECRET_KEY], toleranceSeconds = 300): SourceSignature => ({ scheme: 'standard-webhooks', keys, toleranceSeconds });
  const headers = (overrides: Record<string, string> = {}): SignatureHeaders => ({
    'webhook-id': MSG_ID,
    'webhook-timestamp': String(TIMESTAMP),
    'webhook-signature': SIGNATURE,
    ...overrides,
  });
  const sign = (key: Buffer, id = MSG_ID, timestamp = TIMESTAMP, body: Buffer = PAYLOAD) => `v1,${hmac(key, `${id}.${timestamp}.`, body).toString('base64')}`;
  const verify = (h: SignatureHeaders = headers(), body: Buffer = PAYLOAD, now = TIMESTAMP, signature = scheme()) =>
    verifySignature(signature, h, body, ms(now));

  it('accepts the published test vector, answering webhook-id as the delivery id and the signed timestamp', () => {
    expect(verify()).toEqual({ ok: true, deliveryId: MSG_ID, signedTimestamp: String(TIMESTAMP) });
  });

  it('computes what the published vector says (the signed content is id.timestamp.body)', () => {
    expect(sign(SECRET_KEY)).toBe(SIGNATURE);
  });

  it('accepts a delivery when any of several signatures matches, skipping other versions', () => {
    const bogus = `v1,${Buffer.alloc(32, 7).toString('base64')}`;

    expect(verify(headers({ 'webhook-signature': `${bogus} v1a,c29tZXRoaW5nIGVsc2U= ${SIGNATURE}` })).ok).toBe(true);
    expect(verify(headers({ 'webhook-signature': `${SIGNATURE} ${bogus}` })).ok).toBe(true);
  });

  it('accepts a header repeated by the sender, as Node joins it', () => {
    const bogus = `v1,${Buffer.alloc(32, 7).toString('base64')}`;

    expect(verify(headers({ 'webhook-signature': `${bogus}, ${SIGNATURE}` })).ok).toBe(true);
  });

  it('accepts a signature made with any of the secrets during a rotation', () => {
    const rotating = scheme([OTHER_KEY, SECRET_KEY]);

    expect(verify(headers(), PAYLOAD, TIMESTAMP, rotating).ok).toBe(true);
    expect(verify(headers({ 'webhook-signature': sign(OTHER_KEY) }), PAYLOAD, TIMESTAMP, rotating).ok).toBe(true);
    expect(refusal(verify(headers({ 'webhook-signature': sign(OTHER_KEY) }))).problem).toBe('no_match');
  });

  it('refuses a signature made with another secret, without telling the expected one', () => {
    const check = refusal(verify(headers({ 'webhook-signature': sign(OTHER_KEY) })));

    expect(check).toEqual({ ok: false, problem: 'no_match', message: expect.stringMatching(/^No signature in webhook-signature matches/) });
    expect(check.message).not.toContain(SIGNATURE.slice(3));
    expect(check.message).not.toContain(SIGNATURE);
  });

  it('refuses a body changed by one byte', () => {
    const changed = Buffer.from(PAYLOAD);
    changed[changed.length - 2] ^= 1;

    expect(refusal(verify(headers(), changed)).problem).toBe('no_match');
  });

  it('refuses a changed webhook-id or webhook-timestamp: both are signed', () => {
    expect(refusal(verify(headers({ 'webhook-id': 'msg_other' }))).problem).toBe('no_match');
    expect(refusal(verify(headers({ 'webhook-timestamp': String(TIMESTAMP + 1) }))).problem).toBe('no_match');
  });

  it('signs the raw bytes as received, not a text decoding of them', () => {
    const raw = Buffer.from([0x7b, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // {"x":"\xff\xfe"}, not UTF-8
    const signed = headers({ 'webhook-signature': sign(SECRET_KEY, MSG_ID, TIMESTAMP, raw) });

    expect(verify(signed, raw).ok).toBe(true);
    expect(refusal(verify(signed, Buffer.from(raw.toString('utf8')))).problem).toBe('no_match');
  });

  it('finds the headers whatever the case of their names', () => {
    const mixed = { 'Webhook-Id': MSG_ID, 'WEBHOOK-TIMESTAMP': String(TIMESTAMP), 'Webhook-Signature': SIGNATURE };

    expect(verify(mixed)).toEqual({ ok: true, deliveryId: MSG_ID, signedTimestamp: String(TIMESTAMP) });
  });

  it('accepts a timestamp up to the tolerance away, either way', () => {
    expect(verify(headers(), PAYLOAD, TIMESTAMP + 300).ok).toBe(true);
    expect(verify(headers(), PAYLOAD, TIMESTAMP - 300).ok).toBe(true);
  });

  it('refuses a stale delivery, saying how old it is and the tolerance', () => {
    expect(refusal(verify(headers(), PAYLOAD, TIMESTAMP + 301))).toEqual({
      ok: false,
      problem: 'timestamp_too_old',
      message: 'webhook-timestamp is 301 s old; deliveries older than 300 s are refused (a replay, or a clock far behind)',
    });
  });

  it('refuses a delivery dated in the future beyond the tolerance', () => {
    expect(refusal(verify(headers(), PAYLOAD, TIMESTAMP - 3600))).toEqual({
      ok: false,
      problem: 'timestamp_in_future',
      message: 'webhook-timestamp is 3600 s in the future; at most 300 s of clock difference is accepted',
    });
  });

  it('applies the source tolerance', () => {
    expect(refusal(verify(headers(), PAYLOAD, TIMESTAMP + 31, scheme([SECRET_KEY], 30))).message).toBe(
      'webhook-timestamp is 31 s old; deliveries older than 30 s are refused (a replay, or a clock far behind)',
    );
  });

  it('refuses a stale delivery even when its signature is right', () => {
    // The signature is valid for its timestamp: replaying it later must not work.
    expect(refusal(verify(headers(), PAYLOAD, TIMESTAMP + 86400)).problem).toBe('timestamp_too_old');
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('refuses a delivery without %s, naming it', (name) => {
    const h: Record<string, string | string[] | undefined> = { ...headers() };
    delete h[name];

    expect(refusal(verify(h))).toEqual({
      ok: false,
      problem: 'missing_header',
      message: `Missing header ${name}: this source accepts only deliveries signed with standard-webhooks; an API key does not replace the signature`,
    });
  });

  it('names every missing header, and takes an empty one for missing', () => {
    expect(refusal(verify({ 'webhook-id': '', 'content-type': 'application/json' })).message).toBe(
      'Missing headers webhook-id, webhook-timestamp, webhook-signature: this source accepts only deliveries signed with standard-webhooks; an API key does not replace the signature',
    );
  });

  it.each([
    ['no version', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['another separator', 'v1=g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['an unknown version only', 'v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['a signature that is not base64', 'v1,not-base64!'],
    ['a signature too short for an HMAC-SHA256', 'v1,AAAA'],
  ])('refuses a webhook-signature with %s as malformed', (_case, value) => {
    expect(refusal(verify(headers({ 'webhook-signature': value })))).toEqual({
      ok: false,
      problem: 'malformed_header',
      message: 'webhook-signature holds no "v1,<base64 of the HMAC-SHA256>" signature',
    });
  });

  it.each(['soon', '1614265330.5', '-1614265330', '2021-02-26T00:00:00Z'])('refuses the webhook-timestamp %j as malformed', (value) => {
    expect(refusal(verify(headers({ 'webhook-timestamp': value })))).toEqual({
      ok: false,
      problem: 'malformed_header',
      message: 'webhook-timestamp must be a Unix time in whole seconds',
    });
  });
});

describe('verifySignature, github', () => {
  // The example of GitHub's documentation ("Validating webhook deliveries", testing the signature).
  const SECRET = Buffer.from("It's a Secret to Everybody");
  const PAYLOAD = Buffer.from('Hello, World!');
  const EXPECTED = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  const scheme = (keys: Buffer[] = [SECRET]): SourceSignature => ({ scheme: 'github', keys });
  const verify = (headers: SignatureHeaders, body: Buffer = PAYLOAD, signature = scheme()) => verifySignature(signature, headers, body, Date.now());

  it('accepts the documented example, at any time (GitHub signs no timestamp)', () => {
    expect(verify({ 'x-hub-signature-256': EXPECTED })).toEqual({ ok: true });
    expect(verifySignature(scheme(), { 'x-hub-signature-256': EXPECTED }, PAYLOAD, 0)).toEqual({ ok: true });
  });

  it('does not answer X-GitHub-Delivery as a delivery id: the signature does not cover it', () => {
    expect(verify({ 'X-Hub-Signature-256': EXPECTED, 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' })).toEqual({ ok: true });
  });

  it('accepts upper-case hex digits', () => {
    expect(verify({ 'x-hub-signature-256': `sha256=${EXPECTED.slice(7).toUpperCase()}` }).ok).toBe(true);
  });

  it('accepts a signature made with any of the secrets during a rotation', () => {
    expect(verify({ 'x-hub-signature-256': EXPECTED }, PAYLOAD, scheme([Buffer.from('the new secret'), SECRET])).ok).toBe(true);
  });

  it('refuses another secret and a changed body, without telling the expected signature', () => {
    const wrongSecret = refusal(verify({ 'x-hub-signature-256': EXPECTED }, PAYLOAD, scheme([Buffer.from('not the secret')])));
    const changedBody = refusal(verify({ 'x-hub-signature-256': EXPECTED }, Buffer.from('Hello, World?')));
    const guessed = refusal(verify({ 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }));

    for (const check of [wrongSecret, changedBody, guessed]) {
      expect(check.problem).toBe('no_match');
      expect(check.message).toContain('X-Hub-Signature-256');
    }
    expect(guessed.message).not.toContain(EXPECTED.slice(7));
    const expectedForChanged = hmac(SECRET, 'Hello, World?').toString('hex');
    expect(changedBody.message).not.toContain(expectedForChanged);
  });

  it('refuses a delivery without X-Hub-Signature-256, even one with the SHA-1 header', () => {
    expect(refusal(verify({ 'x-hub-signature': 'sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59' }))).toEqual({
      ok: false,
      problem: 'missing_header',
      message: 'Missing header X-Hub-Signature-256: this source accepts only deliveries signed with github; an API key does not replace the signature',
    });
  });

  it.each([
    ['no prefix', EXPECTED.slice(7)],
    ['another algorithm', `sha1=${EXPECTED.slice(7)}`],
    ['a short digest', EXPECTED.slice(0, -2)],
    ['non-hex digits', `sha256=${'z'.repeat(64)}`],
  ])('refuses a signature with %s as malformed', (_case, value) => {
    expect(refusal(verify({ 'x-hub-signature-256': value }))).toEqual({
      ok: false,
      problem: 'malformed_header',
      message: 'X-Hub-Signature-256 must be "sha256=<hex of the HMAC-SHA256 of the body>"',
    });
  });
});

describe('verifySignature, stripe', () => {
  // Stripe publishes no fixed vector. This one was computed apart from this code, in a shell:
  //   printf '%s' '1700000000.{"id":"evt_test_webhook","object":"event"}' | openssl dgst -sha256 -hmac 'whsec_test_secret'
  //   printf '%s' '1700000000.{"id":"evt_test_webhook","object":"event"}' | openssl dgst -sha256 -hmac 'whsec_old_secret'
  const SECRET = Buffer.from('whsec_test_secret'); // used as-is, as Stripe does: not base64-decoded
  const OLD_SECRET = Buffer.from('whsec_old_secret');
  const T = 1700000000;
  const PAYLOAD = Buffer.from('{"id":"evt_test_webhook","object":"event"}');
  const V1 = 'd95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990';
  const V1_OLD = 'e016b64cc4263f90e0336f3975e8d4ac9cc185935edc3ebdd405db64ad0bb1c5';
  const scheme = (keys: Buffer[] = [SECRET], toleranceSeconds = 300): SourceSignature => ({ scheme: 'stripe', keys, toleranceSeconds });
  const verify = (value: string, body: Buffer = PAYLOAD, now = T, signature = scheme()) =>
    verifySignature(signature, { 'stripe-signature': value }, body, ms(now));

  it('computes the same signature as openssl', () => {
    expect(hmac(SECRET, `${T}.`, PAYLOAD).toString('hex')).toBe(V1);
  });

  it('accepts a delivery signed t.body with the secret as-is, leaving the event id to the caller', () => {
    expect(verify(`t=${T},v1=${V1}`)).toEqual({ ok: true, signedTimestamp: String(T) });
  });

  it('accepts any of several v1 signatures and ignores v0', () => {
    expect(verify(`t=${T},v1=${'0'.repeat(64)},v1=${V1},v0=${'1'.repeat(64)}`).ok).toBe(true);
    expect(verify(`t=${T}, v0=${'1'.repeat(64)}, v1=${V1}`).ok).toBe(true);
  });

  it('accepts a signature made with the old secret while both are configured', () => {
    expect(verify(`t=${T},v1=${V1_OLD}`, PAYLOAD, T, scheme([SECRET, OLD_SECRET])).ok).toBe(true);
    expect(refusal(verify(`t=${T},v1=${V1_OLD}`)).problem).toBe('no_match');
  });

  it('refuses a v0 signature alone, as malformed', () => {
    expect(refusal(verify(`t=${T},v0=${V1}`)).problem).toBe('malformed_header');
  });

  it('refuses a changed body or timestamp, without telling the expected signature', () => {
    const changed = Buffer.from(PAYLOAD.toString().replace('evt_test_webhook', 'evt_test_webhooK'));
    const body = refusal(verify(`t=${T},v1=${V1}`, changed));
    const time = refusal(verify(`t=${T + 1},v1=${V1}`));

    expect(body).toEqual({ ok: false, problem: 'no_match', message: expect.stringContaining('Stripe-Signature') });
    expect(time.problem).toBe('no_match');
    expect(body.message).not.toContain(hmac(SECRET, `${T}.`, changed).toString('hex'));
    expect(time.message).not.toContain(hmac(SECRET, `${T + 1}.`, PAYLOAD).toString('hex'));
  });

  it('refuses stale and future-dated deliveries beyond the tolerance', () => {
    expect(refusal(verify(`t=${T},v1=${V1}`, PAYLOAD, T + 301)).message).toBe(
      'Stripe-Signature t is 301 s old; deliveries older than 300 s are refused (a replay, or a clock far behind)',
    );
    expect(refusal(verify(`t=${T},v1=${V1}`, PAYLOAD, T - 301)).problem).toBe('timestamp_in_future');
    expect(verify(`t=${T},v1=${V1}`, PAYLOAD, T + 299).ok).toBe(true);
  });

  it.each([
    ['no timestamp', `v1=${V1}`],
    ['two timestamps', `t=${T},t=${T},v1=${V1}`],
    ['no signature', `t=${T}`],
    ['a signature that is not hex', `t=${T},v1=${'x'.repeat(64)}`],
    ['no key=value pairs', 'garbage'],
  ])('refuses a header with %s as malformed', (_case, value) => {
    expect(refusal(verify(value))).toEqual({
      ok: false,
      problem: 'malformed_header',
      message: 'Stripe-Signature must be "t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...]" with one t and at least one v1',
    });
  });

  it('refuses a timestamp that is not Unix seconds', () => {
    expect(refusal(verify(`t=yesterday,v1=${V1}`))).toMatchObject({
      problem: 'malformed_header',
      message: 'Stripe-Signature t must be a Unix time in whole seconds',
    });
  });

  it('refuses a delivery without Stripe-Signature', () => {
    expect(refusal(verifySignature(scheme(), {}, PAYLOAD, ms(T))).message).toBe(
      'Missing header Stripe-Signature: this source accepts only deliveries signed with stripe; an API key does not replace the signature',
    );
  });
});

describe('verifySignature, hmac-sha256', () => {
  // Computed in a shell, apart from this code:
  //   printf '%s' '{"order_id":"o-1"}' | openssl dgst -sha256 -hmac 'generic-secret' -binary | xxd -p -c 256   (hex)
  //   ... | base64                                                                                            (base64)
  //   printf '%s' '1700000000.{"order_id":"o-1"}' | openssl dgst -sha256 -hmac 'generic-secret' -binary | base64
  const SECRET = Buffer.from('generic-secret');
  const PAYLOAD = Buffer.from('{"order_id":"o-1"}');
  const HEX = '1be0ea1454cd1aba482e106d121f1a9af8a7259ebe2b35a17a93f55b5be18e60';
  const BASE64 = 'G+DqFFTNGrpILhBtEh8amvinJZ6+KzWhepP1W1vhjmA=';
  const T = 1700000000;
  const WITH_TIMESTAMP = 'CsSrO8DSgT2btlkKJwRVVCjL9NHRtFcgtxDdshtltq0=';
  const scheme = (extra: Partial<Extract<SourceSignature, { scheme: 'hmac-sha256' }>> = {}): SourceSignature => ({
    scheme: 'hmac-sha256',
    keys: [SECRET],
    header: 'x-signature',
    encoding: 'hex',
    toleranceSeconds: 300,
    ...extra,
  });

  it('accepts the hex HMAC of the body in the configured header, whatever the case of its name', () => {
    expect(verifySignature(scheme(), { 'x-signature': HEX }, PAYLOAD, ms(T))).toEqual({ ok: true });
    expect(verifySignature(scheme(), { 'X-Signature': HEX }, PAYLOAD, ms(T))).toEqual({ ok: true });
  });

  it('accepts the base64 encoding when configured, and only then', () => {
    expect(verifySignature(scheme({ encoding: 'base64' }), { 'x-signature': BASE64 }, PAYLOAD, 0).ok).toBe(true);
    expect(refusal(verifySignature(scheme(), { 'x-signature': BASE64 }, PAYLOAD, 0))).toEqual({
      ok: false,
      problem: 'malformed_header',
      message: 'x-signature must hold the hex of an HMAC-SHA256 (64 hex digits)',
    });
    expect(refusal(verifySignature(scheme({ encoding: 'base64' }), { 'x-signature': HEX }, PAYLOAD, 0)).problem).toBe('malformed_header');
  });

  it('signs timestamp.body when a timestamp header is configured, and applies the tolerance', () => {
    const signature = scheme({ encoding: 'base64', timestampHeader: 'x-signature-timestamp' });
    const headers = { 'x-signature': WITH_TIMESTAMP, 'X-Signature-Timestamp': String(T) };

    expect(verifySignature(signature, headers, PAYLOAD, ms(T + 10))).toEqual({ ok: true, signedTimestamp: String(T) });
    expect(refusal(verifySignature(signature, headers, PAYLOAD, ms(T + 301))).message).toBe(
      'x-signature-timestamp is 301 s old; deliveries older than 300 s are refused (a replay, or a clock far behind)',
    );
    expect(refusal(verifySignature(signature, headers, PAYLOAD, ms(T - 301))).problem).toBe('timestamp_in_future');
    expect(refusal(verifySignature(signature, { 'x-signature': BASE64, 'x-signature-timestamp': String(T) }, PAYLOAD, ms(T))).problem).toBe('no_match');
    expect(refusal(verifySignature(signature, { 'x-signature': WITH_TIMESTAMP }, PAYLOAD, ms(T))).message).toBe(
      'Missing header x-signature-timestamp: this source accepts only deliveries signed with hmac-sha256; an API key does not replace the signature',
    );
  });

  it('refuses a wrong signature and a missing header', () => {
    const wrong = refusal(verifySignature(scheme(), { 'x-signature': 'f'.repeat(64) }, PAYLOAD, 0));

    expect(wrong.problem).toBe('no_match');
    expect(wrong.message).not.toContain(HEX);
    expect(refusal(verifySignature(scheme(), {}, PAYLOAD, 0)).problem).toBe('missing_header');
  });
});

describe('verifySignature, in constant time', () => {
  it('compares every signature under every key with timingSafeEqual, even after a match', () => {
    const compare = jest.mocked(timingSafeEqual);
    compare.mockClear();
    const keys = [Buffer.from('first'), Buffer.from('second'), Buffer.from('third')];
    const body = Buffer.from('{}');
    const good = hmac(keys[0], body).toString('hex');
    const signature: SourceSignature = { scheme: 'stripe', keys, toleranceSeconds: 300 };
    const t = 1700000000;
    const stripeHeader = `t=${t},v1=${hmac(keys[0], `${t}.`, body).toString('hex')},v1=${'0'.repeat(64)}`;

    expect(verifySignature({ scheme: 'github', keys }, { 'x-hub-signature-256': `sha256=${good}` }, body, 0).ok).toBe(true);
    expect(compare).toHaveBeenCalledTimes(3);
    compare.mockClear();
    expect(verifySignature(signature, { 'stripe-signature': stripeHeader }, body, ms(t)).ok).toBe(true);
    expect(compare).toHaveBeenCalledTimes(6);
    for (const [a, b] of compare.mock.calls) expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
  });
});

describe('verifySignature, the hand-signed delivery of docs/api.md', () => {
  const ROOT = join(__dirname, '../..');
  const readme = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
  const example = /```bash\n(SECRET=whsec_[\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const line = (name: string) => new RegExp(`^${name}=(\\S+)`, 'm').exec(example)?.[1];

  it('signs with the development secret that make exports and the unit tests use', () => {
    const makefile = /^export WEBHOOKS_SIGNING_SECRET \?= (\S+)$/m.exec(readFileSync(join(ROOT, 'Makefile'), 'utf8'))?.[1];

    expect(makefile).toBe(TEST_WEBHOOKS_SECRET);
    expect(line('SECRET')).toBe(TEST_WEBHOOKS_SECRET);
    expect(example).toContain('openssl dgst -sha256 -mac HMAC -macopt hexkey:');
  });

  it('is accepted by the webhooks source, as the example pipeline signs it', () => {
    // The commands of docs/api.md, run in a shell with ID=msg_readme_example and TS=1767225600, printed
    // "v1,$SIG" as below (the same as Node's HMAC of the same content under the decoded key).
    const id = 'msg_readme_example';
    const timestamp = 1767225600;
    const body = Buffer.from((line('BODY') ?? '').replace(/^'(.*)'$/, '$1')); // BODY='...' in the shell
    const source = new SourcesRegistry(testConfig({ SOURCES_FILE: join(ROOT, 'config/sources.yaml') })).get('webhooks');
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': 'v1,VfM/rPdj0LFIgis53amUUWoexdI2P4L4mWTxPxDH/4M=' };

    expect(body.toString()).toBe('{"type":"invoice.paid","invoice":"in_42","amount":1200}');
    expect(verifySignature(source.signature!, headers, body, ms(timestamp + 5))).toEqual({ ok: true, deliveryId: id, signedTimestamp: String(timestamp) });
  });
});
