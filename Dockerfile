# One image for gateway, worker, beat, migrate and the cpu profile's llama.cpp server.
#   docker build -t enclave .                                                  # torch from PyPI
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu -t enclave .
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 -t enclave .
# Wheels placed in .build/wheels/ (a CPU torch, a prebuilt llama-cpp-python) are used before any index,
# so a site without the PyTorch index, or without compilers, still builds. No frontend image is pulled
# (no `# syntax=` line), no secret is used at build time, and the hub is never contacted at run time:
# models ship inside Python wheels (MiniLM, SmolLM2) or come from the models volume.

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
ARG TORCH_VERSION=2.13.0
# Empty: PyPI. A PyTorch index picks the variant (…/whl/cpu, …/whl/cu126).
ARG TORCH_INDEX_URL=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheels \
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# pyproject.toml is always there; the glob lets .build/wheels be absent (its contents land in /wheels).
COPY pyproject.toml .build/wheels* /wheels/
# torch first: a bare "torch" requirement from another package would pull whatever the index offers.
RUN pip install --upgrade pip wheel setuptools \
    && if ls /wheels/torch-*.whl >/dev/null 2>&1 && pip install /wheels/torch-*.whl; then :; \
       else pip install "torch==${TORCH_VERSION}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}; fi
# The dependencies alone (read from pyproject.toml), so a change of the code reuses this layer.
RUN python -c "import tomllib; p = tomllib.load(open('/wheels/pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['llm']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps unstructured-inference

# --- 3. runtime: no compilers, non-root ------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# poppler-utils renders scanned PDF pages and tesseract-ocr(+eng) reads them (OCR runs in the parser child).
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 poppler-utils libgomp1 \
    tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin enclave \
    && mkdir -p /data /models && chown enclave:enclave /data /models
# The dependencies (gigabytes) first, the code (kilobytes) after: a code change rebuilds only the latter.
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY enclave/ enclave/
COPY gateway/ gateway/
COPY ingest/ ingest/
COPY services/ services/
COPY boot/ boot/
COPY enclave_client/ enclave_client/
COPY --from=web /src/gateway/static/ gateway/static/
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation --no-cache-dir . && rm -rf build *.egg-info
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
