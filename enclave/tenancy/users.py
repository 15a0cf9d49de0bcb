"""Users and groups of a tenant, managed by its admins. A key may act as a user (enclave/tenancy/keys.py);
the user's groups become ACL tokens of that key, read on every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from enclave.audit.actor import Actor, audited
from enclave.audit.events import (
    GROUP_CREATE,
    GROUP_DELETE,
    GROUP_MEMBER_ADD,
    GROUP_MEMBER_REMOVE,
    USER_CREATE,
    USER_DELETE,
)
from enclave.catalog.db import Catalog
from enclave.catalog.tables import ApiKey, Group, GroupMember, User, utcnow
from enclave.errors import Invalid, NotFound
from enclave.tenancy.principal import Principal, Role


@dataclass(frozen=True)
class UserInfo:
    id: str
    name: str
    email: str | None
    role: str
    created_at: datetime
    groups: list[str]


@dataclass(frozen=True)
class GroupInfo:
    id: str
    name: str
    members: list[str]


def _name(raw: str, what: str) -> str:
    name = raw.strip()
    if not name or len(name) > 200:
        raise Invalid(f"A {what} needs a name of 1-200 characters.")
    return name


class UserService:
    """Every method expects a tenant admin (the HTTP edge checks the role and records a refusal)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # --- users -----------------------------------------------------------------------------------
    def create_user(
        self, principal: Principal, name: str, email: str | None, role: str, actor: Actor | None = None
    ) -> UserInfo:
        with audited(actor, USER_CREATE, role=role[:16]) as step:
            try:
                parsed = Role(role)
            except ValueError:
                raise Invalid(f"Role must be one of admin, member, reader; got {role!r}.") from None
            user = User(
                tenant_id=principal.tenant_id, name=_name(name, "user"), email=email or None, role=parsed
            )
            with self.catalog.session() as s:
                s.add(user)
                s.flush()
                info = UserInfo(user.id, user.name, user.email, user.role, user.created_at, [])
            step.succeeded(info.id)
        return info

    def list_users(self, principal: Principal) -> list[UserInfo]:
        with self.catalog.session() as s:
            users = s.scalars(
                select(User).where(User.tenant_id == principal.tenant_id).order_by(User.created_at, User.id)
            ).all()
            groups = self._memberships(s, [u.id for u in users])
            return [
                UserInfo(u.id, u.name, u.email, u.role, u.created_at, groups.get(u.id, [])) for u in users
            ]

    def delete_user(self, principal: Principal, user_id: str, actor: Actor | None = None) -> None:
        """The user's keys are revoked and its memberships dropped in the same transaction, so its tokens
        match nothing from the next request on. Documents it owns stay (admins still see them)."""
        with audited(actor, USER_DELETE, target=user_id), self.catalog.session() as s:
            self._user(s, principal, user_id)
            s.execute(
                update(ApiKey)
                .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            s.execute(delete(GroupMember).where(GroupMember.user_id == user_id))
            s.execute(delete(User).where(User.id == user_id))

    # --- groups ----------------------------------------------------------------------------------
    def create_group(self, principal: Principal, name: str, actor: Actor | None = None) -> GroupInfo:
        with audited(actor, GROUP_CREATE) as step:
            group = Group(tenant_id=principal.tenant_id, name=_name(name, "group"))
            with self.catalog.session() as s:
                s.add(group)
                s.flush()
                info = GroupInfo(group.id, group.name, [])
            step.succeeded(info.id, name=info.name)
        return info

    def list_groups(self, principal: Principal) -> list[GroupInfo]:
        with self.catalog.session() as s:
            groups = s.scalars(
                select(Group)
                .where(Group.tenant_id == principal.tenant_id)
                .order_by(Group.created_at, Group.id)
            ).all()
            rows = s.execute(
                select(GroupMember.group_id, GroupMember.user_id).where(
                    GroupMember.group_id.in_([g.id for g in groups])
                )
            ).all()
        members: dict[str, list[str]] = {}
        for group_id, user_id in rows:
            members.setdefault(group_id, []).append(user_id)
        return [GroupInfo(g.id, g.name, sorted(members.get(g.id, []))) for g in groups]

    def delete_group(self, principal: Principal, group_id: str, actor: Actor | None = None) -> None:
        with audited(actor, GROUP_DELETE, target=group_id), self.catalog.session() as s:
            self._group(s, principal, group_id)
            s.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
            s.execute(delete(Group).where(Group.id == group_id))

    def add_member(
        self, principal: Principal, group_id: str, user_id: str, actor: Actor | None = None
    ) -> None:
        with (
            audited(actor, GROUP_MEMBER_ADD, target=group_id, user=user_id[:32]),
            self.catalog.session() as s,
        ):
            self._group(s, principal, group_id)
            self._user(s, principal, user_id)
            if s.get(GroupMember, (group_id, user_id)) is None:
                s.add(GroupMember(group_id=group_id, user_id=user_id))

    def remove_member(
        self, principal: Principal, group_id: str, user_id: str, actor: Actor | None = None
    ) -> None:
        with (
            audited(actor, GROUP_MEMBER_REMOVE, target=group_id, user=user_id[:32]),
            self.catalog.session() as s,
        ):
            self._group(s, principal, group_id)
            row = s.get(GroupMember, (group_id, user_id))
            if row is None:
                raise NotFound("That user is not a member of this group.")
            s.delete(row)

    # --- lookups, scoped to the caller's tenant ----------------------------------------------------
    @staticmethod
    def _user(s, principal: Principal, user_id: str) -> User:  # type: ignore[no-untyped-def]
        user = s.get(User, user_id)
        if user is None or user.tenant_id != principal.tenant_id:
            raise NotFound("No user with that id in your tenant.")
        return user

    @staticmethod
    def _group(s, principal: Principal, group_id: str) -> Group:  # type: ignore[no-untyped-def]
        group = s.get(Group, group_id)
        if group is None or group.tenant_id != principal.tenant_id:
            raise NotFound("No group with that id in your tenant.")
        return group

    @staticmethod
    def _memberships(s, user_ids: list[str]) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
        out: dict[str, list[str]] = {}
        rows = s.execute(
            select(GroupMember.user_id, GroupMember.group_id).where(GroupMember.user_id.in_(user_ids))
        ).all()
        for user_id, group_id in rows:
            out.setdefault(user_id, []).append(group_id)
        return {k: sorted(v) for k, v in out.items()}
