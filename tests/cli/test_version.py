"""`crewboard --version`: the version from the package metadata, the store in use, where the log is."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from tests.cli.conftest import Result


def test_version_names_the_store_and_the_log(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result: Result = cli("--version")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"crewboard {metadata.version('crewboard')}"
    assert f"store: {tmp_path / 'cli.db'}" in lines
    assert any(line.startswith("log: ") and line.endswith("crewboard.log") for line in lines)
    assert result.err == ""


def test_version_hides_a_postgresql_password(cli) -> None:  # type: ignore[no-untyped-def]
    result: Result = cli("--version", "--db", "postgresql://dispatch:s3cret@office-db/crewboard")
    assert result.code == 0, result.err
    assert "s3cret" not in result.out
    assert "store: postgresql+psycopg://dispatch:***@office-db/crewboard" in result.out.splitlines()


def test_version_refuses_an_unknown_database_in_one_sentence(cli) -> None:  # type: ignore[no-untyped-def]
    result: Result = cli("--version", "--db", "mysql://office-db/crewboard")
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and "not a database Crewboard can open" in result.err


@pytest.mark.parametrize("where", ["before", "after"])
def test_version_reads_db_wherever_it_is_given(cli, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    other = str(tmp_path / "other.db")
    args = ("--db", other, "--version") if where == "before" else ("--version", "--db", other)
    result: Result = cli(*args)
    assert f"store: {other}" in result.out.splitlines()
