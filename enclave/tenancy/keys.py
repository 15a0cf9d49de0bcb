"""Tenants and API keys: created by the operator or a tenant admin, stored hashed, shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from enclave.audit.actor import Actor, audited
from enclave.audit.events import AUTHENTICATE, KEY_CREATE, KEY_REVOKE, TENANT_CREATE, Outcome
from enclave.catalog.db import Catalog
from enclave.catalog.tables import ApiKey, GroupMember, Tenant, User, utcnow
from enclave.errors import Forbidden, Invalid, NotFound, Unauthorized
from enclave.tenancy.principal import Principal, Role

KEY_PREFIX = "enc_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    id: str
    name: str
    role: str
    key: str  # the only time the plaintext exists


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    user_id: str | None = None


def _refused(
    actor: Actor | None,
    message: str,
    tenant_id: str | None = None,
    key_id: str | None = None,
    why: str | None = None,
) -> Unauthorized:
    """The error for a refused key, recorded first: under the key's tenant when the key exists, else
    under the tenant-less chain."""
    if actor is not None:
        fields = {"tenant_id": tenant_id, "key_id": key_id, "target": key_id}
        actor.record(AUTHENTICATE, outcome=Outcome.DENIED, reason=why or message, **fields)
    return Unauthorized(message)


class KeyService:
    def __init__(self, catalog: Catalog, operator_key: str | None) -> None:
        self.catalog = catalog
        self._operator_key = operator_key

    # --- operator ------------------------------------------------------------------------------
    def is_operator(self, presented: str) -> bool:
        return bool(self._operator_key) and hmac.compare_digest(presented, self._operator_key or "")

    def create_tenant(self, name: str, actor: Actor | None = None) -> tuple[Tenant, IssuedKey]:
        with audited(actor, TENANT_CREATE, name=name.strip()[:200]) as step:
            name = name.strip()
            if not name:
                raise Invalid("A tenant needs a non-empty name.")
            with self.catalog.session() as s:
                tenant = Tenant(name=name)
                s.add(tenant)
                s.flush()
                issued = self._issue(s, tenant.id, f"{name} admin", Role.ADMIN)
            step.tenant_id = tenant.id
            step.succeeded(tenant.id, admin_key_id=issued.id)
        return tenant, issued

    # --- tenant admin --------------------------------------------------------------------------
    def create_key(
        self, tenant_id: str, name: str, role: str, actor: Actor | None = None, user_id: str | None = None
    ) -> IssuedKey:
        owner = {"user": user_id[:32]} if user_id else {}
        with audited(actor, KEY_CREATE, role=role[:16], **owner) as step:
            try:
                parsed = Role(role)
            except ValueError:
                raise Invalid(f"Role must be one of admin, member, reader; got {role!r}.") from None
            with self.catalog.session() as s:
                if s.get(Tenant, tenant_id) is None:
                    raise NotFound(f"No tenant with id {tenant_id}.")
                user = s.get(User, user_id) if user_id else None
                if user_id and (user is None or user.tenant_id != tenant_id):
                    raise NotFound("No user with that id in your tenant; create it with POST /v1/users.")
                issued = self._issue(s, tenant_id, name.strip() or parsed.value, parsed, user_id)
            step.succeeded(issued.id, name=issued.name)
        return issued

    def list_keys(self, principal: Principal) -> list[KeyInfo]:
        with self.catalog.session() as s:
            rows = s.scalars(
                select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id).order_by(ApiKey.created_at)
            ).all()
            return [KeyInfo(r.id, r.name, r.role, r.created_at, r.revoked_at, r.user_id) for r in rows]

    def revoke(self, principal: Principal, key_id: str, actor: Actor | None = None) -> None:
        with audited(actor, KEY_REVOKE, target=key_id), self.catalog.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None or row.tenant_id != principal.tenant_id:
                raise NotFound("No key with that id in your tenant.")
            if row.id == principal.key_id:
                raise Forbidden("You cannot revoke the key you are signed in with; use another admin key.")
            if row.revoked_at is None:
                row.revoked_at = utcnow()

    # --- every request -------------------------------------------------------------------------
    def authenticate(self, presented: str, actor: Actor | None = None) -> Principal:
        """Checked on every request against the catalog, so revocation takes effect at once. A failure is
        recorded for `actor` (nothing of the presented key but the id of a key that exists)."""
        key_id, _, secret = presented.removeprefix(KEY_PREFIX).partition("_")
        if not presented.startswith(KEY_PREFIX) or not key_id or not secret:
            raise _refused(actor, "The API key is malformed. Send 'Authorization: Bearer enc_...'.")
        # One Core round trip (key row joined with its tenant): this runs on every request.
        stmt = (
            select(
                ApiKey.id,
                ApiKey.tenant_id,
                ApiKey.role,
                ApiKey.name,
                ApiKey.key_hash,
                ApiKey.revoked_at,
                Tenant.name,
                ApiKey.user_id,
                User.role,
            )
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .outerjoin(User, User.id == ApiKey.user_id)
            .where(ApiKey.id == key_id)
        )
        with self.catalog.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise _refused(actor, "The API key is not valid.")
        if not hmac.compare_digest(row[4], _hash(secret)):
            raise _refused(actor, "The API key is not valid.", row[1], row[0], "wrong secret")
        if row[5] is not None:
            message = "The API key has been revoked. Ask your tenant admin for a new one."
            raise _refused(actor, message, row[1], row[0], "revoked")
        if row[7] and row[8] is None:
            message = "The API key belonged to a user who has been deleted. Ask your tenant admin."
            raise _refused(actor, message, row[1], row[0], "user deleted")
        role = Role(row[2]) if not row[7] else Role(row[2]).capped(Role(row[8]))
        groups = self._groups_of(row[7]) if row[7] else ()
        return Principal(
            tenant_id=row[1],
            key_id=row[0],
            role=role,
            tenant_name=row[6],
            key_name=row[3],
            user_id=row[7],
            groups=groups,
        )

    def _groups_of(self, user_id: str) -> tuple[str, ...]:
        """The user's groups, read with the key so a membership change applies on the next request (only
        keys that belong to a user pay this second round trip)."""
        stmt = (
            select(GroupMember.group_id).where(GroupMember.user_id == user_id).order_by(GroupMember.group_id)
        )
        with self.catalog.engine.connect() as conn:
            return tuple(r[0] for r in conn.execute(stmt))

    @staticmethod
    def _issue(  # type: ignore[no-untyped-def]
        s, tenant_id: str, name: str, role: Role, user_id: str | None = None
    ) -> IssuedKey:
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        key_hash = _hash(secret)
        s.add(
            ApiKey(
                id=key_id, tenant_id=tenant_id, name=name, role=role.value, key_hash=key_hash, user_id=user_id
            )
        )
        return IssuedKey(id=key_id, name=name, role=role.value, key=f"{KEY_PREFIX}{key_id}_{secret}")
