"""`python -m services.llm --host H --port P`: the llama.cpp chat server of the cpu profile.

Flags override the LLAMACPP_* environment (services/llm/config.py): LLAMACPP_MODEL (GGUF path or file
name in /models/gguf; empty = bundled SmolLM2), LLAMACPP_ALIAS (served model name), LLAMACPP_N_CTX,
LLAMACPP_THREADS and LLAMACPP_API_KEY.
"""

from __future__ import annotations

import argparse
import os
import sys

from services.llm import llama_server_argv, resolve_gguf
from services.llm.config import LlamaCppSettings


def _parser(settings: LlamaCppSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.llm", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--model", default=settings.model)
    parser.add_argument("--alias", default=settings.alias)
    parser.add_argument("--n-ctx", type=int, default=settings.n_ctx)
    parser.add_argument("--threads", type=int, default=settings.threads)
    parser.add_argument(
        "--print-argv", action="store_true", help="print the llama_cpp.server command and exit"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = LlamaCppSettings()
    args = _parser(settings).parse_args(argv)
    key = settings.api_key.get_secret_value()
    server = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        *llama_server_argv(
            resolve_gguf(args.model), args.alias, args.host, args.port, args.n_ctx, args.threads, key
        ),
    ]
    if args.print_argv:
        print(" ".join("***" if key and a == key else a for a in server))
        return 0
    os.execv(sys.executable, server)  # the server becomes PID 1's process: signals reach it directly


if __name__ == "__main__":
    sys.exit(main())
