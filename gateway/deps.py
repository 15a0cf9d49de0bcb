"""FastAPI dependencies: the runtime and the caller, taken from the credential and nothing else."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from enclave.errors import Forbidden, Unauthorized
from enclave.runtime import Runtime
from enclave.tenancy.principal import Principal

_bearer = HTTPBearer(auto_error=False)


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _token(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    return creds.credentials


def get_principal(
    request: Request,
    rt: Annotated[Runtime, Depends(get_runtime)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # A request with a body was authenticated by BodyGuard before its body was read; that principal is
    # the same credential's.
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = rt.keys.authenticate(_token(creds))
        request.state.principal = principal
    return principal


def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Only a tenant admin key can manage keys.")
    return principal


def require_operator(
    rt: Annotated[Runtime, Depends(get_runtime)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if not rt.keys.is_operator(_token(creds)):
        raise Unauthorized("This endpoint needs the platform operator key (ENCLAVE_OPERATOR_KEY).")


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
