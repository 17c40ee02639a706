import { errors, types } from 'cassandra-driver';
import { testConfig } from '../common/testing/config';
import { AppError, BadRequestError, UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError } from '../common/errors/errors';
import { CassandraClient } from './cassandra.client';

// Constructing the client does not connect; only onApplicationBootstrap() and execute() do.
const client = new CassandraClient(testConfig({ CASSANDRA_REQUEST_TIMEOUT_MS: '2500' }));
const mapError = (err: unknown): AppError => (client as unknown as { mapError(e: unknown): AppError }).mapError(err);
const { responseErrorCodes: codes } = types;

describe('CassandraClient error mapping', () => {
  it('maps NoHostAvailableError to 503 naming Cassandra, with Retry-After', () => {
    const mapped = mapError(new errors.NoHostAvailableError({ '127.0.0.1:9042': new Error('ECONNREFUSED') }));

    expect(mapped).toBeInstanceOf(UpstreamUnavailableError);
    expect(mapped).toMatchObject({ statusCode: 503, upstream: 'Cassandra' });
    expect(mapped.details).toBeUndefined();
    expect(mapped.headers['Retry-After']).toBeDefined();
  });

  it('maps BusyConnectionError to 503', () => {
    expect(mapError(new errors.BusyConnectionError('127.0.0.1:9042', 2048, 1))).toBeInstanceOf(UpstreamUnavailableError);
  });

  it('maps OperationTimedOutError to 504, naming the configured timeout', () => {
    const mapped = mapError(new errors.OperationTimedOutError('The host 127.0.0.1:9042 did not reply before timeout 2500 ms'));

    expect(mapped).toBeInstanceOf(UpstreamTimeoutError);
    expect(mapped).toMatchObject({ statusCode: 504, upstream: 'Cassandra', message: 'Cassandra did not answer within 2500 ms' });
  });

  it.each([
    ['unavailableException', codes.unavailableException],
    ['overloaded', codes.overloaded],
    ['isBootstrapping', codes.isBootstrapping],
  ])('maps a ResponseError %s to 503', (_name, code) => {
    const mapped = mapError(new errors.ResponseError(code, 'Cannot achieve consistency level LOCAL_QUORUM'));

    expect(mapped).toBeInstanceOf(UpstreamUnavailableError);
    expect(mapped).toMatchObject({
      statusCode: 503,
      upstream: 'Cassandra',
      message: 'Cassandra is unavailable: Cannot achieve consistency level LOCAL_QUORUM',
    });
  });

  it.each([
    ['readTimeout', codes.readTimeout],
    ['writeTimeout', codes.writeTimeout],
  ])('maps a ResponseError %s to 504', (_name, code) => {
    const mapped = mapError(new errors.ResponseError(code, 'Operation timed out - received only 1 responses.'));

    expect(mapped).toBeInstanceOf(UpstreamTimeoutError);
    expect(mapped).toMatchObject({ statusCode: 504, message: 'Cassandra timed out: Operation timed out - received only 1 responses.' });
  });

  it.each([
    ['syntaxError', codes.syntaxError],
    ['invalid', codes.invalid],
    ['unauthorized', codes.unauthorized],
  ])('maps a ResponseError %s to 502, passing on the upstream message', (_name, code) => {
    const mapped = mapError(new errors.ResponseError(code, "line 1:7 no viable alternative at input 'FROM'"));

    expect(mapped).toBeInstanceOf(UpstreamRejectedError);
    expect(mapped).toMatchObject({
      statusCode: 502,
      upstream: 'Cassandra',
      message: "Cassandra refused the query: line 1:7 no viable alternative at input 'FROM'",
    });
  });

  it('leaves project errors unchanged', () => {
    const error = new BadRequestError('bad');

    expect(mapError(error)).toBe(error);
  });

  it('maps any other failure to 503 with its message', () => {
    const mapped = mapError(new Error('socket closed'));

    expect(mapped).toBeInstanceOf(UpstreamUnavailableError);
    expect(mapped.message).toBe('Cassandra is unavailable: socket closed');
  });
});

describe('CassandraClient while a migration moves data', () => {
  it('answers 503 at once, naming the migration, instead of waiting for it', async () => {
    const migrating = new CassandraClient(testConfig());
    (migrating as unknown as { migrating?: string }).migrating = "schema migration 8 is moving data (its progress is in the API's log)";

    const err = await migrating.execute('SELECT now() FROM system.local', []).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({
      statusCode: 503,
      upstream: 'Cassandra',
      message: "Cassandra is not ready yet: schema migration 8 is moving data (its progress is in the API's log)",
    });
  });
});
