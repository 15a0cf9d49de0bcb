# FOR TESTS WHERE NO REGISTRY IS REACHABLE: PostgreSQL from Debian's package, standing in for the official
# `postgres` image with the same environment (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB), data
# directory and port.
FROM enclave-base/python:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["bash", "/usr/local/bin/postgres-entrypoint.sh"]
