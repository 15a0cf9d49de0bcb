"""The web UI, driven in a real browser against a running embedded Enclave.

Each test reads as what a person at the keyboard does and sees: sign in, upload, watch ingestion,
ask, follow a citation to its source, and what readers, revoked keys and broken files get.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

DOCS = Path("/work/shared/data/docs")
MEMO = DOCS / "fake-memo.pdf"
TEXT = DOCS / "fake-text.txt"
BROKEN = DOCS / "password.pdf"

INGEST_TIMEOUT_MS = 300_000
ANSWER_TIMEOUT_MS = 300_000


def sign_in(page, url: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def go_to(page, section: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation", name="Sections").get_by_role("link", name=section).click()


def upload(page, *files: Path) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("file-input").set_input_files([str(f) for f in files])


def drop(page, file: Path) -> None:  # type: ignore[no-untyped-def]
    """Drags a file onto the drop zone, as from a file manager."""
    page.get_by_test_id("dropzone").evaluate(
        """(zone, [name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], name));
            for (const type of ['dragenter', 'dragover', 'drop']) {
                const init = {bubbles: true, cancelable: true, dataTransfer: data};
                zone.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [file.name, base64.b64encode(file.read_bytes()).decode()],
    )


def upload_item(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'.upload-item[data-filename="{name}"]')


def library_row(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="doc-table"] tr[data-filename="{name}"]')


