"""resources/ and its one helper (ui/resources.py): the stylesheets parse, every colour a widget asks for
exists, the icon and the .desktop entry are complete, and no colour is spelled out in widget code."""

from __future__ import annotations

import ast
import configparser
import fnmatch
import io
import re
import tokenize
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QTableView,
    QToolButton,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from ui import resources
from ui.resources import ICON_SIZES, UnknownColorError, palette, stylesheet
from ui.style import apply_style, qpalette, text_color_for

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
RESOURCES = ROOT / "resources"
SCREEN_SHEETS = sorted(path.stem for path in (RESOURCES / "styles").glob("*.qss"))
PALETTE_HELPER = {"ui/resources.py"}  # the one place allowed to know what a colour looks like


def ui_sources() -> Iterator[tuple[str, str]]:
    for path in sorted(UI.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


# --- stylesheets -------------------------------------------------------------------------------


def sample_widgets(parent: QWidget) -> list[QWidget]:
    """One of each kind the stylesheets style, some carrying the object names they select on."""
    layout = QVBoxLayout(parent)
    named = {
        "fieldError": QLabel,
        "formError": QLabel,
        "statValue": QLabel,
        "statusPill": QLabel,
        "banner": QFrame,
        "undoNotice": QFrame,
        "accountCard": QFrame,
        "healthTable": QTableView,
        "conflictList": QListView,
        "phoneEvents": QTreeWidget,
        "breakButton": QToolButton,
    }
    widgets: list[QWidget] = []
    for name, kind in named.items():
        widget = kind(parent)
        widget.setObjectName(name)
        widgets.append(widget)
    widgets += [QPushButton("OK", parent), QLineEdit(parent), QComboBox(parent), QToolButton(parent)]
    for widget in widgets:
        layout.addWidget(widget)
    return widgets


@pytest.mark.parametrize("name", SCREEN_SHEETS)
def test_each_stylesheet_loads_resolved_and_qt_parses_it(qtbot, name: str) -> None:  # type: ignore[no-untyped-def]
    """A sheet Qt cannot parse is dropped whole with a warning, which the conftest turns into a failure."""
    sheet = stylesheet(name)
    assert sheet.strip(), f"resources/styles/{name}.qss is empty"
    assert "@" not in sheet, "a palette reference was left unresolved"
    assert "/*" not in sheet
    dialog = QDialog()
    qtbot.addWidget(dialog)
    widgets = sample_widgets(dialog)
    dialog.setStyleSheet(sheet)
    dialog.show()
    for widget in [dialog, *widgets]:
        widget.ensurePolished()
    qtbot.waitExposed(dialog)


def test_the_application_sheet_parses_when_installed_on_the_app(qtbot, qapp: QApplication) -> None:  # type: ignore[no-untyped-def]
    apply_style(qapp)
    assert qapp.styleSheet() == stylesheet("application")
    window = QWidget()
    qtbot.addWidget(window)
    for widget in [window, *sample_widgets(window)]:
        widget.ensurePolished()
    window.show()
    qtbot.waitExposed(window)


def test_a_stylesheet_that_names_no_palette_colour_is_refused() -> None:
    with pytest.raises(UnknownColorError, match="no colour named 'nope'"):
        resources.resolve("QLabel { color: @nope; }")
    assert resources.resolve("/* @anything */ QLabel { color: @danger; }") == (
        f" QLabel {{ color: {palette.hex('danger')}; }}"
    )


@pytest.mark.qt_log_level_fail("CRITICAL")  # the warning is what this test wants to see
def test_qt_would_have_reported_a_sheet_it_cannot_parse(qtbot, qtlog) -> None:  # type: ignore[no-untyped-def]
    """The parse test above relies on this warning; prove Qt still gives it."""
    widget = QLabel()
    qtbot.addWidget(widget)
    widget.setStyleSheet("QLabel { color: ")
    widget.ensurePolished()
    assert any("parse" in record.message.lower() for record in qtlog.records)


def test_each_account_status_pill_takes_its_colours_from_the_settings_sheet(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The pill names a tone; settings.qss gives the tone its palette colours (no inline colours)."""
    from ui.settings.dialog import STATUS_WORDS

    box = QDialog()
    qtbot.addWidget(box)
    box.setStyleSheet(stylesheet("settings"))
    text_for = {"success": "success", "warning": "warning", "neutral": "text_muted"}
    assert {tone for _words, tone in STATUS_WORDS.values()} == set(text_for)
    for tone, name in text_for.items():
        pill = QLabel("status", box)
        pill.setObjectName("statusPill")
        pill.setProperty("tone", tone)
        pill.ensurePolished()
        assert pill.palette().color(pill.foregroundRole()) == palette.color(name), tone


# --- the palette -------------------------------------------------------------------------------


def palette_names_asked_for(source: str) -> set[str]:
    """Every string handed to `palette.color(...)` / `palette.hex(...)`, including both arms of a
    conditional (`palette.color("accent" if on else "switch_off")`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"color", "hex"}
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "palette"
        ):
            for arg in node.args:
                for inner in ast.walk(arg):
                    if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                        names.add(inner.value)
    return names


def palette_names_in_sheets() -> set[str]:
    return {
        match
        for path in (RESOURCES / "styles").glob("*.qss")
        for match in re.findall(r"@([a-z][a-z0-9_]*)", re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S))
    }


