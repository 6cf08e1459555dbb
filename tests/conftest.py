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

# tests/naive.py is a helper module, not a test module: make it importable as `naive`.
sys.path.insert(0, str(Path(__file__).resolve().parent))


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
