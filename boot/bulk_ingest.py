"""`enclave ingest PATH...`: loads files and folders into a running Enclave over its REST API.

Uploads run with bounded concurrency; files whose bytes are already in the collection (same SHA-256, the
server's own duplicate rule) are not sent again, so a rerun after Ctrl-C or a crash resumes where the
last one stopped. Transient errors are retried by the client. The run waits until every document is
ready or failed, and exits 0 only if all are ready (1: some failed, 2: usage or connection error).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from boot.ingest_progress import Bars, FileResult, Report, print_report
from boot.interrupt import run_interruptible
from enclave_client import APIError, AsyncEnclaveClient, ConnectionFailed, Document, RetryPolicy

DEFAULT_COLLECTION = "default"
POLL_S = 1.0
LIST_WHEN_MORE_THAN = 50  # pending documents above which one listing beats a GET per document


class UsageError(Exception):
    """The command line cannot work as given; the message says what to change."""


@dataclass(frozen=True)
class IngestOptions:
    paths: list[Path]
    url: str
    api_key: str
    collection: str = DEFAULT_COLLECTION
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 4
    retries: int = 4
    wait: bool = True
    timeout_s: float = 3600.0
    as_json: bool = False


def default_url() -> str:
    """$ENCLAVE_URL, else where `enclave serve` listens on this machine."""
    if url := os.environ.get("ENCLAVE_URL"):
        return url
    from enclave.settings import get_settings

    return f"http://127.0.0.1:{get_settings().port}"


def api_key_from_env() -> str:
    key = os.environ.get("ENCLAVE_API_KEY", "").strip()
    if not key:
        raise UsageError("Set ENCLAVE_API_KEY to an API key of your tenant (member or admin) and run again.")
    return key


def parse_metadata(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--metadata takes key=value, e.g. --metadata department=legal; got {pair!r}.")
        out[key.strip()] = value
    return out


def _wanted(rel: str, name: str, include: list[str], exclude: list[str]) -> bool:
    def hit(patterns: list[str]) -> bool:
        return any(fnmatch(rel, p) or fnmatch(name, p) for p in patterns)

    return (not include or hit(include)) and not hit(exclude)


def discover(paths: list[Path], include: list[str], exclude: list[str]) -> list[Path]:
    """The files to load: files as named, folders walked (hidden entries skipped), filtered by the globs
    (matched against the path below the folder and against the file name)."""
    found: dict[Path, None] = {}
    for root in paths:
        if not root.exists():
            raise UsageError(f"{root} does not exist; name files or folders to load.")
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            candidates = [
                (p, p.relative_to(root).as_posix())
                for p in sorted(root.rglob("*"))
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            ]
        for path, rel in candidates:
            if _wanted(rel, path.name, include, exclude):
                found.setdefault(path, None)
    return list(found)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _settle(result: FileResult, doc: Document) -> None:
    result.document_id = doc.id
    if doc.done:
        result.outcome, result.reason = doc.status, doc.error if doc.status == "failed" else None
    elif result.outcome == "pending":
        result.outcome = "uploaded"


async def _plan(client: AsyncEnclaveClient, opts: IngestOptions, files: list[Path]) -> Report:
    """Hashes the files and marks those whose bytes the collection already holds."""
    report = Report(opts.url, opts.collection)
    for path in files:
        sha = await asyncio.to_thread(sha256_of, path)
        report.files.append(FileResult(str(path), path.stat().st_size, sha))
    existing = {d.sha256: d for d in await client.all_documents(opts.collection)}
    for r in report.files:
        if (doc := existing.get(r.sha256)) is not None:
            r.skipped = True
            _settle(r, doc)
    return report


async def _upload_one(client: AsyncEnclaveClient, opts: IngestOptions, r: FileResult) -> None:
    try:
        docs = await client.upload_file(Path(r.path), opts.collection, opts.metadata or None)
    except APIError as exc:
        if exc.status in (401, 403):
            raise  # the key cannot upload at all: stop the whole run
        r.outcome, r.reason = "failed", exc.detail
        return
    except OSError as exc:
        r.outcome, r.reason = "failed", f"Could not read the file: {exc.strerror or exc}."
        return
    r.skipped = docs[0].duplicate
    _settle(r, docs[0])


async def _upload(client: AsyncEnclaveClient, opts: IngestOptions, report: Report, bars: Bars) -> None:
    todo = [r for r in report.files if r.document_id is None]
    first: dict[str, FileResult] = {}
    for r in todo:
        first.setdefault(r.sha256, r)  # the same bytes twice in one run are sent once
    unique = list(first.values())
    bars.add("files", "files uploaded", len(unique), "files")
    bars.add("bytes", "bytes uploaded", sum(r.size for r in unique) or 1, "bytes")
    gate = asyncio.Semaphore(max(1, opts.concurrency))

    async def one(r: FileResult) -> None:
        async with gate:
            await _upload_one(client, opts, r)
        bars.advance("files")
        bars.advance("bytes", r.size)

    await asyncio.gather(*(one(r) for r in unique))
    for r in todo:
        if r is not first[r.sha256]:
            src = first[r.sha256]
            r.document_id, r.outcome, r.reason, r.skipped = src.document_id, src.outcome, src.reason, True


async def _statuses(client: AsyncEnclaveClient, collection: str, ids: list[str]) -> list[Document]:
    if len(ids) > LIST_WHEN_MORE_THAN:
        wanted = set(ids)
        return [d for d in await client.all_documents(collection) if d.id in wanted]
    return list(await asyncio.gather(*(client.get_document(i) for i in ids)))


async def _wait(client: AsyncEnclaveClient, opts: IngestOptions, report: Report, bars: Bars) -> None:
    tracked = [r for r in report.files if r.document_id]
    by_id: dict[str, list[FileResult]] = {}
    for r in tracked:
        by_id.setdefault(str(r.document_id), []).append(r)
    bars.add("docs", "documents ready", len(tracked) or 1, "docs")
    deadline = time.monotonic() + opts.timeout_s
    while True:
        pending = [i for i, rs in by_id.items() if not rs[0].done]
        if pending:
            for doc in await _statuses(client, opts.collection, pending):
                for r in by_id.get(doc.id, []):
                    _settle(r, doc)
        ready, failed = report.count("ready"), sum(1 for r in tracked if r.outcome == "failed")
        bars.set("docs", ready + failed, f"ready {ready} / failed {failed}")
        if all(r.done for r in tracked):
            return
        if time.monotonic() > deadline:
            for r in tracked:
                if not r.done:
                    r.reason = f"Still processing after {opts.timeout_s:.0f}s; run again later to check."
            return
        await asyncio.sleep(POLL_S)


async def ingest(opts: IngestOptions) -> Report:
    started = time.monotonic()
    files = discover(opts.paths, opts.include, opts.exclude)
    if not files:
        raise UsageError("No files matched; check the paths and the --include/--exclude globs.")
    retry = RetryPolicy(attempts=opts.retries + 1)
    async with AsyncEnclaveClient(opts.url, opts.api_key, retry=retry, timeout=600) as client:
        await client.me()  # a wrong key or URL fails here, before any work
        with Bars(enabled=not opts.as_json) as bars:
            report = await _plan(client, opts, files)
            skipped = sum(1 for r in report.files if r.skipped)
            bars.note(f"{len(files)} files, {skipped} already in '{opts.collection}'")
            await _upload(client, opts, report, bars)
            if opts.wait:
                await _wait(client, opts, report, bars)
    report.seconds = time.monotonic() - started
    return report


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files and folders to load")
    p.add_argument("--collection", default=DEFAULT_COLLECTION, help="collection to load into")
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="only matching files")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip matching files")
    p.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE", help="on every document")
    p.add_argument("--url", help="the Enclave to load into (default $ENCLAVE_URL or the local serve port)")
    p.add_argument("--concurrency", type=int, default=4, help="uploads in flight at once")
    p.add_argument("--retries", type=int, default=4, help="retries of a transient error per request")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for processing")
    p.add_argument("--no-wait", action="store_true", help="stop after the uploads")
    p.add_argument("--json", action="store_true", help="print machine-readable results instead of bars")


def main(args: argparse.Namespace) -> int:
    try:
        opts = IngestOptions(
            paths=args.paths,
            url=args.url or default_url(),
            api_key=api_key_from_env(),
            collection=args.collection,
            include=args.include,
            exclude=args.exclude,
            metadata=parse_metadata(args.metadata),
            concurrency=args.concurrency,
            retries=max(0, args.retries),
            wait=not args.no_wait,
            timeout_s=args.timeout,
            as_json=args.json,
        )
        report = run_interruptible(ingest(opts))
    except UsageError as exc:
        print(f"enclave ingest: {exc}", file=sys.stderr)
        return 2
    except (ConnectionFailed, APIError) as exc:
        print(
            f"enclave ingest: {exc} Nothing more was sent; run the same command again to resume.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("\nenclave ingest: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    print_report(report, opts.as_json)
    return report.exit_code
