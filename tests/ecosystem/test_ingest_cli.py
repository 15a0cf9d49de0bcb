"""`enclave ingest` on a folder of 30 files (three of them broken) against a running `enclave serve`:
interrupted halfway with Ctrl-C, run again, and every file ends up exactly once in the catalog."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from tests.ecosystem.conftest import TenantKeys
from tests.support import DOCS, REPO

GOOD = [
    "fake-text.txt",
    "fake-memo.pdf",
    "fake.docx",
    "codeblock.md",
    "sample-README.md",
    "sample-README.rst",
    "simple-table.md",
    "stanley-cups.csv",
    "stanley-cups.tsv",
    "semicolon-delimited.csv",
    "csv-with-escaped-commas.csv",
    "simple.json",
    "fake-email.eml",
    "fake-html-cp1252.html",
    "ideas-page.html",
    "factbook.xml",
    "fake-text-utf-16.txt",
    "docx-tables.docx",
    "page-breaks.docx",
    "fake-power-point.pptx",
    "stanley-cups.xlsx",
    "umlauts-non-utf8.md",
    "table-multi-row-column-cells-actual.csv",
    "example-steelJIS-datasheet.html",
    "mime-html-only.eml",
    "fake-email-attachment.eml",
    "stanley-cups-with-emoji.tsv",
]
BROKEN = {"password.pdf": "password", "empty.txt": "empty", "password_protected.xlsx": "password"}


def _share(tmp_path: Path) -> Path:
    """The folder to load: 27 good files, 3 broken ones, some in a subfolder, and a hidden file."""
    share = tmp_path / "share"
    (share / "sub").mkdir(parents=True)
    for i, name in enumerate([*GOOD, *BROKEN]):
        shutil.copy(DOCS / name, share / ("sub" if i % 3 == 0 else "") / name)
    (share / ".DS_Store").write_bytes(b"not a document")
    return share


def _cli(tenant: TenantKeys, *args: str) -> list[str]:
    return [sys.executable, "-m", "boot.cli", "ingest", *args, "--url", tenant.url]


def _env(key: str) -> dict[str, str]:
    # COLUMNS: wide enough that rich does not fold the long temporary paths in the failed-files table.
    return {
        **os.environ,
        "ENCLAVE_API_KEY": key,
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "250",
    }


def _catalog(tenant: TenantKeys, collection: str) -> list[dict]:
    r = httpx.get(
        f"{tenant.url}/v1/documents",
        params={"collection": collection, "limit": 500},
        headers={"Authorization": f"Bearer {tenant.member_key}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()["documents"]


def _interrupted_run(tenant: TenantKeys, share: Path, collection: str) -> int:
    """Starts a run, presses Ctrl-C once a few documents are in the catalog; returns how many were."""
    proc = subprocess.Popen(
        _cli(tenant, str(share), "--collection", collection, "--concurrency", "1", "--json"),
        env=_env(tenant.member_key),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_catalog(tenant, collection)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err.decode()
    assert b"run the same command again to resume" in err
    return len(_catalog(tenant, collection))


def test_an_interrupted_ingest_resumes_and_lists_the_broken_files(
    fresh_tenant: TenantKeys, tmp_path: Path
) -> None:
    share, collection = _share(tmp_path), f"bulk-{uuid.uuid4().hex[:6]}"
    before = _interrupted_run(fresh_tenant, share, collection)
    assert 0 < before < 30, f"the first run should stop halfway, but {before} documents were in"

    again = subprocess.run(
        _cli(fresh_tenant, str(share), "--collection", collection, "--concurrency", "3", "--json"),
        env=_env(fresh_tenant.member_key),
        cwd=REPO,
        capture_output=True,
        timeout=900,
    )
    report = json.loads(again.stdout)
    failed = {Path(f["path"]).name: f["reason"] for f in report["files"] if f["status"] == "failed"}
    assert set(failed) == set(BROKEN), again.stderr.decode()[-2000:]
    assert all(word in failed[name].lower() for name, word in BROKEN.items())
    assert again.returncode == 1  # only because of the broken files: everything else is ready
    assert report["summary"]["ready"] == 27 and report["summary"]["skipped"] >= before
    assert report["summary"]["files"] == 30  # the hidden file is not loaded

    docs = _catalog(fresh_tenant, collection)
    shas = sorted(d["sha256"] for d in docs)
    wanted = sorted(hashlib.sha256((DOCS / n).read_bytes()).hexdigest() for n in [*GOOD, *BROKEN])
    assert shas == wanted  # every file exactly once


def test_a_rerun_sends_nothing_and_prints_the_failed_files_table(
    fresh_tenant: TenantKeys, tmp_path: Path
) -> None:
    share, collection = tmp_path / "few", f"few-{uuid.uuid4().hex[:6]}"
    share.mkdir()
    for name in ("fake-text.txt", "empty.txt", "codeblock.md"):
        shutil.copy(DOCS / name, share / name)
    args = _cli(
        fresh_tenant, str(share), "--collection", collection, "--exclude", "*.md", "--metadata", "team=ops"
    )
    first = subprocess.run(
        args, env=_env(fresh_tenant.member_key), cwd=REPO, capture_output=True, timeout=300
    )
    out = first.stdout.decode()
    assert first.returncode == 1 and "Failed files" in out and "empty.txt" in out, first.stderr.decode()
    second = subprocess.run(
        [*args, "--json"], env=_env(fresh_tenant.member_key), cwd=REPO, capture_output=True
    )
    report = json.loads(second.stdout)
    assert second.returncode == 1
    assert (report["summary"]["skipped"], report["summary"]["uploaded"]) == (2, 0)  # nothing sent again
    docs = _catalog(fresh_tenant, collection)
    assert sorted(d["filename"] for d in docs) == ["empty.txt", "fake-text.txt"]
    assert all(d["metadata"] == {"team": "ops"} for d in docs)


def test_usage_and_connection_errors_exit_2(fresh_tenant: TenantKeys, tmp_path: Path) -> None:
    no_key = subprocess.run(
        _cli(fresh_tenant, str(tmp_path)),
        env={**_env(""), "ENCLAVE_API_KEY": ""},
        cwd=REPO,
        capture_output=True,
    )
    assert no_key.returncode == 2 and b"ENCLAVE_API_KEY" in no_key.stderr
    (tmp_path / "a.txt").write_text("hello")
    bad_key = subprocess.run(
        _cli(fresh_tenant, str(tmp_path)), env=_env("enc_nope_nope"), cwd=REPO, capture_output=True
    )
    assert bad_key.returncode == 2 and b"The API key is not valid." in bad_key.stderr
    down = subprocess.run(
        [
            sys.executable,
            "-m",
            "boot.cli",
            "ingest",
            str(tmp_path),
            "--url",
            "http://127.0.0.1:9",
            "--retries",
            "0",
        ],
        env=_env(fresh_tenant.member_key),
        cwd=REPO,
        capture_output=True,
    )
    assert down.returncode == 2 and b"Could not reach Enclave" in down.stderr