def test_every_palette_name_used_in_ui_exists() -> None:
    used = {name: path for path, source in ui_sources() for name in palette_names_asked_for(source)}
    assert len(used) > 30, "the scan found too few names: has the helper's API changed?"
    missing = {name: path for name, path in used.items() if name not in palette.names}
    assert not missing, f"names not in resources/palette.json: {missing}"
    assert palette_names_in_sheets() <= palette.names


def test_every_palette_colour_is_used_somewhere() -> None:
    """A name nothing asks for is a colour nobody can see: remove it or use it."""
    used = palette_names_in_sheets()
    for _path, source in ui_sources():
        used |= palette_names_asked_for(source)
    assert palette.names - used == set()


def test_palette_colours_are_valid_and_fresh() -> None:
    for name in palette.names:
        assert palette.color(name).isValid(), name
    first = palette.color("accent")
    first.setAlpha(10)
    assert palette.color("accent").alpha() == 255, "callers must not share one QColor"
    assert palette.color("busy_label_back").alpha() == 225
    with pytest.raises(UnknownColorError):
        palette.color("conflict-ish")


def test_the_qt_palette_and_tile_text_come_from_the_palette() -> None:
    pal = qpalette()
    assert pal.color(pal.ColorRole.Window) == palette.color("window")
    assert pal.color(pal.ColorRole.Highlight) == palette.color("accent")
    assert text_color_for(QColor("#2563eb")) == palette.color("on_accent")
    assert text_color_for(QColor("#fde68a")) == palette.color("ink")


# --- the icon and the .desktop entry ----------------------------------------------------------


@pytest.mark.parametrize("size", ICON_SIZES)
def test_the_icon_exists_in_every_size(size: int) -> None:
    path = RESOURCES / "icons" / f"{size}x{size}" / "crewboard.png"
    assert path.is_file()
    pixmap = QPixmap(str(path))
    assert not pixmap.isNull()
    assert (pixmap.width(), pixmap.height()) == (size, size)
    assert resources.icon_file(size).read_bytes() == path.read_bytes()


def test_the_svg_source_renders() -> None:
    renderer = QSvgRenderer(str(RESOURCES / "icons" / "crewboard.svg"))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 256
    assert resources.icon_file() == resources.resource("icons", "crewboard.svg")


def test_the_app_icon_has_every_size_and_the_app_gets_it(qapp: QApplication) -> None:
    icon = resources.app_icon()
    assert not icon.isNull()
    assert {size.width() for size in icon.availableSizes()} == set(ICON_SIZES)
    apply_style(qapp)
    window_icon: QIcon = qapp.windowIcon()
    assert not window_icon.isNull()
    assert qapp.desktopFileName() == "crewboard"


