"""PostgreSQL as the subject: its URLs, its failures as sentences, its writers and its instants.

Everything else in tests/storage and tests/services already runs on both databases; these are the
things only PostgreSQL has (a server to miss, logins, a lock shared by every desk of an office).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from app.errors import InvalidInput, StorageError
from app.services.ports import UnitOfWork
from storage import Database, open_database
from storage.database import database_url
from storage.engine import WRITER_LOCK_KEY, normalized_url
from storage.orm import BookingRow
from storage.types import UtcDateTime
from tests.pg import PASSWORD, PASSWORD_USER, SUPERUSER, PostgresServer, fresh_database
from tests.storage.conftest import T0, booking, customer, tech
from tests.storage.locks import libpq_url, write_lock_held_elsewhere

HONOLULU = ZoneInfo("Pacific/Honolulu")
CHICAGO = ZoneInfo("America/Chicago")
WAIT = 30  # seconds; a bound for a hung test, never a pause


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    database = open_database(pg_url)
    yield database
    database.dispose()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 but never listening: connecting to it is refused, every time."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


# --- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("postgresql://ana@db.office/crewboard", "postgresql+psycopg://ana@db.office/crewboard"),
        ("postgres://ana:s3cret@db.office:5433/crewboard", "postgresql+psycopg://ana:s3cret@db.office:5433/crewboard"),
        ("postgresql+psycopg://ana@db.office/crewboard", "postgresql+psycopg://ana@db.office/crewboard"),
        ("postgres+psycopg://ana@db.office/crewboard", "postgresql+psycopg://ana@db.office/crewboard"),
    ],
)  # fmt: skip
def test_postgresql_urls_mean_psycopg_3(typed: str, meant: str) -> None:
    assert normalized_url(typed) == meant
    assert database_url(typed) == meant


@pytest.mark.parametrize("driver", ["psycopg2", "pg8000", "asyncpg"])
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_another_postgresql_driver_is_refused_with_a_sentence(scheme: str, driver: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        database_url(f"{scheme}+{driver}://ana@db.office/crewboard")
    assert str(caught.value) == (
        f"Crewboard reaches PostgreSQL through psycopg 3, not {driver}; "
        "write the URL as postgresql://USER@HOST/DATABASE."
    )


def test_a_url_without_a_driver_opens_the_store(pg_server: PostgresServer, pg_url: str) -> None:
    plain = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with open_database(plain) as database:
        assert database.engine.dialect.driver == "psycopg"
        with database.unit_of_work() as uow:
            uow.settings.put("company", "Gulf Air")
            uow.commit()
        assert repr(database) == f"Database({plain.replace('postgresql://', 'postgresql+psycopg://')!r})"


def test_server_options_in_the_url_are_kept_beside_the_lock_timeout(pg_url: str) -> None:
    url = f"{pg_url}?options=-c%20statement_timeout%3D60000"
    with open_database(url, busy_timeout_ms=250) as database, database.engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "1min"
        assert connection.execute(text("SHOW lock_timeout")).scalar() == "250ms"


# --- failures as one sentence --------------------------------------------------------------------


def test_an_unreachable_server_is_one_sentence(closed_port: int) -> None:
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{closed_port}/crewboard"
    with pytest.raises(StorageError) as caught:
        open_database(url)
    assert str(caught.value) == (
        f"The database postgresql+psycopg://{SUPERUSER}@127.0.0.1:{closed_port}/crewboard cannot be reached; "
        "check that its PostgreSQL server is running and that the host name and port are right."
    )


def test_a_wrong_password_is_one_sentence_that_hides_the_password(pg_server: PostgresServer) -> None:
    with pytest.raises(StorageError) as caught:
        open_database(pg_server.url("postgres", PASSWORD_USER, "wrong-password"))
    assert str(caught.value) == (
        f"The database postgresql+psycopg://{PASSWORD_USER}:***@127.0.0.1:{pg_server.port}/postgres "
        "refused the login; check the user name and password (in the URL or in ~/.pgpass)."
    )
    assert "wrong-password" not in str(caught.value)


@pytest.mark.parametrize("login", ["no password", "unknown user"])
def test_other_refused_logins_are_the_same_sentence(pg_server: PostgresServer, login: str) -> None:
    url = (
        pg_server.url("postgres", PASSWORD_USER)
        if login == "no password"
        else pg_server.url("postgres", "zed")
    )
    with pytest.raises(StorageError, match=r"refused the login; check the user name and password"):
        open_database(url)


def test_a_missing_database_is_one_sentence(pg_server: PostgresServer) -> None:
    with pytest.raises(StorageError) as caught:
        open_database(pg_server.url("no_such_store"))
    assert str(caught.value) == (
        f"The database postgresql+psycopg://{SUPERUSER}@127.0.0.1:{pg_server.port}/no_such_store does not "
        "exist on its server; check its name or create it (createdb NAME)."
    )


def test_the_command_line_says_it_in_one_line(
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli.main import main

    monkeypatch.setenv("CREWBOARD_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("CREWBOARD_DB", raising=False)
    url = f"postgresql://{SUPERUSER}@127.0.0.1:{closed_port}/crewboard"  # as people type it
    code = main(["--db", url, "tech", "list"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot be reached; check that its PostgreSQL server is running" in err


def test_a_password_login_that_is_right_opens_the_store(pg_server: PostgresServer, pg_url: str) -> None:
    name = make_url(pg_url).database
    with pg_server.admin() as admin:
        admin.execute(f'GRANT ALL ON DATABASE "{name}" TO {PASSWORD_USER}')
    with pg_server.admin(str(name)) as admin:
        admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {PASSWORD_USER}")
    with open_database(pg_server.url(str(name), PASSWORD_USER, PASSWORD)) as database:
        with database.unit_of_work() as uow:
            uow.settings.put("company", "Gulf Air")
            uow.commit()
        with database.unit_of_work(read_only=True) as uow:
            assert uow.settings.get("company") == "Gulf Air"


# --- the schema ------------------------------------------------------------------------------------


def test_the_migrations_build_an_empty_database_and_two_desks_may_start_together(
    pg_server: PostgresServer,
) -> None:
    """Both desks open the same new store at once: one migrates, the other waits and finds it done."""
    name = "crewboard_started_together"
    with pg_server.admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        opened: list[Database] = []
        failures: list[BaseException] = []

        def desk() -> None:
            try:
                opened.append(open_database(pg_server.url(name)))
            except BaseException as error:  # reported below
                failures.append(error)

        desks = [threading.Thread(target=desk) for _ in range(2)]
        for one in desks:
            one.start()
        for one in desks:
            one.join(WAIT)
        assert failures == [] and len(opened) == 2
        with opened[0].engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            kinds = set(
                connection.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = 'bookings' AND column_name IN ('start', 'end', 'created_at')"
                    )
                ).scalars()
            )
        assert kinds == {"timestamp with time zone"}
    finally:
        for database in opened:
            database.dispose()
        with pg_server.admin() as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


# --- instants --------------------------------------------------------------------------------------


def test_instants_come_back_as_utc_whatever_the_sessions_zone(pg_server: PostgresServer, pg_url: str) -> None:
    """A server (or a role) set to another zone changes how timestamptz is shown, not what we read."""
    name = str(make_url(pg_url).database)
    with pg_server.admin() as admin:
        admin.execute(f"ALTER DATABASE \"{name}\" SET timezone TO 'Pacific/Honolulu'")
    ana, harbor = tech(), customer()
    spring_forward = datetime(2026, 3, 8, 3, 30, tzinfo=CHICAGO)
    fall_back_first = datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO)
    fall_back_second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=CHICAGO)
    jobs = [
        booking(harbor.id, ana.id, moment) for moment in (fall_back_second, spring_forward, fall_back_first)
    ]
    with open_database(pg_url) as database:
        with database.unit_of_work() as uow:
            uow.techs.add(ana)
            uow.customers.add(harbor)
            for job in jobs:
                uow.bookings.add(job)
            uow.commit()
        with database.engine.connect() as connection:
            assert connection.execute(text("SHOW timezone")).scalar() == "Pacific/Honolulu"
            raw = connection.execute(text("SELECT start FROM bookings ORDER BY start")).scalars().all()
            typed = connection.scalars(select(BookingRow.start).order_by(BookingRow.start)).all()
            hits = connection.scalars(
                select(BookingRow.id).where(BookingRow.start == fall_back_second.astimezone(HONOLULU))
            ).all()
        with database.unit_of_work(read_only=True) as uow:
            listed = uow.bookings.list()
    # In UTC: Python never finds a time inside a fold equal to one in another zone (PEP 495).
    ordered = [moment.astimezone(UTC) for moment in (spring_forward, fall_back_first, fall_back_second)]
    assert [moment.utcoffset() for moment in raw] == [timedelta(hours=-10)] * 3  # the session's zone ...
    assert [moment.astimezone(UTC) for moment in raw] == ordered  # ... for the same instants, in time order
    assert typed == ordered and all(moment.tzinfo is UTC for moment in typed)
    assert [job.start for job in listed] == ordered
    assert all(job.start is not None and job.start.tzinfo is UTC for job in listed)
    assert hits == [jobs[0].id]


def test_a_naive_instant_is_refused_on_postgresql_too() -> None:
    dialect = psycopg_dialect.dialect()
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 11, 1, 9, 0), dialect)
    with pytest.raises(ValueError, match="naive instant"):
        UtcDateTime().process_result_value(datetime(2026, 11, 1, 9, 0), dialect)
    bound = UtcDateTime().process_bind_param(datetime(2026, 11, 1, 9, 0, tzinfo=CHICAGO), dialect)
    assert bound == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


# --- writers ---------------------------------------------------------------------------------------


def _waiting_for_the_writer_lock(pg_url: str) -> Callable[[], int]:
    """A probe: how many sessions of this database wait for the writer advisory lock now."""
    name = str(make_url(pg_url).database)

    def count() -> int:
        with psycopg.connect(libpq_url(pg_url), autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s AND l.objid::bigint = %s",
                (name, WRITER_LOCK_KEY),
            ).fetchone()
        return int(row[0]) if row else 0

    return count


def _until(condition: Callable[[], bool]) -> None:
    """Wait for `condition` (another thread's progress inside the server), bounded by WAIT."""
    deadline = threading.Event()
    timer = threading.Timer(WAIT, deadline.set)
    timer.start()
    try:
        while not condition():
            assert not deadline.wait(0.005), "the other writer never reached the lock"
    finally:
        timer.cancel()


def test_two_desks_editing_one_booking_lose_nothing(pg_url: str) -> None:
    """Two desks (two processes' databases) read a booking, then write it from what they read.

    The second desk's unit of work arrives while the first holds the booking: it waits for the
    writer lock, then reads what the first committed, so both notes and both version steps stay.
    """
    first_desk, second_desk = open_database(pg_url), open_database(pg_url)
    try:
        ana, harbor = tech(), customer()
        job = booking(harbor.id, ana.id, T0, notes="Gate code 4411", version=1)
        with first_desk.unit_of_work() as uow:
            uow.techs.add(ana)
            uow.customers.add(harbor)
            uow.bookings.add(job)
            uow.commit()

        def add_note(uow: UnitOfWork, note: str) -> None:
            current = uow.bookings.get(job.id)
            assert current is not None
            uow.bookings.update(
                dataclasses.replace(current, notes=f"{current.notes}; {note}", version=current.version + 1)
            )

        second_done = threading.Event()
        failures: list[BaseException] = []

        def second() -> None:
            try:
                with second_desk.unit_of_work() as uow:
                    add_note(uow, "Dog in the yard")  # its first read waits for the first desk
                    uow.commit()
            except BaseException as error:  # reported below
                failures.append(error)
            finally:
                second_done.set()

        waiting = _waiting_for_the_writer_lock(pg_url)
        with first_desk.unit_of_work() as uow:
            before = uow.bookings.get(job.id)  # the first desk holds the writer lock from here
            other = threading.Thread(target=second)
            other.start()
            _until(lambda: waiting() == 1)
            assert before is not None and not second_done.is_set()
            add_note(uow, "Bring the long ladder")
            uow.commit()
        other.join(WAIT)
        assert failures == []
        with first_desk.unit_of_work(read_only=True) as uow:
            final = uow.bookings.get(job.id)
        assert final is not None
        assert final.notes == "Gate code 4411; Bring the long ladder; Dog in the yard"
        assert final.version == 3
    finally:
        first_desk.dispose()
        second_desk.dispose()


def test_a_writer_waits_no_longer_than_the_busy_timeout(pg_url: str) -> None:
    with open_database(pg_url, busy_timeout_ms=50) as database, write_lock_held_elsewhere(pg_url):
        with pytest.raises(StorageError) as caught, database.unit_of_work() as uow:
            uow.settings.put("company", "Gulf Air")
            uow.commit()
        assert str(caught.value) == "The database is locked by another program; close it and try again."
        with database.unit_of_work(read_only=True) as reader:  # readers take no lock
            assert reader.settings.get("company") is None


def test_readers_take_no_lock_and_read_one_snapshot(pg: Database, pg_url: str) -> None:
    with pg.unit_of_work() as uow:
        uow.settings.put("company", "Gulf Air")
        uow.commit()
    with write_lock_held_elsewhere(pg_url), pg.unit_of_work(read_only=True) as reader:
        assert reader.settings.get("company") == "Gulf Air"
    with pg.unit_of_work(read_only=True) as reader:
        assert reader.settings.all() == {"company": "Gulf Air"}
        with pg.unit_of_work() as writer:
            writer.settings.put("company", "Harbor HVAC")
            writer.commit()
        assert reader.settings.all() == {"company": "Gulf Air"}  # its snapshot, not the new value
    with pg.unit_of_work(read_only=True) as reader:
        assert reader.settings.get("company") == "Harbor HVAC"


def test_connections_the_server_dropped_are_replaced_unnoticed(
    pg: Database, pg_server: PostgresServer
) -> None:
    """A server restart or failover closes every pooled connection; the next unit of work reconnects."""
    with pg.unit_of_work() as uow:
        uow.settings.put("company", "Gulf Air")
        uow.commit()
    name = str(pg.engine.url.database)
    with pg_server.admin() as admin:
        dropped = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    assert dropped is not None and dropped[0] >= 1
    with pg.unit_of_work(read_only=True) as uow:
        assert uow.settings.get("company") == "Gulf Air"


def test_a_fresh_database_is_a_copy_of_the_migrated_template(pg_server: PostgresServer) -> None:
    with fresh_database(pg_server) as url, open_database(url) as database:
        with database.unit_of_work(read_only=True) as uow:
            assert uow.techs.list() == []
        assert database.engine.dialect.name == "postgresql"
