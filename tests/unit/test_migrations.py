from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from enclave.catalog.db import make_engine, migrate
from enclave.catalog.tables import Base

TABLES = {
    "tenants",
    "api_keys",
    "documents",
    "ingestion_attempts",
    "audit_events",
    "conversations",
    "messages",
}


def _assert_in_sync(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= TABLES
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_migrations_build_the_models_schema_on_sqlite(tmp_path: Path) -> None:
    _assert_in_sync(f"sqlite:///{tmp_path / 'c.db'}")


def test_migrations_build_the_models_schema_on_postgres(pg_url: str) -> None:
    _assert_in_sync(pg_url)
    migrate(pg_url)  # idempotent
