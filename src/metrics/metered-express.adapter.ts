import { ExpressAdapter } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { methodNotAllowed, RouterLike } from '../common/http/method-not-allowed';
import { labelledNotFound } from './http-metrics.middleware';

/**
 * Nest's Express adapter, whose not-found handler answers 405 with Allow for a known path asked with
 * another method (see methodNotAllowed) and labels what it answers as unmatched (see labelledNotFound).
 */
export class MeteredExpressAdapter extends ExpressAdapter {
  override setNotFoundHandler(handler: (req: Request, res: Response, next: NextFunction) => unknown, prefix?: string): unknown {
    const router = () => this.getInstance<{ router?: RouterLike }>().router;
    return super.setNotFoundHandler(labelledNotFound(methodNotAllowed(router, handler)), prefix);
  }
}
