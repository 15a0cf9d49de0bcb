# FAKE Qdrant REST server (tests/fakes/qdrant_rest.py), FOR TESTS ONLY: a Qdrant server binary cannot run
# on the development machines. It serves the REST subset Enclave uses, from qdrant-client's local mode.
FROM enclave-base/python:bookworm
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir "qdrant-client>=1.12" fastapi "uvicorn>=0.30" \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin qdrant
COPY qdrant_rest.py /app/tests/fakes/qdrant_rest.py
RUN touch /app/tests/__init__.py /app/tests/fakes/__init__.py
WORKDIR /app
USER qdrant
EXPOSE 6333
CMD ["/opt/venv/bin/python", "-m", "tests.fakes.qdrant_rest", "--host", "0.0.0.0", "--port", "6333"]
