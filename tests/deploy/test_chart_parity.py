"""compose.yaml and the Helm chart cannot drift: every variable compose passes to a service reaches its twin
in the chart (rendered by the real Helm engine), and every variable the chart passes is one compose passes
too, or an ENCLAVE_* setting (compose passes any of them from .env), or listed below with its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from enclave.settings import Settings
from tests.deploy.test_chart import RENDER, container, docs_of, workload

REPO = Path(__file__).resolve().parents[2]
# compose service -> (chart value set, chart component)
TWINS = {
    "gateway": ("default", "gateway"),
    "worker": ("default", "worker"),
    "beat": ("default", "beat"),
    "migrate": ("default", "migrate"),
    "embedder": ("default", "embedder"),
    "embedder-cpu": ("cpu", "embedder"),
    "llm": ("default", "llm"),
    "llm-cpu": ("cpu", "llm"),
    "qdrant": ("default", "qdrant"),
    "postgres": ("default", "postgres"),
    "redis": ("default", "redis"),
}
# compose services without a twin in the chart, and why.
COMPOSE_ONLY = {
    "llm-nim": "NIM on Kubernetes is NVIDIA's NIM Operator's job; point the model URLs at it",
    "embedder-nim": "as llm-nim",
    "reranker-nim": "as llm-nim",
    "flower": "a debugging tool; `kubectl port-forward` to a Flower pod when needed",
    "prometheus": "clusters run their own Prometheus; deploy/prometheus/alerts.yml and deploy/grafana/ apply",
}
# Variables only the chart passes, and why.
CHART_ONLY = {
    "POSTGRES_PASSWORD": "from the Secret, expanded into ENCLAVE_DATABASE_URL as $(POSTGRES_PASSWORD)",
    "REDIS_PASSWORD": "from the Secret, expanded into the broker and Redis URLs",
    "HOME": "vLLM writes caches under HOME; the root filesystem is read-only",
    "QDRANT__CLUSTER__ENABLED": "distributed mode",
    "QDRANT__CLUSTER__P2P__PORT": "distributed mode",
    "QDRANT__STORAGE__SNAPSHOTS_PATH": "snapshots on their own volume, for backups",
    "QDRANT_INIT_FILE_PATH": "the init marker on a writable volume (read-only root filesystem)",
    "PGDATA": "a subfolder of the volume, whose root may hold lost+found",
}
APP = {"gateway", "worker", "beat", "migrate"}


@pytest.fixture(scope="module")
def compose() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((REPO / "compose.yaml").read_text())["services"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: docs_of(RENDER.render(RENDER.VALUE_SETS[name])) for name in ("default", "cpu")}


def chart_env(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Variable -> value (None when it comes from a Secret) of a component, its ConfigMaps included."""
    c = container(docs, name)
    env: dict[str, Any] = {e["name"]: e.get("value") for e in c.get("env", [])}
    for source in c.get("envFrom", []):
        cm = next(
            d
            for d in docs
            if d["kind"] == "ConfigMap" and d["metadata"]["name"] == source["configMapRef"]["name"]
        )
        env.update(cm.get("data", {}))
    return env


def test_every_compose_service_has_a_twin_or_a_reason(compose: dict[str, dict[str, Any]]) -> None:
    assert set(compose) == set(TWINS) | set(COMPOSE_ONLY)


@pytest.mark.parametrize("service", sorted(TWINS))
def test_compose_and_chart_pass_the_same_variables(
    compose: dict[str, dict[str, Any]], rendered: dict[str, list[dict[str, Any]]], service: str
) -> None:
    values, name = TWINS[service]
    ours = compose[service].get("environment", {})
    theirs = chart_env(rendered[values], name)
    missing = set(ours) - set(theirs)
    assert not missing, f"compose passes {sorted(missing)} to {service}; the chart's {name} does not"
    settings = {f"ENCLAVE_{f.upper()}" for f in Settings.model_fields}
    allowed = set(ours) | set(CHART_ONLY) | (settings if service in APP else set())
    extra = set(theirs) - allowed
    assert not extra, f"the chart passes {sorted(extra)} to {name}; compose's {service} does not"
    # Fixed values (no ${...} in compose) are the same on both sides; URLs differ in the host names only
    # (the chart's services carry the release name).
    for var, value in ours.items():
        if "$" not in str(value) and "://" not in str(value) and theirs.get(var) is not None:
            assert str(theirs[var]) == str(value), f"{service}: {var}"


@pytest.mark.parametrize("service", sorted(TWINS))
def test_compose_and_chart_run_the_same_command(
    compose: dict[str, dict[str, Any]], rendered: dict[str, list[dict[str, Any]]], service: str
) -> None:
    values, name = TWINS[service]
    ours = compose[service].get("command")
    c = container(rendered[values], name)
    if service == "llm":  # vLLM: the same flags, as container args
        flags = {a.split("=", 1)[0] for a in ours}
        assert {a.split("=", 1)[0] for a in c["args"]} == flags
    elif service == "redis":  # the same server options; the password comes from the Secret
        assert [a for a in c["command"] if a.startswith("--")] == [a for a in ours if a.startswith("--")]
    elif ours:
        assert c["command"][: len(ours)] == ours, service


def test_app_services_read_the_settings_compose_takes_from_env_file(
    compose: dict[str, dict[str, Any]], rendered: dict[str, list[dict[str, Any]]]
) -> None:
    docs = rendered["default"]
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "enclave-config")
    for service in APP:
        assert compose[service]["env_file"], service
        refs = [s["configMapRef"]["name"] for s in container(docs, service).get("envFrom", [])]
        assert refs == ["enclave-config"], service
    settings = {f"ENCLAVE_{f.upper()}" for f in Settings.model_fields}
    values = yaml.safe_load((REPO / "deploy" / "helm" / "enclave" / "values.yaml").read_text())
    assert set(values["config"]) <= settings, "values.config names a setting enclave/settings.py lacks"
    assert set(config["data"]) <= settings


def test_compose_gpu_services_are_gpu_workloads_in_the_chart(
    compose: dict[str, dict[str, Any]], rendered: dict[str, list[dict[str, Any]]]
) -> None:
    for service, (values, name) in TWINS.items():
        wants_gpu = "deploy" in compose[service]
        limits = container(rendered[values], name)["resources"].get("limits", {})
        assert ("nvidia.com/gpu" in limits) == wants_gpu, service
        assert workload(rendered[values], name)
