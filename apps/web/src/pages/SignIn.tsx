import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { ErrorBox } from '../components/ui';
import { useApi } from '../context';
import { useTitle } from '../hooks';

/**
 * The API key, asked once per browser tab. It is checked with a keyed call before it is kept, and
 * kept in sessionStorage only: it is never put in a URL.
 */
export function SignIn({ refused, onSignedIn }: { refused?: ApiError; onSignedIn: (key: string) => void }) {
  useTitle('Sign in');
  const api = useApi();
  const [key, setKey] = useState('');
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  async function submit(e: Event) {
    e.preventDefault();
    const candidate = key.trim();
    if (!candidate) return;
    setChecking(true);
    setError(undefined);
    try {
      await api.checkKey(candidate);
      onSignedIn(candidate);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setChecking(false);
    }
  }

  return (
    <main class="signin" id="main">
      <h1>Pipeline console</h1>
      <p>The pipeline at a glance: HTTP ingest → Kafka → Spark stream → Cassandra, with Airflow and the schedules.</p>
      {refused && !error && (
        <div class="error" role="alert">
          <p class="error-title">
            Signed out: the API refused the key ({refused.status} {refused.error})
          </p>
          <p class="error-message">{refused.message}</p>
          {refused.requestId && (
            <p class="error-request">
              request id <code>{refused.requestId}</code>
            </p>
          )}
        </div>
      )}
      <form class="signin-form" onSubmit={(e) => void submit(e)} noValidate>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-help"
        />
        <p id="api-key-help" class="help">
          One of the API's <code>API_KEYS</code> (<code>make up</code> uses <code>local-dev-key-change-me</code>). Kept in this tab only, sent as{' '}
          <code>X-API-Key</code>.
        </p>
        <button type="submit" disabled={checking || !key.trim()}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <ErrorBox error={error} title="The key was not accepted" />
    </main>
  );
}
