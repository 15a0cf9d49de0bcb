"""Conversations, stored per user (API key) inside a tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from enclave.catalog.db import Catalog
from enclave.catalog.tables import Conversation, Message, utcnow
from enclave.errors import NotFound
from enclave.tenancy.principal import Principal


def _owned(principal: Principal):  # type: ignore[no-untyped-def]
    return select(Conversation).where(
        Conversation.tenant_id == principal.tenant_id, Conversation.key_id == principal.key_id
    )


class ConversationService:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def create(self, principal: Principal, title: str) -> Conversation:
        with self.catalog.session() as s:
            conv = Conversation(
                tenant_id=principal.tenant_id, key_id=principal.key_id, title=title[:300] or "New"
            )
            s.add(conv)
        return conv

    def get(self, principal: Principal, conversation_id: str) -> Conversation:
        with self.catalog.session() as s:
            conv = s.scalars(_owned(principal).where(Conversation.id == conversation_id)).first()
        if conv is None:
            raise NotFound("No conversation with that id.")
        return conv

    def list(self, principal: Principal, limit: int = 100) -> list[Conversation]:
        with self.catalog.session() as s:
            return list(
                s.scalars(_owned(principal).order_by(Conversation.updated_at.desc()).limit(limit)).all()
            )

    def messages(self, principal: Principal, conversation_id: str) -> list[Message]:
        self.get(principal, conversation_id)
        with self.catalog.session() as s:
            return list(
                s.scalars(
                    select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
                ).all()
            )

    def history(self, principal: Principal, conversation_id: str) -> list[dict[str, Any]]:
        return [{"role": m.role, "content": m.content} for m in self.messages(principal, conversation_id)]

    def append(
        self,
        principal: Principal,
        conversation_id: str,
        role: str,
        content: str,
        citations: list[Any] | None = None,
    ) -> None:
        self.get(principal, conversation_id)
        with self.catalog.session() as s:
            s.add(
                Message(
                    conversation_id=conversation_id, role=role, content=content, citations=citations or []
                )
            )
            conv = s.get(Conversation, conversation_id)
            if conv is not None:
                conv.updated_at = utcnow()

    def rename(self, principal: Principal, conversation_id: str, title: str) -> Conversation:
        self.get(principal, conversation_id)
        with self.catalog.session() as s:
            conv = s.get(Conversation, conversation_id)
            assert conv is not None
            conv.title = title.strip()[:300] or conv.title
        return conv

    def delete(self, principal: Principal, conversation_id: str) -> None:
        self.get(principal, conversation_id)
        with self.catalog.session() as s:
            for m in s.scalars(select(Message).where(Message.conversation_id == conversation_id)).all():
                s.delete(m)
            conv = s.get(Conversation, conversation_id)
            if conv is not None:
                s.delete(conv)
