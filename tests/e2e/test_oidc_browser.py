"""Single sign-on in a real browser: "Sign in with SSO" on Enclave's sign-in page, the test identity
provider's (oidc-provider-mock's) own login page, and back to Enclave signed in as that user, seeing the
documents their group may see. Enclave is a real `enclave serve` process configured for the provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.security.oidc_issuers import CLIENT_ID, CLIENT_SECRET, identity_provider_process, set_user
from tests.support import OPERATOR_KEY, free_port, kill_group, start, wait_http

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class SsoSite:
    url: str
    idp: str
    tenant_name: str
    admin_key: str


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SsoSite]:
    """The test identity provider, and an `enclave serve` that trusts it, with one tenant."""
    data = tmp_path_factory.mktemp("sso-serve")
    with identity_provider_process() as idp:
        port = free_port()
        env = {
            "ENCLAVE_OPERATOR_KEY": OPERATOR_KEY,
            "ENCLAVE_BROKER_URL": "redis://127.0.0.1:9/0",  # nothing listens: serve must not need Redis
            "ENCLAVE_REDIS_URL": "redis://127.0.0.1:9/0",
            "ENCLAVE_DATABASE_URL": "",
            "ENCLAVE_OIDC_ISSUER": idp.url,
            "ENCLAVE_OIDC_CLIENT_ID": CLIENT_ID,
            "ENCLAVE_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }
        args = ["-m", "boot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = start([*args, "--data-dir", str(data / "data")], env, data / "serve.log")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(url + "/healthz", timeout=180, proc=proc)
            if 'id="app"' not in httpx.get(url + "/", timeout=30).text:
                pytest.fail("The gateway serves no web UI. Build it: cd web && npm ci && npm run build")
            name = f"Radiology {uuid.uuid4().hex[:6]}"
            r = httpx.post(
                f"{url}/v1/admin/tenants",
                json={"name": name},
                headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
                timeout=30,
            )
            r.raise_for_status()
            yield SsoSite(url, idp.url, name, r.json()["admin_key"])
        finally:
            kill_group(proc)


def _restricted_document(site: SsoSite, group: str, title: str) -> None:
    admin = {"Authorization": f"Bearer {site.admin_key}"}
    g = httpx.post(f"{site.url}/v1/groups", json={"name": group}, headers=admin, timeout=30).json()
    r = httpx.post(
        f"{site.url}/v1/documents/text",
        json={
            "text": "Scan protocol for the new MRI unit.",
            "title": title,
            "acl": {"users": [], "groups": [g["id"]]},
        },
        headers=admin,
        timeout=30,
    )
    assert r.status_code == 202, r.text


def test_a_user_signs_in_with_sso_and_sees_their_groups_documents(
    page, sso_site: SsoSite, screenshots: Path
) -> None:  # type: ignore[no-untyped-def]
    _restricted_document(sso_site, "mri", "mri-protocol")
    sub = f"rita-{uuid.uuid4().hex[:6]}"
    set_user(sso_site.idp, sub, {"tenant": sso_site.tenant_name, "groups": ["mri"], "name": "Rita Ray"})

    page.goto(sso_site.url)
    expect(page.get_by_label("API key")).to_be_visible()  # the key sign-in stays beside SSO
    page.screenshot(path=str(screenshots / "sign-in-with-sso.png"))
    page.get_by_role("button", name="Sign in with SSO").click()

    # The identity provider's own login page, on its own origin.
    page.wait_for_url(f"{sso_site.idp}/oauth2/authorize*")
    assert "code_challenge_method=S256" in page.url
    page.locator('input[name="sub"]').fill(sub)
    page.get_by_role("button", name="Authorize").click()

    header = page.get_by_role("banner")
    expect(header.get_by_test_id("tenant-name")).to_have_text(sso_site.tenant_name)
    expect(header.get_by_test_id("role")).to_have_text("member")
    expect(header.get_by_test_id("tenant-name")).to_have_attribute("title", "Key: Rita Ray")
    assert "code=" not in page.url and "state=" not in page.url  # the answer is not left to replay

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Documents").click()
    row = page.locator('[data-testid="doc-table"] tr[data-filename="mri-protocol"]')
    expect(row).to_be_visible()
    page.screenshot(path=str(screenshots / "signed-in-with-sso.png"), full_page=True)

    # The token is the tab's credential: a reload stays signed in; signing out forgets it.
    page.reload()
    expect(header.get_by_test_id("tenant-name")).to_have_text(sso_site.tenant_name)
    header.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in with SSO")).to_be_visible()


def test_a_forged_sso_answer_is_refused(page, sso_site: SsoSite) -> None:  # type: ignore[no-untyped-def]
    """An answer whose state this tab did not start (a link from another site) signs nobody in."""
    page.goto(sso_site.url)
    page.get_by_role("button", name="Sign in with SSO").click()
    page.wait_for_url(f"{sso_site.idp}/oauth2/authorize*")
    page.goto(f"{sso_site.url}/?code=stolen-code&state=not-the-tabs-state")
    expect(page.get_by_role("alert")).to_contain_text("does not match the sign-in this tab started")
    page.get_by_role("button", name="Back to sign-in").click()
    expect(page.get_by_role("button", name="Sign in with SSO")).to_be_visible()