def test_member_uploads_asks_and_follows_a_citation_to_the_original(page, context, web_tenant, screenshots):  # type: ignore[no-untyped-def]
    _, member_key = web_tenant.create_key("member")
    sign_in(page, web_tenant.url, member_key)

    header = page.get_by_role("banner")
    expect(header.get_by_test_id("tenant-name")).to_have_text(web_tenant.name)
    expect(header.get_by_test_id("role")).to_have_text("member")
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()

    # Upload two files at once; each gets its own progress bar, then ingestion runs to ready.
    go_to(page, "Documents")
    upload(page, MEMO, TEXT)
    for doc in (MEMO, TEXT):
        expect(upload_item(page, doc.name)).to_be_visible()
        expect(upload_item(page, doc.name).get_by_test_id("upload-progress")).to_be_attached()
    for doc in (MEMO, TEXT):
        item = upload_item(page, doc.name)
        expect(item).to_have_attribute("data-phase", "ready", timeout=INGEST_TIMEOUT_MS)
        expect(library_row(page, doc.name)).to_have_attribute("data-status", "ready", timeout=10_000)

    memo_row = library_row(page, MEMO.name)
    expect(memo_row.locator('td[data-label="Pages"]')).to_have_text(re.compile(r"^\d+$"))
    expect(memo_row.locator('td[data-label="Chunks"]')).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(memo_row.locator('td[data-label="Size"]')).to_have_text(re.compile(r"KB"))

    # The library searches by file name.
    page.get_by_label("Search by file name").fill("memo")
    expect(library_row(page, TEXT.name)).to_have_count(0)
    expect(library_row(page, MEMO.name)).to_be_visible()
    page.get_by_label("Search by file name").fill("")
    expect(library_row(page, TEXT.name)).to_be_visible()
    page.screenshot(path=str(screenshots / "documents-light.png"), full_page=True)

    # Ask about the memo and watch the answer arrive piece by piece.
    go_to(page, "Chat")
    # A recorder notes the answer's length and whether a Stop button shows at every DOM change.
    page.evaluate(
        """() => {
            window.__stream = [];
            new MutationObserver(() => {
                const answer = document.querySelector('[data-testid=answer][data-streaming=true] .markdown');
                const stop = [...document.querySelectorAll('button')].some((b) => b.textContent === 'Stop');
                if (answer) window.__stream.push({length: answer.textContent.length, stop});
            }).observe(document.body, {subtree: true, childList: true, characterData: true,
                                       attributes: true});
        }"""
    )
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("How many bottles of water were delivered according to the memo?")
    composer.press("Enter")
    answer = page.get_by_test_id("answer").last
    expect(answer).to_have_attribute("data-streaming", "false", timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_have_count(0)
    stream = page.evaluate("window.__stream")
    partial_lengths = {s["length"] for s in stream if s["length"] > 0}
    assert len(partial_lengths) > 1, f"the answer did not arrive in pieces: {stream}"
    assert all(s["stop"] for s in stream), "a Stop button shows while the answer streams"
    expect(page.get_by_role("button", name="Send")).to_be_visible()

    # The conversation is saved and listed.
    sidebar = page.get_by_role("complementary", name="Conversations")
    expect(sidebar.locator(".conversation-list li")).to_have_count(1)

    # Sources: every cited [n] is a button; the memo is among the sources, with its page.
    chip = answer.locator(".source-chip", has_text=MEMO.name).first
    expect(chip).to_be_visible()
    inline = answer.locator("button.cite")
    if inline.count():
        first = inline.first
        n = first.get_attribute("data-citation")
        first.click()
        panel = page.get_by_test_id("source-panel")
        expect(panel.get_by_role("heading", name=f"Source {n}")).to_be_visible()
        expect(panel.get_by_test_id("source-filename")).to_have_text(
            answer.locator(f'.source-chip[data-source="{n}"] .source-name').inner_text()
        )
    chip.click()
    panel = page.get_by_test_id("source-panel")
    expect(panel.get_by_test_id("source-filename")).to_have_text(MEMO.name)
    expect(panel.get_by_test_id("source-page")).to_have_text("1")
    expect(panel.get_by_test_id("source-snippet")).not_to_be_empty()

    # The original opens in a new tab, from a blob the page fetched with the key, at the cited page.
    with context.expect_page() as opened:
        panel.get_by_role("button", name=re.compile("Open original")).click()
    original = opened.value
    original.wait_for_url(re.compile(r"^blob:.*#page=1$"), timeout=30_000)
    original.close()

    # The conversation can be renamed, and continued later with its answer and sources intact.
    sidebar.get_by_role("button", name=re.compile("^Rename")).click()
    sidebar.get_by_label("New title").fill("Water deliveries")
    sidebar.get_by_label("New title").press("Enter")
    expect(sidebar.locator(".conversation-title")).to_have_text("Water deliveries")
    page.get_by_role("button", name="New chat").click()
    expect(page.get_by_test_id("answer")).to_have_count(0)
    sidebar.get_by_role("button", name=re.compile("^Water deliveries")).click()
    expect(page.get_by_role("heading", name="Water deliveries")).to_be_visible()
    answer = page.get_by_test_id("answer").last
    answer.locator(".source-chip", has_text=MEMO.name).first.click()
    expect(panel.get_by_test_id("source-filename")).to_have_text(MEMO.name)

    page.screenshot(path=str(screenshots / "chat-light.png"))

    # The same screens in dark mode and at phone width.
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(screenshots / "chat-dark.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "chat-dark-phone.png"))
    page.emulate_media(color_scheme="light")
    page.screenshot(path=str(screenshots / "chat-light-phone.png"))
    go_to(page, "Documents")
    expect(library_row(page, MEMO.name)).to_be_visible()
    page.screenshot(path=str(screenshots / "documents-light-phone.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(screenshots / "documents-dark.png"), full_page=True)

    # Signing out forgets the key.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_reader_finds_no_upload_control(page, web_tenant):  # type: ignore[no-untyped-def]
    _, reader_key = web_tenant.create_key("reader")
    sign_in(page, web_tenant.url, reader_key)
    expect(page.get_by_test_id("role")).to_have_text("reader")
    go_to(page, "Documents")
    expect(page.get_by_role("heading", name="Library")).to_be_visible()
    expect(page.get_by_text("uploading needs a member or admin key")).to_be_visible()
    expect(page.get_by_role("button", name="Choose files")).to_have_count(0)
    expect(page.get_by_test_id("file-input")).to_have_count(0)
    expect(page.get_by_role("link", name="Keys")).to_have_count(0)


def test_revoked_key_lands_back_on_sign_in(page, web_tenant):  # type: ignore[no-untyped-def]
    key_id, member_key = web_tenant.create_key("member")
    sign_in(page, web_tenant.url, member_key)
    expect(page.get_by_test_id("role")).to_have_text("member")

    web_tenant.revoke_key(key_id)
    go_to(page, "Documents")
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("revoked")
    assert page.evaluate("sessionStorage.length") == 0

    # Signing in again with the revoked key is refused on the spot.
    page.get_by_label("API key").fill(member_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("banner")).to_have_count(0)


def test_broken_upload_shows_failed_with_its_reason(page, web_tenant, screenshots):  # type: ignore[no-untyped-def]
    sign_in(page, web_tenant.url, web_tenant.admin_key)
    go_to(page, "Documents")
    drop(page, BROKEN)
    item = upload_item(page, BROKEN.name)
    expect(item).to_have_attribute("data-phase", "failed", timeout=INGEST_TIMEOUT_MS)
    expect(item.get_by_role("alert")).not_to_be_empty()

    row = library_row(page, BROKEN.name)
    expect(row).to_have_attribute("data-status", "failed", timeout=10_000)
    expect(row.get_by_test_id("doc-error")).to_have_text(re.compile(r"\w+"))
    page.screenshot(path=str(screenshots / "documents-failed.png"), full_page=True)

    # Delete asks for confirmation first.
    row.get_by_role("button", name=f"Delete {BROKEN.name}").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(BROKEN.name)
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


def test_admin_creates_a_key_shown_once_and_revokes_it(page, web_tenant, screenshots):  # type: ignore[no-untyped-def]
    sign_in(page, web_tenant.url, web_tenant.admin_key)
    expect(page.get_by_test_id("role")).to_have_text("admin")
    go_to(page, "Keys")
    page.get_by_role("textbox", name="Name", exact=True).fill("night shift")
    page.get_by_role("combobox", name="Role", exact=True).select_option("reader")
    page.get_by_role("button", name="Create key").click()

    notice = page.get_by_test_id("new-key")
    secret = notice.get_by_label("New API key").input_value()
    assert len(secret) >= 16
    expect(notice.get_by_role("button", name="Copy")).to_be_visible()
    page.screenshot(path=str(screenshots / "keys-light.png"), full_page=True)
    notice.get_by_role("button", name="I have saved it").click()
    expect(notice).to_have_count(0)
    expect(page.get_by_text(secret)).to_have_count(0)

    row = page.get_by_test_id("key-table").locator("tr", has_text="night shift")
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Revoke night shift").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")
