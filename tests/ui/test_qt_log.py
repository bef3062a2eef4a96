"""Qt's own warnings fail tests (pytest-qt, configured in pyproject); the ignore list forgives only
the machine's noise, never a warning about our code."""

from __future__ import annotations

import re

import pytest

NOISE = [
    "QRhiGles2: Failed to create temporary context",
    "QRhiGles2: Failed to create context",
    "Failed to create RHI for backend: OpenGL",
    "GPUInfo not initialized on GpuInfoUpdate",
    "This plugin does not support propagateSizeHints()",
    "This plugin does not support raise()",
    "This plugin does not support grabbing the keyboard",
]
OURS = [
    "QObject::connect: No such signal Foo::bar()",
    "QPainter::begin: Paint device returned engine == 0, type: 1",
    "Could not parse application stylesheet",
    "QFont::setPointSize: Point size <= 0 (0), must be greater than 0",
    'QWidget::setLayout: Attempting to set QLayout "" on QWidget "", which already has a layout',
]


def test_warnings_fail_and_only_the_machines_noise_is_forgiven(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.getini("qt_log_level_fail") == "WARNING"
    patterns = [re.compile(p) for p in pytestconfig.getini("qt_log_ignore")]
    assert [n for n in NOISE if not any(p.search(n) for p in patterns)] == []
    assert [o for o in OURS if any(p.search(o) for p in patterns)] == []
