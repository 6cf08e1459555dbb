"""The rank, plan and supply commands: output shapes, agreement with the library, errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import hlamatch
from hlamatch.cli import cli

ABDR = ["--loci", "A,B,DRB1"]


def run(*args: str, code: int = 0):
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, (res.output, res.exception)
    return res


def test_rank_json_has_the_documented_fields_and_equals_the_library():
    rows = json.loads(run("rank", *ABDR, "-n", "10", "--format", "json").output)
    assert isinstance(rows, list) and len(rows) == 10
    assert {"rank", "line", "gain", "coverage", "lower", "upper"} <= set(rows[0])
    lib = hlamatch.rank_candidates("japanese", n_candidates=10, loci=["A", "B", "DRB1"])
    assert [(r["line"], r["gain"]) for r in rows] == [(c.line, c.gain) for c in lib]
    # the best single line at genotype level is CiRA's first line (15.40% on the bundled table)
    assert rows[0]["line"] == "A*24:02~B*52:01~DRB1*15:02"
    assert rows[0]["gain"] == pytest.approx(hlamatch.coverage("japanese", [rows[0]["line"]])[1].lower)


def test_rank_with_a_bank_and_a_candidates_file(tmp_path):
    f = tmp_path / "cands.csv"
    f.write_text(
        "name,haplotype1,haplotype2\nhet,A*24:02~B*52:01~DRB1*15:02,A*33:03~B*44:03~DRB1*13:02\n"
        "hom,A*24:02~B*07:02~DRB1*01:01,\n"
    )
    rows = json.loads(
        run("rank", "--line", "A*24:02~B*52:01~DRB1*15:02", "--candidates", str(f), "--format", "json").output
    )
    assert {r["name"] for r in rows} == {"het", "hom"}
    for r in rows:
        both = hlamatch.coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02", r["line"]], level="genotype")[0]
        assert r["coverage"] == pytest.approx(both.lower, abs=1e-12)
        assert r["bank_coverage"] == pytest.approx(
            hlamatch.coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02"], level="genotype")[0].lower, abs=1e-12
        )


def test_rank_text_and_csv():
    out = run("rank", *ABDR, "-n", "30", "--show", "3", "--registry-size", "24000").output
    assert "1  A*24:02~B*52:01~DRB1*15:02" in out
    assert "… 27 more (--all-lines shows every candidate; JSON/CSV hold all)" in out
    assert "P(in 24,000)" in out
    text = run("rank", *ABDR, "-n", "5", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    assert not any("{" in v or "[" in v for r in rows for v in r.values())


def test_plan_json_steps_and_target():
    rows = json.loads(run("plan", *ABDR, "-n", "30", "--target", "0.4", "--format", "json").output)
    assert [r["step"] for r in rows] == list(range(len(rows)))
    assert {"step", "line", "gain", "coverage"} <= set(rows[0])
    assert rows[-1]["coverage"] >= 0.4 > rows[-2]["coverage"]
    lines = [r["line"] for r in rows[1:]]
    cov = hlamatch.coverage("japanese", lines, level="genotype")[0].lower
    assert rows[-1]["coverage"] == pytest.approx(cov, abs=1e-12)


def test_plan_needs_a_stopping_rule():
    res = run("plan", *ABDR, code=1)
    assert res.output.strip().splitlines()[-1] == (
        "Error: give --target (a coverage, e.g. 0.8), --max-lines (a number of lines, e.g. 50), or both"
    )


def test_plan_exact_reports_the_gap():
    pytest.importorskip("scipy", reason="the exact planner needs the extra hlamatch[exact]")
    out = run("plan", *ABDR, "-n", "12", "--max-lines", "3", "--exact").output
    assert "exact (optimal):" in out and "gap" in out


def test_plan_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need the extra hlamatch[plot]")
    png = tmp_path / "curve.png"
    run("plan", *ABDR, "-n", "10", "--max-lines", "4", "--plot", str(png), "--format", "json")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_supply_json_has_expected_distinct_lines_per_population():
    rows = json.loads(run("supply", *ABDR, "-R", "24000", "--level", "haplotype", "--format", "json").output)
    assert [r["population"] for r in rows] == ["JAPI"]
    assert rows[0]["registry_size"] == 24000 and rows[0]["expected_distinct_lines"] > 0
    assert rows[0]["method"] == "exact"
    lib = hlamatch.supply("japanese", loci=["A", "B", "DRB1"], registry_sizes=[24000], level="haplotype")
    assert rows[0]["expected_distinct_lines"] == pytest.approx(lib.registry(24000).expected_distinct_lines)


def test_weighted_mix_of_two_bundled_tables():
    rows = json.loads(
        run(
            "plan",
            "-t",
            "japanese",
            "-t",
            "korean",
            "-p",
            "JAPI=0.7",
            "-p",
            "KORI=0.3",
            *ABDR,
            "-n",
            "20",
            "--max-lines",
            "3",
            "--format",
            "json",
        ).output
    )
    assert {r["population"] for r in rows} == {"weighted"}
    last = rows[-1]
    assert last["coverage"] == pytest.approx(
        0.7 * last["coverage_by_population"]["JAPI"] + 0.3 * last["coverage_by_population"]["KORI"], abs=1e-12
    )


@pytest.mark.parametrize("command", ["rank", "plan", "supply"])
def test_help_has_examples(command):
    out = run(command, "--help").output
    assert "Examples:" in out and f"hlamatch {command}" in out
