"""Single sign-on users: a verified token's claims made into the Enclave user they name, in the tenant
they name, with the groups they list. See docs/ACCESS.md, "OIDC single sign-on".

Per request this costs the catalog one read (tenant, user and the user's groups joined), no more than a key
that belongs to a user, so a membership change or a deleted user applies on the next request. Only when the
claims differ from what was stored (a first sign-in, a new group, another role) does it write, in one
transaction, and each change is audited as the action an admin's change would be.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from enclave.audit.actor import Actor
from enclave.audit.events import AUTHENTICATE, Outcome
from enclave.catalog.db import Catalog
from enclave.catalog.tables import GroupMember, Tenant, User
from enclave.errors import Unauthorized
from enclave.tenancy.oidc import OidcConfig, Provider, TokenRefused
from enclave.tenancy.principal import Principal, Role
from enclave.tenancy.sso_sync import Identity, StoredUser, sync_user

MAX_GROUPS = 200  # a token listing more groups than this is refused, not truncated
_ORDER = [Role.READER, Role.MEMBER, Role.ADMIN]
_ROLES = {r.value for r in Role}
SSO_KEY_PREFIX = "sso:"


def sso_key_id(user_id: str) -> str:
    """The key id of a single sign-on principal (what conversations and audit rows are keyed by): one
    per user, and never a real key id (those are hex)."""
    return SSO_KEY_PREFIX + user_id[:28]


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested claims (`realm_access.roles`)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def identity_from(claims: dict[str, Any], config: OidcConfig) -> Identity:
    tenant = claim(claims, config.tenant_claim)
    if not isinstance(tenant, str) or not tenant.strip():
        raise TokenRefused(
            f"The token names no tenant (claim {config.tenant_claim!r}); ask your identity provider's "
            "administrator to add it.",
            "no tenant claim",
        )
    groups = sorted({g.strip()[:200] for g in _strings(claim(claims, config.groups_claim)) if g.strip()})
    if len(groups) > MAX_GROUPS:
        raise TokenRefused(f"The token lists more than {MAX_GROUPS} groups.", "too many groups")
    named = [Role(r) for r in _strings(claim(claims, config.role_claim)) if r in _ROLES]
    role = max(named, key=_ORDER.index) if named else config.default_role
    name = next((v for k in ("name", "preferred_username", "email") if (v := claims.get(k))), None)
    email = claims.get("email")
    return Identity(
        issuer=config.issuer,
        subject=str(claims["sub"])[:255],
        tenant=tenant.strip()[:200],
        name=str(name or claims["sub"]).strip()[:200] or "SSO user",
        email=email[:320] if isinstance(email, str) and email else None,
        role=role.capped(config.max_role),
        groups=tuple(groups),
    )


def _refused(actor: Actor | None, refusal: TokenRefused, **fields: Any) -> Unauthorized:
    if actor is not None:
        actor.record(AUTHENTICATE, outcome=Outcome.DENIED, reason=refusal.reason, via="sso", **fields)
    return Unauthorized(refusal.message)


class SsoSignIn:
    def __init__(self, catalog: Catalog, provider: Provider) -> None:
        self.catalog = catalog
        self.provider = provider

    def authenticate(self, token: str, actor: Actor | None = None) -> Principal:
        """The principal of a bearer JWT; any refusal is audited (with its reason, never the token)."""
        try:
            identity = identity_from(self.provider.verify(token), self.provider.config)
        except TokenRefused as refusal:
            raise _refused(actor, refusal) from None
        return self._principal(identity, actor)

    def sign_in(
        self, code: str, verifier: str, redirect_uri: str, actor: Actor | None = None
    ) -> tuple[str, Principal]:
        """The web UI's authorization code exchanged at the issuer, then the first of its tokens that is
        meant for us (an access token for our audience, else the ID token), and its principal."""
        try:
            tokens = self.provider.exchange_code(code, verifier, redirect_uri)
        except TokenRefused as refusal:
            raise _refused(actor, refusal) from None
        refusal = TokenRefused("The identity provider sent no token.", "no token in the answer")
        for token in tokens:
            try:
                identity = identity_from(self.provider.verify(token), self.provider.config)
            except TokenRefused as exc:
                refusal = exc
                continue
            return token, self._principal(identity, actor)
        raise _refused(actor, refusal)

    def _principal(self, identity: Identity, actor: Actor | None) -> Principal:
        tenant_id, tenant_name, stored, groups = self._lookup(identity, actor)
        if stored is None or stored.differs_from(identity):
            stored = self._sync(identity, tenant_id, actor)
            groups = self._groups_of(stored.id)
        return Principal(
            tenant_id=tenant_id,
            key_id=sso_key_id(stored.id),
            role=Role(stored.role),
            tenant_name=tenant_name,
            key_name=stored.name,
            user_id=stored.id,
            groups=groups,
        )

    def _lookup(
        self, identity: Identity, actor: Actor | None
    ) -> tuple[str, str, StoredUser | None, tuple[str, ...]]:
        """In one round trip: the tenant the token names (by id, else by a unique name), the user if
        already made, and the user's group ids (one row per group)."""
        user_of = and_(
            User.tenant_id == Tenant.id, User.issuer == identity.issuer, User.subject == identity.subject
        )
        stmt = (
            select(
                Tenant.id,
                Tenant.name,
                User.id,
                User.name,
                User.email,
                User.role,
                User.sso_groups,
                GroupMember.group_id,
            )
            .outerjoin(User, user_of)
            .outerjoin(GroupMember, GroupMember.user_id == User.id)
            .where(or_(Tenant.id == identity.tenant, Tenant.name == identity.tenant))
            .order_by(GroupMember.group_id)
            .limit(MAX_GROUPS * 4)
        )
        with self.catalog.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        rows = [r for r in rows if r[0] == identity.tenant] or rows
        if len({r[0] for r in rows}) != 1:
            what = "no tenant" if not rows else "more than one tenant"
            refusal = TokenRefused(
                f"The token's tenant {identity.tenant!r} names {what} here; ask your administrator.",
                f"{what} named {identity.tenant[:64]!r}",
            )
            raise _refused(actor, refusal, subject=identity.subject[:64])
        row = rows[0]
        stored = StoredUser(row[2], row[3], row[4], row[5], tuple(row[6] or ())) if row[2] else None
        return row[0], row[1], stored, tuple(r[7] for r in rows if r[7] is not None)

    def _sync(self, identity: Identity, tenant_id: str, actor: Actor | None) -> StoredUser:
        for attempt in (1, 2):  # a concurrent first sign-in of the same user wins once; then update it
            try:
                with self.catalog.session() as s:
                    stored, changes = sync_user(s, identity, tenant_id)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        if actor is not None:
            principal = Principal(tenant_id, sso_key_id(stored.id), Role(stored.role), user_id=stored.id)
            done = dataclasses.replace(actor, principal=principal, user_id=stored.id)
            for action, target, details in changes:
                done.record(action, target=target, via="sso", **details)
        return stored

    def _groups_of(self, user_id: str) -> tuple[str, ...]:
        stmt = (
            select(GroupMember.group_id).where(GroupMember.user_id == user_id).order_by(GroupMember.group_id)
        )
        with self.catalog.engine.connect() as conn:
            return tuple(r[0] for r in conn.execute(stmt))
