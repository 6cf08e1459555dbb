"""The release contract: one version, a CHANGELOG entry for it, a LICENSE matching pyproject, and a
wheel that holds the package and the bundled tables, and nothing it should not (tests, benchmarks,
files of the licensed NMDP or WMDA data)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import hlamatch
from hlamatch._version import __version__

REPO = Path(__file__).resolve().parents[1]


def test_one_version_in_one_place():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["hatch"]["version"]["path"] == "hlamatch/_version.py"
    assert hlamatch.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_changelog_has_an_entry_for_this_version():
    text = (REPO / "CHANGELOG.md").read_text()
    assert "Keep a Changelog" in text
    heads = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert heads and heads[0] in (__version__, "Unreleased"), heads
    assert __version__ in heads


def test_license_matches_pyproject():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    dist = tmp_path_factory.mktemp("dist")
    try:
        import hatchling  # noqa: F401 - the build backend, from the test extra
    except ImportError:
        pytest.skip("hatchling (the build backend, in the test extra) is not installed")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO)],
        check=True,
    )
    return zipfile.ZipFile(next(dist.glob("hlamatch-*.whl")))


def test_wheel_holds_the_package_and_the_bundled_tables_only(wheel):
    names = wheel.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"hlamatch", f"hlamatch-{__version__}.dist-info"}, tops  # no tests/, benchmarks/, docs/
    for needed in (
        "hlamatch/__init__.py",
        "hlamatch/py.typed",
        "hlamatch/kernels/pairs.py",
        "hlamatch/cli/__init__.py",
        "hlamatch/_haplotypes/japanese.csv",
        "hlamatch/_haplotypes/korean.csv",
        "hlamatch/_haplotypes/tables.json",
        "hlamatch/_haplotypes/README.md",
    ):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names
    # nothing compiled or cached, and none of the licensed data (NMDP frequency files, WMDA files)
    banned = re.compile(
        r"__pycache__|\.pyc$|\.nbi$|\.nbc$|freqs\.|rel_dna_ser|rel_ser_ser|hla_nom|Allelelist|\.parquet$"
    )
    assert [n for n in names if banned.search(n)] == []
    data = [n for n in names if n.startswith("hlamatch/_haplotypes/")]
    assert sorted(Path(n).name for n in data) == sorted(p.name for p in (REPO / "haplotypes").iterdir() if p.is_file())
    meta = wheel.read(f"hlamatch-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}" in meta and "License-Expression: MIT" in meta
