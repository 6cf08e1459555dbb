"""The public API is typed: a type checker sees the real signatures behind the lazy ``hlamatch.X`` names.

``hlamatch/__init__.py`` loads its names on first access (module ``__getattr__``), which a type
checker reads as ``Any``; its ``if TYPE_CHECKING:`` block imports each name from its real module.
These tests run mypy on a small user script and check what it sees, and that the block and the
lazy table name the same things.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hlamatch

ROOT = Path(__file__).resolve().parents[1]

needs_mypy = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None, reason="mypy is not installed (pip install -e '.[test]')"
)

SNIPPET = """\
import hlamatch

reveal_type(hlamatch.coverage)
reveal_type(hlamatch.load_table)
reveal_type(hlamatch.CoverageReport)
hlamatch.coverage("japanese", 5)
"""


@pytest.fixture(scope="module")
def mypy_on_snippet(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[int, str]]:
    """mypy's exit status and its messages by line of :data:`SNIPPET`, checked as a user's script is
    (no project configuration; errors inside hlamatch are not the user's and are not reported)."""
    tmp = tmp_path_factory.mktemp("typing")
    script = tmp / "snippet.py"
    script.write_text(SNIPPET, encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file=",
            "--follow-imports=silent",
            "--no-error-summary",
            "--hide-error-context",
            f"--cache-dir={tmp / 'cache'}",
            str(script),
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    lines: dict[int, str] = {}
    for m in re.finditer(r"^.*snippet\.py:(\d+): (.*)$", out, flags=re.MULTILINE):
        lines[int(m.group(1))] = lines.get(int(m.group(1)), "") + m.group(2) + "\n"
    assert lines, f"mypy said nothing about the snippet:\n{out}"
    return proc.returncode, lines


@needs_mypy
def test_coverage_signature_is_seen(mypy_on_snippet: tuple[int, dict[int, str]]) -> None:
    said = mypy_on_snippet[1].get(3, "")
    assert "Revealed type is" in said, said
    assert "def (table:" in said, said
    assert "lines:" in said, said
    assert "-> hlamatch.results.coverage.CoverageReport" in said, said


@needs_mypy
def test_load_table_signature_is_seen(mypy_on_snippet: tuple[int, dict[int, str]]) -> None:
    said = mypy_on_snippet[1].get(4, "")
    assert "def (path:" in said, said
    assert "-> hlamatch.table.model.HaplotypeTable" in said, said


@needs_mypy
def test_report_class_is_seen(mypy_on_snippet: tuple[int, dict[int, str]]) -> None:
    said = mypy_on_snippet[1].get(5, "")
    assert "CoverageReport" in said, said
    assert 'Revealed type is "Any"' not in said, said


@needs_mypy
def test_wrong_argument_type_is_an_error(mypy_on_snippet: tuple[int, dict[int, str]]) -> None:
    status, lines = mypy_on_snippet
    said = lines.get(6, "")
    assert "error:" in said and "arg-type" in said and '"coverage"' in said, lines
    assert status == 1, lines


def _type_checking_names() -> set[str]:
    """Names bound by the ``if TYPE_CHECKING:`` block of ``hlamatch/__init__.py``."""
    tree = ast.parse((ROOT / "hlamatch" / "__init__.py").read_text(encoding="utf-8"))
    blocks = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    assert len(blocks) == 1, "expected one `if TYPE_CHECKING:` block in hlamatch/__init__.py"
    names: set[str] = set()
    for node in ast.walk(blocks[0]):
        if isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def test_type_checking_block_matches_lazy_names() -> None:
    """Every public name has its real type for a type checker, and the block adds nothing else."""
    typed = _type_checking_names()
    lazy = set(hlamatch._LAZY) | {"__version__"}
    assert typed == lazy, f"missing from TYPE_CHECKING: {sorted(lazy - typed)}; not lazy: {sorted(typed - lazy)}"
    assert typed | {"HlamatchError", "HlamatchWarning", "warmup"} == set(hlamatch.__all__)


def test_type_checking_block_points_where_lazy_does() -> None:
    """Each name in the block comes from the module and attribute ``__getattr__`` loads it from."""
    tree = ast.parse((ROOT / "hlamatch" / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    for node in ast.walk(block):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = alias.asname or alias.name
                if name == "__version__":
                    continue
                assert hlamatch._LAZY[name] == (node.module.removeprefix("hlamatch."), alias.name), name
