import { INestApplication, Logger, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import request from 'supertest';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesNamed } from '../catalogs/testing/catalogs';
import { APP_CONFIG } from '../common/config/app-config';
import { validationPipe } from '../common/http/validation.pipe';
import { testConfig } from '../common/testing/config';
import { MetricsService } from '../metrics/metrics.service';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';
import { accessProviders, storedKey } from './testing/access';

const BOOTSTRAP = 'bootstrap-key-0123456789';

describe('GET /keys/self: the key of the request', () => {
  let app: INestApplication;
  let ingester: { id: string; key: string };
  let revoked: { id: string; key: string };
  const api = () => request(app.getHttpServer());

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const keys = new InMemoryApiKeysRepository();
    ingester = await storedKey(keys, 'orders sender', ['ingest:orders', 'read:*']);
    revoked = await storedKey(keys, 'gone', ['operate']);
    await keys.revoke(revoked.id, new Date());

    @Module({
      controllers: [KeysController],
      providers: [
        KeysService,
        MetricsService,
        ...accessProviders(keys),
        { provide: APP_CONFIG, useValue: testConfig({ API_KEYS: BOOTSTRAP }) },
        { provide: SourcesRegistry, useValue: sourcesNamed('orders') },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useValue: validationPipe() },
      ],
    })
    class SelfProbeModule {}
    const moduleRef = await Test.createTestingModule({ imports: [SelfProbeModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.setGlobalPrefix('api/v1');
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    jest.restoreAllMocks();
  });

  it('answers a stored key its id, name and scopes, though it holds no admin', async () => {
    const res = await api().get('/api/v1/keys/self').set('X-API-Key', ingester.key).expect(200);

    expect(res.body).toEqual({ id: ingester.id, name: 'orders sender', scopes: ['ingest:orders', 'read:*'] });
  });

  it('answers a key of API_KEYS admin, under its bootstrap id (sent as a bearer token too)', async () => {
    const res = await api().get('/api/v1/keys/self').set('Authorization', `Bearer ${BOOTSTRAP}`).expect(200);

    expect(res.body).toEqual({ id: expect.stringMatching(/^bootstrap:[0-9a-f]{4}$/), name: 'bootstrap', scopes: ['admin'] });
  });

  it('is not taken for GET /keys/{id}: a key without admin is not refused with 403', async () => {
    await api().get('/api/v1/keys/self').set('X-API-Key', ingester.key).expect(200);
    await api().get(`/api/v1/keys/${ingester.id}`).set('X-API-Key', ingester.key).expect(403);
  });

  it('states no scope in the OpenAPI document, where every other keys route states admin', () => {
    const doc = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    const get = (path: string) => (doc.paths[path].get ?? {}) as Record<string, unknown>;

    expect(get('/api/v1/keys/self')['x-required-scope']).toBeUndefined();
    expect(get('/api/v1/keys/{id}')['x-required-scope']).toBe('admin');
  });

  it('401 without a key, and for a revoked one', async () => {
    await api().get('/api/v1/keys/self').expect(401);
    const res = await api().get('/api/v1/keys/self').set('X-API-Key', revoked.key).expect(401);

    expect(res.body.message).toContain('revoked');
  });
});
