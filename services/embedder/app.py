"""The HTTP surface: OpenAI `/v1/embeddings`, NIM `/v1/ranking`, models, health and Prometheus metrics."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from enclave.inference.batching import DynamicBatcher
from services.embedder.config import EmbedderSettings
from services.embedder.encoder import Embedded, Encoder, Ranker, load_encoder, load_ranker, resolve_device
from services.embedder.metrics import Metrics

log = logging.getLogger("services.embedder")
TRUNCATED_HEADER = "X-Truncated-Inputs"


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


class EmbeddingRequest(BaseModel):
    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["query", "passage"] = "passage"
    truncate: Literal["NONE", "END"] = "END"
    dimensions: int | None = None
    user: str | None = None


class TextItem(BaseModel):
    text: str


class RankingRequest(BaseModel):
    model: str | None = None
    query: TextItem
    passages: list[TextItem]
    truncate: Literal["NONE", "END"] = "END"


class Runtime:
    """What the app serves once the models are loaded (in a thread, so /health/live answers at once)."""

    def __init__(self, settings: EmbedderSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.encoder: Encoder | None = None
        self.ranker: Ranker | None = None
        self.embed_batcher: DynamicBatcher[str, Embedded] | None = None
        self.rank_batcher: DynamicBatcher[tuple[str, str], float] | None = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.rerank_name = settings.rerank_served_name or (
            settings.rerank_model.rstrip("/").rsplit("/", 1)[-1] if settings.rerank_model else ""
        )

    def load(self) -> None:
        s = self.settings
        try:
            if s.torch_threads:
                import torch

                torch.set_num_threads(s.torch_threads)
            device = resolve_device(s.device)
            self.encoder = load_encoder(s.model, s.cache_dir, device, s.batch_size, s.max_seq_length, s.fp16)
            self.embed_batcher = DynamicBatcher(
                self.encoder.encode,
                s.max_batch,
                s.max_wait_ms,
                "embed",
                on_batch=self.metrics.batch_observer(s.served_name),
            )
            if s.rerank_model:
                self.ranker = load_ranker(s.rerank_model, s.cache_dir, device, s.batch_size or 32, s.fp16)
                self.rank_batcher = DynamicBatcher(
                    self.ranker.score,
                    s.max_batch,
                    s.max_wait_ms,
                    "rank",
                    on_batch=self.metrics.batch_observer(self.rerank_name),
                )
            log.info("embedder ready: %s on %s (dimension %d)", s.served_name, device, self.encoder.dimension)
            self.ready.set()
        except Exception as exc:
            log.exception("loading the models failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        for b in (self.embed_batcher, self.rank_batcher):
            if b is not None:
                b.close()
        if self.encoder is not None:
            self.encoder.close()


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def _texts(req: EmbeddingRequest) -> list[str]:
    texts = [req.input] if isinstance(req.input, str) else list(req.input)
    if not texts:
        raise ApiError(400, "'input' is empty: send a non-empty string or a non-empty list of strings.")
    for i, t in enumerate(texts):
        if not t.strip():
            where = "'input'" if isinstance(req.input, str) else f"'input[{i}]'"
            raise ApiError(400, f"{where} is an empty string: every input needs some text to embed.")
    return texts


def _encode_vector(vector: Any, fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.tolist()


def create_app(settings: EmbedderSettings | None = None) -> FastAPI:
    settings = settings or EmbedderSettings()
    metrics = Metrics()
    rt = Runtime(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=rt.load, name="load-models", daemon=True).start()
        yield
        rt.close()

    app = FastAPI(title="Enclave embedder", lifespan=lifespan)
    app.state.runtime = rt

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.kind)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()]
        return _error(400, "Invalid request: " + "; ".join(parts))

    @app.middleware("http")
    async def count_and_authorize(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        protected = key and path.startswith("/v1/") and not path.startswith("/v1/health")
        if protected and request.headers.get("authorization", "") != f"Bearer {key}":
            response: Response = _error(
                401,
                "Missing or wrong API key: send 'Authorization: Bearer <key>'.",
                "authentication_error",
            )
            metrics.requests.labels(path, "401").inc()
            return response
        response = await call_next(request)
        if path != "/metrics":
            metrics.requests.labels(path, str(response.status_code)).inc()
        return response

    def require_ready() -> None:
        if not rt.ready.is_set():
            raise ApiError(
                503, rt.error or "The model is still loading; retry in a few seconds.", "service_unavailable"
            )

    def check_model(requested: str | None, served: str) -> None:
        if requested and requested != served:
            raise ApiError(
                404,
                f"Model {requested!r} is not served here; this service serves {served!r}.",
                "model_not_found",
            )

    @app.post("/v1/embeddings")
    async def embeddings(req: EmbeddingRequest) -> Response:
        require_ready()
        check_model(req.model, settings.served_name)
        texts = _texts(req)
        if len(texts) > settings.max_inputs:
            raise ApiError(
                400,
                f"{len(texts)} inputs in one request; the limit is {settings.max_inputs}. Split the request.",
            )
        if req.dimensions is not None and req.dimensions != rt.encoder.dimension:  # type: ignore[union-attr]
            raise ApiError(
                400,
                f"This model gives {rt.encoder.dimension}-dimensional vectors; "  # type: ignore[union-attr]
                f"'dimensions'={req.dimensions} is not supported.",
            )
        prefix = settings.query_prefix if req.input_type == "query" else settings.passage_prefix
        if prefix:
            texts = [prefix + t for t in texts]
        results = await rt.embed_batcher.asubmit(texts)  # type: ignore[union-attr]
        truncated = sum(r.truncated for r in results)
        if truncated and req.truncate == "NONE":
            raise ApiError(
                400,
                f"{truncated} input(s) exceed the model's limit of "
                f"{rt.encoder.max_seq_length} tokens and truncate is NONE; "  # type: ignore[union-attr]
                "shorten them or send truncate END.",
            )
        metrics.inputs.labels(settings.served_name).inc(len(results))
        metrics.truncated.labels(settings.served_name).inc(truncated)
        tokens = sum(r.tokens for r in results)
        body = {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": _encode_vector(r.vector, req.encoding_format),
                }
                for i, r in enumerate(results)
            ],
            "model": settings.served_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "truncated_inputs": truncated},
        }
        return JSONResponse(body, headers={TRUNCATED_HEADER: str(truncated)})

    @app.post("/v1/ranking")
    async def ranking(req: RankingRequest) -> Response:
        if not settings.rerank_model:
            raise ApiError(
                404,
                "No reranking model is configured on this embedder: set EMBEDDER_RERANK_MODEL "
                "to a CrossEncoder folder or hub name to enable /v1/ranking.",
                "model_not_found",
            )
        require_ready()
        check_model(req.model, rt.rerank_name)
        if not req.query.text.strip() or not req.passages:
            raise ApiError(400, "Send a non-empty 'query.text' and at least one passage.")
        if len(req.passages) > settings.max_inputs:
            raise ApiError(
                400, f"{len(req.passages)} passages in one request; the limit is {settings.max_inputs}."
            )
        pairs = [(req.query.text, p.text) for p in req.passages]
        logits = await rt.rank_batcher.asubmit(pairs)  # type: ignore[union-attr]
        metrics.inputs.labels(rt.rerank_name).inc(len(pairs))
        order = sorted(range(len(logits)), key=lambda i: -logits[i])
        return JSONResponse({"rankings": [{"index": i, "logit": logits[i]} for i in order]})

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        created = int(time.time())
        data = [
            {
                "id": settings.served_name,
                "object": "model",
                "created": created,
                "owned_by": "enclave",
                "type": "embedding",
                "dimension": rt.encoder.dimension if rt.encoder else None,
            }
        ]
        if settings.rerank_model:
            data.append(
                {
                    "id": rt.rerank_name,
                    "object": "model",
                    "created": created,
                    "owned_by": "enclave",
                    "type": "ranking",
                }
            )
        return {"object": "list", "data": data}

    @app.get("/v1/health/live")
    async def live() -> Response:
        if rt.error:
            return _error(503, rt.error, "service_unavailable")
        return JSONResponse({"status": "live"})

    @app.get("/v1/health/ready")
    async def ready() -> Response:
        if not rt.ready.is_set():
            return _error(503, rt.error or "loading", "service_unavailable")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
