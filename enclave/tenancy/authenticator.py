"""The one entry point for a bearer credential: every request's `Authorization: Bearer …` becomes a
Principal here, whether it is an API key or, with single sign-on on, a JWT from the identity provider."""

from __future__ import annotations

from enclave.audit.actor import Actor
from enclave.audit.events import AUTHENTICATE, Outcome
from enclave.errors import Unauthorized
from enclave.tenancy.keys import KeyService
from enclave.tenancy.oidc import looks_like_jwt
from enclave.tenancy.principal import Principal
from enclave.tenancy.sso_users import SsoSignIn


class Authenticator:
    def __init__(self, keys: KeyService, sso: SsoSignIn | None = None) -> None:
        self.keys = keys
        self.sso = sso

    def authenticate(self, presented: str, actor: Actor | None = None) -> Principal:
        """A refusal is audited for `actor` by whichever path refused it. A key is checked against the
        catalog every time, so revocation applies at once; so is a token's user and groups."""
        if not looks_like_jwt(presented):
            return self.keys.authenticate(presented, actor)
        if self.sso is None:
            if actor is not None:
                actor.record(AUTHENTICATE, outcome=Outcome.DENIED, reason="single sign-on is off", via="sso")
            raise Unauthorized(
                "This gateway does not accept identity-provider tokens (single sign-on is not set up); "
                "sign in with an API key."
            )
        return self.sso.authenticate(presented, actor)
