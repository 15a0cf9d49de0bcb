"""RAG evaluation on the Docugami SEC 10-Q set: 20 PDFs ingested through the API, 195 questions.

Reports context recall@5 and @10 (a gold source file among the retrieved chunks' documents) overall and by
question type, and, for --answers N questions, answer metrics with whatever LLM is configured
(token F1 against the reference answer, and whether the answer cites a gold file).

    python bench/qa_eval.py [--answers 20] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATA, admin_key, embedded_api

QA = DATA / "qa" / "docugami-sec-10-q"


def load_questions() -> list[dict[str, str]]:
    with (QA / "qna_data.csv").open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def gold(filename: str, pattern: str) -> bool:
    return any(fnmatch.fnmatch(filename, p.strip()) for p in pattern.split(","))


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9$%.]+", text.lower())


def f1(pred: str, ref: str) -> float:
    p, r = tokens(pred), tokens(ref.split("SOURCE(S):")[0])
    common = sum(min(p.count(t), r.count(t)) for t in set(p))
    if not p or not r or not common:
        return 0.0
    prec, rec = common / len(p), common / len(r)
    return 2 * prec * rec / (prec + rec)


def ingest_sec(http: Any, h: dict[str, str], data_dir: Path) -> None:
    """Uploads the 20 filings once (a marker file remembers) and waits until each is ready or failed."""
    if (data_dir / "sec.done").exists():
        return
    t0 = time.perf_counter()
    for pdf in sorted((QA / "docs").glob("*.pdf")):
        r = http.post(
            "/v1/documents",
            headers=h,
            files=[("files", (pdf.name, pdf.read_bytes()))],
            data={"collection": "sec"},
        )
        r.raise_for_status()
    while True:
        page = http.get("/v1/documents", headers=h, params={"collection": "sec", "limit": 50}).json()
        if all(d["status"] in ("ready", "failed") for d in page["documents"]):
            break
        time.sleep(1)
    (data_dir / "sec.done").write_text(f"{time.perf_counter() - t0:.1f}\n")


def context_recall(
    http: Any, h: dict[str, str], questions: list[dict[str, str]], fusion: str | None = None
) -> dict[str, dict[str, float]]:
    """Recall@5/@10 of a gold source file among the documents of the top chunks, overall and by type."""
    by_type: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for q in questions:
        body: dict[str, Any] = {"query": q["Question"], "collection": "sec", "top_k": 10}
        if fusion:
            body["fusion"] = fusion
        r = http.post("/v1/search", headers=h, json=body)
        r.raise_for_status()
        files = [hit["filename"] for hit in r.json()["results"]]
        hit5 = any(gold(f, q["Source Docs"]) for f in files[:5])
        hit10 = any(gold(f, q["Source Docs"]) for f in files[:10])
        by_type[q["Question Type"]].append((hit5, hit10))
        by_type["overall"].append((hit5, hit10))
    return {
        t: {
            "n": len(v),
            "recall@5": round(sum(a for a, _ in v) / len(v), 3),
            "recall@10": round(sum(b for _, b in v) / len(v), 3),
        }
        for t, v in by_type.items()
    }


def sec_context_recall(data_dir: Path, fusions: tuple[str, ...]) -> dict[str, dict[str, dict[str, float]]]:
    """Context recall for each fusion on one embedded Enclave under data_dir (ingesting the filings the
    first time)."""
    with embedded_api(data_dir) as (http, _rt):
        h = {"Authorization": f"Bearer {admin_key(http, data_dir)}"}
        ingest_sec(http, h, data_dir)
        questions = load_questions()
        return {f: context_recall(http, h, questions, f) for f in fusions}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/enclave-bench-sec"))
    ap.add_argument("--answers", type=int, default=20, help="questions answered by the LLM (0: none)")
    ap.add_argument(
        "--document-weight", type=float, default=None, help="override ENCLAVE_SEARCH_DOCUMENT_WEIGHT"
    )
    ap.add_argument("--fusion", default=None, help="dense | sparse | rrf | adaptive (default: the setting)")
    args = ap.parse_args()
    questions = load_questions()
    overrides = {} if args.document_weight is None else {"search_document_weight": args.document_weight}
    with embedded_api(args.data_dir, **overrides) as (http, rt):
        key = admin_key(http, args.data_dir)
        h = {"Authorization": f"Bearer {key}"}
        ingest_sec(http, h, args.data_dir)
        recall = context_recall(http, h, questions, args.fusion)
        answers = []
        for q in questions[: args.answers]:
            t1 = time.perf_counter()
            r = http.post(
                "/v1/chat/completions",
                headers=h,
                json={
                    "model": "enclave:sec",
                    "messages": [{"role": "user", "content": q["Question"]}],
                    "max_tokens": 200,
                    "temperature": 0,
                },
            )
            if r.status_code != 200:
                answers.append({"error": r.status_code})
                continue
            body = r.json()
            text = body["choices"][0]["message"]["content"]
            answers.append(
                {
                    "f1": f1(text, q["Answer"]),
                    "cites_gold": any(gold(c["filename"], q["Source Docs"]) for c in body["citations"]),
                    "seconds": time.perf_counter() - t1,
                }
            )
    ok = [a for a in answers if "f1" in a]
    out = {
        "document_weight": rt.settings.search_document_weight,
        "fusion": args.fusion or rt.settings.search_fusion,
        "context_recall": recall,
        "answers": {
            "n": len(answers),
            "errors": len(answers) - len(ok),
            "token_f1": round(sum(a["f1"] for a in ok) / len(ok), 3) if ok else None,
            "cites_gold_source": round(sum(a["cites_gold"] for a in ok) / len(ok), 3) if ok else None,
            "mean_seconds": round(sum(a["seconds"] for a in ok) / len(ok), 2) if ok else None,
        },
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
