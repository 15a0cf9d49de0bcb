"""Parsing in child processes with hard limits: no file is ever parsed in the process that serves HTTP or
runs the queue.

A pool of long-lived parser processes (`python -m ingest.parser_pool`, fresh interpreters that share
nothing with the parent's threads or models, and that a Celery worker process may start too — a
daemonic multiprocessing child may not). Each document is sent to one child over a socket pair, and the
child streams back its windows of blocks; meanwhile the parent enforces, per document:

- memory: the child's resident set is watched and the child killed past `max_memory_mb`; an address-space
  limit (`RLIMIT_AS`, a multiple of it) stops a runaway allocation even between two looks;
- time: parsing wall-clock time (the time the parent waits for the child) past `timeout_s`, and CPU time
  past the same through `RLIMIT_CPU`.

A child over a limit is killed (SIGKILL) and reaped, a fresh one takes its place, and the document fails
with a sentence naming the limit (`ParseLimitExceeded`, a DocumentError). A child that dies on its own
(a segfault in a native parser, the kernel's OOM killer) raises `ParserCrashed`: the retry policy retries
it, and the lifecycle retires the document after a few such crashes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.guards import GuardLimits
from ingest.parse import DocumentError, OcrOptions, Window, explain, open_document

POLL_S = 0.2
STARTUP_S = 120
AS_FACTOR = 4  # address space may be this many times the RSS limit (mappings are larger than use)


@dataclass(frozen=True)
class ParseLimits:
    max_memory_mb: int
    timeout_s: float
    max_pages: int
    guards: GuardLimits
    ocr: OcrOptions = field(default_factory=OcrOptions)  # Tesseract runs in the child, under these limits


class ParseLimitExceeded(DocumentError):
    """The document needs more memory or time to parse than the settings allow."""


class ParserCrashed(Exception):
    """The parser process died without reporting why (a native crash, or killed from outside)."""


# --- the child ---------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _child(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a child ends
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the parent is gone
            return
        if job is None:
            return
        path, media_type, limits = job
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        used = int(cpu.ru_utime + cpu.ru_stime)
        resource.setrlimit(resource.RLIMIT_CPU, (used + int(limits.timeout_s) + 1, resource.RLIM_INFINITY))
        limit_as = limits.max_memory_mb * AS_FACTOR * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, resource.RLIM_INFINITY))
        try:
            pages, windows = open_document(
                Path(path), media_type, limits.max_pages, limits=limits.guards, ocr=limits.ocr
            )
            conn.send(("pages", pages))
            for window in windows:
                conn.send(("window", window))
            conn.send(("end", None))
        except MemoryError:
            conn.send(("memory", None))
            os._exit(3)  # the heap may be in any state; start afresh
        except DocumentError as exc:
            conn.send(("document", str(exc)))
        except Exception as exc:  # a parser failure we did not foresee: the file's, with a sentence
            conn.send(("document", explain(exc, media_type)))


# --- the parent ------------------------------------------------------------------------------------------


class _Worker:
    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.parser_pool", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(mine.detach())
        # Importing the parsers takes seconds; that start-up is not the first document's parsing time.
        try:
            started = self.conn.poll(STARTUP_S) and self.conn.recv() == ("ready", None)
        except (EOFError, OSError):
            started = False
        if not started:
            self.kill()
            raise ParserCrashed(f"a parser process did not start (within {STARTUP_S} s)")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exitcode(self) -> int | None:
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self.conn.close()


class ParserPool:
    """At most `size` documents parse at once, each in its own child process."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._slots = threading.BoundedSemaphore(self.size)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def _checkout(self) -> _Worker:
        self._slots.acquire()
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    return w
                w.kill()
        try:
            return _Worker()
        except BaseException:
            self._slots.release()
            raise

    def _checkin(self, w: _Worker, healthy: bool) -> None:
        with self._lock:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(w)
        if not keep:
            w.kill()
        self._slots.release()

    def parse(self, path: Path, media_type: str, limits: ParseLimits) -> tuple[int | None, Iterator[Window]]:
        """The page count and the document's windows, parsed in a child under `limits`."""
        w = self._checkout()
        try:
            w.conn.send((str(path), media_type, limits))
            run = _Run(w, limits)
            pages = run.expect("pages")
        except BaseException as exc:
            self._checkin(w, healthy=_child_fine(exc))
            raise
        return pages, self._windows(w, run)

    def _windows(self, w: _Worker, run: _Run) -> Iterator[Window]:
        healthy = False
        try:
            while (item := run.next()) is not None:
                yield item
            healthy = True
        except BaseException as exc:
            healthy = _child_fine(exc)
            raise
        finally:  # stopped early (deleted, failed downstream) or over a limit: the child is not reusable
            self._checkin(w, healthy=healthy)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for w in idle:
            w.kill()