def test_the_desktop_entry_has_the_required_keys() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(resources.desktop_file().read_text(encoding="utf-8"))
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Crewboard"
    assert entry["Exec"] == "crewboard"
    assert entry["Icon"] == "crewboard"
    assert "Office" in entry["Categories"].split(";") and entry["Categories"].endswith(";")
    assert entry["Comment"].strip() and "\n" not in entry["Comment"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Exec"] in scripts, "Exec must be the command the package installs"


def test_every_resource_file_ships_in_the_distribution() -> None:
    """A file added to resources/ but missing from pyproject's package-data works from the source tree
    and is absent once installed."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "resources*" in setuptools["packages"]["find"]["include"]
    patterns = [  # each package's patterns, relative to resources/
        "/".join([*package.split(".")[1:], pattern])
        for package, globs in setuptools["package-data"].items()
        if package.split(".")[0] == "resources"
        for pattern in globs
    ]
    for path in RESOURCES.rglob("*"):
        relative = path.relative_to(RESOURCES).as_posix()
        if path.is_dir() or path.suffix in {".py", ".pyc"} or "__pycache__" in relative:
            continue
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


# --- no colour literals in widget code ---------------------------------------------------------

HEX = re.compile(r"(?<![\w#])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b")
FUNCTION = re.compile(r"\b(?:rgba?|hsla?|hsva?)\s*\(", re.IGNORECASE)
NAMED = re.compile(
    r"(?:color|background|border[\w-]*|selection-[\w-]*|gridline-color)\s*:[^;{}\"']*?"
    r"\b(white|black|red|green|blue|gray|grey|yellow|orange|purple|pink|cyan|magenta|navy|silver)\b",
    re.IGNORECASE,
)
COLOR_CONSTRUCTORS = {"QColor", "QBrush", "QPen"}
NOT_A_DESIGN_COLOR = {"transparent", "color0", "color1"}  # an empty pixmap, bitmap masks


def colour_literals(source: str) -> list[str]:
    """Colour literals in one Python source: hex, rgb()/hsl() and CSS colour words inside strings, and
    QColor/QBrush/QPen built from literal values, Qt.GlobalColor or QColorConstants in code."""
    found: list[str] = []
    string_types = {tokenize.STRING} | ({fm} if (fm := getattr(tokenize, "FSTRING_MIDDLE", None)) else set())
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in string_types:
            text = token.string
            for pattern in (HEX, FUNCTION, NAMED):
                found += [f"line {token.start[0]}: {m.group(0)}" for m in pattern.finditer(text)]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            is_factory = (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id == "QColor" and func.attr.startswith("from"))
            )
            if name in COLOR_CONSTRUCTORS or is_factory:
                literal = [
                    a for a in node.args if isinstance(a, ast.Constant) and not isinstance(a.value, bool)
                ]
                if name in {"QBrush", "QPen"}:  # QPen(QColor, 2): only a string literal is a colour
                    literal = [a for a in literal if isinstance(a.value, str)]
                if literal:
                    found.append(f"line {node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Attribute):
            owner = ast.unparse(node.value)
            if (owner in {"Qt.GlobalColor", "QColorConstants", "QColorConstants.Svg"}) and (
                node.attr not in NOT_A_DESIGN_COLOR
            ):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_colour_literal_in_widget_code() -> None:
    offenders = {
        path: hits
        for path, source in ui_sources()
        if path not in PALETTE_HELPER and (hits := colour_literals(source))
    }
    assert not offenders, (
        f"colours belong in resources/palette.json; ask for them with palette.color(name): {offenders}"
    )


@pytest.mark.parametrize(
    "snippet",
    [
        'x = "#aabbcc"',
        'x = "#abc"',
        'QColor("#ffffff")',
        "QColor(255, 255, 255, 225)",
        'QColor("white")',
        "QColor.fromRgb(1, 2, 3)",
        "QColor(Qt.GlobalColor.red)",
        "p.fill(QColorConstants.Svg.navy)",
        'QPen("red")',
        'sheet = "QLabel { color: white; }"',
        'sheet = f"QLabel {{ border: 1px solid {w}; background: rgb(1, 2, 3); }}"',
        "tip = f\"<span style='color: #d92d20'>{t}</span>\"",
    ],
)
def test_the_literal_check_catches_each_kind(snippet: str) -> None:
    assert colour_literals(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'palette.color("danger")',
        "QColor(tech.color)",
        "pixmap.fill(Qt.GlobalColor.transparent)",
        'name.setObjectName("accountCard"); sheet = "QFrame#card { border: none; }"',
        "QPen(palette.color('border'), 1)",
        "# a comment may say #ffffff or white",
        'text = "each tech\'s business hours are left white"',
    ],
)
def test_the_literal_check_leaves_names_data_and_prose_alone(snippet: str) -> None:
    assert colour_literals(snippet) == [], snippet
