"""`python -m services.llm --host H --port P`: the llama.cpp chat server of the cpu profile.

Settings come from LLAMACPP_MODEL (GGUF path or file name in /models/gguf; empty = bundled SmolLM2),
LLAMACPP_ALIAS (served model name), LLAMACPP_N_CTX, LLAMACPP_THREADS and LLAMACPP_API_KEY.
"""

from __future__ import annotations

import argparse
import os
import sys

from services.llm import llama_server_argv, resolve_gguf


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m services.llm", description=__doc__)
    parser.add_argument("--host", default=env("LLAMACPP_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("LLAMACPP_PORT", "8000")))
    parser.add_argument("--model", default=env("LLAMACPP_MODEL", ""))
    parser.add_argument("--alias", default=env("LLAMACPP_ALIAS", "smollm2"))
    parser.add_argument("--n-ctx", type=int, default=int(env("LLAMACPP_N_CTX", "8192")))
    parser.add_argument("--threads", type=int, default=int(env("LLAMACPP_THREADS", "0")))
    parser.add_argument(
        "--print-argv", action="store_true", help="print the llama_cpp.server command and exit"
    )
    args = parser.parse_args(argv)
    server = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        *llama_server_argv(
            resolve_gguf(args.model),
            args.alias,
            args.host,
            args.port,
            args.n_ctx,
            args.threads,
            env("LLAMACPP_API_KEY", ""),
        ),
    ]
    if args.print_argv:
        key = env("LLAMACPP_API_KEY", "")
        print(" ".join("***" if key and a == key else a for a in server))
        return 0
    os.execv(sys.executable, server)  # the server becomes PID 1's process: signals reach it directly


if __name__ == "__main__":
    sys.exit(main())
