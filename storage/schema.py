"""Bring a database's schema to the version this code expects, with the packaged Alembic scripts.

The Alembic configuration is built in code and points at `storage/migrations` next to this file,
so upgrades work the same from a checkout and from an installed package, and never touch
logging: Alembic's own CLI configures the root logger, which a desktop application must own.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from app.errors import StorageError
from storage.engine import writer_options

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """A Config for the packaged migrations, running on `connection` (or connecting to `url`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes["configure_logger"] = False
    return config


def head_revisions() -> frozenset[str]:
    """The revisions this code's schema is at."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions recorded in the database (empty for a database never migrated)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def upgrade_to_head(engine: Engine, where: str) -> None:
    """Migrate the database behind `engine` to head, or explain in a StorageError why we may not.

    The usual case (already at head) only reads. An upgrade takes the write lock (SQLite's, or
    the writer advisory lock on PostgreSQL, where DDL is transactional too) before it reads the
    version, so two programs starting together do not both try to create the tables.
    """
    with engine.connect() as connection:
        current = current_revisions(connection)
        _refuse_unknown(connection, current, where)
        connection.rollback()
    if current == head_revisions():
        return
    with engine.connect() as connection:
        connection.execution_options(**writer_options(engine.url))
        with connection.begin():
            _refuse_unknown(connection, current_revisions(connection), where)
            command.upgrade(alembic_config(connection), "head")


def _refuse_unknown(connection: Connection, current: frozenset[str], where: str) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    if current - known:
        raise StorageError(
            f"The database {where} was written by a newer version of Crewboard; update Crewboard to open it."
        )
    if not current:
        foreign = [name for name in inspect(connection).get_table_names() if name != VERSION_TABLE]
        if foreign:
            raise StorageError(
                f"The database {where} belongs to another program (it has tables but no Crewboard schema); "
                "choose another file."
            )
