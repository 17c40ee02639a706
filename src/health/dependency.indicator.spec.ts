import { HealthIndicatorService } from '@nestjs/terminus';
import { DependencyIndicator } from './dependency.indicator';

describe('DependencyIndicator', () => {
  const indicator = new DependencyIndicator(new HealthIndicatorService());

  it('reports a dependency up with what its ping said and how long it took', async () => {
    const result = await indicator.check('kafka', async () => ({ brokers: 1 }));
    expect(result.kafka).toMatchObject({ status: 'up', brokers: 1, latencyMs: expect.any(Number) });
  });

  it('reports it down with the reason when the ping fails', async () => {
    const result = await indicator.check('livy', () => Promise.reject(new Error('Livy is unavailable: connect ECONNREFUSED')));
    expect(result.livy).toMatchObject({ status: 'down', message: 'Livy is unavailable: connect ECONNREFUSED' });
  });

  it('reports it down when the ping does not answer in time, instead of hanging the probe', async () => {
    const result = await indicator.check('airflow', () => new Promise(() => undefined), 50);
    expect(result.airflow).toMatchObject({ status: 'down', message: 'no answer within 50 ms' });
  });
});
