"""Test support: starting real processes, waiting for them, and a small API client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ENCLAVE_SHARED_DATA", REPO.parent / "shared" / "data"))
DOCS = SHARED_DATA / "docs"
OPERATOR_KEY = "test-operator-key-not-a-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(pred: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def wait_http(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        return httpx.get(url, timeout=2).status_code < 500

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if up():
                return
        except RuntimeError:
            raise
        except Exception:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    full = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1", **env}
    fh = log.open("ab")
    return subprocess.Popen(
        [sys.executable, *args],
        env=full,
        cwd=REPO,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


class Api:
    """Speaks to a gateway (TestClient or a real URL) with one API key."""

    def __init__(self, http: Any, key: str | None) -> None:
        self.http = http
        self.key = key

    def with_key(self, key: str | None) -> Api:
        return Api(self.http, key)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def create_tenant(self, name: str) -> dict[str, Any]:
        r = self.http.post(
            "/v1/admin/tenants", json={"name": name}, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
        )
        assert r.status_code == 201, r.text
        return r.json()

    def create_key(self, role: str, name: str = "") -> dict[str, Any]:
        r = self.post("/v1/keys", json={"name": name or role, "role": role})
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, *paths: Path, collection: str | None = None, **form: str) -> list[dict[str, Any]]:
        files = [("files", (p.name, p.read_bytes())) for p in paths]
        data = {**form, **({"collection": collection} if collection else {})}
        r = self.post("/v1/documents", files=files, data=data)
        assert r.status_code == 202, r.text
        return r.json()["documents"]

    def upload_text(self, text: str, title: str = "", **extra: Any) -> dict[str, Any]:
        r = self.post("/v1/documents/text", json={"text": text, "title": title, **extra})
        assert r.status_code == 202, r.text
        return r.json()

    def search(self, query: str, **extra: Any) -> list[dict[str, Any]]:
        r = self.post("/v1/search", json={"query": query, **extra})
        assert r.status_code == 200, r.text
        return r.json()["results"]

    def wait_done(self, doc_ids: list[str], timeout: float = 300) -> dict[str, dict[str, Any]]:
        """Polls until every document is ready or failed; returns them by id."""
        done: dict[str, dict[str, Any]] = {}

        def all_done() -> bool:
            for d in doc_ids:
                if d in done:
                    continue
                r = self.get(f"/v1/documents/{d}")
                assert r.status_code == 200, r.text
                if r.json()["status"] in ("ready", "failed"):
                    done[d] = r.json()
            return len(done) == len(doc_ids)

        wait_until(all_done, timeout, f"{len(doc_ids)} documents to finish", interval=0.5)
        return done
