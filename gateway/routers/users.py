"""Tenant admins: the tenant's users and groups (a key may act as a user; see docs/ACCESS.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gateway.deps import (
    GroupCreatorDep,
    GroupDeleterDep,
    MemberAdderDep,
    MemberRemoverDep,
    PeopleReaderDep,
    PrincipalDep,
    RuntimeDep,
    UserCreatorDep,
    UserDeleterDep,
)
from gateway.schemas import GroupIn, GroupList, GroupOut, MemberIn, UserIn, UserList, UserOut

router = APIRouter(prefix="/v1", tags=["users"])


@router.post("/users", status_code=201)
def create_user(body: UserIn, principal: PrincipalDep, actor: UserCreatorDep, rt: RuntimeDep) -> UserOut:
    return UserOut(**rt.users.create_user(principal, body.name, body.email, body.role, actor).__dict__)


@router.get("/users")
def list_users(principal: PeopleReaderDep, rt: RuntimeDep) -> UserList:
    return UserList(users=[UserOut(**u.__dict__) for u in rt.users.list_users(principal)])


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: str, principal: PrincipalDep, actor: UserDeleterDep, rt: RuntimeDep) -> Response:
    rt.users.delete_user(principal, user_id, actor)
    return Response(status_code=204)


@router.post("/groups", status_code=201)
def create_group(body: GroupIn, principal: PrincipalDep, actor: GroupCreatorDep, rt: RuntimeDep) -> GroupOut:
    return GroupOut(**rt.users.create_group(principal, body.name, actor).__dict__)


@router.get("/groups")
def list_groups(principal: PeopleReaderDep, rt: RuntimeDep) -> GroupList:
    return GroupList(groups=[GroupOut(**g.__dict__) for g in rt.users.list_groups(principal)])


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: str, principal: PrincipalDep, actor: GroupDeleterDep, rt: RuntimeDep) -> Response:
    rt.users.delete_group(principal, group_id, actor)
    return Response(status_code=204)


@router.post("/groups/{group_id}/members", status_code=204)
def add_member(
    group_id: str,
    body: MemberIn,
    principal: PrincipalDep,
    actor: MemberAdderDep,
    rt: RuntimeDep,
) -> Response:
    rt.users.add_member(principal, group_id, body.user_id, actor)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/members/{user_id}", status_code=204)
def remove_member(
    group_id: str,
    user_id: str,
    principal: PrincipalDep,
    actor: MemberRemoverDep,
    rt: RuntimeDep,
) -> Response:
    rt.users.remove_member(principal, group_id, user_id, actor)
    return Response(status_code=204)
