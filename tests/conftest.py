"""Shared fixtures: where the real (non-redistributable) data lives, and tiny tables.

Real NMDP tables are read in place from ``../shared/data`` next to the repository; they are
never copied into the project.  Tests that need them skip with a clear reason when the
folder is absent (a user's fresh clone).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HLAMATCH_SHARED", REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"
SKIP_REASON = (
    f"real NMDP tables not found in {SHARED_DATA} (they are not redistributable; CI provides "
    "them next to the repository, set HLAMATCH_SHARED to point elsewhere)"
)

# tests/naive.py, strategies.py and fuzz_inputs.py are helper modules, not test modules: make them
# importable (`import naive`); so are the CLI helpers of tests/cli (`from test_cli import invoke`) and
# tests/api (`from test_robust_inputs import one_error`), shared by tests in other folders.
for _folder in ("", "cli", "api"):  # (tests/fuzzing.py: the fuzz harness, one module instance)
    sys.path.insert(0, str(Path(__file__).resolve().parent / _folder))


def shared_path(relative: str) -> Path:
    """Path of a file under ``../shared/data``; skips the calling test when it is absent."""
    p = SHARED_DATA / relative
    if not p.exists():
        pytest.skip(SKIP_REASON)
    return p


def hlamatchit(pop: str) -> Path:
    """NMDP 2020 9-locus table of one population, e.g. ``hlamatchit("JAPI")``."""
    return shared_path(f"raw/HLAMatchIt/freqs_9loc_2020_trim/freqs.{pop}.csv")


@pytest.fixture
def write(tmp_path):
    """Write a text file in a temporary folder and return its path: ``write("t.csv", text)``."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write


@pytest.fixture(autouse=True)
def _no_machine_nomenclature(monkeypatch):
    """Tests never see the machine's HLAMATCH_NOMENCLATURE or a nomenclature set by another test."""
    from hlamatch.hla.nomenclature import use_mac_file, use_nomenclature

    monkeypatch.delenv("HLAMATCH_NOMENCLATURE", raising=False)
    use_nomenclature(None)
    use_mac_file(None)
    yield
    use_nomenclature(None)
    use_mac_file(None)


@pytest.fixture(autouse=True)
def _process_settings_restored():
    """Process-wide settings a test changes (engine, compile notice, cache state ...) are put back after it."""
    from hlamatch import _settings

    saved = _settings.defaults()
    yield
    _settings.restore_defaults(saved)


# ============================================================================ kernel paths
#
# Small problems take the NumPy twins of the kernels (hlamatch.compute.dispatch), so a property test
# through the public API on a small table never runs the numba kernels unless it asks for them.


@pytest.fixture(params=["numba", "numpy"])
def kernel_path(request):
    """Run the test on one path: ``numba`` (thresholds off: every problem takes the kernels, tables
    are merged by the numba hash pass) or ``numpy`` (the NumPy twins wherever a twin exists).  The
    setting holds for the test's thread (hypothesis examples included); returns the path's name."""
    from hlamatch.compute import dispatch

    with dispatch.kernels_only() if request.param == "numba" else dispatch.numpy_twins():
        yield request.param


#: Decorator: run a test once per kernel path (hypothesis tests also need
#: ``suppress_health_check=[HealthCheck.function_scoped_fixture]``: the path is the same for every example).
both_paths = pytest.mark.usefixtures("kernel_path")


def only_path(name: str):
    """Decorator: run a test on one kernel path only (``numba`` or ``numpy``)."""

    def mark(test):
        return both_paths(pytest.mark.parametrize("kernel_path", [name], indirect=True)(test))

    return mark


# ============================================================================ kernel families reached
#
# tests/kernels/test_kernel_reach.py, run last, fails when a kernel family (hlamatch.kernels.FAMILIES) has no
# public numba kernel with compiled code after the whole suite: no test reached its numba path.

#: What the session selected and which test first reached each family (read through the fixture).
_REACH: dict = {"first": {}, "subset": [], "families": ()}


def reached_families() -> set[str]:
    """Families one of whose public kernels (defined in the family's module) has compiled signatures."""
    out = set()
    for family in _REACH["families"]:
        module = sys.modules.get(f"hlamatch.kernels.{family}")
        for name, value in vars(module).items() if module is not None else ():
            if (
                not name.startswith("_")
                and getattr(getattr(value, "py_func", None), "__module__", None) == module.__name__
                and getattr(value, "signatures", None)
            ):
                out.add(family)
                break
    return out


def pytest_collection_modifyitems(session, config, items):
    """The family check runs after every other test."""
    last = [item for item in items if item.path.name == "test_kernel_reach.py"]
    items[:] = [item for item in items if item.path.name != "test_kernel_reach.py"] + last


def pytest_deselected(items):
    if items:
        _REACH["subset"].append(f"{len(items)} tests deselected")


def pytest_collection_finish(session):
    from hlamatch.kernels import FAMILIES

    _REACH["families"] = FAMILIES
    config = session.config
    here = Path(__file__).resolve().parent
    parts = []
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if "::" in arg or not (path == here or path in here.parents):
            parts.append(arg)
    if parts:
        _REACH["subset"].append(
            "selected " + ", ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")
        )
    for option in ("ignore", "ignore_glob", "deselect"):
        if config.getoption(option, None):
            _REACH["subset"].append(f"--{option.replace('_', '-')} given")


def pytest_runtest_logreport(report):
    if report.when == "call" and len(_REACH["first"]) < len(_REACH["families"]):
        for family in reached_families() - set(_REACH["first"]):
            _REACH["first"][family] = report.nodeid


@pytest.fixture
def kernel_reach() -> dict:
    """``first``: family → the test after which its kernels first had compiled code; ``subset``: why
    the session is not the whole suite (empty when it is); ``families``: the families checked."""
    return _REACH
