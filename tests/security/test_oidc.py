"""OIDC single sign-on through the HTTP API of an embedded runtime, against the test identity provider
(`oidc-provider-mock`, a real OpenID provider process on loopback) and, for tokens that provider cannot
be made to sign, a loopback issuer whose keys the test holds (tests/security/oidc_issuers.py).

A token signs its user in wherever a key would; the user and their groups come from the claims; every
token that is not exactly right is refused with 401, and each refusal is in the audit log without it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import select

from enclave.catalog.tables import AuditEvent
from gateway.app import create_app
from tests.security.oidc_issuers import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    OwnIssuer,
    SigningKey,
    authorize,
    hmac_with,
    id_token_for,
    identity_provider_process,
    set_user,
    unsigned,
)
from tests.support import Api

pytestmark = pytest.mark.timeout(120)

NOTES = "Ward 7 night-shift notes: the lithium dose review for bed 12 is due on Thursday morning."
QUERY = "lithium dose review ward night shift"


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[str]:
    """The test identity provider's base URL (its issuer)."""
    with identity_provider_process() as server:
        yield server.url


@pytest.fixture
def own_issuer() -> Iterator[OwnIssuer]:
    with OwnIssuer() as issuer:
        yield issuer


def _gateway(make_runtime: Callable[..., Any], issuer: str) -> Iterator[Api]:
    rt = make_runtime(oidc_issuer=issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    with TestClient(create_app(rt)) as http:
        api = Api(http, None)
        api.runtime = rt  # type: ignore[attr-defined]
        yield api


@pytest.fixture
def own_gateway(make_runtime: Callable[..., Any], own_issuer: OwnIssuer) -> Iterator[Api]:
    """An embedded Enclave that trusts the loopback issuer whose keys the test holds."""
    yield from _gateway(make_runtime, own_issuer.url)


@pytest.fixture
def gateway(make_runtime: Callable[..., Any], identity_provider: str) -> Iterator[Api]:
    """An embedded Enclave that trusts the test identity provider, not signed in."""
    yield from _gateway(make_runtime, identity_provider)


def _admin(gateway: Api) -> tuple[Api, str]:
    name = f"Clinic {uuid.uuid4().hex[:6]}"
    t = gateway.create_tenant(name)
    return gateway.with_key(t["admin_key"]), name


def sign_in(gateway: Api, idp: str, sub: str) -> Api:
    """The web UI's flow without the browser: the provider's code, exchanged through the gateway."""
    code, verifier = authorize(idp, sub)
    r = gateway.post(
        "/v1/auth/token", json={"code": code, "code_verifier": verifier, "redirect_uri": REDIRECT_URI}
    )
    assert r.status_code == 200, r.text
    return gateway.with_key(r.json()["token"])


def _finds(api: Api, doc_id: str) -> bool:
    found = [
        doc_id in {h["document_id"] for h in api.search(QUERY, top_k=20)},
        doc_id in {d["id"] for d in api.get("/v1/documents", params={"limit": 500}).json()["documents"]},
        api.get(f"/v1/documents/{doc_id}").status_code == 200,
    ]
    assert len(set(found)) == 1, f"search, list and get disagree: {found}"
    return found[0]


def _denials(api: Api) -> list[dict[str, Any]]:
    """Authentication refusals of unknown callers: the tenant-less chain the operator reads."""
    rt = api.runtime  # type: ignore[attr-defined]
    rt.audit.flush()
    with rt.catalog.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == "", AuditEvent.action == "authenticate")
        ).all()
        return [{"outcome": r.outcome, "source": r.source, **(r.details or {})} for r in rows]


def test_config_tells_the_web_ui_where_to_sign_in(gateway: Api, identity_provider: str) -> None:
    config = gateway.get("/v1/auth/config").json()["oidc"]
    assert config["issuer"] == identity_provider
    assert config["client_id"] == CLIENT_ID
    assert config["authorization_endpoint"] == f"{identity_provider}/oauth2/authorize"
    assert "openid" in config["scopes"].split()


def test_config_says_so_when_single_sign_on_is_off(embedded: Api) -> None:
    assert embedded.get("/v1/auth/config").json() == {"oidc": None}
    token = unsigned({"sub": "x"})
    r = embedded.with_key(token).get("/v1/me")
    assert r.status_code == 401
    assert "single sign-on is not set up" in r.json()["detail"]


