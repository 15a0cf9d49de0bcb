"""A user's stored conversations with the answering API: list, read, rename, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from gateway.deps import PrincipalDep, RuntimeDep
from gateway.schemas import RenameIn, conversation_dict, message_dict

router = APIRouter(prefix="/v1/conversations", tags=["chat"])


@router.get("")
def list_conversations(principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    return {"conversations": [conversation_dict(c) for c in rt.conversations.list(principal)]}


@router.get("/{conversation_id}")
def get_conversation(conversation_id: str, principal: PrincipalDep, rt: RuntimeDep) -> dict[str, Any]:
    conv = rt.conversations.get(principal, conversation_id)
    msgs = rt.conversations.messages(principal, conversation_id)
    return {**conversation_dict(conv), "messages": [message_dict(m) for m in msgs]}


@router.patch("/{conversation_id}")
def rename_conversation(
    conversation_id: str, body: RenameIn, principal: PrincipalDep, rt: RuntimeDep
) -> dict[str, Any]:
    return conversation_dict(rt.conversations.rename(principal, conversation_id, body.title))


@router.delete("/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, principal: PrincipalDep, rt: RuntimeDep) -> Response:
    rt.conversations.delete(principal, conversation_id)
    return Response(status_code=204)
