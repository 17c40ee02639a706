import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import request from 'supertest';
import { DOCS_CSP, securityHeaders } from './security-headers';

@Controller('things')
class ThingsController {
  @Get()
  list(): object {
    return { things: [] };
  }
}

@Module({ controllers: [ThingsController] })
class ThingsModule {}

describe('securityHeaders', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await NestFactory.create(ThingsModule, { logger: false, bodyParser: false });
    app.use(securityHeaders);
    app.setGlobalPrefix('api/v1');
    SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('t').build()), { jsonDocumentUrl: 'docs-json' });
    await app.init();
  });
  afterAll(() => app.close());

  it.each(['/api/v1/things', '/api/v1/nowhere', '/docs-json'])('marks %s nosniff and no-store, without the docs policy', async (path) => {
    const res = await request(app.getHttpServer()).get(path);

    expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    expect(res.headers['content-security-policy']).toBeUndefined();
  });

  it.each(['/docs', '/docs/', '/docs/swagger-ui-init.js'])('gives %s the Swagger UI policy, no framing', async (path) => {
    const res = await request(app.getHttpServer()).get(path).expect(200);

    expect(res.headers).toMatchObject({ 'content-security-policy': DOCS_CSP, 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff' });
    expect(DOCS_CSP).toContain("frame-ancestors 'none'");
  });

  // script-src 'self' holds only while @nestjs/swagger serves its init as a file; this fails if a version inlines it.
  it('fits the Swagger UI index: every script is a file of its own, styles inline, images self or data:', async () => {
    const html = (await request(app.getHttpServer()).get('/docs').expect(200)).text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];

    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="[^"]*"/);
      expect(attributes).not.toMatch(/src="(https?:)?\/\//);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+="/);
    expect(html).toMatch(/<style>/);
    expect(DOCS_CSP).toBe(
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    await request(app.getHttpServer())
      .get('/docs/swagger-ui-init.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
  });
});
