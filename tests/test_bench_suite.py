"""The benchmark report command ``benchmarks/suite.py``, in its tiny mode (a 10^3-row synthetic
table and the bundled table): both files are written, the JSON holds what the report promises, and
the coverage figures it reports are hlamatch's own.  Correctness only: no timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import hlamatch

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "benchmarks" / "suite.py"
ONLY = ["haplotype-synth-1e3", "genotype-bundled-top20", "rules-require-dr"]


def _synth():
    spec = importlib.util.spec_from_file_location("synth", REPO / "benchmarks" / "synth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("synth", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("suite")
    out = tmp / "RESULTS"
    run = subprocess.run(
        [
            sys.executable,
            str(SUITE),
            "--tiny",
            "--only",
            ",".join(ONLY),
            "--out",
            str(out),
            "--work",
            str(tmp / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return tmp, out


def test_both_files_written(report):
    tmp, out = report
    md = Path(f"{out}.md").read_text()
    text = Path(f"{out}.json").read_text()
    assert md.startswith("# hlamatch benchmark report")
    for name in ONLY:
        assert f"`{name}`" in md
    for header in ("| workload |", "cold", "warm", "command", "peak RSS", "× NumPy", "| CPU |", "| cores |", "| RAM |"):
        assert header in md
    # No absolute path of the machine (the scratch folder, the output folder) in the report.
    assert str(tmp) not in md and str(tmp) not in text


def test_json_keys(report):
    _, out = report
    data = json.loads(Path(f"{out}.json").read_text())
    assert set(data) >= {"suite", "machine", "workloads", "synthetic"}
    assert data["suite"]["mode"] == "tiny"
    assert set(data["machine"]) >= {"cpu", "cores", "ram_gib", "python", "numba", "numpy", "polars", "commit"}
    assert [w["name"] for w in data["workloads"]] == ONLY
    for w in data["workloads"]:
        assert w["status"] == "ok", w["notes"]
        assert set(w) >= {
            "name",
            "title",
            "rows",
            "lines",
            "result",
            "load_s",
            "cold_s",
            "warm_s",
            "command_s",
            "peak_rss_mib",
            "command_peak_rss_mib",
            "command",
            "notes",
        }
        assert w["command_agrees"] is True
        assert w["repeat_identical"] is True
        for key in ("load_s", "cold_s", "warm_s", "command_s", "peak_rss_mib"):
            assert w[key] > 0
    refs = {w["name"]: w.get("reference") for w in data["workloads"]}
    assert refs["haplotype-synth-1e3"]["status"] == "ok" and not refs["haplotype-synth-1e3"]["extrapolated"]
    assert refs["rules-require-dr"] is None  # no NumPy reference for rules


def test_coverage_equals_the_api(report):
    _, out = report
    got = {w["name"]: w["result"] for w in json.loads(Path(f"{out}.json").read_text())["workloads"]}

    synth = hlamatch.table_from_frame(_synth().synth_table(1000, seed=0), name="synth")
    expected = hlamatch.coverage(synth, hlamatch.top_lines(synth, 20), level="haplotype")[0]
    assert got["haplotype-synth-1e3"]["coverage"] == expected.coverage

    bundled = hlamatch.bundled_table("japanese")
    five = bundled.select(["A", "C", "B", "DRB1", "DQB1"])
    expected = hlamatch.coverage(five, hlamatch.top_lines(five, 20), level="genotype")[0]
    assert (got["genotype-bundled-top20"]["coverage"], got["genotype-bundled-top20"]["upper"]) == (
        expected.coverage,
        expected.upper,
    )

    abdr = bundled.select(["A", "B", "DRB1"])
    expected = hlamatch.coverage(abdr, hlamatch.top_lines(abdr, 20), level="genotype", require_match=["DRB1"])[0]
    assert got["rules-require-dr"]["coverage"] == expected.coverage
    assert got["rules-require-dr"]["upper"] == expected.upper
