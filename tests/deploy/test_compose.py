"""compose.yaml is valid Compose, every variable in it is documented, and the stack keeps its promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from enclave.settings import Settings
from services.compose_env import COMPOSE_MANAGED, DeploySettings, render_env_example

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
# Variables the docker compose CLI itself reads from .env (not interpolated in compose.yaml).
COMPOSE_CLI_VARS = {"COMPOSE_PROFILES"}
MODEL_SERVERS_GPU = {"embedder", "llm", "llm-nim", "embedder-nim", "reranker-nim"}
STATEFUL = {
    "postgres": "/var/lib/postgresql/data",
    "redis": "/data",
    "qdrant": "/qdrant/storage",
    "embedder": "/models",
    "llm": "/models",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def compose_variables() -> set[str]:
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    braced = re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text)
    bare = re.findall(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", text)
    return set(braced) | set(bare)


def env_example_variables() -> set[str]:
    return set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.M))


def settings_variables() -> set[str]:
    return {f"ENCLAVE_{name.upper()}" for name in Settings.model_fields}


def deploy_variables() -> set[str]:
    return {name.upper() for name in DeploySettings.model_fields}


def active_in(service: dict[str, Any], profile: str) -> bool:
    profiles = service.get("profiles")
    return not profiles or profile in profiles


def test_compose_validates_against_the_compose_spec_schema() -> None:
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    result = subprocess.run(
        [exe, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_compose_variable_is_in_env_example_and_known_to_the_settings() -> None:
    used = compose_variables()
    assert used, "no ${VAR} found: the parser is broken"
    assert used - env_example_variables() == set(), "document these in .env.example"
    assert used - settings_variables() - deploy_variables() == set(), "declare these in DeploySettings"


def test_every_env_example_variable_is_used_by_compose_or_is_a_setting() -> None:
    unused = env_example_variables() - compose_variables() - settings_variables() - COMPOSE_CLI_VARS
    assert unused == set()


def test_env_example_documents_every_settings_field_as_rendered() -> None:
    assert ENV_EXAMPLE.read_text() == render_env_example(), (
        "regenerate it: python -m services.compose_env > .env.example"
    )
    assert settings_variables() <= env_example_variables()
    assert deploy_variables() <= env_example_variables()


def test_compose_managed_settings_are_the_ones_compose_sets(compose: dict[str, Any]) -> None:
    managed = {k for k in compose["x-enclave-env"] if k.startswith("ENCLAVE_")}
    managed -= {"ENCLAVE_EMBEDDER_URL", "ENCLAVE_LLM_URL"}  # these take the .env value when it is set
    assert managed == COMPOSE_MANAGED


def test_the_design_services_are_all_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"gateway", "worker", "embedder", "llm", "qdrant", "postgres", "redis", "flower"} <= set(services)
    assert services["flower"]["profiles"] == ["flower"]


def test_each_gpu_service_reserves_nvidia_gpus(services: dict[str, dict[str, Any]]) -> None:
    for name in MODEL_SERVERS_GPU:
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert len(devices) == 1, name
        assert devices[0]["driver"] == "nvidia", name
        assert devices[0]["capabilities"] == ["gpu"], name
        assert re.fullmatch(r"\$\{[A-Z_]+_GPU_IDS:-0\}", devices[0]["device_ids"][0]), name


def test_the_cpu_profile_uses_no_gpu(services: dict[str, dict[str, Any]]) -> None:
    active = {n: s for n, s in services.items() if active_in(s, "cpu")}
    assert {"embedder-cpu", "llm-cpu", "gateway", "worker"} <= set(active)
    assert not MODEL_SERVERS_GPU & set(active)
    for name, service in active.items():
        assert "devices" not in str(service.get("deploy", {})), name
        assert service.get("runtime") != "nvidia", name
    assert active["embedder-cpu"]["environment"]["EMBEDDER_DEVICE"] == "cpu"
    assert active["embedder-cpu"]["build"]["args"]["DEVICE"] == "cpu"


def test_each_profile_answers_on_the_same_model_server_names(services: dict[str, dict[str, Any]]) -> None:
    def aliases(name: str) -> set[str]:
        return {name, *services[name].get("networks", {}).get("default", {}).get("aliases", [])}

    for profile in ("gpu", "cpu", "nim"):
        names = set().union(*(aliases(n) for n, s in services.items() if s.get("profiles") == [profile]))
        assert {"embedder", "llm"} <= names, profile


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if service.get("restart") == "no":  # one-shot jobs (migrate) finish instead of staying healthy
            assert service["healthcheck"] == {"disable": True}, name
            continue
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_the_gateway_and_worker_wait_for_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    for name in ("gateway", "worker"):
        deps = services[name]["depends_on"]
        for dep in ("postgres", "redis", "qdrant", "embedder", "embedder-cpu"):
            assert deps[dep]["condition"] == "service_healthy", (name, dep)
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["gateway"]["depends_on"]["llm"]["condition"] == "service_healthy"


def test_only_the_gateway_publishes_ports(services: dict[str, dict[str, Any]]) -> None:
    publishing = {n for n, s in services.items() if s.get("ports")}
    assert publishing == {"gateway"}
    assert services["gateway"]["ports"] == ["${GATEWAY_BIND:-0.0.0.0}:${GATEWAY_PORT:-8000}:8000"]


def _mount(volume: str) -> tuple[str, str]:
    """(source, target) of a short-syntax volume; `${MODELS_DIR:-models}` counts as its default."""
    if volume.startswith("${"):
        end = volume.index("}") + 1
        source = re.fullmatch(r"\$\{[A-Z_]+:-([^}]*)\}", volume[:end])
        return (source.group(1) if source else volume[:end]), volume[end + 1 :].split(":")[0]
    parts = volume.split(":")
    return parts[0], parts[1]


def test_stateful_services_keep_state_in_named_volumes(compose: dict[str, Any]) -> None:
    for name, target in STATEFUL.items():
        mounts = [_mount(v) for v in compose["services"][name]["volumes"]]
        sources = {m[0] for m in mounts if m[1] == target}
        assert sources and sources <= set(compose["volumes"]), name


def test_redis_keeps_an_append_only_file_and_needs_a_password(services: dict[str, dict[str, Any]]) -> None:
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD:?")


def test_qdrant_requires_the_api_key_from_env(services: dict[str, dict[str, Any]]) -> None:
    assert services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"].startswith("${QDRANT_API_KEY:?")
    assert services["gateway"]["environment"]["ENCLAVE_QDRANT_API_KEY"].startswith("${QDRANT_API_KEY")


def test_every_service_restarts_and_rotates_its_logs(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service["restart"] in ("unless-stopped", "no"), name
        assert service["logging"]["driver"] == "json-file", name
        assert {"max-size", "max-file"} <= set(service["logging"]["options"]), name


def test_gateway_runs_the_enclave_cli(services: dict[str, dict[str, Any]]) -> None:
    assert services["gateway"]["command"] == ["enclave", "gateway", "--host", "0.0.0.0", "--port", "8000"]
    assert services["worker"]["command"][:2] == ["enclave", "worker"]
    assert services["migrate"]["command"] == ["enclave", "migrate"]


def test_nim_containers_take_the_ngc_key_from_env(services: dict[str, dict[str, Any]]) -> None:
    for name in ("llm-nim", "embedder-nim", "reranker-nim"):
        assert services[name]["environment"]["NGC_API_KEY"] == "${NGC_API_KEY:-}", name


def test_compose_defaults_match_the_settings_defaults() -> None:
    # Compose points the app at the model servers; the app's own default (empty) means in-process.
    server_urls = {"ENCLAVE_EMBEDDER_URL", "ENCLAVE_LLM_URL"}
    fields = {f"ENCLAVE_{n.upper()}": f for n, f in Settings.model_fields.items()}
    fields |= {n.upper(): f for n, f in DeploySettings.model_fields.items()}
    text = COMPOSE.read_text()
    defaults = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}", text))
    assert defaults
    for name, default in defaults:
        if name in server_urls:
            continue
        expected = fields[name].default
        assert default == ("" if expected is None else str(expected)), name