class _Run:
    """One document's messages from its child, with the limits enforced while waiting for each."""

    def __init__(self, w: _Worker, limits: ParseLimits) -> None:
        self.w, self.limits = w, limits
        self.waited = 0.0

    def _receive(self) -> tuple[str, Any]:
        while not self.w.conn.poll(POLL_S):
            self.waited += POLL_S
            if not self.w.alive():
                self._died()
            self._check_memory()
            if self.waited > self.limits.timeout_s:
                self._over("time")
        try:
            message = self.w.conn.recv()
        except (EOFError, OSError):
            self._died()
            raise  # unreachable: _died raises
        self._check_memory()  # also between messages that came quicker than one poll
        return message

    def _check_memory(self) -> None:
        if _rss_mb(self.w.pid) > self.limits.max_memory_mb:
            self._over("memory")

    def _died(self) -> None:
        code = self.w.exitcode()
        if code == -signal.SIGXCPU:
            self._over("time")
        raise ParserCrashed(f"the parser process died ({_exit_reason(code)})")

    def _over(self, which: str) -> None:
        self.w.kill()
        if which == "memory":
            raise ParseLimitExceeded(
                f"Parsing this file needed more than {self.limits.max_memory_mb} MB of memory "
                "(ENCLAVE_PARSE_MAX_MEMORY_MB). Split it into smaller files, or raise the setting."
            )
        raise ParseLimitExceeded(
            f"Parsing this file took longer than {self.limits.timeout_s:.0f} s (ENCLAVE_PARSE_TIMEOUT_S). "
            "Split it into smaller files, or raise the setting."
        )

    def expect(self, kind: str) -> Any:
        got, value = self._receive()
        self._raise_for(got, value)
        if got != kind:
            raise ParserCrashed(f"the parser process answered {got!r} out of turn")
        return value

    def next(self) -> Window | None:
        got, value = self._receive()
        self._raise_for(got, value)
        return value if got == "window" else None

    def _raise_for(self, got: str, value: Any) -> None:
        if got == "document":
            raise DocumentError(value)
        if got == "memory":
            self._over("memory")


def _child_fine(exc: BaseException) -> bool:
    """The child reported the file's own problem and waits for the next one: it can be reused."""
    return isinstance(exc, DocumentError) and not isinstance(exc, ParseLimitExceeded)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


_pool: ParserPool | None = None
_pool_lock = threading.Lock()


def shared_pool(size: int) -> ParserPool:
    """This process's parser pool (its size fixed by the first caller); closed at exit."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ParserPool(size)
            atexit.register(_pool.close)
        return _pool


def _serve(fd: int) -> None:
    """A parser child's main: warm the parsers' imports, then take documents until told to stop."""
    from ingest.parse import _configure_unstructured

    _configure_unstructured()
    # Paid once per child, before its first document.
    import unstructured.partition.auto
    import unstructured.partition.pdf  # noqa: F401

    conn = Connection(fd)
    conn.send(("ready", None))
    _child(conn)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
