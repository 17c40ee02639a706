import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { toAppConfig } from '../config/app-config';
import { validateEnvironment } from '../config/env.schema';
import { ApiKeyGuard } from './api-key.guard';
import { Public } from './public.decorator';

const KEY = 'first-key-0123456789';
const OTHER_KEY = 'second-key-0123456789';

class RecordsController {
  list(): void {}
}

class HealthController {
  @Public()
  live(): void {}
}

@Public()
class DocsController {
  show(): void {}
}

@Public((config) => config.metrics.public)
class MetricsController {
  scrape(): void {}
}

/** An HTTP ExecutionContext for a request with these (lower-case, as Node gives them) headers. */
function contextFor(headers: Record<string, string>, controller: object = RecordsController, handler: unknown = RecordsController.prototype.list) {
  const request = { headers };
  return {
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

const guardFor = (env: Record<string, string> = {}) =>
  new ApiKeyGuard(new Reflector(), toAppConfig(validateEnvironment({ API_KEYS: `${KEY},${OTHER_KEY}`, ...env })));
const guard = guardFor();

function rejection(headers: Record<string, string>): UnauthorizedException {
  try {
    guard.canActivate(contextFor(headers));
  } catch (err) {
    expect(err).toBeInstanceOf(UnauthorizedException);
    return err as UnauthorizedException;
  }
  throw new Error('expected the guard to reject the request');
}

describe('ApiKeyGuard', () => {
  it('accepts a configured key in X-API-Key', () => {
    expect(guard.canActivate(contextFor({ 'x-api-key': KEY }))).toBe(true);
  });

  it('accepts every configured key', () => {
    expect(guard.canActivate(contextFor({ 'x-api-key': OTHER_KEY }))).toBe(true);
  });

  it.each(['Bearer', 'bearer', 'BEARER'])('accepts a configured key as "Authorization: %s <key>"', (scheme) => {
    expect(guard.canActivate(contextFor({ authorization: `${scheme} ${KEY}` }))).toBe(true);
  });

  it.each([
    ['a wrong X-API-Key', { 'x-api-key': 'wrong-key-0123456789' }],
    ['a wrong bearer token', { authorization: 'Bearer wrong-key-0123456789' }],
    ['a prefix of a configured key', { 'x-api-key': KEY.slice(0, -1) }],
    ['a configured key with a suffix', { 'x-api-key': `${KEY}x` }],
  ])('rejects %s as invalid', (_case, headers) => {
    expect(rejection(headers).message).toBe('Invalid API key');
  });

  it.each([
    ['no credentials at all', {}],
    ['an empty X-API-Key', { 'x-api-key': '' }],
    ['another authorization scheme', { authorization: `Basic ${KEY}` }],
    ['a bearer scheme without a key', { authorization: 'Bearer ' }],
  ])('rejects %s as missing, naming both header forms', (_case, headers) => {
    const { message } = rejection(headers);

    expect(message).toMatch(/^Missing API key/);
    expect(message).toContain('Authorization: Bearer <key>');
    expect(message).toContain('X-API-Key: <key>');
  });

  it('prefers X-API-Key over Authorization when both are sent', () => {
    expect(rejection({ 'x-api-key': 'wrong-key-0123456789', authorization: `Bearer ${KEY}` }).message).toBe('Invalid API key');
  });

  it('lets a request without a key through to a @Public() route', () => {
    expect(guard.canActivate(contextFor({}, HealthController, HealthController.prototype.live))).toBe(true);
  });

  it('lets a request without a key through to any route of a @Public() controller', () => {
    expect(guard.canActivate(contextFor({}, DocsController, DocsController.prototype.show))).toBe(true);
  });

  it('lets a request without a key through to a route public by configuration only when the configuration says so', () => {
    const scrape = (env: Record<string, string>, headers: Record<string, string> = {}) => () =>
      guardFor(env).canActivate(contextFor(headers, MetricsController, MetricsController.prototype.scrape));

    expect(scrape({ METRICS_PUBLIC: 'true' })()).toBe(true);
    expect(scrape({})).toThrow('Missing API key');
    expect(scrape({ METRICS_PUBLIC: 'false' }, { 'x-api-key': 'wrong-key-0123456789' })).toThrow('Invalid API key');
    expect(scrape({ METRICS_PUBLIC: 'false' }, { 'x-api-key': KEY })()).toBe(true);
  });
});
