"""The repository is clean: ``ruff check``, ``ruff format --check`` and ``mypy`` (the configuration in
pyproject.toml) pass from the repository root.

Each tool comes from the ``test`` extra; a test skips, saying so, only where its tool is not installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed (pip install -e '.[test]')"
    )


def _run(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"`{' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"


@_needs("ruff")
def test_ruff_check() -> None:
    _run("ruff", "check", ".")


@_needs("ruff")
def test_ruff_format() -> None:
    _run("ruff", "format", "--check", ".")


@_needs("mypy")
def test_mypy() -> None:
    _run("mypy")
