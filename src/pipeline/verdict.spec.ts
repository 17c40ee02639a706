import { FlowFacts, verdict } from './verdict';

/** A pipeline that flows: the stream runs, nothing is down, nothing waits, a micro-batch just ran. */
const facts = (f: Partial<FlowFacts> = {}): FlowFacts => ({
  streamState: 'running',
  desired: 'running',
  down: [],
  sources: [
    { source: 'users', lagEvents: 0, lagSeconds: 0 },
    { source: 'orders', lagEvents: 0, lagSeconds: 0 },
  ],
  sinceLastBatchSeconds: 1,
  lagThresholdSeconds: 10,
  stallSeconds: 30,
  ...f,
});

describe('verdict', () => {
  describe('flowing', () => {
    it.each<[string, Partial<FlowFacts>]>([
      ['everything caught up', {}],
      ['events wait but are stored within the threshold', { sources: [{ source: 'users', lagEvents: 40, lagSeconds: 9.9 }] }],
      ['exactly at the lag threshold', { sources: [{ source: 'users', lagEvents: 40, lagSeconds: 10 }] }],
      [
        'events wait and the last micro-batch is exactly stallSeconds old',
        { sinceLastBatchSeconds: 30, sources: [{ source: 'users', lagEvents: 3, lagSeconds: 2 }] },
      ],
      ['nothing waits and no micro-batch ran for long (nothing to do)', { sinceLastBatchSeconds: 3_600 }],
      ['nothing waits and no micro-batch ran yet', { sinceLastBatchSeconds: undefined }],
      ['an unknown lag counts as none', { sources: [{ source: 'users', lagEvents: 5, lagSeconds: undefined }] }],
      ['an adopted copy runs', { streamState: 'running-unmanaged' }],
      ['a copy is starting', { streamState: 'starting' }],
    ])('%s', (_case, f) => {
      expect(verdict(facts(f))).toEqual({ verdict: 'flowing', reasons: [] });
    });
  });

  it('is stopped when the stream is stopped on request, saying how to resume and what waits, whatever else is wrong', () => {
    const result = verdict(
      facts({
        desired: 'stopped',
        streamState: 'stopping',
        down: [{ name: 'livy', message: 'Livy is unavailable' }],
        sources: [
          { source: 'users', lagEvents: 0 },
          { source: 'orders', lagEvents: 12, lagSeconds: 300 },
        ],
      }),
    );

    expect(result).toEqual({
      verdict: 'stopped',
      reasons: ['the stream is stopped on request (state stopping); POST /api/v1/streaming/start resumes it', '12 event(s) of orders wait in Kafka'],
    });
  });

  it('is degraded when a dependency is down, naming each with its message', () => {
    const result = verdict(
      facts({
        down: [{ name: 'cassandra', message: 'All host(s) tried for query failed' }, { name: 'airflow' }],
        sources: [{ source: 'users', lagEvents: 50, lagSeconds: 100 }],
        sinceLastBatchSeconds: 600,
      }),
    );

    expect(result).toEqual({ verdict: 'degraded', reasons: ['cassandra is down: All host(s) tried for query failed', 'airflow is down'] });
  });

  describe('the stream is not up though desired running', () => {
    it('is stalled when events wait, with the stream error first', () => {
      const result = verdict(
        facts({
          streamState: 'failed',
          streamError: 'events_stream: failed: cannot reach Kafka',
          sources: [
            { source: 'users', lagEvents: 3 },
            { source: 'orders', lagEvents: 0 },
          ],
        }),
      );

      expect(result).toEqual({
        verdict: 'stalled',
        reasons: ['the stream failed: events_stream: failed: cannot reach Kafka', '3 event(s) of users wait in Kafka'],
      });
    });

    it.each<[string, string | undefined, string]>([
      ['stopped', undefined, 'the stream is stopped though desired running'],
      ['stopping', undefined, 'the stream is stopping though desired running'],
      ['failed', undefined, 'the stream is failed though desired running'],
      ['failed', 'exit 2', 'the stream failed: exit 2'],
      ['unknown', undefined, 'the stream is unknown though desired running'],
    ])('is degraded when nothing waits (state %s, error %s)', (streamState, streamError, reason) => {
      expect(verdict(facts({ streamState, streamError }))).toEqual({ verdict: 'degraded', reasons: [reason] });
    });
  });

  describe('stalled', () => {
    it('when events wait and no micro-batch has run yet', () => {
      const result = verdict(
        facts({
          sinceLastBatchSeconds: undefined,
          sources: [
            { source: 'users', lagEvents: 3, lagSeconds: 1 },
            { source: 'orders', lagEvents: 7, lagSeconds: 1 },
          ],
        }),
      );

      expect(result).toEqual({
        verdict: 'stalled',
        reasons: ['no micro-batch has run yet while 3 event(s) of users wait in Kafka, 7 event(s) of orders wait in Kafka'],
      });
    });

    it('when events wait and the last micro-batch is older than stallSeconds, rounding the seconds', () => {
      const result = verdict(facts({ sinceLastBatchSeconds: 45.6, sources: [{ source: 'orders', lagEvents: 7, lagSeconds: 1 }] }));

      expect(result).toEqual({ verdict: 'stalled', reasons: ['no micro-batch for 46 s while 7 event(s) of orders wait in Kafka'] });
    });
  });

  it('is lagging when a source is further behind than the threshold, naming each such source', () => {
    const result = verdict(
      facts({
        sources: [
          { source: 'users', lagEvents: 40, lagSeconds: 12.6 },
          { source: 'orders', lagEvents: 2, lagSeconds: 1 },
          { source: 'payments', lagEvents: 900, lagSeconds: 61 },
        ],
      }),
    );

    expect(result).toEqual({
      verdict: 'lagging',
      reasons: ['users is 13 s behind (40 event(s) wait; threshold 10 s)', 'payments is 61 s behind (900 event(s) wait; threshold 10 s)'],
    });
  });
});
