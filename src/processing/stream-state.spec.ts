import type { StreamControl, StreamHeartbeat } from '../cassandra/stream.repository';
import { readContract } from '../common/testing/contracts';
import { backoffMs, errorLine, freshHeartbeat, isUp, StreamFacts, streamState, StreamState, topicChange } from './stream-state';

const NOW = new Date('2026-01-02T12:00:00.000Z');
const STALE_MS = 15_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

/** The control row after the control plane started batch b1. */
const control = (fields: Partial<StreamControl> = {}): StreamControl => ({
  stream: 'events_stream',
  desired: 'running',
  args: {},
  batchId: 'b1',
  restarts: 0,
  failures: 0,
  ...fields,
});

/** A heartbeat of run r1 of batch b1, written a second ago. */
const heartbeat = (fields: Partial<StreamHeartbeat> = {}): StreamHeartbeat => ({
  stream: 'events_stream',
  runId: 'r1',
  batchId: 'b1',
  state: 'running',
  seenAt: ago(1_000),
  offsets: {},
  topics: ['ingest.orders'],
  ...fields,
});

/** Livy has the started batch, running. */
const live = { batchState: 'running', batchEnded: false };
/** Livy does not have the started batch (it forgot it, or it was never submitted). */
const forgotten = { batchState: undefined, batchEnded: true };
const ended = (state: string) => ({ batchState: state, batchEnded: true });

const facts = (f: Partial<StreamFacts>): StreamFacts => ({ batchEnded: true, now: NOW, staleMs: STALE_MS, ...f });

describe('streamState', () => {
  it.each<[string, Partial<StreamFacts>, StreamState]>([
    ['nothing was ever decided or started', { ...forgotten }, 'stopped'],
    ['desired running, nothing started yet', { control: control({ batchId: undefined }), ...forgotten }, 'stopped'],
    ['the started batch is live in Livy and has not reported', { control: control(), ...live }, 'starting'],
    ['the started batch reports itself starting', { control: control(), heartbeat: heartbeat({ state: 'starting' }), ...live }, 'starting'],
    ['the started batch reports itself running', { control: control(), heartbeat: heartbeat(), ...live }, 'running'],
    [
      'a fresh heartbeat of another batch (a copy submitted to Livy directly)',
      { control: control(), heartbeat: heartbeat({ batchId: 'b0' }), ...live },
      'running-unmanaged',
    ],
    ['a fresh heartbeat without a batch id', { control: control(), heartbeat: heartbeat({ batchId: undefined }), ...live }, 'running-unmanaged'],
    [
      'a fresh heartbeat of the started batch, which Livy forgot (Livy restarted)',
      { control: control(), heartbeat: heartbeat(), ...forgotten },
      'running-unmanaged',
    ],
    [
      'a fresh heartbeat of the started batch, which Livy reports dead: the copy is gone',
      { control: control(), heartbeat: heartbeat(), ...ended('dead') },
      'stopped',
    ],
    [
      'a fresh heartbeat of the started batch, which Livy reports dead, after failures',
      { control: control({ failures: 1 }), heartbeat: heartbeat(), ...ended('dead') },
      'failed',
    ],
    [
      'a fresh heartbeat of another batch while the started one ended',
      { control: control(), heartbeat: heartbeat({ batchId: 'b0' }), ...ended('dead') },
      'running-unmanaged',
    ],
    [
      'Livy could not be asked; a fresh heartbeat of the started batch',
      { control: control(), heartbeat: heartbeat(), ...forgotten, livyUnknown: true },
      'running',
    ],
    [
      'Livy could not be asked; the started batch reports itself starting',
      { control: control(), heartbeat: heartbeat({ state: 'starting' }), ...forgotten, livyUnknown: true },
      'starting',
    ],
    [
      'Livy could not be asked; a fresh heartbeat of another batch',
      { control: control(), heartbeat: heartbeat({ batchId: 'b0' }), ...forgotten, livyUnknown: true },
      'running-unmanaged',
    ],
    [
      'Livy could not be asked; no fresh heartbeat',
      { control: control(), heartbeat: heartbeat({ seenAt: ago(STALE_MS) }), ...forgotten, livyUnknown: true },
      'stopped',
    ],
    ['a fresh heartbeat and no control row at all', { heartbeat: heartbeat(), ...forgotten }, 'running-unmanaged'],
    ['a stale heartbeat and the started batch live in Livy', { control: control(), heartbeat: heartbeat({ seenAt: ago(STALE_MS) }), ...live }, 'starting'],
    ['a stale heartbeat and no batch in Livy', { control: control(), heartbeat: heartbeat({ seenAt: ago(STALE_MS) }), ...forgotten }, 'stopped'],
    ['the copy reported that it stopped', { control: control(), heartbeat: heartbeat({ state: 'stopped' }), ...ended('success') }, 'stopped'],
    [
      'the copy reported that it failed, failure counted',
      { control: control({ failures: 1 }), heartbeat: heartbeat({ state: 'failed' }), ...ended('dead') },
      'failed',
    ],
    ['a counted failure and nothing up', { control: control({ failures: 2 }), ...forgotten }, 'failed'],
    ['a counted failure while the next copy is live in Livy', { control: control({ failures: 2 }), ...live }, 'starting'],
    ['a counted failure while a copy reports itself running', { control: control({ failures: 2 }), heartbeat: heartbeat(), ...live }, 'running'],
    ['desired stopped while the copy reports itself running', { control: control({ desired: 'stopped' }), heartbeat: heartbeat(), ...live }, 'stopping'],
    [
      'desired stopped while an unmanaged copy reports itself running',
      { control: control({ desired: 'stopped' }), heartbeat: heartbeat({ batchId: 'b0' }), ...forgotten },
      'stopping',
    ],
    ['desired stopped while the batch is live in Livy, not reporting', { control: control({ desired: 'stopped' }), ...live }, 'stopping'],
    ['desired stopped and nothing up', { control: control({ desired: 'stopped' }), ...ended('success') }, 'stopped'],
    ['desired stopped after failures: stopped, not failed', { control: control({ desired: 'stopped', failures: 3 }), ...forgotten }, 'stopped'],
    ['the running copy was asked to stop (graceful restart)', { control: control({ stopRun: 'r1' }), heartbeat: heartbeat(), ...live }, 'stopping'],
    ['a stop was asked of an earlier run, not this one', { control: control({ stopRun: 'r0' }), heartbeat: heartbeat(), ...live }, 'running'],
    ['the copy reports itself stopping', { control: control(), heartbeat: heartbeat({ state: 'stopping' }), ...live }, 'stopping'],
  ])('%s', (_case, f, expected) => {
    expect(streamState(facts(f))).toBe(expected);
  });
});

