"""Fixtures of the fuzz tests: the case summary, the slow gate, the scratch folder and the CLI worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzzing import *  # noqa: F403
from fuzzing import CliWorker, _FuzzSummary


@pytest.fixture(scope="session", autouse=True)
def _fuzz_summary(request):
    pm = request.config.pluginmanager
    if not pm.has_plugin("hlamatch-fuzz-summary"):
        pm.register(_FuzzSummary(), "hlamatch-fuzz-summary")


@pytest.fixture(autouse=True)
def _slow_gate(request):
    """Slow twins run only when asked for (``-m slow`` or ``HLAMATCH_FUZZ_SLOW=1``)."""
    if request.node.get_closest_marker("slow") is None:
        return
    expr = request.config.getoption("markexpr", "") or ""
    if os.environ.get("HLAMATCH_FUZZ_SLOW") == "1" or ("slow" in expr and "not slow" not in expr):
        return
    pytest.skip("many-example fuzz twin: run with -m slow or HLAMATCH_FUZZ_SLOW=1")


# ============================================================================ files


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def worker(fuzz_dir):
    worker = CliWorker(fuzz_dir)
    yield worker
    worker.close()
