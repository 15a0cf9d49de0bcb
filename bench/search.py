"""/v1/search latency (p50/p95) and throughput at concurrency 1 and 16 over the SciFact index, beside the
raw in-process embed + index query time of the same queries, in the same run.

    python bench/search.py [--data-dir DIR] [--queries N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OPERATOR, REPO, ensure_scifact_index, load_queries, percentile


def raw_times(data_dir: Path, queries: list[str]) -> list[float]:
    from enclave.runtime import Runtime
    from enclave.search.service import ranked_chunks
    from enclave.settings import Settings
    from enclave.tenancy.access import vector_filter

    rt = Runtime(Settings(data_dir=data_dir))
    try:
        key = (data_dir / "bench-key.txt").read_text().strip()
        principal = rt.keys.authenticate(key)
        # The raw path: sentence-transformers' own encode, then the index query, no gateway in between.
        model, idx, sparse = rt.embedder.model, rt.index, rt.sparse
        for q in queries[:10]:
            model.encode([q], normalize_embeddings=True)
        out = []
        for q in queries:
            t0 = time.perf_counter()
            vec = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)[0]
            ranked_chunks(
                idx,
                vec.tolist(),
                sparse.encode_query(q),
                vector_filter(principal, "scifact"),
                limit=10,
                candidates=rt.settings.search_candidates,
                document_weight=rt.settings.search_document_weight,
            )
            out.append(time.perf_counter() - t0)
        return out
    finally:
        rt.close()


def http_run(url: str, key: str, queries: list[str], concurrency: int) -> tuple[list[float], float]:
    h = {"Authorization": f"Bearer {key}"}
    with httpx.Client(
        base_url=url, headers=h, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as c:
        for q in queries[:10]:
            c.post("/v1/search", json={"query": q, "collection": "scifact"}).raise_for_status()

        def one(q: str) -> float:
            t0 = time.perf_counter()
            c.post("/v1/search", json={"query": q, "collection": "scifact", "top_k": 10}).raise_for_status()
            return time.perf_counter() - t0

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            lat = list(pool.map(one, queries))
        return lat, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/enclave-bench-scifact"))
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    key = ensure_scifact_index(args.data_dir)
    queries = list(load_queries("test")[0].values())[: args.queries]

    raw = raw_times(args.data_dir, queries)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "ENCLAVE_OPERATOR_KEY": OPERATOR,
        "ENCLAVE_RATE_LIMIT_PER_MINUTE": "0",
        "HF_HUB_OFFLINE": "1",
        "ENCLAVE_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "enclave.cli", "serve", "--port", str(port), "--data-dir", str(args.data_dir)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        results = {
            "raw_p50_ms": round(percentile(raw, 50) * 1000, 2),
            "raw_p95_ms": round(percentile(raw, 95) * 1000, 2),
        }
        for conc in (1, 16):
            lat, wall = http_run(url, key, queries, conc)
            results[f"c{conc}_p50_ms"] = round(percentile(lat, 50) * 1000, 2)
            results[f"c{conc}_p95_ms"] = round(percentile(lat, 95) * 1000, 2)
            results[f"c{conc}_rps"] = round(len(queries) / wall, 1)
        results["gateway_overhead_c1_p50"] = round(results["c1_p50_ms"] / results["raw_p50_ms"] - 1, 3)
        print(json.dumps(results))
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
