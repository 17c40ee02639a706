import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { BadRequestError, PayloadTooLargeError } from '../common/errors/errors';
import { Source } from './sources.registry';

/**
 * Reads a raw ingest body with the source's own size limit. Called by the handler, so it runs after
 * authentication and after the source and content type were checked: an unknown source or a wrong
 * content type is refused before a byte of the body is buffered.
 */
export async function readIngestBody(req: IncomingMessage, source: Source): Promise<Buffer> {
  try {
    return await getRawBody(req, { limit: source.maxBodyBytes, length: req.headers['content-length'] });
  } catch (err) {
    const e = err as { type?: string; message: string };
    if (e.type === 'entity.too.large') {
      throw new PayloadTooLargeError(`The body is larger than ${source.maxBodyBytes} bytes, the limit of source "${source.name}": split it into smaller requests`);
    }
    throw new BadRequestError(`The request body could not be read: ${e.message}`);
  }
}
