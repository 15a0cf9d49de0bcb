"""The identity provider's signing keys (its JWKS), kept in memory by key id.

Fetched on first use and again once they are older than MAX_AGE_S. A token naming a key id we do not hold
makes us fetch them at once (the issuer rotated its keys), but at most once per REFRESH_COOLDOWN_S: a
flood of tokens with made-up key ids costs the issuer one request, not one each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from enclave.errors import Unavailable

log = logging.getLogger(__name__)

MAX_AGE_S = 3600.0
REFRESH_COOLDOWN_S = 30.0
# Public-key types only: an `oct` (shared secret) key in a JWKS is never used to check a signature.
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class UnknownKey(Exception):
    """No key with the token's key id (or of the token's algorithm's type) is published."""


class JwksCache:
    def __init__(
        self,
        url: Callable[[], str],
        fetch: Callable[[str], dict[str, Any]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._loaded_at: float | None = None
        self._refreshed_at = float("-inf")

    def key_for(self, kid: str | None, alg: str) -> Any:
        """The public key to check a signature made with `alg` by key `kid`."""
        with self._lock:
            if self._loaded_at is None or self._clock() - self._loaded_at > MAX_AGE_S:
                self._load(keep_on_failure=self._loaded_at is not None)
            jwk = self._find(kid)
            if jwk is None and self._clock() - self._refreshed_at >= REFRESH_COOLDOWN_S:
                self._refreshed_at = self._clock()
                self._load(keep_on_failure=True)
                jwk = self._find(kid)
        if jwk is None:
            raise UnknownKey("unknown signing key")
        if jwk.key_type != KEY_TYPES.get(alg[:2]):
            raise UnknownKey(f"a {alg} signature with a {jwk.key_type} key")
        return jwk.key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:  # a token without a kid, and only one key to try
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _load(self, keep_on_failure: bool) -> None:
        url = self._url()
        try:
            document = self._fetch(url)
        except Exception as exc:
            if keep_on_failure:
                log.warning("fetching the identity provider's keys from %s failed (%s)", url, exc)
                return
            raise Unavailable(
                f"The identity provider's signing keys could not be fetched from {url}; try again shortly."
            ) from exc
        self._keys = parse_jwks(document)
        self._loaded_at = self._clock()


def parse_jwks(document: dict[str, Any]) -> dict[str | None, jwt.PyJWK]:
    """The usable signing keys of a JWKS document: public-key types, not marked for encryption. A key
    that does not parse is skipped (logged), so one odd entry does not stop sign-in."""
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in document.get("keys") or []:
        if not isinstance(entry, dict) or entry.get("kty") not in KEY_TYPES.values():
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry.get("kid")] = jwt.PyJWK(entry)
        except jwt.PyJWTError as exc:
            log.warning("skipping a key of the identity provider's JWKS: %s", exc)
    return keys
