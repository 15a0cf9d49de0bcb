"""One evaluation run: nDCG@10 and recall@100 through /v1/search for every fusion (dense alone, sparse alone,
the old RRF, the adaptive fusion) on SciFact test, the MS MARCO subset's test half and any BEIR folder
given, plus SEC 10-Q context recall@5/@10 (bench/qa_eval.py), each method chosen per request on one index.

    python bench/retrieval.py [--beir DIR ...] [--split test] [--no-sec]

Each set is ingested once through the API into its own embedded Enclave (kept under /tmp/enclave-bench-NAME
and reused). The adaptive fusion's constants were fit on the train queries (bench/fusion_tuning.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.beir import ndcg_at, recall_at
from bench.common import BeirSet, beir_set, default_sets, embedded_api, load_queries

METHODS = ("dense", "sparse", "rrf", "adaptive")


def evaluate_set(s: BeirSet, split: str, top_k: int = 100) -> dict[str, Any]:
    """Every method's mean nDCG@10 and recall@100 over the split's queries, through /v1/search."""
    key = s.ensure_index()
    queries, qrels = load_queries(split, s.root)
    out: dict[str, Any] = {"queries": len(queries)}
    with embedded_api(s.data_dir) as (http, _rt):
        h = {"Authorization": f"Bearer {key}"}
        for method in METHODS:
            ndcgs, recalls = [], []
            for qid, text in queries.items():
                body = {"query": text, "collection": s.collection, "top_k": top_k, "fusion": method}
                r = http.post("/v1/search", headers=h, json=body)
                r.raise_for_status()
                ranked = list(dict.fromkeys(hit["external_id"] for hit in r.json()["results"]))
                ndcgs.append(ndcg_at(ranked, qrels[qid], 10))
                recalls.append(recall_at(ranked, qrels[qid], 100))
            out[method] = {
                "ndcg@10": round(sum(ndcgs) / len(ndcgs), 4),
                "recall@100": round(sum(recalls) / len(recalls), 4),
            }
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--beir", type=Path, action="append", default=[], help="another BEIR-format folder")
    ap.add_argument("--split", default="test", help="qrels/<split>.tsv of every set (report on test)")
    ap.add_argument("--no-sec", action="store_true", help="skip the SEC 10-Q context recall")
    ap.add_argument("--sec-data-dir", type=Path, default=Path("/tmp/enclave-bench-sec"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    report: dict[str, Any] = {"split": args.split}
    for s in default_sets() + [beir_set(p) for p in args.beir]:
        report[s.name] = evaluate_set(s, args.split)
        print(json.dumps({s.name: report[s.name]}), flush=True)
    if not args.no_sec:
        from bench.qa_eval import sec_context_recall

        recall = sec_context_recall(args.sec_data_dir, METHODS)
        report["sec-10q"] = recall
        print(json.dumps({"sec-10q": report["sec-10q"]}), flush=True)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
