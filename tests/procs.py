"""Real processes for tests: free ports, the embedder service and the llama.cpp server on loopback.

Plain functions and context managers, so any test module can use them without fixture magic:

    with embedder_process() as server:
        httpx.post(f"{server.url}/v1/embeddings", json={"input": "hi"})
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def offline_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "DO_NOT_TRACK": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Server:
    url: str  # base URL without /v1, e.g. http://127.0.0.1:41234
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""


def wait_ready(
    url: str,
    timeout_s: float = 120.0,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Poll `url` until it answers 200; fail early with the server's log if the process died."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            log = log_path.read_text(errors="replace")[-4000:] if log_path else ""
            raise RuntimeError(f"server exited with {proc.returncode} before {url} was ready:\n{log}")
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}"
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f}s (last: {last})")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def running(
    cmd: Sequence[str],
    port: int,
    ready_path: str,
    env: dict[str, str] | None = None,
    timeout_s: float = 120.0,
) -> Iterator[Server]:
    """Start `cmd` (which must listen on 127.0.0.1:`port`), wait for `ready_path`, stop it afterwards."""
    with tempfile.NamedTemporaryFile(prefix="enclave-proc-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            list(cmd), cwd=REPO, env=env or offline_env(), stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", port, proc, log_path)
    try:
        wait_ready(server.url + ready_path, timeout_s, proc, log_path)
        yield server
    finally:
        stop(proc)
        log_path.unlink(missing_ok=True)


def embedder_cmd(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "services.embedder", "--host", "127.0.0.1", "--port", str(port), *args]


@contextmanager
def embedder_process(
    *args: str, port: int | None = None, env: dict[str, str] | None = None, timeout_s: float = 120.0
) -> Iterator[Server]:
    """The embedder service (bundled MiniLM unless `--model` is passed) as a real process."""
    port = port or free_port()
    with running(embedder_cmd(port, *args), port, "/v1/health/ready", offline_env(env), timeout_s) as s:
        yield s


def bundled_gguf() -> Path:
    from services.llm import bundled_gguf as find

    return find()


@contextmanager
def llama_server(
    model: Path | None = None,
    alias: str = "smollm2",
    n_ctx: int = 2048,
    port: int | None = None,
    timeout_s: float = 120.0,
) -> Iterator[Server]:
    """`python -m llama_cpp.server` with the bundled SmolLM2 GGUF (or `model`) on loopback."""
    from services.llm import llama_server_argv

    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        *llama_server_argv(model or bundled_gguf(), alias, "127.0.0.1", port, n_ctx=n_ctx),
    ]
    with running(cmd, port, "/v1/models", offline_env(), timeout_s) as s:
        yield s
