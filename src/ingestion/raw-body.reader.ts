import type { Readable } from 'node:stream';
import getRawBody from 'raw-body';
import { BadRequestError, PayloadTooLargeError } from '../common/errors/errors';
import { Source } from '../catalogs/sources.registry';

/**
 * Reads a request body as raw bytes, stopping at the source's own size limit: a body over it is
 * refused (413) before more than the limit is buffered.
 */
export async function readRawBody(body: Readable, contentLength: string | undefined, source: Source): Promise<Buffer> {
  try {
    return await getRawBody(body, { limit: source.maxBodyBytes, length: contentLength });
  } catch (err) {
    const e = err as { type?: string; message: string };
    if (e.type === 'entity.too.large') {
      throw new PayloadTooLargeError(
        `The body is larger than ${source.maxBodyBytes} bytes: source "${source.name}" accepts at most ${source.maxBodyBytes}; split it into smaller requests`,
      );
    }
    throw new BadRequestError(`The request body could not be read: ${e.message}`);
  }
}
