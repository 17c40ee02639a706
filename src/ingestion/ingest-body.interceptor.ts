import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import getRawBody from 'raw-body';
import { Observable } from 'rxjs';
import { BadRequestError, PayloadTooLargeError } from '../common/errors/errors';
import { IngestionService } from './ingestion.service';

/**
 * Reads the raw ingest body after authentication, with the source's own size limit, so an unknown
 * source or a wrong content type is refused before a byte of the body is buffered.
 */
@Injectable()
export class IngestBodyInterceptor implements NestInterceptor {
  constructor(private readonly ingestion: IngestionService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<Request>();
    const source = this.ingestion.precheck(String(req.params.source), req.headers['content-type']);
    try {
      req.body = await getRawBody(req, { limit: source.maxBodyBytes, length: req.headers['content-length'] });
    } catch (err) {
      const e = err as { type?: string; message: string };
      if (e.type === 'entity.too.large') {
        throw new PayloadTooLargeError(`The body is larger than ${source.maxBodyBytes} bytes, the limit of source "${source.name}": split it into smaller requests`);
      }
      throw new BadRequestError(`The request body could not be read: ${e.message}`);
    }
    return next.handle();
  }
}
