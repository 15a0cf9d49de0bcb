"""FastAPI dependencies: the runtime and the caller, taken from the credential and nothing else; and the
caller's `Actor` for the audit log (who, and from which address)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from enclave.audit.actor import Actor
from enclave.audit.events import (
    AUTHENTICATE,
    GROUP_CREATE,
    GROUP_DELETE,
    GROUP_MEMBER_ADD,
    GROUP_MEMBER_REMOVE,
    KEY_CREATE,
    KEY_REVOKE,
    USER_CREATE,
    USER_DELETE,
    Outcome,
    request_source,
)
from enclave.errors import Forbidden, Unauthorized
from enclave.runtime import Runtime
from enclave.tenancy.principal import Principal

_bearer = HTTPBearer(auto_error=False)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


@lru_cache(maxsize=16)
def _networks(setting: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(scope: Scope, trusted_proxies: str = "") -> str | None:
    """The peer of the connection; behind a trusted proxy (ENCLAVE_TRUSTED_PROXIES), the nearest address
    in X-Forwarded-For that is not itself a trusted proxy. The header of any other peer is ignored: a
    client could write anything there."""
    peer = (scope.get("client") or (None,))[0]
    networks = _networks(trusted_proxies)
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    forwarded = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a forged or broken header: keep what we know
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


async def get_source(request: Request, rt: Annotated[Runtime, Depends(get_runtime)]) -> str | None:
    """The client's address. Async on purpose: set here, in the request's own context, it reaches the
    threads that serve the request, so records made for a bare principal (search, answer) carry it."""
    source = client_address(request.scope, rt.settings.trusted_proxies)
    request_source.set(source)
    return source


SourceDep = Annotated[str | None, Depends(get_source)]


def _token(creds: HTTPAuthorizationCredentials | None, actor: Actor) -> str:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        message = "Send your API key (or your sign-in token) as 'Authorization: Bearer <key>'."
        actor.record(AUTHENTICATE, outcome=Outcome.DENIED, reason="no credential")
        raise Unauthorized(message)
    return creds.credentials


def get_principal(
    request: Request,
    rt: Annotated[Runtime, Depends(get_runtime)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    source: SourceDep,
) -> Principal:
    # A request with a body was authenticated by BodyGuard before its body was read; that principal is
    # the same credential's.
    principal = getattr(request.state, "principal", None)
    if principal is None:
        anonymous = Actor(rt.audit, source=source)
        principal = rt.auth.authenticate(_token(creds, anonymous), anonymous)
        request.state.principal = principal
    return principal


def get_actor(
    principal: Annotated[Principal, Depends(get_principal)],
    rt: Annotated[Runtime, Depends(get_runtime)],
    source: SourceDep,
) -> Actor:
    return Actor(rt.audit, principal, source, user_id=principal.user_id)


def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Only a tenant admin key can manage keys.")
    return principal


def key_admin(
    action: str, message: str = "Only a tenant admin key can manage keys."
) -> Callable[[Actor], Actor]:
    """A dependency: the caller's actor if it holds an admin key; otherwise the action is recorded as
    denied and the caller gets 403."""

    def dependency(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        if actor.principal is None or not actor.principal.is_admin:
            actor.record(action, outcome=Outcome.DENIED, reason=message)
            raise Forbidden(message)
        return actor

    return dependency


def require_operator(
    rt: Annotated[Runtime, Depends(get_runtime)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    source: SourceDep,
) -> Actor:
    anonymous = Actor(rt.audit, source=source)
    if not rt.keys.is_operator(_token(creds, anonymous)):
        message = "This endpoint needs the platform operator key (ENCLAVE_OPERATOR_KEY)."
        anonymous.record(AUTHENTICATE, outcome=Outcome.DENIED, reason="not the operator key")
        raise Unauthorized(message)
    return Actor(rt.audit, source=source, operator=True)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
ActorDep = Annotated[Actor, Depends(get_actor)]
OperatorDep = Annotated[Actor, Depends(require_operator)]
KeyCreatorDep = Annotated[Actor, Depends(key_admin(KEY_CREATE))]
KeyRevokerDep = Annotated[Actor, Depends(key_admin(KEY_REVOKE))]


def people_admin(action: str) -> Callable[[Actor], Actor]:
    """An admin-only dependency for user and group management; a refusal is recorded as `action`."""
    return key_admin(action, "Only a tenant admin can manage users and groups; ask your tenant admin.")


def require_people_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Only a tenant admin can list users and groups; ask your tenant admin.")
    return principal


PeopleReaderDep = Annotated[Principal, Depends(require_people_admin)]
UserCreatorDep = Annotated[Actor, Depends(people_admin(USER_CREATE))]
UserDeleterDep = Annotated[Actor, Depends(people_admin(USER_DELETE))]
GroupCreatorDep = Annotated[Actor, Depends(people_admin(GROUP_CREATE))]
GroupDeleterDep = Annotated[Actor, Depends(people_admin(GROUP_DELETE))]
MemberAdderDep = Annotated[Actor, Depends(people_admin(GROUP_MEMBER_ADD))]
MemberRemoverDep = Annotated[Actor, Depends(people_admin(GROUP_MEMBER_REMOVE))]
