// The page load that comes back from the identity provider: finishes single sign-on (state check, code
// exchange), keeps the token where a key is kept, and then shows the app as after any sign-in.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { completeSignIn, parseCallback } from '../lib/oidc';
import { saveKey } from '../lib/session';

type Step = { kind: 'done' } | { kind: 'working' } | { kind: 'failed'; message: string };

/** Drops the provider's answer (code, state) from the address bar, so a reload does not replay it. */
function cleanAddress(): void {
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
}

export function SsoReturn({ children }: { children: ComponentChildren }) {
  const [callback] = useState(() => parseCallback(location.search, sessionStorage));
  const [step, setStep] = useState<Step>(callback ? { kind: 'working' } : { kind: 'done' });

  useEffect(() => {
    if (!callback) return;
    completeSignIn(callback, sessionStorage).then(
      (signedIn) => {
        saveKey(signedIn.token);
        cleanAddress();
        setStep({ kind: 'done' });
      },
      (err) => {
        cleanAddress();
        setStep({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
      },
    );
  }, [callback]);

  if (step.kind === 'working') {
    return (
      <main class="centered" aria-busy="true">
        <p role="status">Finishing single sign-on…</p>
      </main>
    );
  }
  if (step.kind === 'failed') {
    return (
      <main class="centered">
        <div class="card signin">
          <h1>Single sign-on did not complete</h1>
          <p class="banner error" role="alert">
            {step.message}
          </p>
          <button type="button" class="button primary" onClick={() => setStep({ kind: 'done' })}>
            Back to sign-in
          </button>
        </div>
      </main>
    );
  }
  return <>{children}</>;
}
