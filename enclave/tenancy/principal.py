"""Who is calling: built only from a verified credential, never from request data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The ACL token every principal of a tenant holds; a document whose ACL is absent carries only it.
TENANT_TOKEN = "tenant"


def user_token(user_id: str) -> str:
    return f"user:{user_id}"


def group_token(group_id: str) -> str:
    return f"group:{group_id}"


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    READER = "reader"

    def capped(self, other: Role) -> Role:
        """The lesser of two roles: a key never acts with more than its user may."""
        order = [Role.READER, Role.MEMBER, Role.ADMIN]
        return min(self, other, key=order.index)


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    key_id: str
    role: Role
    tenant_name: str = ""
    key_name: str = ""
    user_id: str | None = None  # the user the key acts as; None for a key that is its own principal
    groups: tuple[str, ...] = ()  # the user's groups, read with the key on every request

    @property
    def owner_id(self) -> str:
        """Who owns what this caller uploads: its user, or the key itself."""
        return self.user_id or self.key_id

    @property
    def tokens(self) -> list[str]:
        """ACL tokens this caller holds; a document is visible if its ACL shares one."""
        return [TENANT_TOKEN, user_token(self.owner_id), *(group_token(g) for g in self.groups)]

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.MEMBER)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
