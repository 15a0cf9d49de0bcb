# FOR TESTS WHERE NO REGISTRY IS REACHABLE: Redis from Debian's package, standing in for the official
# `redis` image (data in /data, the command given by compose.yaml).
FROM enclave-base/python:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends redis-server redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
