import { NEEDS, useCan } from '../access';
import { useApi } from '../context';
import { useAction } from '../hooks';
import { ErrorBox } from './ui';

/**
 * Start and stop of the streaming job: the user's desired state, which the API keeps and its
 * supervisor acts on. A stop waits for the stream to end gracefully (up to the API's timeout).
 */
export function StreamControls({ desired, state, onChanged }: { desired: string; state: string; onChanged: () => Promise<void> }) {
  const api = useApi();
  const start = useAction(async () => (await api.startStream(), await onChanged()));
  const stop = useAction(async () => (await api.stopStream(), await onChanged()));
  const busy = start.pending || stop.pending;
  // Hooks first: a key without operate is offered no start or stop (the API would refuse them).
  if (!useCan()(NEEDS.operate)) return null;
  return (
    <div class="stream-controls">
      <div class="buttons">
        <button type="button" onClick={() => void start.run()} disabled={busy || (desired === 'running' && state !== 'failed' && state !== 'stopped')}>
          {start.pending ? 'Starting…' : 'Start stream'}
        </button>
        <button type="button" class="danger" onClick={() => void stop.run()} disabled={busy || desired === 'stopped'}>
          {stop.pending ? 'Stopping…' : 'Stop stream'}
        </button>
      </div>
      {stop.pending && (
        <p class="help" role="status">
          Waiting for the stream to finish its micro-batch and stop; events keep waiting safely in Kafka.
        </p>
      )}
      <ErrorBox error={start.error} title="Start failed" />
      <ErrorBox error={stop.error} title="Stop failed" />
    </div>
  );
}
