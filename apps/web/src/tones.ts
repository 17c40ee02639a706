// Which colour a state is shown in. Every state is also written out in words beside its colour, so
// colour is never the only sign (and the words are the API's own).

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral';

const VERDICT: Record<string, Tone> = { flowing: 'ok', lagging: 'warn', stalled: 'bad', stopped: 'warn', degraded: 'bad' };
const STREAM: Record<string, Tone> = { running: 'ok', 'running-unmanaged': 'ok', starting: 'info', stopping: 'info', stopped: 'warn', failed: 'bad' };
const VIEW: Record<string, Tone> = { pending: 'info', backfilling: 'info', running: 'ok', failed: 'bad' };
const BATCH: Record<string, Tone> = {
  not_started: 'info',
  starting: 'info',
  running: 'info',
  busy: 'info',
  idle: 'info',
  recovering: 'info',
  shutting_down: 'info',
  success: 'ok',
  killed: 'neutral',
  dead: 'bad',
  error: 'bad',
  lost: 'bad',
};
const AIRFLOW: Record<string, Tone> = {
  success: 'ok',
  failed: 'bad',
  upstream_failed: 'bad',
  running: 'info',
  queued: 'info',
  scheduled: 'info',
  restarting: 'info',
  deferred: 'info',
  up_for_retry: 'warn',
  up_for_reschedule: 'warn',
  skipped: 'neutral',
  removed: 'neutral',
};

export const verdictTone = (verdict: string): Tone => VERDICT[verdict] ?? 'neutral';
export const streamTone = (state: string): Tone => STREAM[state] ?? 'neutral';
export const viewTone = (state: string): Tone => VIEW[state] ?? 'neutral';
export const batchTone = (state: string): Tone => BATCH[state] ?? 'neutral';
export const airflowTone = (state: string | undefined): Tone => (state ? (AIRFLOW[state] ?? 'neutral') : 'neutral');
export const upTone = (up: boolean): Tone => (up ? 'ok' : 'bad');

/** A glyph that says the same as the colour, for those who cannot tell colours apart. */
export const GLYPH: Record<Tone, string> = { ok: '✔', warn: '▲', bad: '✖', info: '●', neutral: '○' };
