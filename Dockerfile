# syntax=docker/dockerfile:1
# One image for gateway, worker, migrate and the cpu profile's llama.cpp server.
#   docker build -t enclave .                                  # CPU torch
#   docker build --build-arg TORCH_VARIANT=cu126 -t enclave .  # CUDA torch
# No secrets at build time; models ship inside Python wheels (MiniLM, SmolLM2) or come from the
# models volume, and the hub is never contacted at run time (HF_HUB_OFFLINE=1).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- 1. the web UI: vite writes it into gateway/static -------------------------------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- 2. Python dependencies in a venv (compilers stay in this stage) -----------------------------
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_VARIANT=cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from the PyTorch index for the chosen variant: a bare "torch" pulls a CUDA build.
RUN pip install --upgrade pip wheel setuptools \
    && pip install torch --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY enclave/ enclave/
COPY gateway/ gateway/
COPY ingest/ ingest/
COPY services/ services/
COPY --from=web /src/gateway/static/ gateway/static/
RUN pip install ".[llm]" \
    && pip install --no-deps unstructured-inference

# --- 3. runtime: no compilers, non-root ------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 poppler-utils libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin enclave \
    && mkdir -p /data /models && chown enclave:enclave /data /models
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DO_NOT_TRACK=1 \
    ENCLAVE_DATA_DIR=/data
USER enclave
EXPOSE 8000
CMD ["enclave", "gateway", "--host", "0.0.0.0", "--port", "8000"]
