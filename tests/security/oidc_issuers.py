"""Identity providers for the single sign-on tests, both real servers on loopback:

- the test identity provider: `oidc-provider-mock` (PyPI) as its own process, with users whose claims a
  test sets over its HTTP API, and tokens obtained through its authorization endpoint;
- `OwnIssuer`: a small OpenID discovery + JWKS server in a thread, whose keys the test holds, for what
  the provider cannot be made to sign (expired, not-yet-valid tokens) and for key rotation. It counts
  how often its JWKS is fetched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.procs import Server, free_port, offline_env, running

CLIENT_ID = "enclave-web"
CLIENT_SECRET = "test-client-secret"
REDIRECT_URI = "http://127.0.0.1:9/"  # never opened: the code is read from the redirect itself


@contextmanager
def identity_provider_process() -> Iterator[Server]:
    """The test identity provider (oidc-provider-mock) on a free loopback port."""
    port = free_port()
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    with running(cmd, port, "/.well-known/openid-configuration", offline_env(), timeout_s=60) as server:
        yield server


def set_user(idp_url: str, sub: str, claims: dict[str, Any]) -> None:
    """Registers (or replaces) a user of the test identity provider and the claims its tokens carry."""
    r = httpx.put(f"{idp_url}/users/{sub}", json=claims, timeout=10)
    assert r.status_code == 204, r.text


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(idp_url: str, sub: str, client_id: str = CLIENT_ID) -> tuple[str, str]:
    """What a browser does on the provider's login page, done over HTTP: (code, PKCE verifier)."""
    verifier, challenge = pkce()
    params = {
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    r = httpx.post(f"{idp_url}/oauth2/authorize", params=params, data={"sub": sub}, timeout=10)
    assert r.status_code == 302, r.text
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["state"] == [params["state"]]
    return query["code"][0], verifier


def id_token_for(idp_url: str, sub: str, client_id: str) -> str:
    """A token the provider issues to another client (another audience), exchanged at its own endpoint."""
    code, verifier = authorize(idp_url, sub, client_id)
    r = httpx.post(
        f"{idp_url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client_id, "any"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["id_token"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """`alg: none`: a header, the claims and an empty signature."""
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def hmac_with(secret: bytes, claims: dict[str, Any], kid: str | None) -> str:
    """HS256 keyed with `secret` (the issuer's public key, in the key-confusion attack). Made by hand:
    pyjwt rightly refuses to use a PEM key as an HMAC secret."""
    import hmac

    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


class SigningKey:
    def __init__(self, kid: str | None) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        named = kid or self.kid
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": named} if named else None)


class OwnIssuer:
    """Discovery and JWKS on loopback for keys the test holds; `publish` swaps the keys (a rotation)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.published: list[SigningKey] = []
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks",
                        "authorization_endpoint": f"{issuer.url}/authorize",
                        "token_endpoint": f"{issuer.url}/token",
                    }
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [k.jwk() for k in issuer.published]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def publish(self, *keys: SigningKey) -> None:
        self.published = list(keys)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.url, "aud": CLIENT_ID, "sub": "own-user", "iat": now, "exp": now + 300}
        return {**base, **overrides}

    def __enter__(self) -> OwnIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
