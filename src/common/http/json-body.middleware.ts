import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors/errors';

const LIMIT = 1024 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * JSON bodies for the control routes (ingest reads its own raw body, per source). Errors are
 * thrown rather than passed to express, so they reach the exception filter in the one error shape.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: Request, _res: Response, next: NextFunction): Promise<void> {
    // Only the methods that take a body read one; a GET or DELETE ignores what it is sent.
    if (!BODY_METHODS.has(req.method)) return next();
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > 0);
    if (!hasBody) return next();
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/json') {
      throw new UnsupportedMediaTypeError(`Content-Type must be application/json; got "${mediaType || 'none'}"`);
    }
    let text: string;
    try {
      text = await getRawBody(req, { limit: LIMIT, encoding: 'utf8', length });
    } catch (err) {
      if ((err as { type?: string }).type === 'entity.too.large') throw new PayloadTooLargeError(`The body is larger than ${LIMIT} bytes`);
      throw new BadRequestError(`The request body could not be read: ${(err as Error).message}`);
    }
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
    req.body = body;
    next();
  }
}
