/**
 * The project's error types. Adapters map outside failures to these once; the exception
 * filter turns them into the one error shape. Controllers never build error responses.
 */
export abstract class AppError extends Error {
  abstract readonly statusCode: number;
  /** Structured detail, one object per problem (a failing field, an event, the signature check, ...). */
  readonly details?: ErrorDetail[];
  /** The dependency at fault, for the errors a dependency caused (502, 503, 504). */
  readonly upstream?: string;
  readonly headers: Record<string, string> = {};

  constructor(message: string, details?: ErrorDetail[]) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/** One entry of an error's `details`: always an object, so clients read every error the same way. */
export type ErrorDetail = object;

/** The caller sent something we cannot accept; the message says what to fix. */
export class BadRequestError extends AppError {
  readonly statusCode = 400;
}

/** The caller's credentials (an API key, or the signature of a signed source) are missing or do not check out. */
export class UnauthorizedError extends AppError {
  readonly statusCode = 401;
}

/** The caller's credentials check out, but do not grant what the route needs (a key's scopes); `details` names it. */
export class ForbiddenError extends AppError {
  readonly statusCode = 403;
}

export class NotFoundError extends AppError {
  readonly statusCode = 404;
}

/** The route exists, but not with this method; `Allow` lists the methods it has. */
export class MethodNotAllowedError extends AppError {
  readonly statusCode = 405;
  constructor(message: string, allowed: string[]) {
    super(message);
    this.headers['Allow'] = allowed.join(', ');
  }
}

export class ConflictError extends AppError {
  readonly statusCode = 409;
}

/** The resource existed and was archived: it stays readable, but takes nothing new (an archived source's ingest). */
export class GoneError extends AppError {
  readonly statusCode = 410;
}

/** A conditional request (If-Match) named a state of the resource that is no longer the current one. */
export class PreconditionFailedError extends AppError {
  readonly statusCode = 412;
}

/** The request is well-formed but contradicts what the API already holds (an idempotency key reused for another body). */
export class UnprocessableEntityError extends AppError {
  readonly statusCode = 422;
}

/** A bound on what the caller may have running at once, or send per second, was reached; `Retry-After` says when to try again. */
export class TooManyRequestsError extends AppError {
  readonly statusCode = 429;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    details?: ErrorDetail[],
  ) {
    super(message, details);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

export class PayloadTooLargeError extends AppError {
  readonly statusCode = 413;
}

/** The request (its body) did not arrive in time; the connection is closed after the answer. */
export class RequestTimeoutError extends AppError {
  readonly statusCode = 408;
  constructor(message: string) {
    super(message);
    this.headers['Connection'] = 'close';
  }
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
    override readonly upstream: string,
    message: string,
    retryAfterSeconds = 5,
  ) {
    super(message);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

/** A dependency accepted the request but did not answer within its deadline. */
export class UpstreamTimeoutError extends AppError {
  readonly statusCode = 504;
  constructor(
    override readonly upstream: string,
    message: string,
  ) {
    super(message);
  }
}

/** A dependency answered with a refusal; its message is passed on. */
export class UpstreamRejectedError extends AppError {
  readonly statusCode = 502;
  constructor(
    override readonly upstream: string,
    message: string,
    upstreamDetail?: ErrorDetail,
  ) {
    super(message, upstreamDetail === undefined ? undefined : [upstreamDetail]);
  }
}
