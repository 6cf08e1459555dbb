"""The examples of the package's docstrings and of the researchers' tutorial run, and print what they show.

pytest's ``--doctest-modules`` (in addopts) collects from ``tests/`` only; this module runs the
docstring examples of every ``hlamatch`` module that has some, one test per module, with the
doctest options of pyproject.  Modules are found by their source (no import at collection) and
imported normally, so optional extras are imported only by the examples that use them; an example
that needs an extra which is not installed (:data:`NEEDS`) is skipped, not failed.
"""

from __future__ import annotations

import doctest
import importlib
import io
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "hlamatch"
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

#: Docstrings whose examples need an optional extra: qualified name → the module it imports.
NEEDS = {"hlamatch.compute.optimize.solve_exact": "scipy"}


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _run(test: doctest.DocTest) -> tuple[int, str]:
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=out.write)
    return runner.failures, out.getvalue()


def test_the_package_has_docstring_examples():
    assert len(_modules_with_examples()) >= 10


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_docstring_examples(module_name: str):
    module = importlib.import_module(module_name)
    tests = [t for t in doctest.DocTestFinder().find(module, module_name) if t.examples]
    assert tests, f"{module_name} has '>>>' in its source but no docstring example doctest finds"
    ran = 0
    for test in tests:
        if test.name in NEEDS and not _installed(NEEDS[test.name]):
            continue
        failures, report = _run(test)
        assert failures == 0, f"docstring examples of {test.name} failed:\n{report}"
        ran += len(test.examples)
    if ran == 0:
        pytest.skip(f"every example of {module_name} needs an extra that is not installed")


def test_researchers_tutorial_runs():
    path = REPO / "docs" / "tutorial-researchers.md"
    test = doctest.DocTestParser().get_doctest(path.read_text(encoding="utf-8"), {}, path.name, str(path), 0)
    assert len(test.examples) >= 20
    failures, report = _run(test)
    assert failures == 0, f"{path.relative_to(REPO)}: examples no longer print what the page shows:\n{report}"
