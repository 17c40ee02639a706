/** What the verdict is decided from. */
export interface FlowFacts {
  streamState: string;
  desired: string;
  streamError?: string;
  down: { name: string; message?: string }[];
  /** Per source: events waiting in Kafka and how far behind the stored data is. */
  sources: { source: string; lagEvents: number; lagSeconds?: number }[];
  /** Seconds since the stream's last micro-batch (undefined: none yet). */
  sinceLastBatchSeconds?: number;
  lagThresholdSeconds: number;
  stallSeconds: number;
}

export type Verdict = 'flowing' | 'lagging' | 'stalled' | 'stopped' | 'degraded';

const UP = new Set(['running', 'running-unmanaged', 'starting']);

/** The pipeline's verdict and its reasons, in words an operator can act on. */
export function verdict(f: FlowFacts): { verdict: Verdict; reasons: string[] } {
  const waiting = f.sources.filter((s) => s.lagEvents > 0);
  const waitingWords = waiting.map((s) => `${s.lagEvents} event(s) of ${s.source} wait in Kafka`);
  if (f.desired === 'stopped') {
    return {
      verdict: 'stopped',
      reasons: [`the stream is stopped on request (state ${f.streamState}); POST /api/v1/streaming/start resumes it`, ...waitingWords],
    };
  }
  if (f.down.length > 0) {
    return { verdict: 'degraded', reasons: f.down.map((d) => `${d.name} is down${d.message ? `: ${d.message}` : ''}`) };
  }
  if (!UP.has(f.streamState)) {
    const why = f.streamState === 'failed' && f.streamError ? `the stream failed: ${f.streamError}` : `the stream is ${f.streamState} though desired running`;
    return { verdict: waiting.length > 0 ? 'stalled' : 'degraded', reasons: [why, ...waitingWords] };
  }
  const idleFor = f.sinceLastBatchSeconds;
  if (waiting.length > 0 && (idleFor === undefined || idleFor > f.stallSeconds)) {
    const since = idleFor === undefined ? 'no micro-batch has run yet' : `no micro-batch for ${Math.round(idleFor)} s`;
    return { verdict: 'stalled', reasons: [`${since} while ${waitingWords.join(', ')}`] };
  }
  const behind = f.sources.filter((s) => (s.lagSeconds ?? 0) > f.lagThresholdSeconds);
  if (behind.length > 0) {
    return {
      verdict: 'lagging',
      reasons: behind.map((s) => `${s.source} is ${Math.round(s.lagSeconds!)} s behind (${s.lagEvents} event(s) wait; threshold ${f.lagThresholdSeconds} s)`),
    };
  }
  return { verdict: 'flowing', reasons: [] };
}
