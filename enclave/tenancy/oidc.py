"""OIDC single sign-on: the configured issuer (its discovery document and keys) and the check of a bearer
JWT it signed. See docs/ACCESS.md, "OIDC single sign-on".

A token is accepted only if it is signed with a public-key algorithm by a key the issuer publishes, and
its issuer, audience, expiry and not-before hold (with LEEWAY_S for clock drift). `alg: none` and HMAC
(HS256 keyed with the public key) are refused before any key is looked at. What a valid token's claims
make of a user is enclave/tenancy/sso_users.py.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from enclave.errors import Unavailable
from enclave.settings import Settings
from enclave.tenancy.jwks import JwksCache, UnknownKey
from enclave.tenancy.principal import Role

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
LEEWAY_S = 30
HTTP_TIMEOUT_S = 5.0
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    audience: str
    jwks_url: str
    scopes: str
    client_secret: str | None
    tenant_claim: str
    groups_claim: str
    role_claim: str
    default_role: Role
    max_role: Role

    @classmethod
    def from_settings(cls, st: Settings) -> OidcConfig | None:
        """None while ENCLAVE_OIDC_ISSUER is empty: single sign-on is off."""
        if not st.oidc_issuer:
            return None
        if not (st.oidc_audience or st.oidc_client_id):
            raise ValueError("ENCLAVE_OIDC_ISSUER is set: set ENCLAVE_OIDC_CLIENT_ID (or _AUDIENCE) too.")
        secret = st.oidc_client_secret.get_secret_value() if st.oidc_client_secret else None
        return cls(
            issuer=st.oidc_issuer.rstrip("/"),
            client_id=st.oidc_client_id,
            audience=st.oidc_audience or st.oidc_client_id,
            jwks_url=st.oidc_jwks_url,
            scopes=st.oidc_scopes,
            client_secret=secret,
            tenant_claim=st.oidc_tenant_claim,
            groups_claim=st.oidc_groups_claim,
            role_claim=st.oidc_role_claim,
            default_role=Role(st.oidc_default_role),
            max_role=Role(st.oidc_max_role),
        )


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class TokenRefused(Exception):
    """A token that is not accepted: `message` is the sentence for the caller, `reason` the short note
    for the audit log. Neither ever holds the token."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments whose header is a JSON object (`eyJ`): an API key (`enc_…`) never is."""
    parts = token.split(".")
    return len(parts) == 3 and parts[0].startswith("eyJ") and all(_SEGMENT.fullmatch(p) for p in parts)


# Each pyjwt failure becomes a fixed sentence: its own messages may quote parts of the token.
_REFUSALS: list[tuple[type[Exception], str, str]] = [
    (jwt.ExpiredSignatureError, "The token has expired; sign in again.", "expired"),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf); check the clocks.", "not yet valid"),
    (jwt.InvalidAudienceError, "The token is meant for another audience (aud).", "wrong audience"),
    (jwt.InvalidIssuerError, "The token was issued by another issuer (iss).", "wrong issuer"),
    (jwt.InvalidSignatureError, "The token's signature does not verify.", "bad signature"),
    (
        jwt.MissingRequiredClaimError,
        "The token lacks a required claim (iss, aud, exp, sub).",
        "claim missing",
    ),
    (jwt.DecodeError, "The token is not a well-formed JWT.", "malformed token"),
]


def _refusal(exc: jwt.PyJWTError) -> TokenRefused:
    for kind, message, reason in _REFUSALS:
        if isinstance(exc, kind):
            return TokenRefused(message, reason)
    return TokenRefused("The token is not valid; sign in again.", type(exc).__name__)


class Provider:
    """The issuer as the gateway sees it. Its discovery document and keys are fetched on first use, so a
    gateway starts while the issuer is down; API keys keep working meanwhile."""

    def __init__(self, config: OidcConfig, http: httpx.Client | None = None) -> None:
        self.config = config
        self._http = http or httpx.Client(timeout=HTTP_TIMEOUT_S)
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self.keys = JwksCache(self._jwks_url, self._get_json)

    def _get_json(self, url: str) -> dict[str, Any]:
        response = self._http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError(f"{url} did not answer a JSON object")
        return body

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            if self._metadata is None:
                self._metadata = self._discover()
            return self._metadata

    def _discover(self) -> ProviderMetadata:
        url = f"{self.config.issuer}/.well-known/openid-configuration"
        try:
            doc = self._get_json(url)
        except Exception as exc:
            raise Unavailable(
                f"The identity provider could not be reached at {url}; try again shortly."
            ) from exc
        if str(doc.get("issuer", "")).rstrip("/") != self.config.issuer:
            raise Unavailable(
                f"The identity provider at {url} names another issuer; set ENCLAVE_OIDC_ISSUER to its "
                "`issuer` exactly."
            )
        return ProviderMetadata(
            issuer=self.config.issuer,
            authorization_endpoint=str(doc.get("authorization_endpoint", "")),
            token_endpoint=str(doc.get("token_endpoint", "")),
            jwks_uri=str(doc.get("jwks_uri", "")),
        )

    def _jwks_url(self) -> str:
        return self.config.jwks_url or self.metadata().jwks_uri

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this issuer signed for us; raises TokenRefused."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("The token is not a well-formed JWT.", "malformed token") from None
        alg = str(header.get("alg"))[:16]
        if alg not in ASYMMETRIC:
            message = f"Tokens signed with {alg!r} are refused; the issuer must sign with a public key."
            raise TokenRefused(message, f"algorithm {alg} refused")
        kid = header.get("kid")
        try:
            key = self.keys.key_for(kid if isinstance(kid, str) else None, alg)
        except UnknownKey as exc:
            raise TokenRefused("The token was not signed by a key the issuer publishes.", str(exc)) from None
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _refusal(exc) from None

    def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> list[str]:
        """The web UI's authorization code (with its PKCE verifier) exchanged at the token endpoint: the
        JWTs of the answer, access token first, for the caller to pick the one meant for us. Raises
        TokenRefused when the provider refuses the code."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "client_id": self.config.client_id,
        }
        secret = self.config.client_secret
        auth = (self.config.client_id, secret) if secret else None
        url = self.metadata().token_endpoint
        try:
            response = self._http.post(url, data=form, auth=auth, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise Unavailable(f"The identity provider could not be reached at {url}; try again.") from exc
        body = _json_object(response)
        if response.status_code != 200:
            error = str(body.get("error", f"HTTP {response.status_code}"))[:64]
            message = f"The identity provider refused the sign-in ({error}); sign in again."
            raise TokenRefused(message, f"code exchange refused ({error})")
        tokens = [body.get("access_token"), body.get("id_token")]
        return [t for t in tokens if isinstance(t, str) and looks_like_jwt(t)]

    def close(self) -> None:
        self._http.close()


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
