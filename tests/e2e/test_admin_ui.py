"""Access control in the web UI, driven in a real browser against a running embedded Enclave.

A tenant admin creates a user and a group, puts the user in the group, restricts a document to the group
with the ACL editor, and finds each of those actions in the audit log, filtered and exported.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def sign_in(page, url: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def go_to(page, section: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="Sections").get_by_role("link", name=section).click()


def api(tenant, method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {tenant.admin_key}"}
    return httpx.request(method, f"{tenant.url}{path}", headers=headers, timeout=30, **kwargs)


def wait_ready(tenant, doc_id: str, timeout: float = 240) -> None:  # type: ignore[no-untyped-def]
    """The record's ingestion loads the embedding model on first use; the ACL editor works on a document
    that is in the library, as a person would find it."""
    deadline = time.monotonic() + timeout
    while (status := api(tenant, "GET", f"/v1/documents/{doc_id}").json()["status"]) != "ready":
        assert status in ("queued", "processing") and time.monotonic() < deadline, status
        time.sleep(0.5)


def audit_rows(page, action: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("audit-table").locator(f'tbody tr[data-action="{action}"]')


def apply_audit_filter(page, **fields: str) -> None:  # type: ignore[no-untyped-def]
    form = page.get_by_role("form", name="Filter the audit log")
    form.get_by_role("button", name="Clear").click()
    if "action" in fields:
        form.get_by_label("Action").select_option(fields["action"])
    if "document" in fields:
        form.get_by_label("Document id").fill(fields["document"])
    if "to" in fields:
        form.get_by_label("To", exact=True).fill(fields["to"])
    form.get_by_role("button", name="Apply filter").click()


def test_admin_restricts_a_document_to_a_group_and_audits_it(page, web_tenant, screenshots):  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6]
    user_name, group_name = f"Ann Psych {tag}", f"Psychiatry {tag}"
    doc = api(
        web_tenant,
        "POST",
        "/v1/documents/text",
        json={"title": f"ward notes {tag}", "text": "Patient notes for the psychiatry ward."},
    )
    assert doc.status_code == 202, doc.text
    doc_id, filename = doc.json()["id"], doc.json()["filename"]

    sign_in(page, web_tenant.url, web_tenant.admin_key)
    expect(page.get_by_test_id("role")).to_have_text("admin")

    # Users and groups: create both, then put the user in the group.
    go_to(page, "Users and groups")
    users = page.get_by_role("form", name="Create a user")
    users.get_by_label("User name").fill(user_name)
    users.get_by_label("Email").fill(f"ann-{tag}@hospital.example")
    users.get_by_label("User role").select_option("member")
    users.get_by_role("button", name="Create user").click()
    user_row = page.get_by_test_id("user-table").locator("tr", has_text=user_name)
    expect(user_row).to_contain_text("member")
    user_id = user_row.get_attribute("data-user-id")

    page.get_by_role("form", name="Create a group").get_by_label("Group name").fill(group_name)
    page.get_by_role("button", name="Create group").click()
    group = page.locator(f'.group-item[data-group-name="{group_name}"]')
    expect(group).to_contain_text("No members.")
    group_id = group.get_attribute("data-group-id")
    group.get_by_label(f"Add a member to {group_name}").select_option(user_id)
    group.get_by_role("button", name=f"Add to {group_name}").click()
    expect(group.get_by_role("list", name=f"Members of {group_name}")).to_contain_text(user_name)
    expect(user_row).to_contain_text(group_name)
    page.screenshot(path=str(screenshots / "users-groups.png"), full_page=True)
    groups = api(web_tenant, "GET", "/v1/groups").json()["groups"]
    assert {"id": group_id, "name": group_name, "members": [user_id]} in groups

    # The document starts tenant-wide; the ACL editor restricts it to the group.
    wait_ready(web_tenant, doc_id)
    go_to(page, "Documents")
    row = page.locator(f'[data-testid="doc-table"] tr[data-doc-id="{doc_id}"]')
    expect(row.get_by_test_id("acl-summary")).to_have_text("Everyone in the tenant")
    expect(row.get_by_test_id("doc-owner")).to_have_text("Owner: you")
    row.get_by_role("button", name=f"Change access to {filename}").click()
    editor = page.get_by_test_id("acl-editor")
    editor.get_by_role("radio", name="Chosen users and groups").check()
    # Choosing nobody is refused in a sentence, before anything is sent.
    editor.get_by_role("button", name="Save access").click()
    expect(editor.get_by_role("alert")).to_contain_text("Choose at least one user or group")
    editor.get_by_role("checkbox", name=f"{group_name} (group)").check()
    page.screenshot(path=str(screenshots / "acl-editor.png"))
    editor.get_by_role("button", name="Save access").click()
    expect(editor).to_have_count(0)
    expect(row.get_by_test_id("acl-summary")).to_have_text(f"Group: {group_name}")

    stored = api(web_tenant, "GET", f"/v1/documents/{doc_id}").json()
    assert stored["acl"]["groups"] == [group_id]
    assert stored["acl"]["users"] == [stored["owner"]]  # only the owner besides the group

    # The audit log shows each action; filters narrow it, and the export carries the same filter.
    go_to(page, "Audit log")
    for action in ("user.create", "group.create", "group.member.add", "document.acl"):
        expect(audit_rows(page, action).first).to_be_visible()
    apply_audit_filter(page, action="document.acl")
    expect(audit_rows(page, "document.acl")).to_have_count(1)
    expect(page.get_by_test_id("audit-table").locator("tbody tr")).to_have_count(1)
    expect(audit_rows(page, "document.acl").get_by_test_id("audit-target")).to_have_text(doc_id)
    apply_audit_filter(page, action="group.member.add")
    expect(audit_rows(page, "group.member.add").get_by_test_id("audit-target")).to_have_text(group_name)
    apply_audit_filter(page, document=doc_id)
    expect(audit_rows(page, "document.acl")).to_have_count(1)
    expect(audit_rows(page, "user.create")).to_have_count(0)
    page.screenshot(path=str(screenshots / "audit-log.png"), full_page=True)
    apply_audit_filter(page, document=doc_id, to="2001-01-01T00:00:00")
    expect(page.get_by_text("No audit records match this filter.")).to_be_visible()

    apply_audit_filter(page, action="document.acl")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSONL").click()
    assert download.value.suggested_filename == "audit.jsonl"
    text = download.value.path().read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert [(e["action"], e["target"], e["outcome"]) for e in lines] == [("document.acl", doc_id, "ok")]
    assert web_tenant.admin_key not in text


def test_audit_and_people_pages_are_for_admins_only(page, web_tenant):  # type: ignore[no-untyped-def]
    _, member_key = web_tenant.create_key("member")
    sign_in(page, web_tenant.url, member_key)
    expect(page.get_by_test_id("role")).to_have_text("member")
    nav = page.get_by_role("navigation", name="Sections")
    expect(nav.get_by_role("link", name="Documents")).to_be_visible()
    for section in ("Users and groups", "Audit log", "Keys"):
        expect(nav.get_by_role("link", name=section)).to_have_count(0)
    # Typing the address of an admin page lands on the chat instead.
    page.goto(f"{web_tenant.url}/#/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
