// The sign-in form: checks an API key against /v1/me before keeping it for this tab, and, when the
// gateway has single sign-on, offers the organisation's identity provider beside it.
import { useEffect, useState } from 'preact/hooks';
import { Api, type Me } from '../lib/api';
import { beginSignIn, loadOidcConfig, type OidcConfig } from '../lib/oidc';
import { errorMessage } from './common';

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (key: string, me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState<OidcConfig | null>(null);
  const [ssoProblem, setSsoProblem] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    loadOidcConfig().then(
      (config) => !cancelled && setOidc(config),
      (err) => !cancelled && setSsoProblem(errorMessage(err)),
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const signInWithSso = async () => {
    if (!oidc) return;
    setBusy(true);
    setSsoProblem(null);
    try {
      location.assign(await beginSignIn(oidc, sessionStorage, location.origin));
    } catch (err) {
      setSsoProblem(errorMessage(err));
      setBusy(false);
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Enter the API key your administrator gave you.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await new Api(trimmed, () => undefined).me();
      onSignedIn(trimmed, me);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const message = error ?? ssoProblem ?? notice;
  return (
    <main class="centered">
      <form class="card signin" onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">
          <span class="brand-mark" aria-hidden="true">◆</span> Sign in to Enclave
        </h1>
        <p class="muted">Your documents stay on your organisation's machines. Sign in with your API key.</p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={message ? 'signin-error' : 'signin-hint'}
          autofocus
        />
        <p id="signin-hint" class="hint">
          The key is kept in this tab only and forgotten when you sign out or close it.
        </p>
        {message && (
          <p id="signin-error" class="banner error" role="alert">
            {message}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {oidc && (
          <>
            <p class="signin-or muted" aria-hidden="true">
              or
            </p>
            <button type="button" class="button" disabled={busy} onClick={signInWithSso}>
              Sign in with SSO
            </button>
            <p class="hint">Uses your organisation's sign-in ({oidc.issuer}).</p>
          </>
        )}
      </form>
    </main>
  );
}
