"""Platform operator: tenants. Tenant admins: their keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gateway.deps import AdminDep, KeyCreatorDep, KeyRevokerDep, OperatorDep, PrincipalDep, RuntimeDep
from gateway.schemas import KeyCreated, KeyIn, KeyList, KeyOut, Me, TenantIn, TenantOut

router = APIRouter(prefix="/v1", tags=["admin"])


@router.post("/admin/tenants", status_code=201)
def create_tenant(body: TenantIn, operator: OperatorDep, rt: RuntimeDep) -> TenantOut:
    tenant, key = rt.keys.create_tenant(body.name, operator)
    return TenantOut(id=tenant.id, name=tenant.name, admin_key=key.key)


@router.get("/me")
def me(principal: PrincipalDep) -> Me:
    return Me(
        tenant_id=principal.tenant_id,
        tenant_name=principal.tenant_name,
        key_id=principal.key_id,
        key_name=principal.key_name,
        role=principal.role.value,
        user_id=principal.user_id,
        groups=list(principal.groups),
    )


@router.post("/keys", status_code=201)
def create_key(body: KeyIn, principal: PrincipalDep, actor: KeyCreatorDep, rt: RuntimeDep) -> KeyCreated:
    issued = rt.keys.create_key(principal.tenant_id, body.name, body.role, actor, body.user_id)
    return KeyCreated(id=issued.id, name=issued.name, role=issued.role, key=issued.key)


@router.get("/keys")
def list_keys(principal: AdminDep, rt: RuntimeDep) -> KeyList:
    return KeyList(keys=[KeyOut(**k.__dict__) for k in rt.keys.list_keys(principal)])


@router.delete("/keys/{key_id}", status_code=204)
def revoke_key(key_id: str, principal: PrincipalDep, actor: KeyRevokerDep, rt: RuntimeDep) -> Response:
    rt.keys.revoke(principal, key_id, actor)
    return Response(status_code=204)
