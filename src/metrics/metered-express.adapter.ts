import { ExpressAdapter } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { labelledNotFound } from './http-metrics.middleware';

/** Nest's Express adapter, whose not-found handler labels what it answers as unmatched (see labelledNotFound). */
export class MeteredExpressAdapter extends ExpressAdapter {
  override setNotFoundHandler(handler: (req: Request, res: Response, next: NextFunction) => unknown, prefix?: string): unknown {
    return super.setNotFoundHandler(labelledNotFound(handler), prefix);
  }
}
