// Single sign-on: the authorization code flow with PKCE (RFC 7636, S256) against the organisation's
// identity provider. The page only navigates to the provider; the code comes back to the app root and is
// exchanged through the gateway (POST /v1/auth/token), since the page may talk to its own origin only.
// What is kept between the two halves (state, verifier) lives in sessionStorage, for this tab only.

export interface OidcConfig {
  issuer: string;
  client_id: string;
  authorization_endpoint: string;
  token_endpoint: string;
  scopes: string;
}

export interface SignedIn {
  token: string;
  tenant_name: string;
  user_name: string;
  role: string;
}

/** The part of sessionStorage this module uses, so tests can hand in their own. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

interface Pending {
  state: string;
  verifier: string;
  redirectUri: string;
}

const PENDING = 'enclave.oidc.pending';

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random string of URL-safe characters: 32 bytes make the 43-character verifier RFC 7636 asks for. */
export function randomString(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 code challenge: BASE64URL(SHA-256(ASCII(verifier))). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Where the provider sends the browser back: the app root of this origin. */
export function redirectUriFor(origin: string): string {
  return `${origin}/`;
}

/** Starts a sign-in: remembers state and verifier for this tab and returns the provider's URL to open. */
export async function beginSignIn(config: OidcConfig, store: KeyValueStore, origin: string): Promise<string> {
  const pending: Pending = { state: randomString(), verifier: randomString(), redirectUri: redirectUriFor(origin) };
  store.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(config.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set('redirect_uri', pending.redirectUri);
  url.searchParams.set('scope', config.scopes);
  url.searchParams.set('state', pending.state);
  url.searchParams.set('code_challenge', await codeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

export type Callback =
  | { kind: 'code'; code: string; state: string }
  | { kind: 'error'; message: string; state: string | null };

/** The provider's answer in the page's query string, or null when this page load is not one. */
export function parseCallback(search: string, store: KeyValueStore): Callback | null {
  const params = new URLSearchParams(search);
  if (store.getItem(PENDING) === null || !(params.has('code') || params.has('error'))) return null;
  const state = params.get('state');
  const error = params.get('error');
  if (error) {
    const why = params.get('error_description') || error;
    return { kind: 'error', message: `The identity provider did not sign you in (${why}). Try again.`, state };
  }
  return { kind: 'code', code: params.get('code') ?? '', state: state ?? '' };
}

/** Equal strings, compared without an early exit. */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The pending sign-in this answer belongs to, taken out of the store (a code is used once). Throws a
 * sentence when no sign-in was started in this tab or the state does not match: the answer may have
 * been forged by another site, so it is dropped.
 */
export function takePending(store: KeyValueStore, returnedState: string | null): Pending {
  const raw = store.getItem(PENDING);
  store.removeItem(PENDING);
  let pending: Pending | null = null;
  try {
    pending = raw ? (JSON.parse(raw) as Pending) : null;
  } catch {
    pending = null;
  }
  if (!pending || typeof pending.state !== 'string' || typeof pending.verifier !== 'string') {
    throw new Error('No single sign-on was started in this tab. Start again with "Sign in with SSO".');
  }
  if (!returnedState || !same(pending.state, returnedState)) {
    throw new Error('The sign-in answer does not match the sign-in this tab started. Start again.');
  }
  return pending;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

async function detail(response: Response, fallback: string): Promise<string> {
  try {
    const body = (await response.json()) as { detail?: unknown };
    return typeof body.detail === 'string' && body.detail ? body.detail : fallback;
  } catch {
    return fallback;
  }
}

/** Finishes a sign-in: checks the state, then exchanges the code (with the verifier) at the gateway. */
export async function completeSignIn(callback: Callback, store: KeyValueStore, fetcher: Fetch = fetch): Promise<SignedIn> {
  const pending = takePending(store, callback.state);
  if (callback.kind === 'error') throw new Error(callback.message);
  const response = await fetcher('/v1/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: callback.code, code_verifier: pending.verifier, redirect_uri: pending.redirectUri }),
  });
  if (!response.ok) {
    throw new Error(await detail(response, `Single sign-on failed (HTTP ${response.status}). Try again.`));
  }
  return (await response.json()) as SignedIn;
}

/** The gateway's single sign-on settings; null when it is off. Throws the server's sentence when the
 * identity provider cannot be reached. */
export async function loadOidcConfig(fetcher: Fetch = fetch): Promise<OidcConfig | null> {
  const response = await fetcher('/v1/auth/config');
  if (!response.ok) throw new Error(await detail(response, 'Single sign-on is unavailable right now.'));
  const body = (await response.json()) as { oidc: OidcConfig | null };
  return body.oidc ?? null;
}
