"""Alembic environment for Crewboard's schema.

`storage.schema` runs migrations on a connection it already opened (passed in
`config.attributes["connection"]`), inside its own transaction. The Alembic command line
(`alembic -c storage/alembic.ini ...`) connects by itself, to `sqlalchemy.url` or else to the
database Crewboard would open. Logging is never configured here: the application owns it.
Tables are altered in batch mode because SQLite can only change a table by rebuilding it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.orm import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from storage.database import database_url
    from storage.engine import build_engine

    engine = build_engine(config.get_main_option("sqlalchemy.url") or database_url(None))
    try:
        with engine.connect() as own_connection:
            run_on(own_connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    from storage.database import database_url

    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(None),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