def test_a_token_signs_its_user_in_and_their_group_grants_the_groups_documents(
    gateway: Api, identity_provider: str
) -> None:
    admin, tenant_name = _admin(gateway)
    ward = admin.post("/v1/groups", json={"name": "psychiatry"}).json()
    doc = admin.upload_text(NOTES, title="ward 7", acl={"users": [], "groups": [ward["id"]]})
    assert admin.wait_done([doc["id"]])[doc["id"]]["status"] == "ready"

    alice_sub, bob_sub = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    claims = {"tenant": tenant_name, "role": "member", "email": f"{alice_sub}@clinic.example"}
    set_user(
        identity_provider, alice_sub, {**claims, "name": "Alice Ward", "groups": ["psychiatry", "night"]}
    )
    set_user(identity_provider, bob_sub, {**claims, "name": "Bob Billing", "groups": ["billing"]})
    alice = sign_in(gateway, identity_provider, alice_sub)
    bob = sign_in(gateway, identity_provider, bob_sub)

    me = alice.get("/v1/me").json()
    assert (me["tenant_name"], me["key_name"], me["role"]) == (tenant_name, "Alice Ward", "member")
    assert ward["id"] in me["groups"]
    users = {u["name"]: u for u in admin.get("/v1/users").json()["users"]}
    assert users["Alice Ward"]["id"] == me["user_id"]
    assert users["Alice Ward"]["email"] == f"{alice_sub}@clinic.example"
    groups = {g["name"]: g for g in admin.get("/v1/groups").json()["groups"]}
    assert groups["psychiatry"]["members"] == [me["user_id"]]  # joined the existing group by name
    assert set(groups) == {"psychiatry", "night", "billing"}  # the others were made from the claims

    assert _finds(alice, doc["id"])
    assert not _finds(bob, doc["id"])
    assert bob.get(f"/v1/documents/{doc['id']}/file").status_code == 404

    # The provider takes alice out of the group: her next token no longer sees the notes.
    set_user(identity_provider, alice_sub, {**claims, "name": "Alice Ward", "groups": ["night"]})
    alice_again = sign_in(gateway, identity_provider, alice_sub)
    assert alice_again.get("/v1/me").json()["user_id"] == me["user_id"]  # the same user, updated
    assert not _finds(alice_again, doc["id"])
    actions = [e["action"] for e in admin.get("/v1/audit", params={"actor": me["user_id"]}).json()["events"]]
    assert {"user.create", "group.member.add", "group.member.remove"} <= set(actions)


def test_a_role_claim_is_capped_and_an_unknown_tenant_is_refused(
    make_runtime: Callable[..., Any], identity_provider: str
) -> None:
    rt = make_runtime(
        oidc_issuer=identity_provider,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_max_role="member",
    )
    with TestClient(create_app(rt)) as http:
        gateway = Api(http, None)
        gateway.runtime = rt  # type: ignore[attr-defined]
        _, tenant_name = _admin(gateway)
        sub = f"carol-{uuid.uuid4().hex[:6]}"
        set_user(identity_provider, sub, {"tenant": tenant_name, "role": ["offline_access", "admin"]})
        carol = sign_in(gateway, identity_provider, sub)
        assert carol.get("/v1/me").json()["role"] == "member"
        assert carol.get("/v1/users").status_code == 403

        stranger = f"dave-{uuid.uuid4().hex[:6]}"
        set_user(identity_provider, stranger, {"tenant": "No Such Clinic"})
        code, verifier = authorize(identity_provider, stranger)
        r = gateway.post(
            "/v1/auth/token", json={"code": code, "code_verifier": verifier, "redirect_uri": REDIRECT_URI}
        )
        assert r.status_code == 401
        assert "'No Such Clinic' names no tenant" in r.json()["detail"]
        assert any("no tenant named" in d.get("reason", "") for d in _denials(gateway))


def test_a_code_the_provider_did_not_issue_signs_nobody_in(gateway: Api) -> None:
    r = gateway.post(
        "/v1/auth/token", json={"code": "made-up", "code_verifier": "v" * 43, "redirect_uri": REDIRECT_URI}
    )
    assert r.status_code == 401
    assert "The identity provider refused the sign-in (invalid_grant)" in r.json()["detail"]
    assert "code exchange refused (invalid_grant)" in {d["reason"] for d in _denials(gateway)}


