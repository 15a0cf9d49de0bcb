"""Single sign-on for the web UI, before the caller has a credential: how to reach the identity provider,
and the exchange of the authorization code for the token the UI then sends as its bearer.

The exchange runs here, not in the browser: the page may talk to its own origin only (air-gapped sites,
Content-Security-Policy), and a confidential client's secret stays on the server.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from enclave.audit.actor import Actor
from enclave.errors import NotFound
from gateway.deps import RuntimeDep, SourceDep

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class OidcOut(BaseModel):
    issuer: str
    client_id: str
    authorization_endpoint: str
    token_endpoint: str  # the issuer's; the web UI exchanges its code through POST /v1/auth/token
    scopes: str


class AuthConfig(BaseModel):
    oidc: OidcOut | None  # None: single sign-on is off, sign in with an API key


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=4096)
    code_verifier: str = Field(min_length=43, max_length=128)  # RFC 7636
    redirect_uri: str = Field(min_length=1, max_length=2048)


class TokenOut(BaseModel):
    token: str  # send as 'Authorization: Bearer <token>'
    token_type: str = "Bearer"
    tenant_name: str
    user_name: str
    role: str


@router.get("/config")
def config(rt: RuntimeDep) -> AuthConfig:
    if rt.sso is None:
        return AuthConfig(oidc=None)
    provider = rt.sso.provider
    meta = provider.metadata()
    return AuthConfig(
        oidc=OidcOut(
            issuer=meta.issuer,
            client_id=provider.config.client_id,
            authorization_endpoint=meta.authorization_endpoint,
            token_endpoint=meta.token_endpoint,
            scopes=provider.config.scopes,
        )
    )


@router.post("/token")
def token(body: CodeIn, rt: RuntimeDep, source: SourceDep) -> TokenOut:
    if rt.sso is None:
        raise NotFound("Single sign-on is not set up here (ENCLAVE_OIDC_ISSUER); sign in with an API key.")
    actor = Actor(rt.audit, source=source)
    chosen, principal = rt.sso.sign_in(body.code, body.code_verifier, body.redirect_uri, actor)
    return TokenOut(
        token=chosen,
        tenant_name=principal.tenant_name,
        user_name=principal.key_name,
        role=principal.role.value,
    )
