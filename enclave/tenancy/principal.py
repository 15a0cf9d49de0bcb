"""Who is calling: built only from a verified credential, never from request data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The ACL token every principal of a tenant holds; a document whose ACL is absent carries only it.
TENANT_TOKEN = "tenant"


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    READER = "reader"


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    key_id: str
    role: Role
    tenant_name: str = ""
    key_name: str = ""

    @property
    def tokens(self) -> list[str]:
        """ACL tokens this caller holds; a document is visible if its ACL shares one."""
        return [TENANT_TOKEN, f"user:{self.key_id}"]

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.MEMBER)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
