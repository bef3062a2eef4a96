"""Crewboard must not assume Linux: no fork, no hard-coded Unix paths, only signals the platform has.

Paths come from platformdirs (data, config, log folders) and tempfile; new processes are started
with subprocess (spawned, as on Windows and macOS). These checks read the product's source, so a
new `os.fork()` or a literal "/tmp/..." fails here before it fails on a Windows desk.
"""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import pytest

from app.main import stop_signals

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("app", "ui", "sync", "storage", "resources")
FORK_CALLS = {"fork", "forkpty", "fork_exec"}
UNIX_ONLY_PATHS = ("/tmp", "/var/tmp", "~/.config", "~/.local", "~/.cache")


def product_files() -> list[Path]:
    files = [p for package in PRODUCT if (ROOT / package).is_dir() for p in (ROOT / package).rglob("*.py")]
    # The sandbox is a test double of Google and Microsoft, but it ships (the demo runs it): checked too.
    return sorted(p for p in files if "migrations" not in p.parts)


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (examples of paths in prose are fine)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def problems(path: Path) -> list[str]:
    return problems_in(path.read_text("utf-8"), str(path.relative_to(ROOT)))


def problems_in(text: str, name: str) -> list[str]:
    tree = ast.parse(text, name)
    prose = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORK_CALLS:
            found.append(f"{name}:{node.lineno}: {node.attr} (start processes with subprocess)")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in prose
            and node.value.startswith(UNIX_ONLY_PATHS)
        ):
            found.append(f"{name}:{node.lineno}: {node.value!r} (use platformdirs or tempfile)")
    return found


def test_product_code_neither_forks_nor_hard_codes_unix_paths() -> None:
    files = product_files()
    assert len(files) > 50  # the walk found the product, not an empty folder
    found = [problem for path in files for problem in problems(path)]
    assert found == []


def test_the_check_catches_a_fork_and_a_tmp_path() -> None:
    text = '"""/tmp in a docstring is prose."""\nimport os\n\nos.fork()\nFOLDER = "/tmp/crewboard"\n'
    found = problems_in(text, "sample.py")
    assert sorted(line.split(": ", 1)[0] for line in found) == ["sample.py:4", "sample.py:5"]


def test_stop_signals_are_those_the_platform_has(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stop_signals() == (signal.SIGTERM, signal.SIGHUP)
    monkeypatch.delattr(signal, "SIGHUP")  # as on Windows
    assert stop_signals() == (signal.SIGTERM,)
