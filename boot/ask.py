"""`enclave ask "question"`: a streamed answer from a running Enclave, then the sources it cites."""

from __future__ import annotations

import argparse
import sys

from boot.bulk_ingest import UsageError, api_key_from_env, default_url
from enclave_client import Answer, APIError, ConnectionFailed, EnclaveClient


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="what to ask, in quotes")
    p.add_argument("--collection", help="answer only from this collection")
    p.add_argument("--url", help="the Enclave to ask (default $ENCLAVE_URL or the local serve port)")
    p.add_argument("--max-tokens", type=int, default=None, help="longest answer, in tokens")


def _citations(answer: Answer) -> str:
    lines = []
    for c in answer.citations:
        page = f", page {c.page}" if c.page is not None else ""
        lines.append(f"[{c.index}] {c.filename}{page}  (document {c.document_id})")
    return "\n".join(lines) if lines else "(no sources cited)"


def main(args: argparse.Namespace) -> int:
    try:
        key = api_key_from_env()
        url = args.url or default_url()
    except UsageError as exc:
        print(f"enclave ask: {exc}", file=sys.stderr)
        return 2
    answer: Answer | None = None
    try:
        with EnclaveClient(url, key) as client:
            for event in client.ask_stream(args.question, args.collection, max_tokens=args.max_tokens):
                if event.text:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                if event.answer is not None:
                    answer = event.answer
    except ConnectionFailed as exc:
        print(f"\nenclave ask: {exc}", file=sys.stderr)
        return 2
    except APIError as exc:
        print(f"\nenclave ask: {exc.detail}", file=sys.stderr)
        return 2 if exc.status in (401, 403) else 1
    print()
    if answer is None:
        print("enclave ask: the answer ended before its citations arrived.", file=sys.stderr)
        return 1
    print("\nSources:\n" + _citations(answer))
    return 0