describe('freshHeartbeat', () => {
  it.each<[string, StreamHeartbeat | undefined, boolean]>([
    ['written just now', heartbeat({ seenAt: NOW }), true],
    ['written just inside the window', heartbeat({ seenAt: ago(STALE_MS - 1) }), true],
    ['written exactly one window ago', heartbeat({ seenAt: ago(STALE_MS) }), false],
    ['written long ago', heartbeat({ seenAt: ago(3_600_000) }), false],
    ['never written (no seenAt)', heartbeat({ seenAt: undefined }), false],
    ['state starting', heartbeat({ state: 'starting' }), true],
    ['state stopping', heartbeat({ state: 'stopping' }), true],
    ['state stopped', heartbeat({ state: 'stopped' }), false],
    ['state failed', heartbeat({ state: 'failed' }), false],
    ['no state', heartbeat({ state: undefined }), false],
    ['no heartbeat at all', undefined, false],
  ])('a heartbeat %s is fresh: %s', (_case, hb, fresh) => {
    expect(freshHeartbeat({ heartbeat: hb, now: NOW, staleMs: STALE_MS })).toBe(fresh ? hb : undefined);
  });
});

describe('isUp', () => {
  it.each<[StreamState, boolean]>([
    ['running', true],
    ['running-unmanaged', true],
    ['starting', true],
    ['stopping', false],
    ['stopped', false],
    ['failed', false],
  ])('%s → %s', (state, up) => {
    expect(isUp(state)).toBe(up);
  });
});

