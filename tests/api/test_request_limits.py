"""Request bodies against a real `enclave serve` (uvicorn, raw sockets): a request without a valid key is
refused before its body is read, and an endless chunked body is cut off at the route's limit."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import OPERATOR_KEY, free_port, kill_group, start, wait_http

LIMIT_MB = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    data = tmp_path_factory.mktemp("limits")
    port = free_port()
    env = {
        "ENCLAVE_OPERATOR_KEY": OPERATOR_KEY,
        "ENCLAVE_MAX_UPLOAD_REQUEST_MB": str(LIMIT_MB),
        "ENCLAVE_MAX_RECORDS_REQUEST_MB": str(LIMIT_MB),
    }
    proc = start(
        [
            "-m",
            "boot.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data / "d"),
        ],
        env,
        data / "serve.log",
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=180, proc=proc)
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/admin/tenants",
            json={"name": "limits"},
            headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
        )
        yield "127.0.0.1", port, r.json()["admin_key"]
    finally:
        kill_group(proc)


def _endless_chunked(host: str, port: int, path: str, key: str | None, max_mb: int = 64) -> tuple[str, int]:
    """Sends a chunked body of up to max_mb MB (bounded); returns the status line the server answered
    with and how many body bytes were sent before it did."""
    s = socket.create_connection((host, port), timeout=30)
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    s.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
            "Content-Type: multipart/form-data; boundary=xyz\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    head = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
    chunk = b"a" * (256 * 1024)
    sent = 0
    s.setblocking(False)
    try:
        for i in range(max_mb * 4):
            part = head if i == 0 else chunk
            frame = f"{len(part):x}\r\n".encode() + part + b"\r\n"
            s.setblocking(True)
            s.settimeout(10)
            s.sendall(frame)
            sent += len(part)
            s.setblocking(False)
            try:
                if s.recv(1, socket.MSG_PEEK):
                    break  # the server answered
            except BlockingIOError:
                pass
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.setblocking(True)
    s.settimeout(30)
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            got = s.recv(65536)
            if not got:
                break
            answer += got
    except (ConnectionResetError, TimeoutError):
        pass
    s.close()
    return answer.split(b"\r\n", 1)[0].decode(errors="replace"), sent


def test_a_body_without_a_key_is_refused_before_it_is_read(server: tuple[str, int, str]) -> None:
    host, port, _ = server
    status, sent = _endless_chunked(host, port, "/v1/documents", None)
    assert " 401 " in status + " ", status
    assert sent < 8 * 1024 * 1024, f"{sent} bytes went in before the refusal"


def test_a_wrong_key_is_refused_before_the_body_is_read(server: tuple[str, int, str]) -> None:
    host, port, _ = server
    status, sent = _endless_chunked(host, port, "/v1/documents", "enc_nope_nope")
    assert " 401 " in status + " ", status
    assert sent < 8 * 1024 * 1024


def test_an_endless_chunked_upload_is_cut_off_at_the_limit(server: tuple[str, int, str]) -> None:
    host, port, key = server
    status, sent = _endless_chunked(host, port, "/v1/documents", key)
    assert " 413 " in status + " ", status
    # What went in before the answer: the limit plus what socket buffers hold, far from the 64 MB offered.
    assert sent < (LIMIT_MB + 8) * 1024 * 1024, sent
    time.sleep(0.5)
    r = httpx.get(f"http://{host}:{port}/v1/documents", headers={"Authorization": f"Bearer {key}"})
    assert r.json()["total"] == 0  # nothing was stored


def test_a_declared_length_over_the_limit_is_refused_at_once(server: tuple[str, int, str]) -> None:
    host, port, key = server
    body = json.dumps([{"title": "x", "text": "y" * 1000}])
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(
        (
            f"POST /v1/documents/text HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {LIMIT_MB * 1024 * 1024 + 1}\r\n\r\n{body}"
        ).encode()
    )
    answer = b""
    while b"ENCLAVE_MAX_RECORDS_REQUEST_MB" not in answer:  # headers and body may come in two reads
        got = s.recv(65536)
        if not got:
            break
        answer += got
    s.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"ENCLAVE_MAX_RECORDS_REQUEST_MB" in answer


def test_a_request_within_the_limits_still_works(server: tuple[str, int, str]) -> None:
    host, port, key = server
    r = httpx.post(
        f"http://{host}:{port}/v1/documents",
        headers={"Authorization": f"Bearer {key}"},
        files={"files": ("small.txt", b"The ferry leaves at six.")},
    )
    assert r.status_code == 202, r.text
