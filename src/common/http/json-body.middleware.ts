import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { Credentials } from '../auth/credentials';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { BadRequestError, PayloadTooLargeError, RequestTimeoutError, UnsupportedMediaTypeError } from '../errors/errors';
import { tooDeepAt } from './json-depth';

const LIMIT = 1024 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * JSON bodies for the control routes (ingest reads its own raw body, per source). Errors are
 * thrown rather than passed to express, so they reach the exception filter in the one error shape.
 *
 * The API key is checked here, before a byte of the body is read: the global guard runs only after
 * middleware, and an unauthenticated client must not get a megabyte buffered and parsed. None of the
 * routes this covers is public. A refusal sent before the body was read closes the connection, so
 * the unread body is not drained to keep it alive.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly maxDepth: number;
  private readonly readTimeoutMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly keys: Credentials,
  ) {
    this.maxDepth = config.ingest.maxDepth;
    this.readTimeoutMs = config.http.requestTimeoutMs;
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    // Only the methods that take a body read one; a GET or DELETE ignores what it is sent.
    if (!BODY_METHODS.has(req.method)) return next();
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
    // Without a body there is nothing to protect here: the access guard answers for the route, as it does for every other.
    if (!hasBody) return next();
    try {
      this.keys.authenticate(req.headers);
    } catch (err) {
      res.setHeader('Connection', 'close');
      throw err;
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json') {
      res.setHeader('Connection', 'close');
      throw new UnsupportedMediaTypeError(`Content-Type must be application/json; got "${mediaType || 'none'}"`);
    }
    const text = await this.read(req, res, length);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new BadRequestError(`The body is not valid JSON: ${(err as Error).message}`);
    }
    // Every control route takes an object; null or a list would otherwise reach validation as "no body".
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestError(`The body must be a JSON object; got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`);
    }
    // Before validation, which recurses over the body: the ingest limit (INGEST_MAX_DEPTH) applies to every JSON body.
    const field = tooDeepAt(body, this.maxDepth);
    if (field !== undefined) {
      throw new BadRequestError(
        `The body nests objects and arrays deeper than ${this.maxDepth} levels, in ${JSON.stringify(field)}: ` +
          `flatten it (at most ${this.maxDepth} levels, the body itself being one)`,
        [{ field, message: `is nested deeper than ${this.maxDepth} levels` }],
      );
    }
    req.body = body;
    next();
  }

  /**
   * The body as text, within LIMIT bytes and the request timeout: raw-body has no deadline of its
   * own, and a body trickled a byte at a time would otherwise hold the request open indefinitely.
   */
  private async read(req: Request, res: Response, length: string | undefined): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        req.pause();
        reject(new RequestTimeoutError(`The body did not arrive within ${this.readTimeoutMs} ms: send it in one go`));
      }, this.readTimeoutMs);
    });
    try {
      return await Promise.race([getRawBody(req, { limit: LIMIT, encoding: 'utf8', length }), deadline]);
    } catch (err) {
      if (err instanceof RequestTimeoutError) throw err;
      res.setHeader('Connection', 'close');
      if ((err as { type?: string }).type === 'entity.too.large') throw new PayloadTooLargeError(`The body is larger than ${LIMIT} bytes`);
      throw new BadRequestError(`The request body could not be read: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