describe('backoffMs', () => {
  it.each([
    [1, 60, 2_000],
    [2, 60, 4_000],
    [3, 60, 8_000],
    [5, 60, 32_000],
    [6, 60, 60_000],
    [7, 60, 60_000],
    [3, 5, 5_000],
    [0, 60, 2_000],
    [-1, 60, 2_000],
    [1_000, 3_600, 3_600_000],
  ])('after %i failure(s), capped at %i s: %i ms', (failures, maxSeconds, ms) => {
    expect(backoffMs(failures, maxSeconds)).toBe(ms);
  });
});

describe('topicChange', () => {
  it.each<[string, string[], string[], { added: string[]; removed: string[] }]>([
    ['the same topics', ['a', 'b'], ['a', 'b'], { added: [], removed: [] }],
    ['the same topics in another order', ['a', 'b'], ['b', 'a'], { added: [], removed: [] }],
    ['a source added', ['a', 'b', 'c'], ['a', 'b'], { added: ['c'], removed: [] }],
    ['a source removed', ['a'], ['a', 'b'], { added: [], removed: ['b'] }],
    ['one added and one removed', ['a', 'c'], ['a', 'b'], { added: ['c'], removed: ['b'] }],
    ['a copy reading nothing yet', ['a', 'b'], [], { added: ['a', 'b'], removed: [] }],
  ])('%s', (_case, configured, reading, change) => {
    expect(topicChange(configured, reading)).toEqual(change);
  });
});

describe('errorLine', () => {
  it.each<[string, string[], string | undefined]>([
    [
      "the job's own last line",
      ['events_stream: failed: cannot reach Cassandra at 10.9.9.9:9042', 'py4j.protocol.Py4JJavaError: An error occurred while calling o42.start'],
      'events_stream: failed: cannot reach Cassandra at 10.9.9.9:9042',
    ],
    [
      "the last of the job's own lines",
      [
        "events_stream: took the stream's lease (run r1)",
        'events_stream: failed: [STREAM_FAILED] Query terminated',
        'INFO ShutdownHookManager: Shutdown hook called',
      ],
      'events_stream: failed: [STREAM_FAILED] Query terminated',
    ],
    [
      'not a start or micro-batch line of the job',
      ['events_stream: stopped', 'events_stream: started run r2 on worker-1', 'events_stream: batch epoch=7 rows=120 written=120'],
      'events_stream: stopped',
    ],
    ['only start and micro-batch lines: nothing', ['events_stream: started run r2 on worker-1', 'events_stream: batch epoch=7 rows=120'], undefined],
    [
      'else the last line naming an error, not a stack frame',
      [
        'INFO SparkContext: Running Spark version 3.5.7',
        'Traceback (most recent call last):',
        'pyspark.errors.exceptions.captured.StreamingQueryException: [STREAM_FAILED] Query terminated with exception',
        '\tat org.apache.spark.SparkException$.internalError(SparkException.scala:92)',
        '',
      ],
      'pyspark.errors.exceptions.captured.StreamingQueryException: [STREAM_FAILED] Query terminated with exception',
    ],
    [
      'a Python error',
      ['Traceback (most recent call last):', 'ModuleNotFoundError: No module named pipeline_transforms'],
      'ModuleNotFoundError: No module named pipeline_transforms',
    ],
    ['trimmed', ['  events_stream: failed: lost the lease   ', '   '], 'events_stream: failed: lost the lease'],
    ['a word that merely starts with Error is not an error', ['INFO ErrorHandlerSetup: configured', 'INFO Exceptionally quiet'], undefined],
    ['no lines', [], undefined],
  ])('%s', (_case, lines, line) => {
    expect(errorLine(lines)).toBe(line);
  });
});

/** contracts/micro-batch-lines.json: the lines spark-jobs/events_stream.py prints after each micro-batch (its tests check the same text). */
interface MicroBatchLines {
  written: { name: string; line: string }[];
}
const LINES = readContract<MicroBatchLines>('micro-batch-lines.json');

describe("errorLine over the job's micro-batch lines", () => {
  const lines = LINES.written.map((c) => c.line);

  it('never takes one for why a copy ended', () => {
    expect(errorLine(lines)).toBeUndefined();
  });

  it("takes the job's own line before the micro-batch lines that followed it", () => {
    const stop = 'events_stream: stop requested (desired=stopped); stopping the query after the current micro-batch';
    expect(errorLine([stop, ...lines])).toBe(stop);
  });
});
