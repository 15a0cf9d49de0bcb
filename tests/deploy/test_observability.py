"""Every metric the Grafana dashboard and the Prometheus alerts use is one the services export: the names
come from the real /metrics of a running embedded server and from the embedder service's registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import Server

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "enclave.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
# Metrics of other exporters, allowed by name: Prometheus' own `up`, NVIDIA's DCGM exporter.
EXTERNAL = {"up", "DCGM_FI_DEV_FB_USED"}
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "irate", "increase", "deriv", "delta", "histogram_quantile",
    "min_over_time", "max_over_time", "avg_over_time", "by", "without", "and", "or", "unless", "bool",
    "on", "ignoring", "offset", "le",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (labels, strings, ranges and functions removed)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()", expr))
    return {n for n in names if n not in PROMQL_WORDS}


def exported(text: str) -> set[str]:
    """Sample names a /metrics page can carry, from its TYPE lines (a labelled family may have no samples)."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    names: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M):
        if kind == "counter" and name.endswith("_total"):  # some versions name the family with _total
            name = name.removesuffix("_total")
        names.update(name + s for s in suffixes.get(kind, [""]))
    return names


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def alert_exprs() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [r["expr"] for g in groups for r in g["rules"]]


def test_the_promql_parser_finds_names_and_drops_the_rest() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, route) (rate(a_b_bucket{status=~"5.."}[5m]))) / max(c)'
    assert metric_names(expr) == {"a_b_bucket", "c"}


@pytest.fixture(scope="module")
def service_metrics(embedded_server: Server) -> set[str]:
    from services.embedder.metrics import Metrics

    gateway = httpx.get(embedded_server.url + "/metrics", timeout=30)
    assert gateway.status_code == 200
    return exported(gateway.text) | exported(Metrics().render().decode())


def test_dashboard_and_alerts_use_only_exported_metrics(service_metrics: set[str]) -> None:
    used = {n for e in dashboard_exprs() + alert_exprs() for n in metric_names(e)}
    unknown = used - service_metrics - EXTERNAL
    assert not unknown, f"the dashboard or the alerts use metrics no service exports: {sorted(unknown)}"


def test_dashboard_covers_what_operators_need(service_metrics: set[str]) -> None:
    used = {n for e in dashboard_exprs() for n in metric_names(e)}
    for needed in (
        "enclave_http_request_duration_seconds_count",
        "enclave_http_request_duration_seconds_bucket",
        "enclave_chat_time_to_first_token_seconds_bucket",
        "enclave_ingest_documents_total",
        "enclave_ingest_stage_duration_seconds_bucket",
        "enclave_ingest_queue_depth",
        "enclave_documents",
        "embedder_batch_size_bucket",
        "DCGM_FI_DEV_FB_USED",
    ):
        assert needed in used, needed
    alerts = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert {
        "EnclaveIngestQueueGrowing",
        "EnclaveDocumentsStuckProcessing",
        "EnclaveHighErrorRate",
        "EnclaveModelServiceDown",
    } <= alerts
