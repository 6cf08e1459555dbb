"""Bundled tables: found from a source checkout and from an installed wheel."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import hlamatch
from hlamatch.io.bundled import available_tables, default_table, load_bundled, table_info, tables_root

REPO = Path(__file__).resolve().parents[2]


def test_every_bundled_table_loads_and_matches_its_provenance():
    assert default_table() == "japanese"
    assert set(available_tables()) >= {"japanese", "korean"}
    for name in available_tables():
        info = table_info(name)
        table = load_bundled(name)
        assert table.source == f"bundled:{name}"
        assert list(table.loci) == info["loci"]
        assert table.resolution == info["resolution"]
        assert table.populations == (info["population"],)
        # The provenance record states the listed and unlisted mass of the quoted figures.
        assert table.listed_mass() == pytest.approx(info["listed_mass"], abs=1e-4)
        assert table.unlisted_mass() == pytest.approx(info["unlisted_mass"], abs=1e-4)
        assert info["citation"] and info["source"]


def test_provenance_readme_names_every_table():
    readme = (tables_root() / "README.md").read_text()
    for name in available_tables():
        assert table_info(name)["file"] in readme


def test_bundled_name_resolves_through_coverage():
    r = hlamatch.coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02"], level="haplotype")[0]
    assert r.table == "bundled:japanese"
    # Listed frequency of the CiRA haplotype in the quoted top-100 (0.079207, rank 1).
    assert r.lower == pytest.approx(1 - (1 - 0.079207) ** 2, abs=1e-12)
    assert r.upper > r.lower  # half the Japanese chromosomes are unlisted in the bundled table


@pytest.mark.slow
def test_wheel_installs_in_clean_venv_and_loads_bundled_tables(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO)],
        check=True,
    )
    wheel = next(dist.glob("hlamatch-*.whl"))
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    py = env / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies (numpy, numba, polars ...) come from the test environment; hlamatch itself
    # only from the wheel: the checkout is not on the new environment's path.
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)], check=True
    )
    script = textwrap.dedent(
        """
        import hlamatch
        from hlamatch.io.bundled import available_tables, load_bundled, tables_root
        root = str(tables_root())
        assert "site-packages" in root and root.endswith("_haplotypes"), root
        for name in available_tables():
            t = load_bundled(name)
            assert t.n_haplotypes == 100, (name, t.n_haplotypes)
        r = hlamatch.coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02"], level="haplotype")
        print(hlamatch.__file__, sorted(available_tables()), round(r[0].lower, 4))
        """
    )
    out = subprocess.run([str(py), "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert str(REPO) not in out.stdout.split()[0]
    assert "['japanese', 'korean'] 0.1521" in out.stdout
    cli = subprocess.run([str(env / "bin" / "hlamatch"), "tables"], check=True, capture_output=True, text=True)
    assert "japanese" in cli.stdout and "korean" in cli.stdout
