"""`python -m services.embedder --host H --port P`: flags override the EMBEDDER_* environment."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from services.embedder.config import EmbedderSettings

_FLAGS = (
    "model",
    "served_name",
    "rerank_model",
    "rerank_served_name",
    "cache_dir",
    "device",
    "max_batch",
    "max_wait_ms",
    "batch_size",
    "max_seq_length",
    "torch_threads",
    "log_level",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.embedder", description=__doc__)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    for name in _FLAGS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name)
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    settings = EmbedderSettings(**overrides)

    import uvicorn

    from enclave import tracing
    from services.embedder.app import create_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    tracing.configure_tracing("embedder")  # only with OTEL_EXPORTER_OTLP_ENDPOINT set
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
