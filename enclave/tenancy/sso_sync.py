"""The write half of single sign-on: a user and their group memberships brought in line with a token's
claims, in the caller's transaction (enclave/tenancy/sso_users.py decides when).

Groups are matched by name within the tenant (the oldest group of that name, if an admin made two) and
made when missing. The token is authoritative only for what it says: the user leaves a group the previous
token listed and this one does not, while memberships an admin added by hand stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from enclave.audit.events import (
    GROUP_CREATE,
    GROUP_MEMBER_ADD,
    GROUP_MEMBER_REMOVE,
    USER_CREATE,
    USER_UPDATE,
)
from enclave.catalog.tables import Group, GroupMember, Tenant, User
from enclave.tenancy.principal import Role

# (action, target, details) for the audit log, recorded once the transaction has committed.
Change = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Identity:
    """Who a verified token says the caller is."""

    issuer: str
    subject: str
    tenant: str  # the tenant claim as sent: an id or a name
    name: str
    email: str | None
    role: Role
    groups: tuple[str, ...]  # names, sorted


@dataclass(frozen=True)
class StoredUser:
    id: str
    name: str
    email: str | None
    role: str
    groups: tuple[str, ...]  # the group names of the last token synced

    def differs_from(self, identity: Identity) -> bool:
        mine = (self.name, self.email, self.role, tuple(sorted(self.groups)))
        return mine != (identity.name, identity.email, identity.role.value, identity.groups)


def sync_user(s: Session, identity: Identity, tenant_id: str) -> tuple[StoredUser, list[Change]]:
    # The tenant row is locked (PostgreSQL), so two first sign-ins of one tenant cannot both make a group.
    s.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    user = s.scalar(
        select(User).where(
            User.tenant_id == tenant_id, User.issuer == identity.issuer, User.subject == identity.subject
        )
    )
    changes: list[Change] = []
    if user is None:
        user = User(tenant_id=tenant_id, issuer=identity.issuer, subject=identity.subject, sso_groups=[])
        _apply(user, identity)
        s.add(user)
        s.flush()
        changes.append((USER_CREATE, user.id, {"role": user.role}))
    else:
        changed = _apply(user, identity)
        if changed:
            changes.append((USER_UPDATE, user.id, {"changed": changed, "role": user.role}))
    previous = set(user.sso_groups or ())
    changes += _sync_groups(s, user, set(identity.groups), previous)
    user.sso_groups = list(identity.groups)
    s.flush()
    stored = StoredUser(user.id, user.name, user.email, user.role, identity.groups)
    return stored, changes


def _apply(user: User, identity: Identity) -> list[str]:
    """Sets name, email and role from the token; the names of the fields that changed."""
    wanted = {"name": identity.name, "email": identity.email, "role": identity.role.value}
    changed = [k for k, v in wanted.items() if getattr(user, k, None) != v]
    for k in changed:
        setattr(user, k, wanted[k])
    return changed


def _sync_groups(s: Session, user: User, wanted: set[str], previous: set[str]) -> list[Change]:
    changes: list[Change] = []
    by_name = _groups_named(s, user.tenant_id, wanted | previous)
    for name in sorted(wanted - set(by_name)):
        group = Group(tenant_id=user.tenant_id, name=name)
        s.add(group)
        s.flush()
        by_name[name] = group.id
        changes.append((GROUP_CREATE, group.id, {"name": name}))
    member_of = set(s.scalars(select(GroupMember.group_id).where(GroupMember.user_id == user.id)))
    for name in sorted(wanted):
        if by_name[name] not in member_of:
            s.add(GroupMember(group_id=by_name[name], user_id=user.id))
            changes.append((GROUP_MEMBER_ADD, by_name[name], {"user": user.id, "name": name}))
    for name in sorted(previous - wanted):
        group_id = by_name.get(name)
        if group_id in member_of:
            s.execute(
                delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user.id)
            )
            changes.append((GROUP_MEMBER_REMOVE, group_id, {"user": user.id, "name": name}))
    return changes


def _groups_named(s: Session, tenant_id: str, names: set[str]) -> dict[str, str]:
    if not names:
        return {}
    rows = s.execute(
        select(Group.name, Group.id)
        .where(Group.tenant_id == tenant_id, Group.name.in_(sorted(names)))
        .order_by(Group.created_at.desc(), Group.id.desc())
    ).all()
    return {name: group_id for name, group_id in rows}  # newest first, so the oldest of a name wins
