"""nDCG@10 and recall@100 on BEIR SciFact through /v1/search, after ingesting the corpus via the API.

    python bench/beir.py [--split test|train] [--data-dir DIR]

Tune on --split train, report on --split test.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import embedded_api, ensure_scifact_index, load_queries


def ndcg_at(ranked: list[str], rel: dict[str, int], k: int) -> float:
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], rel: dict[str, int], k: int) -> float:
    return len(set(ranked[:k]) & set(rel)) / len(rel)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test", choices=["test", "train"])
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/enclave-bench-scifact"))
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument(
        "--document-weight", type=float, default=None, help="override ENCLAVE_SEARCH_DOCUMENT_WEIGHT"
    )
    args = ap.parse_args()
    overrides = {} if args.document_weight is None else {"search_document_weight": args.document_weight}

    key = ensure_scifact_index(args.data_dir)
    queries, qrels = load_queries(args.split)
    ndcgs, recalls = [], []
    t0 = time.perf_counter()
    with embedded_api(args.data_dir, **overrides) as (http, rt):
        h = {"Authorization": f"Bearer {key}"}
        for qid, text in queries.items():
            r = http.post(
                "/v1/search", headers=h, json={"query": text, "collection": "scifact", "top_k": args.top_k}
            )
            r.raise_for_status()
            ranked = list(dict.fromkeys(hit["external_id"] for hit in r.json()["results"]))
            ndcgs.append(ndcg_at(ranked, qrels[qid], 10))
            recalls.append(recall_at(ranked, qrels[qid], 100))
    out = {
        "split": args.split,
        "document_weight": rt.settings.search_document_weight,
        "queries": len(queries),
        "ndcg@10": round(sum(ndcgs) / len(ndcgs), 4),
        "recall@100": round(sum(recalls) / len(recalls), 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
