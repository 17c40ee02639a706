/**
 * The project's error types. Adapters map outside failures to these once; the exception
 * filter turns them into the one error shape. Controllers never build error responses.
 */
export abstract class AppError extends Error {
  abstract readonly statusCode: number;
  readonly details?: unknown;
  readonly headers: Record<string, string> = {};

  constructor(message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** The caller sent something we cannot accept; the message says what to fix. */
export class BadRequestError extends AppError {
  readonly statusCode = 400;
}

/** The caller's credentials (an API key, or the signature of a signed source) are missing or do not check out. */
export class UnauthorizedError extends AppError {
  readonly statusCode = 401;
}

export class NotFoundError extends AppError {
  readonly statusCode = 404;
}

export class ConflictError extends AppError {
  readonly statusCode = 409;
}

/** The request is well-formed but contradicts what the API already holds (an idempotency key reused for another body). */
export class UnprocessableEntityError extends AppError {
  readonly statusCode = 422;
}

export class PayloadTooLargeError extends AppError {
  readonly statusCode = 413;
}

export class UnsupportedMediaTypeError extends AppError {
  readonly statusCode = 415;
}

/** The API itself cannot answer this now (no dependency is at fault); retrying later may work. */
export class ServiceUnavailableError extends AppError {
  readonly statusCode = 503;
  constructor(message: string, retryAfterSeconds = 5) {
    super(message);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** A dependency (Kafka, Cassandra, ...) cannot be reached or did not answer in time for the caller. */
export class UpstreamUnavailableError extends AppError {
  readonly statusCode = 503;
  constructor(
    readonly upstream: string,
    message: string,
    retryAfterSeconds = 5,
  ) {
    super(message, { upstream });
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** A dependency accepted the request but did not answer within its deadline. */
export class UpstreamTimeoutError extends AppError {
  readonly statusCode = 504;
  constructor(
    readonly upstream: string,
    message: string,
  ) {
    super(message, { upstream });
  }
}

/** A dependency answered with a refusal; its message is passed on. */
export class UpstreamRejectedError extends AppError {
  readonly statusCode = 502;
  constructor(
    readonly upstream: string,
    message: string,
    upstreamDetails?: unknown,
  ) {
    super(message, { upstream, upstreamDetails });
  }
}
