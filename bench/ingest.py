"""Ingestion throughput (chunks/s) through embedded mode vs raw SentenceTransformer.encode of the same
chunks, in the same run; plus the peak memory of ingesting the largest shared documents.

    python bench/ingest.py [--limit N] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, admin_key, embedded_api, ingest_corpus, load_corpus

BIG_FILES = ["pdf2image-memory-error-test-400p.pdf", "handbook-872p.docx"]


def chunk_texts(docs) -> list[str]:  # type: ignore[no-untyped-def]
    from enclave.settings import Settings
    from ingest.chunk import Block, Chunker

    s = Settings()
    chunker = Chunker(s.chunk_chars, s.chunk_overlap, s.chunk_min_chars)
    out = []
    for d in docs:
        blocks = ([Block(d.title, None, is_title=True)] if d.title else []) + [Block(d.text, None)]
        out += [c.embedding_text(d.title or None) for c in chunker.chunks(blocks)]
    return out


def raw_encode(texts: list[str], batch: int) -> float:
    from sentence_transformers import SentenceTransformer

    from enclave.inference.embeddings import bundled_model_path

    model = SentenceTransformer(bundled_model_path(), device="cpu")
    model.encode(texts[:64], batch_size=batch)  # warm up
    t0 = time.perf_counter()
    model.encode(texts, batch_size=batch, normalize_embeddings=True)
    return time.perf_counter() - t0


def memory_of_one(name: str) -> dict:
    """Ingest one file in a fresh embedded process; report the peak RSS of that process (the server, which
    parses nothing), of its parser child, and of the whole tree (sampled every 0.2 s)."""
    code = f"""
import json, os, sys, threading, time
from pathlib import Path

def status(pid, field):  # KiB
    try:
        for line in open(f"/proc/{{pid}}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0

def children():
    me = os.getpid()
    out = []
    for e in Path("/proc").iterdir():
        if e.name.isdigit():
            try:
                if int((e / "stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                    out.append(int(e.name))
            except OSError:
                pass
    return out

tree = {{"peak": 0, "child_peak": 0}}
stop = threading.Event()
def sample():
    while not stop.wait(0.2):
        kids = children()
        tree["peak"] = max(tree["peak"], status("self", "VmRSS") + sum(status(k, "VmRSS") for k in kids))
        tree["child_peak"] = max([tree["child_peak"]] + [status(k, "VmHWM") for k in kids])

sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from bench.common import embedded_api, admin_key, DATA
import tempfile
d = Path(tempfile.mkdtemp())
with embedded_api(d) as (http, rt):
    rt.embedder.embed_query("warm up")
    idle = status("self", "VmHWM")
    threading.Thread(target=sample, daemon=True).start()
    key = admin_key(http, d)
    h = {{"Authorization": "Bearer " + key}}
    p = DATA / "docs" / {name!r}
    t0 = time.perf_counter()
    doc = http.post("/v1/documents", headers=h, files=[("files", (p.name, p.read_bytes()))]).json()["documents"][0]
    while True:
        cur = http.get("/v1/documents/" + doc["id"], headers=h).json()
        if cur["status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    stop.set()
    print(json.dumps({{"file": p.name, "status": cur["status"], "pages": cur["pages"], "chunks": cur["chunks"],
                      "seconds": round(time.perf_counter() - t0, 1), "idle_rss_mib": round(idle / 1024),
                      "server_peak_rss_mib": round(status("self", "VmHWM") / 1024),
                      "parser_peak_rss_mib": round(tree["child_peak"] / 1024),
                      "tree_peak_rss_mib": round(tree["peak"] / 1024)}}))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="first N SciFact documents (default: all)")
    ap.add_argument("--threads", type=int, default=None, help="ingestion threads (default: the setting's)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true")
    args = ap.parse_args()

    if args.memory_only:
        for name in BIG_FILES:
            print(json.dumps(memory_of_one(name)))
        return 0
    docs = load_corpus(args.limit)
    texts = chunk_texts(docs)
    raw_s = raw_encode(texts, batch=64)

    with (
        tempfile.TemporaryDirectory() as tmp,
        embedded_api(Path(tmp), **({"ingest_threads": args.threads} if args.threads else {})) as (http, rt),
    ):
        rt.embedder.embed_query("warm up")
        key = admin_key(http, Path(tmp))
        ingest_s = ingest_corpus(http, key, docs)
        chunks = sum(
            d.chunks or 0
            for d in rt.documents.list(rt.keys.authenticate(key), collection="scifact", limit=len(docs) + 10)[
                0
            ]
        )
    assert chunks == len(texts), (chunks, len(texts))
    result = {
        "documents": len(docs),
        "chunks": chunks,
        "raw_encode_chunks_per_s": round(len(texts) / raw_s, 1),
        "ingest_chunks_per_s": round(chunks / ingest_s, 1),
        "ratio": round((chunks / ingest_s) / (len(texts) / raw_s), 3),
        "bench_process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result))
    if not args.skip_memory:
        for name in BIG_FILES:
            print(json.dumps(memory_of_one(name)))
    _ = DATA
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
