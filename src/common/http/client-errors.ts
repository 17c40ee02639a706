import { randomUUID } from 'node:crypto';
import { Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from '../errors/error-response.dto';

const MESSAGES: Record<number, string> = {
  400: 'The request is not valid HTTP/1.1',
  408: 'The request was not received in time',
  431: "The request's headers are too large (more than 16 KB in all): send shorter headers (an Idempotency-Key is at most 255 characters)",
};

/** The status a failure of Node's HTTP parser answers: headers too large, too slow, or not HTTP. */
function statusOf(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * Requests Node refuses before any route sees them (headers over its 16 KB limit, malformed
 * requests) are answered in the one error shape, with an X-Request-Id, instead of Node's bare
 * status line with an empty body.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = statusOf(err.code);
    const id = randomUUID();
    const body = JSON.stringify(errorBody(status, MESSAGES[status], id));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${id}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
