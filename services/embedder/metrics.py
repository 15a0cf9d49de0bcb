"""Prometheus metrics of the embedder: requests, batch sizes, queue wait and inference time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from enclave.inference.batching import OnBatch

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_TIME_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """One registry per app, so several services (or tests) in one process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "embedder_requests",
            "HTTP requests by endpoint and status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.inputs = Counter(
            "embedder_inputs", "Texts embedded or ranked.", ["model"], registry=self.registry
        )
        self.truncated = Counter(
            "embedder_truncated_inputs",
            "Inputs cut to the model's token limit.",
            ["model"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "embedder_batch_size",
            "Inputs per dynamic batch.",
            ["model"],
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "embedder_queue_wait_seconds",
            "Time the oldest input of a batch waited in the queue.",
            ["model"],
            buckets=_TIME_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "embedder_inference_seconds",
            "Time to run one batch through the model.",
            ["model"],
            buckets=_TIME_BUCKETS,
            registry=self.registry,
        )

    def batch_observer(self, model: str) -> OnBatch:
        size, wait, run = (h.labels(model=model) for h in (self.batch_size, self.queue_wait, self.inference))

        def on_batch(n: int, wait_s: float, run_s: float) -> None:
            size.observe(n)
            wait.observe(wait_s)
            run.observe(run_s)

        return on_batch

    def render(self) -> bytes:
        return generate_latest(self.registry)