def test_forged_and_misdirected_tokens_of_the_provider_are_refused_and_audited(
    gateway: Api, identity_provider: str
) -> None:
    _, tenant_name = _admin(gateway)
    sub = f"erin-{uuid.uuid4().hex[:6]}"
    set_user(identity_provider, sub, {"tenant": tenant_name, "role": "admin"})
    good = sign_in(gateway, identity_provider, sub).key
    assert good is not None
    assert gateway.with_key(good).get("/v1/me").status_code == 200

    header = jwt.get_unverified_header(good)
    claims = jwt.decode(good, options={"verify_signature": False})
    public_jwk = httpx.get(f"{identity_provider}/jwks", timeout=10).json()["keys"][0]
    public_pem = jwt.PyJWK(public_jwk).key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    head, _, signature = good.split(".")
    promoted = {**claims, "sub": "someone-else"}
    tampered = f"{head}.{jwt.utils.base64url_encode(json.dumps(promoted).encode()).decode()}.{signature}"
    kid = header.get("kid")  # the provider publishes one key and may name none
    outsider = SigningKey(kid)  # a key the provider never published, under the same kid
    refused = {
        "wrong audience": id_token_for(identity_provider, sub, "another-app"),
        "tampered": tampered,
        "unsigned": unsigned(claims),
        "hmac with the public key": hmac_with(public_pem, claims, kid),
        "signed by another key": outsider.sign(claims),
        "garbage": "eyJhbGciOi.not-a-token.at-all",
    }
    for what, token in refused.items():
        r = gateway.with_key(token).get("/v1/me")
        assert r.status_code == 401, f"{what}: {r.status_code} {r.text}"
        assert r.headers["www-authenticate"] == "Bearer"
        upload = gateway.with_key(token).post("/v1/documents/text", json={"text": "x"})
        assert upload.status_code == 401, f"{what} (with a body): {upload.text}"

    reasons = [d["reason"] for d in _denials(gateway)]
    for expected in ("wrong audience", "bad signature", "algorithm none refused", "algorithm HS256 refused"):
        assert expected in reasons, f"{expected!r} not in {reasons}"
    log = json.dumps(_denials(gateway))
    for token in (*refused.values(), good):
        assert token not in log
        assert token.split(".")[2] == "" or token.split(".")[2] not in log


def test_expired_early_and_foreign_issuer_tokens_are_refused(own_gateway: Api, own_issuer: OwnIssuer) -> None:
    key = SigningKey("k1")
    own_issuer.publish(key)
    gw = own_gateway
    _, tenant_name = _admin(gw)
    now = int(time.time())
    ok = key.sign(own_issuer.claims(tenant=tenant_name))
    assert gw.with_key(ok).get("/v1/me").status_code == 200
    cases = {
        "expired": (own_issuer.claims(tenant=tenant_name, exp=now - 120), "has expired"),
        "not yet valid": (own_issuer.claims(tenant=tenant_name, nbf=now + 600), "not valid yet"),
        "wrong issuer": (own_issuer.claims(tenant=tenant_name, iss="http://127.0.0.1:1"), "another issuer"),
        "no tenant claim": (own_issuer.claims(), "names no tenant"),
    }
    for what, (claims, sentence) in cases.items():
        r = gw.with_key(key.sign(claims)).get("/v1/me")
        assert r.status_code == 401, what
        assert sentence in r.json()["detail"], what
    within_leeway = key.sign(own_issuer.claims(tenant=tenant_name, exp=now - 5))
    assert gw.with_key(within_leeway).get("/v1/me").status_code == 200
    reasons = {d["reason"] for d in _denials(gw)}
    assert {"expired", "not yet valid", "wrong issuer", "no tenant claim"} <= reasons


def test_an_unknown_kid_refreshes_the_keys_once_and_a_flood_of_them_does_not(
    own_gateway: Api, own_issuer: OwnIssuer
) -> None:
    old, new = SigningKey("2024"), SigningKey("2025")
    own_issuer.publish(old)
    gw = own_gateway
    _, tenant_name = _admin(gw)
    claims = own_issuer.claims(tenant=tenant_name)
    assert gw.with_key(old.sign(claims)).get("/v1/me").status_code == 200
    assert gw.with_key(old.sign(claims)).get("/v1/me").status_code == 200
    assert own_issuer.jwks_fetches == 1  # cached

    own_issuer.publish(old, new)  # the issuer rotates: a token with the new kid arrives
    assert gw.with_key(new.sign(claims)).get("/v1/me").status_code == 200
    assert own_issuer.jwks_fetches == 2

    attacker = SigningKey("x")
    for i in range(20):
        r = gw.with_key(attacker.sign(claims, kid=f"made-up-{i}")).get("/v1/me")
        assert r.status_code == 401
    assert own_issuer.jwks_fetches == 2  # the refresh is rate-limited
    assert "unknown signing key" in {d["reason"] for d in _denials(gw)}
