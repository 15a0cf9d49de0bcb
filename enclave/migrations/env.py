"""Alembic environment: the URL comes from the caller (enclave.catalog.db.migrate) or the settings."""

from alembic import context

from enclave.catalog.db import make_engine
from enclave.catalog.tables import Base

url = context.config.get_main_option("sqlalchemy.url")
if not url:
    from enclave.settings import get_settings

    url = get_settings().resolved_database_url()

engine = make_engine(url)
try:
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
