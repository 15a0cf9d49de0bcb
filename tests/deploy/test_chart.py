"""The Helm chart, rendered by the real Helm engine (helm-python-sdk, Helm v4) for its three value sets:
every manifest is valid against the Kubernetes schemas (kubernetes-validate, offline; the KEDA custom
resources against tests/deploy/schemas/keda.json), the defaults hold what the cluster path promises, and
compose.yaml and the chart pass the same settings to the same services."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from enclave.settings import Settings
from ingest.celery_app import HARD_LIMIT_GRACE_S, QUEUE

REPO = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.30.0"
# Custom resources the Kubernetes schemas do not know: checked against the vendored KEDA schema instead.
CRD_KINDS = {"ScaledObject", "TriggerAuthentication"}
KEDA_SCHEMA = json.loads((REPO / "tests" / "deploy" / "schemas" / "keda.json").read_text())
POD_KINDS = {"Deployment", "StatefulSet", "Job"}
APP = ("gateway", "worker", "beat", "migrate")


def _render_module() -> Any:
    spec = importlib.util.spec_from_file_location("chart_render", REPO / "deploy" / "helm" / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RENDER = _render_module()


def docs_of(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: docs_of(RENDER.render(values)) for name, values in RENDER.VALUE_SETS.items()}


@pytest.fixture(scope="module")
def default(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered["default"]


def component(doc: dict[str, Any]) -> str | None:
    return doc["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def workload(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] in POD_KINDS and component(d) == name]
    assert len(found) == 1, f"expected one workload {name!r}, found {len(found)}"
    return found[0]


def container(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return workload(docs, name)["spec"]["template"]["spec"]["containers"][0]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


# --- validity ----------------------------------------------------------------------------------------------
def test_make_chart_writes_the_three_renders(tmp_path: Path) -> None:
    assert RENDER.main([str(tmp_path)]) == 0
    for name in ("default", "production", "cpu"):
        assert docs_of((tmp_path / f"{name}.yaml").read_text()), name


@pytest.mark.parametrize("values", ["default", "production", "cpu"])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], values: str
) -> None:
    docs = rendered[values]
    assert len(docs) > 20
    for doc in docs:
        where = f"{values}: {doc['kind']} {doc['metadata']['name']}"
        if doc["kind"] in CRD_KINDS:
            jsonschema.validate(doc, KEDA_SCHEMA[doc["kind"]])
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where}: {exc.message} at {'/'.join(map(str, exc.path))}")


def test_the_validator_rejects_a_broken_manifest(default: list[dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(workload(default, "gateway")))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    scaled = json.loads(json.dumps(of_kind(default, "ScaledObject")[0]))
    del scaled["spec"]["triggers"][0]["metadata"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, KEDA_SCHEMA["ScaledObject"])


# --- what the defaults promise ----------------------------------------------------------------------------
def test_gateway_scales_on_an_hpa(default: list[dict[str, Any]]) -> None:
    (hpa,) = of_kind(default, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == workload(default, "gateway")["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2


def test_workers_scale_with_keda_on_the_celery_queue(default: list[dict[str, Any]]) -> None:
    (scaled,) = of_kind(default, "ScaledObject")
    worker = workload(default, "worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == QUEUE
    assert int(trigger["metadata"]["listLength"]) > 0
    assert scaled["spec"]["minReplicaCount"] >= 1 and scaled["spec"]["maxReplicaCount"] > 1
    (auth,) = of_kind(default, "TriggerAuthentication")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    # A stopping worker may finish its task: the grace period outlasts Celery's hard time limit.
    limit = int(Settings().task_time_limit_s) + HARD_LIMIT_GRACE_S
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > limit
    assert "replicas" not in worker["spec"], "KEDA owns the worker replica count"


def test_one_beat_replica(default: list[dict[str, Any]]) -> None:
    beat = workload(default, "beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"


def test_qdrant_is_a_three_node_cluster(default: list[dict[str, Any]]) -> None:
    qdrant = workload(default, "qdrant")
    assert qdrant["kind"] == "StatefulSet" and qdrant["spec"]["replicas"] == 3
    env = {e["name"]: e for e in container(default, "qdrant")["env"]}
    assert env["QDRANT__CLUSTER__ENABLED"]["value"] == "true"
    assert env["QDRANT__CLUSTER__P2P__PORT"]["value"] == "6335"
    assert "secretKeyRef" in env["QDRANT__SERVICE__API_KEY"]["valueFrom"]
    ports = {p["name"]: p["containerPort"] for p in container(default, "qdrant")["ports"]}
    assert ports["p2p"] == 6335
    assert {t["metadata"]["name"] for t in qdrant["spec"]["volumeClaimTemplates"]} >= {"storage"}
    script = next(d for d in of_kind(default, "ConfigMap") if component(d) == "qdrant")["data"]
    assert "--bootstrap" in script["initialize.sh"] and "-qdrant-0." in script["initialize.sh"]
    headless = [d for d in of_kind(default, "Service") if d["spec"].get("clusterIP") == "None"]
    assert any(component(d) == "qdrant" and d["spec"]["publishNotReadyAddresses"] for d in headless)


def gpus(docs: list[dict[str, Any]], name: str) -> int:
    resources = container(docs, name)["resources"]
    return int(resources.get("limits", {}).get("nvidia.com/gpu", 0))


def test_model_services_request_gpus_and_the_cpu_profile_none(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for name in ("embedder", "llm"):
        assert gpus(rendered["default"], name) >= 1, name
        spec = workload(rendered["default"], name)["spec"]["template"]["spec"]
        assert spec["nodeSelector"] and spec["tolerations"], name
        assert gpus(rendered["cpu"], name) == 0, name
        assert "nodeSelector" not in workload(rendered["cpu"], name)["spec"]["template"]["spec"]
    assert container(rendered["cpu"], "llm")["command"][:3] == ["python", "-m", "services.llm"]


def test_every_pod_runs_non_root_read_only_without_capabilities(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for values, docs in rendered.items():
        for doc in (d for d in docs if d["kind"] in POD_KINDS):
            pod = doc["spec"]["template"]["spec"]
            where = f"{values}: {doc['metadata']['name']}"
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["runAsUser"] > 0, where
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            for c in pod["containers"] + pod.get("initContainers", []):
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True, where
                assert sc["allowPrivilegeEscalation"] is False, where
                assert sc["capabilities"]["drop"] == ["ALL"], where


def test_probes_use_the_services_health_endpoints(rendered: dict[str, list[dict[str, Any]]]) -> None:
    default, cpu = rendered["default"], rendered["cpu"]
    assert container(default, "gateway")["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container(default, "gateway")["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container(default, "embedder")["readinessProbe"]["httpGet"]["path"] == "/v1/health/ready"
    assert container(default, "embedder")["livenessProbe"]["httpGet"]["path"] == "/v1/health/live"
    assert container(default, "llm")["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container(cpu, "llm")["readinessProbe"]["httpGet"]["path"] == "/v1/models"
    assert container(default, "qdrant")["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "inspect ping" in " ".join(container(default, "worker")["livenessProbe"]["exec"]["command"])


def test_disruption_budgets_and_optional_ingress(rendered: dict[str, list[dict[str, Any]]]) -> None:
    budgets = {component(d) for d in of_kind(rendered["default"], "PodDisruptionBudget")}
    assert budgets >= {"gateway", "worker", "qdrant"}
    assert not of_kind(rendered["default"], "Ingress")
    assert of_kind(rendered["production"], "Ingress")


def test_production_uses_external_state_and_existing_secrets(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    prod = rendered["production"]
    assert not [d for d in prod if component(d) in {"postgres", "redis"}]
    env = {e["name"]: e for e in container(prod, "gateway")["env"]}
    assert "postgres.db.example.internal" in env["ENCLAVE_DATABASE_URL"]["value"]
    assert env["ENCLAVE_BROKER_URL"]["value"].startswith("rediss://")
    assert not of_kind(prod, "Secret"), "the chart never creates secrets"


# --- network policies -------------------------------------------------------------------------------------
def policies(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"].removeprefix("enclave-"): d["spec"] for d in of_kind(docs, "NetworkPolicy")}


def peer_components(rule: dict[str, Any]) -> set[str]:
    return {
        p["podSelector"]["matchLabels"].get("app.kubernetes.io/component", "?")
        for p in rule.get("from", [])
        if "podSelector" in p and "namespaceSelector" not in p
    }


def test_network_policies_isolate_everything_but_the_gateway(default: list[dict[str, Any]]) -> None:
    np = policies(default)
    assert np["default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in np["default-deny"] and "egress" not in np["default-deny"]
    # Only the gateway takes traffic from outside the release.
    for name, spec in np.items():
        for rule in spec.get("ingress", []):
            outside = [p for p in rule.get("from", []) if "namespaceSelector" in p or "ipBlock" in p]
            if name == "gateway-ingress":
                continue
            assert "from" in rule, f"{name} accepts traffic from anywhere"
            assert name == "redis" or not outside, f"{name} accepts traffic from outside the release"
    models = np["model-services"]
    assert set(models["podSelector"]["matchExpressions"][0]["values"]) == {"embedder", "llm"}
    assert "Egress" in models["policyTypes"] and "egress" not in models, "model services get no egress"
    assert peer_components(models["ingress"][0]) == {"gateway", "worker"}
    assert peer_components(np["qdrant"]["ingress"][0]) == {"gateway", "worker"}
    assert peer_components(np["postgres"]["ingress"][0]) == {"gateway", "worker", "migrate"}
    assert peer_components(np["redis"]["ingress"][0]) == {"gateway", "worker", "beat"}
    keda = [p for p in np["redis"]["ingress"][0]["from"] if "namespaceSelector" in p]
    assert keda and keda[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "keda"
