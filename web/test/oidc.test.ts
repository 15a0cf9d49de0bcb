// Single sign-on's contract in the page: a correct S256 challenge, a state that must come back unchanged,
// and a code that is exchanged once, with the verifier, through the gateway only.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  beginSignIn,
  codeChallenge,
  completeSignIn,
  parseCallback,
  randomString,
  takePending,
  type KeyValueStore,
  type OidcConfig,
} from '../src/lib/oidc.ts';

class MemoryStore implements KeyValueStore {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

const CONFIG: OidcConfig = {
  issuer: 'http://idp.example',
  client_id: 'enclave-web',
  authorization_endpoint: 'http://idp.example/oauth2/authorize',
  token_endpoint: 'http://idp.example/oauth2/token',
  scopes: 'openid profile email',
};
const ORIGIN = 'http://enclave.example:8000';

test('the S256 challenge is the RFC 7636 example value', async () => {
  // RFC 7636, appendix B.
  assert.equal(
    await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  );
});

test('verifiers are 43 URL-safe characters and never repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const v = randomString();
    assert.match(v, /^[A-Za-z0-9_-]{43}$/);
    seen.add(v);
  }
  assert.equal(seen.size, 50);
});

test('the authorization URL asks for a code with PKCE and carries the remembered state', async () => {
  const store = new MemoryStore();
  const url = new URL(await beginSignIn(CONFIG, store, ORIGIN));
  const pending = JSON.parse(store.getItem('enclave.oidc.pending')!);
  assert.equal(url.origin + url.pathname, CONFIG.authorization_endpoint);
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('client_id'), 'enclave-web');
  assert.equal(url.searchParams.get('redirect_uri'), `${ORIGIN}/`);
  assert.equal(url.searchParams.get('scope'), 'openid profile email');
  assert.equal(url.searchParams.get('state'), pending.state);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  const expected = createHash('sha256').update(pending.verifier).digest('base64url');
  assert.equal(url.searchParams.get('code_challenge'), expected);
  assert.equal(url.searchParams.get('code_verifier'), null, 'the verifier never leaves the tab');
});

test('a page load without a started sign-in is not a callback', () => {
  assert.equal(parseCallback('?code=abc&state=xyz', new MemoryStore()), null);
});

test('a wrong or missing state is refused and the pending sign-in is dropped', async () => {
  const store = new MemoryStore();
  await beginSignIn(CONFIG, store, ORIGIN);
  assert.throws(() => takePending(store, 'forged-state'), /does not match/);
  assert.equal(store.getItem('enclave.oidc.pending'), null);
  assert.throws(() => takePending(store, 'anything'), /No single sign-on was started/);

  await beginSignIn(CONFIG, store, ORIGIN);
  assert.throws(() => takePending(store, null), /does not match/);
});

test('the code is exchanged once, at the gateway, with the verifier', async () => {
  const store = new MemoryStore();
  const url = new URL(await beginSignIn(CONFIG, store, ORIGIN));
  const { verifier } = JSON.parse(store.getItem('enclave.oidc.pending')!);
  const state = url.searchParams.get('state')!;
  const callback = parseCallback(`?code=the-code&state=${state}`, store);
  assert.deepEqual(callback, { kind: 'code', code: 'the-code', state });

  const calls: { url: string; body: unknown }[] = [];
  const fetcher = async (input: string, init?: RequestInit) => {
    calls.push({ url: input, body: JSON.parse(String(init?.body)) });
    return new Response(JSON.stringify({ token: 'jwt', tenant_name: 't', user_name: 'u', role: 'member' }));
  };
  const signedIn = await completeSignIn(callback!, store, fetcher);
  assert.equal(signedIn.token, 'jwt');
  assert.deepEqual(calls, [
    { url: '/v1/auth/token', body: { code: 'the-code', code_verifier: verifier, redirect_uri: `${ORIGIN}/` } },
  ]);
  await assert.rejects(completeSignIn(callback!, store, fetcher), /No single sign-on was started/);
  assert.equal(calls.length, 1);
});

test("the provider's refusal and the gateway's sentence reach the user", async () => {
  const store = new MemoryStore();
  const state = new URL(await beginSignIn(CONFIG, store, ORIGIN)).searchParams.get('state')!;
  const denied = parseCallback(`?error=access_denied&state=${state}`, store)!;
  await assert.rejects(completeSignIn(denied, store), /did not sign you in \(access_denied\)/);

  const again = new URL(await beginSignIn(CONFIG, store, ORIGIN)).searchParams.get('state')!;
  const refusing = async () =>
    new Response(JSON.stringify({ detail: 'The token has expired; sign in again.' }), { status: 401 });
  await assert.rejects(completeSignIn(parseCallback(`?code=c&state=${again}`, store)!, store, refusing), /expired/);
});
