import { ArgumentsHost, BadRequestException, Logger, NotFoundException, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { AllExceptionsFilter } from './all-exceptions.filter';
import {
  BadRequestError,
  ConflictError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnsupportedMediaTypeError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../common/errors/errors';

const REQUEST_ID = 'req-42';

/** Runs the filter on one exception with a fake express response; answers what was sent. */
function handle(
  exception: unknown,
  {
    headersSent = false,
    request = { id: REQUEST_ID },
    metrics = new MetricsService(),
  }: { headersSent?: boolean; request?: { id?: string }; metrics?: MetricsService } = {},
) {
  const response = { headersSent, status: jest.fn(), json: jest.fn(), setHeader: jest.fn() };
  response.status.mockReturnValue(response);
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;

  new AllExceptionsFilter(metrics).catch(exception, host);

  return response;
}

/** The one status and body the filter sent. */
function sent(response: ReturnType<typeof handle>) {
  expect(response.status).toHaveBeenCalledTimes(1);
  expect(response.json).toHaveBeenCalledTimes(1);
  return { status: response.status.mock.calls[0][0] as number, body: response.json.mock.calls[0][0] as Record<string, unknown> };
}

describe('AllExceptionsFilter', () => {
  let loggedError: jest.SpyInstance;

  beforeEach(() => {
    loggedError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => loggedError.mockRestore());

  it.each([
    [new BadRequestError('bad', [{ index: 2 }]), 400, 'Bad Request'],
    [new NotFoundError('nope'), 404, 'Not Found'],
    [new ConflictError('taken'), 409, 'Conflict'],
    [new PayloadTooLargeError('too big'), 413, 'Payload Too Large'],
    [new UnsupportedMediaTypeError('which type?'), 415, 'Unsupported Media Type'],
    [new MethodNotAllowedError('use GET', ['GET', 'HEAD']), 405, 'Method Not Allowed'],
    [new ServiceUnavailableError('the workers did not answer'), 503, 'Service Unavailable'],
  ])('answers %p with its status and the one error shape', (error, statusCode, reason) => {
    const { status, body } = sent(handle(error));

    expect(status).toBe(statusCode);
    expect(body).toEqual({ statusCode, error: reason, message: error.message, requestId: REQUEST_ID, ...(error.details ? { details: error.details } : {}) });
    expect(loggedError).not.toHaveBeenCalled();
  });

  it.each([
    [new UpstreamRejectedError('Livy', 'refused', { status: 405 }), 502, 'Bad Gateway', 'Livy', [{ status: 405 }]],
    [new UpstreamUnavailableError('Kafka', 'down'), 503, 'Service Unavailable', 'Kafka', undefined],
    [new UpstreamTimeoutError('Cassandra', 'slow'), 504, 'Gateway Timeout', 'Cassandra', undefined],
  ])('names the dependency at fault of %p in a top-level upstream field, details staying a list', (error, statusCode, reason, upstream, details) => {
    const { status, body } = sent(handle(error));

    expect(status).toBe(statusCode);
    expect(body).toEqual({ statusCode, error: reason, message: error.message, requestId: REQUEST_ID, upstream, ...(details ? { details } : {}) });
  });

  it('leaves details and upstream out when the error has none', () => {
    const { body } = sent(handle(new NotFoundError('nope')));

    expect(body).not.toHaveProperty('details');
    expect(body).not.toHaveProperty('upstream');
  });

  it('sends Allow with a 405', () => {
    expect(handle(new MethodNotAllowedError('use GET', ['GET', 'HEAD'])).setHeader).toHaveBeenCalledWith('Allow', 'GET, HEAD');
  });

  it('passes on the readiness report of terminus as it is, not in the error shape', () => {
    const report = { status: 'error', info: {}, error: { kafka: { status: 'down' } }, details: { kafka: { status: 'down' } } };

    expect(sent(handle(new ServiceUnavailableException(report)))).toEqual({ status: 503, body: report });
  });

  it("drops a framework error's details that are not a list of objects", () => {
    expect(sent(handle(new BadRequestException({ message: 'bad', details: { field: 'x' } }))).body).not.toHaveProperty('details');
    expect(sent(handle(new BadRequestException({ message: 'bad', details: [{ field: 'x' }] }))).body.details).toEqual([{ field: 'x' }]);
  });

  it('sets Retry-After when an upstream is unavailable', () => {
    const response = handle(new UpstreamUnavailableError('Kafka', 'down', 7));

    expect(response.setHeader).toHaveBeenCalledWith('Retry-After', '7');
    expect(sent(response).status).toBe(503);
  });

  it('answers a bound reached with 429 Too Many Requests and Retry-After', () => {
    const response = handle(new TooManyRequestsError('Job "daily_rollup" already has 2 batches starting or running', 30));

    expect(response.setHeader).toHaveBeenCalledWith('Retry-After', '30');
    expect(sent(response)).toMatchObject({
      status: 429,
      body: { statusCode: 429, error: 'Too Many Requests', message: 'Job "daily_rollup" already has 2 batches starting or running' },
    });
  });

  it('sets no headers for an ordinary error', () => {
    expect(handle(new BadRequestError('bad')).setHeader).not.toHaveBeenCalled();
  });

  it('joins a list of messages and keeps one object per message in details', () => {
    const messages = ['limit must not be greater than 1000', 'from must be a string'];

    const { status, body } = sent(handle(new BadRequestException(messages)));

    expect(status).toBe(400);
    expect(body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'limit must not be greater than 1000; from must be a string',
      requestId: REQUEST_ID,
      details: messages.map((message) => ({ message })),
    });
  });

  it("keeps the message of the framework's HTTP exceptions", () => {
    expect(sent(handle(new UnauthorizedException('Invalid API key')))).toEqual({
      status: 401,
      body: { statusCode: 401, error: 'Unauthorized', message: 'Invalid API key', requestId: REQUEST_ID },
    });
    expect(sent(handle(new NotFoundException('Cannot GET /nowhere'))).body).toMatchObject({ statusCode: 404, message: 'Cannot GET /nowhere' });
  });

  it('answers 500 for an unknown error without leaking its message, and logs it', () => {
    const error = new Error('connect ECONNREFUSED 10.0.0.7:9042 password=hunter2');

    const { status, body } = sent(handle(error));

    expect(status).toBe(500);
    expect(body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', requestId: REQUEST_ID });
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(loggedError).toHaveBeenCalledWith(expect.objectContaining({ err: error }), 'unhandled error');
  });

  it('answers 500 for a thrown non-error value', () => {
    expect(sent(handle('boom')).body).toMatchObject({ statusCode: 500, message: 'Internal server error' });
    expect(sent(handle(undefined)).body).toMatchObject({ statusCode: 500, message: 'Internal server error' });
  });

  it("keeps the client status of body-parser's errors", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' });

    expect(sent(handle(tooLarge))).toEqual({
      status: 413,
      body: { statusCode: 413, error: 'Payload Too Large', message: 'request entity too large', requestId: REQUEST_ID },
    });
    expect(sent(handle({ status: 413, message: 'request entity too large' })).status).toBe(413);
    expect(sent(handle({ statusCode: 400, message: 'Unexpected token } in JSON' })).body).toMatchObject({
      statusCode: 400,
      message: 'Unexpected token } in JSON',
    });
  });

  it('does not pass on a server-side status carried by a foreign error', () => {
    const { status, body } = sent(handle({ status: 502, message: 'socket hang up from 10.0.0.7' }));

    expect(status).toBe(500);
    expect(body.message).toBe('Internal server error');
  });

  it('answers an empty requestId when the request has none', () => {
    expect(sent(handle(new NotFoundError('nope'), { request: {} })).body.requestId).toBe('');
  });

  it('sends nothing when the response has already started', () => {
    const response = handle(new BadRequestError('late'), { headersSent: true });

    expect(response.status).not.toHaveBeenCalled();
    expect(response.json).not.toHaveBeenCalled();
    expect(response.setHeader).not.toHaveBeenCalled();
  });

  it('counts each 502/503/504 a dependency caused, by dependency and status, also when the response had started', async () => {
    const metrics = new MetricsService();
    const upstreamErrors = (labels: Record<string, string>) => metricValue(metrics, 'pipeline_upstream_errors_total', labels);

    handle(new UpstreamUnavailableError('Kafka', 'down'), { metrics });
    handle(new UpstreamUnavailableError('Kafka', 'down'), { metrics, headersSent: true });
    handle(new UpstreamTimeoutError('Cassandra', 'slow'), { metrics });
    handle(new UpstreamRejectedError('Livy', 'refused'), { metrics });
    handle(new UpstreamRejectedError('Airflow', 'refused'), { metrics });

    expect(await upstreamErrors({ upstream: 'kafka', status: '503' })).toBe(2);
    expect(await upstreamErrors({ upstream: 'cassandra', status: '504' })).toBe(1);
    expect(await upstreamErrors({ upstream: 'livy', status: '502' })).toBe(1);
    expect(await upstreamErrors({ upstream: 'airflow', status: '502' })).toBe(1);
    expect(await upstreamErrors({})).toBe(5);
  });

  it('counts no upstream error for errors of the caller or of the API itself', async () => {
    const metrics = new MetricsService();

    for (const error of [new BadRequestError('bad'), new NotFoundError('nope'), new ServiceUnavailableError('busy'), new Error('bug')]) {
      handle(error, { metrics });
    }

    expect(await metricValue(metrics, 'pipeline_upstream_errors_total')).toBe(0);
  });
});
