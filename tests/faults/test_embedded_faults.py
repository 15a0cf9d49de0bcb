"""Faults of the embedded server: the process killed mid-upload and restarted, and the storage volume
full. Nothing half-written becomes a document, nothing queued is lost, and the next upload works."""

from __future__ import annotations

import errno
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from enclave.documents.storage import FileStorage
from tests.faults.record import record
from tests.support import OPERATOR_KEY, Api, free_port, kill_group, start, wait_http


def _serve(data: Path, port: int, log: Path) -> Any:
    args = ["-m", "boot.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)]
    proc = start(args, {"ENCLAVE_OPERATOR_KEY": OPERATOR_KEY}, log)
    wait_http(f"http://127.0.0.1:{port}/healthz", timeout=180, proc=proc)
    return proc


def _ledger(i: int) -> dict[str, str]:
    return {"title": f"ledger {i}", "text": f"Ledger {i}: the mill ground {i} sacks of flour. " * 40}


@pytest.mark.timeout(600)
def test_the_server_killed_mid_upload_restarts_with_nothing_lost_or_half_written(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    proc = _serve(data, port, tmp_path / "serve1.log")
    url = f"http://127.0.0.1:{port}"
    try:
        key = httpx.post(
            f"{url}/v1/admin/tenants",
            json={"name": "restart"},
            headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        ).json()["admin_key"]
        h = {"Authorization": f"Bearer {key}"}
        queued = httpx.post(
            f"{url}/v1/documents/text", json=[_ledger(i) for i in range(40)], headers=h, timeout=60
        )
        ids = [d["id"] for d in queued.json()["documents"]]
        # An upload in flight: headers and half of a multipart body, then the server dies.
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(
            (
                f"POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000\r\n\r\n"
                '--b\r\nContent-Disposition: form-data; name="files"; filename="half.txt"\r\n\r\n'
            ).encode()
            + b"x" * 2_000_000
        )
        time.sleep(0.5)
        kill_group(proc, signal.SIGKILL)
        s.close()
        t0 = time.monotonic()
        proc = _serve(data, port, tmp_path / "serve2.log")
        api = Api(httpx.Client(base_url=url, timeout=60), key)
        done = api.wait_done(ids, timeout=300)
        recovery = time.monotonic() - t0
        page = api.get("/v1/documents", params={"limit": 500}).json()
        names = [d["filename"] for d in page["documents"]]
        lost = sum(1 for d in done.values() if d["status"] != "ready")
        dup = len(names) - len(set(names))
        record("gateway (embedded server) killed mid-upload", len(ids) + 1, lost, dup, recovery, "embedded")
        assert lost == 0 and dup == 0
        assert "half.txt" not in names and page["total"] == len(ids)  # the cut upload left no document
        assert not list((data / "files" / "tmp").iterdir())  # nor a staged file
        after = api.upload_text("After the restart: the weir was cleared.", title="weir")
        assert api.wait_done([after["id"]])[after["id"]]["status"] == "ready"
    finally:
        kill_group(proc)


def test_a_full_storage_volume_refuses_the_upload_with_a_reason_and_keeps_nothing(
    tenant: Api, embedded: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC raised at the storage layer (named so: no small filesystem can be mounted here)."""
    real_stage = FileStorage.stage
    full = {"on": True}

    def stage(self: FileStorage, chunks: Any, max_bytes: int) -> Any:
        if not full["on"]:
            return real_stage(self, chunks, max_bytes)

        def filling() -> Any:  # the disk fills up after the first megabyte
            for i, c in enumerate(chunks):
                if i >= 1:
                    raise OSError(errno.ENOSPC, "No space left on device")
                yield c

        return real_stage(self, filling(), max_bytes)

    monkeypatch.setattr(FileStorage, "stage", stage)
    r = tenant.post("/v1/documents", files=[("files", ("big.txt", b"tide tables " * 300_000))])
    assert (
        r.status_code == 507 and "full" in r.json()["detail"] and "nothing was stored" in r.json()["detail"]
    )
    rt = embedded.runtime  # type: ignore[attr-defined]
    assert not list((rt.storage.root / "tmp").iterdir())
    assert tenant.get("/v1/documents").json()["total"] == 0
    full["on"] = False  # space freed
    ok = tenant.post("/v1/documents", files=[("files", ("tides.txt", b"High tide at 6:40 on the quay."))])
    assert ok.status_code == 202
    doc = ok.json()["documents"][0]["id"]
    assert tenant.wait_done([doc])[doc]["status"] == "ready"
    record("storage volume full (ENOSPC at the storage layer)", 1, 0, 0, 0.0, "embedded")
