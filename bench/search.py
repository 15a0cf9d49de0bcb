"""/v1/search latency (p50/p95) and throughput at concurrency 1 and 16 over the SciFact index, beside the
raw in-process embed + index query time of the same queries, interleaved with them in the same run.

    python bench/search.py [--data-dir DIR] [--queries N] [--fusion MODE] [--access]

--access: document ACLs and single sign-on on (bench/search_access.py); the overhead in ms is the figure
to compare with a run without it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OPERATOR, REPO, ensure_scifact_index, load_queries, percentile
from bench.search_access import AccessSetup


class RawPath:
    """The raw in-process path on a copy of the index: sentence-transformers' own encode, then the same
    index query the search service makes (chunks and documents), no gateway in between."""

    def __init__(self, data_dir: Path, fusion: str | None = None, access: AccessSetup | None = None) -> None:
        from boot.assembly import Mode, build_runtime
        from enclave.settings import Settings
        from enclave.tenancy.access import vector_filter

        self.copy = Path(tempfile.mkdtemp(prefix="enclave-bench-raw-"))
        shutil.copytree(data_dir, self.copy, dirs_exist_ok=True)  # the server opens the original
        overrides = {"search_fusion": fusion} if fusion else {}
        overrides |= access.settings if access else {}
        self.rt = build_runtime(Settings(data_dir=self.copy, **overrides), Mode.EMBEDDED)
        key = (data_dir / "bench-key.txt").read_text().strip()
        caller = self.rt.auth.authenticate(access.token if access else key)
        self.access = vector_filter(caller, "scifact")
        self.model = self.rt.embedder.model
        self.rt.index.ping()

    def __call__(self, q: str) -> float:
        from enclave.search.service import ranked_chunks

        t0 = time.perf_counter()
        vec = self.model.encode([q], normalize_embeddings=True, convert_to_numpy=True)[0]
        ranked_chunks(
            self.rt.index,
            vec.tolist(),
            self.rt.sparse.encode_query(q),
            self.access,
            limit=10,
            candidates=self.rt.settings.search_candidates,
            document_weight=self.rt.settings.search_document_weight,
            fusion=self.rt.settings.search_fusion,
        )
        return time.perf_counter() - t0

    def close(self) -> None:
        self.rt.close()
        shutil.rmtree(self.copy, ignore_errors=True)


class Client:
    """One keep-alive connection (stdlib http.client: a thin client, so the figure is the gateway's
    latency rather than an HTTP library's)."""

    def __init__(self, url: str, key: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(self, q: str) -> None:
        body = json.dumps({"query": q, "collection": "scifact", "top_k": 10})
        self.conn.request("POST", "/v1/search", body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"/v1/search answered {resp.status}: {data[:200]!r}")

    def timed(self, q: str) -> float:
        t0 = time.perf_counter()
        self.post(q)
        return time.perf_counter() - t0


def http_run(url: str, key: str, queries: list[str], concurrency: int) -> tuple[list[float], float]:
    local = threading.local()

    def one(q: str) -> float:
        if not hasattr(local, "client"):
            local.client = Client(url, key)
        return local.client.timed(q)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        lat = list(pool.map(one, queries))
    return lat, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/enclave-bench-scifact"))
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument(
        "--fusion", default=None, help="ENCLAVE_SEARCH_FUSION for this run (default: the setting)"
    )
    ap.add_argument(
        "--access",
        action="store_true",
        help="document ACLs and single sign-on on: the caller is an OIDC user (bench/search_access.py)",
    )
    args = ap.parse_args()
    key = ensure_scifact_index(args.data_dir)
    queries = list(load_queries("test")[0].values())[: args.queries]

    access = AccessSetup() if args.access else None
    data_dir = access.prepare(args.data_dir) if access else args.data_dir
    raw_path = RawPath(data_dir, args.fusion, access)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "ENCLAVE_OPERATOR_KEY": OPERATOR,
        "ENCLAVE_RATE_LIMIT_PER_MINUTE": "0",
        "HF_HUB_OFFLINE": "1",
        "ENCLAVE_LOG_LEVEL": "WARNING",
        **({"ENCLAVE_SEARCH_FUSION": args.fusion} if args.fusion else {}),
        **(access.env if access else {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "boot.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)],
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
        # Concurrency 1: each query goes the raw way and through the gateway, alternating which goes
        # first, so both see the same machine at the same moment.
        # With --access the caller is the OIDC user (its token); the same user's API key is timed too,
        # over the same ACL filter.
        credential = access.token if access else key
        one = Client(url, credential)
        by_key = Client(url, access.user_key) if access else None
        for q in queries[:10]:
            raw_path(q)
            one.post(q)
            if by_key:
                by_key.post(q)
        raw, lat, lat_key = [], [], []
        t0 = time.perf_counter()
        for i, q in enumerate(queries):
            if i % 2:
                raw.append(raw_path(q))
                lat.append(one.timed(q))
            else:
                lat.append(one.timed(q))
                raw.append(raw_path(q))
            if by_key:
                lat_key.append(by_key.timed(q))
        wall = time.perf_counter() - t0 - sum(raw) - sum(lat_key)
        raw_path.close()
        results = {
            "raw_p50_ms": round(percentile(raw, 50) * 1000, 2),
            "raw_p95_ms": round(percentile(raw, 95) * 1000, 2),
            "c1_p50_ms": round(percentile(lat, 50) * 1000, 2),
            "c1_p95_ms": round(percentile(lat, 95) * 1000, 2),
            "c1_rps": round(len(queries) / wall, 1),
        }
        for conc in (16,):
            lat, wall = http_run(url, credential, queries, conc)
            results[f"c{conc}_p50_ms"] = round(percentile(lat, 50) * 1000, 2)
            results[f"c{conc}_p95_ms"] = round(percentile(lat, 95) * 1000, 2)
            results[f"c{conc}_rps"] = round(len(queries) / wall, 1)
        results["gateway_overhead_c1_p50"] = round(results["c1_p50_ms"] / results["raw_p50_ms"] - 1, 3)
        results["gateway_overhead_c1_ms"] = round(results["c1_p50_ms"] - results["raw_p50_ms"], 2)
        if lat_key:
            results["c1_user_key_p50_ms"] = round(percentile(lat_key, 50) * 1000, 2)
            results["user_key_overhead_c1_ms"] = round(
                results["c1_user_key_p50_ms"] - results["raw_p50_ms"], 2
            )
        print(json.dumps(results))
    finally:
        proc.terminate()
        proc.wait(30)
        if access:
            access.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
