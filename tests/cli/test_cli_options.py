"""Consistent options across the commands: the same table and compute options everywhere, lists as
comma lists or repeated options, and options that cannot apply refused with one ``Error:`` line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from test_cli import TWO_POPS
from test_robust_inputs import invoke, one_error  # one Error: line, exactly

from hlamatch.cli import cli

LINE = "A*24:02~B*52:01~DRB1*15:02"
LINE_C = "A*24:02~C*12:02~B*52:01~DRB1*15:02"
PATIENT = "A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05"
COHORT = (
    "id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\n"
    "p1,A*24:02,A*02:01,B*52:01,B*07:02,DRB1*15:02,DRB1*04:05\n"
    "p2,A*24:02,A*24:02,B*52:01,B*52:01,DRB1*15:02,DRB1*15:02\n"
    "p3,A*33:03,A*11:01,B*44:03,B*15:01,DRB1*13:02,DRB1*04:06\n"
)
DEFINITION = (
    "empirical cohort coverage (genotype level): share of typed patients whose alleles meet the rules for "
    "some line; not-assessable patients bound it; lower counts not-assessable patients as unmatched, upper "
    "as matched."
)


def ok(*args: str) -> str:
    r = invoke(*args)
    assert r.exit_code == 0, r.stdout + r.stderr
    return r.stdout


def json_rows(*args: str) -> list[dict]:
    return json.loads(ok(*args, "--format", "json"))


@pytest.fixture
def cohort(tmp_path) -> Path:
    p = tmp_path / "patients.csv"
    p.write_text(COHORT)
    return p


@pytest.fixture
def two_pops(tmp_path) -> Path:
    p = tmp_path / "two.csv"
    p.write_text(TWO_POPS)
    return p


# ============================================================================ the same options everywhere

TABLE_OPTIONS = {
    "--table",
    "-t",
    "--table-format",
    "--population",
    "-p",
    "--weights",
    "--sum-tolerance",
    "--nomenclature",
    "--mac",
    "--strict",
}
COMPUTE_OPTIONS = {"--threads", "--quiet", "-q"}


@pytest.mark.parametrize("name", ["coverage", "rank", "plan", "supply", "match"])
def test_every_command_on_a_table_takes_the_table_and_compute_options(name):
    opts = {o for p in cli.commands[name].params for o in p.opts}
    assert TABLE_OPTIONS - opts == set()
    assert COMPUTE_OPTIONS - opts == set()
    assert "Examples:" in ok(name, "--help")


def test_match_takes_population_threads_and_quiet(two_pops):
    (row,) = json_rows(
        "match",
        "-t",
        two_pops,
        "--top",
        "1",
        "-p",
        "AFA",
        "--patient",
        "A*24:02+A*01:01^B*52:01+B*08:01",
        "--threads",
        "1",
        "-q",
    )
    assert [m["line"] for m in row["lines"]] == ["A*24:02~B*52:01"]


# ============================================================================ lists: comma lists or repeated


def test_population_comma_list_equals_repeated_option_in_rank(two_pops):
    comma = json_rows("rank", "-t", two_pops, "-p", "EUR,AFA", "-q")
    repeated = json_rows("rank", "-t", two_pops, "-p", "EUR", "-p", "AFA", "-q")
    assert comma == repeated
    assert [r["population"] for r in comma] == ["EUR"] * 4 + ["AFA"] * 4


def test_loci_comma_list_equals_repeated_option():
    comma = json_rows("coverage", "--top", "3", "--loci", "A,B,DRB1")
    repeated = json_rows("coverage", "--top", "3", "--loci", "A", "--loci", "B,DRB1")
    assert comma == repeated
    assert {tuple(r["loci"]) for r in comma} == {("A", "B", "DRB1")}


def test_resolutions_comma_list_equals_repeated_option_in_coverage():
    comma = json_rows("coverage", "--line", LINE, "--resolution", "2-field,1-field", "--level", "genotype")
    repeated = json_rows(
        "coverage", "--line", LINE, "--resolution", "2-field", "--resolution", "1-field", "--level", "genotype"
    )
    assert comma == repeated
    assert [r["resolution"] for r in comma] == ["2-field", "1-field"]


def test_other_commands_take_one_resolution():
    one_error(
        invoke("rank", "--resolution", "2-field", "--resolution", "1-field"),
        "Error: Invalid value for '--resolution': give one resolution ('2-field,1-field' names 2); only "
        "'coverage' takes a list (see 'hlamatch rank --help')",
        code=2,
    )


def test_registry_sizes_comma_list_equals_repeated_option():
    args = ("supply", "--loci", "A,B,DRB1", "-n", "2", "--level", "haplotype")
    comma = json_rows(*args, "-R", "1000,2000", "-R", "3000")
    repeated = json_rows(*args, "-R", "1000", "-R", "2000", "-R", "3000")
    assert comma == repeated
    assert [r["registry_size"] for r in comma] == [1000, 2000, 3000]
    one_error(invoke(*args, "-R", "1000,x"), "Error: --registry-size 'x' is not a whole number ≥ 1")
    one_error(invoke(*args, "-R", "1000,1000"), "Error: --registry-size 1000 is given twice")


def test_require_match_comma_list_equals_repeated_option():
    base = ("coverage", "--top", "3", "--loci", "A,B,DRB1", "-k", "1", "--level", "genotype")
    assert json_rows(*base, "--require-match", "A,DRB1") == json_rows(
        *base, "--require-match", "A", "--require-match", "DRB1"
    )


def test_a_single_valued_option_given_twice_is_a_usage_error():
    one_error(
        invoke("coverage", "--line", LINE, "--level", "genotype", "--level", "haplotype"),
        "Error: --level is given 2 times ('genotype', 'haplotype'); it takes one value: give it once "
        "(see 'hlamatch coverage --help')",
        code=2,
    )
    one_error(
        invoke("rank", "-k1", "--max-mismatches=2"),
        "Error: --max-mismatches is given 2 times ('1', '2'); it takes one value: give it once "
        "(see 'hlamatch rank --help')",
        code=2,
    )
    # Flags twice are harmless, and values that look like options are not counted.
    assert invoke("coverage", "--line", LINE, "-q", "-q", "--level", "genotype").exit_code == 0


# ============================================================================ coverage --cohort


def test_cohort_refuses_table_options_without_top(cohort):
    one_error(
        invoke("coverage", "--cohort", cohort, "--line", LINE, "-p", "JAPI"),
        "Error: --population does not apply to --cohort without --top (the patients are counted; no table "
        "is read): leave it out, or add --top N to take lines from the table",
    )
    one_error(
        invoke("coverage", "--cohort", cohort, "--line", LINE, "-t", "korean", "--sum-tolerance", "0.1"),
        "Error: --table and --sum-tolerance do not apply to --cohort without --top (the patients are counted; "
        "no table is read): leave them out, or add --top N to take lines from the table",
    )


@pytest.mark.parametrize("level", ["haplotype", "both"])
def test_cohort_refuses_a_level_other_than_genotype(cohort, level):
    one_error(
        invoke("coverage", "--cohort", cohort, "--line", LINE, "--level", level),
        f"Error: --level {level} does not apply to --cohort: typed patients are compared at genotype level "
        "(their typings are unphased); leave --level out",
    )
    assert invoke("coverage", "--cohort", cohort, "--line", LINE, "--level", "genotype").exit_code == 0


def test_cohort_refuses_tolerance_and_engine(cohort):
    one_error(
        invoke("coverage", "--cohort", cohort, "--line", LINE, "--tolerance", "1e-6", "--engine", "dask"),
        "Error: --tolerance and --engine do not apply to --cohort (the typed patients are counted; no patient "
        "genotypes are enumerated): leave them out",
    )


def test_cohort_with_top_compares_at_the_loci_the_patients_are_typed_at(cohort):
    out = ok("coverage", "--cohort", cohort, "--top", "5", "-p", "JAPI", "--threads", "1", "-q").splitlines()
    assert out == [
        "Empirical coverage — cohort patients.csv",
        "loci A~B~DRB1 · resolution 2-field · rule: HvG mismatches = 0 · 5 line(s)",
        "patients 3 · assessed 3 · not assessable 0 · errors 0 · matched 3",
        "coverage 100.00%  [lower 100.00%, upper 100.00%]  among assessed 100.00%",
        "best line by mismatches (assessed patients): 0: 100.00%",
        DEFINITION,
    ]
    # --loci still chooses: at five loci no patient is typed at C or DQB1.
    (row,) = json_rows("coverage", "--cohort", cohort, "--top", "5", "--loci", "A,C,B,DRB1,DQB1")
    assert row["loci"] == ["A", "C", "B", "DRB1", "DQB1"] and row["assessed"] == 0


def test_cohort_with_no_patient_assessed_says_so_in_words(cohort):
    r = invoke("coverage", "--cohort", cohort, "--line", LINE_C)
    assert r.exit_code == 0 and r.stderr == ""
    assert r.stdout.splitlines() == [
        "Empirical coverage — cohort patients.csv",
        "loci A~C~B~DRB1 · resolution 2-field · rule: HvG mismatches = 0 · 1 line(s)",
        "patients 3 · assessed 0 · not assessable 3 · errors 0 · matched 0",
        "coverage 0.00%  [lower 0.00%, upper 100.00%]  no patient assessed",
        "not assessable: 3 not typed at C",
        DEFINITION,
    ]
    (row,) = json_rows("coverage", "--cohort", cohort, "--line", LINE_C)
    assert row["assessed_coverage"] is None
    text = ok("coverage", "--cohort", cohort, "--line", LINE_C, "--format", "csv")
    (flat,) = list(csv.DictReader(io.StringIO(text)))
    assert flat["assessed_coverage"] == ""
    for fmt in ("text", "json", "csv"):
        assert "nan" not in ok("coverage", "--cohort", cohort, "--line", LINE_C, "--format", fmt).lower()


def test_cohort_of_only_bad_rows_has_no_coverage(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("id,A_1,A_2,B_1,B_2\nx,A*2X:0,A*02:01,B*52:01,B*07:02\n")
    r = invoke("coverage", "--cohort", p, "--line", "A*24:02~B*52:01")
    assert r.exit_code == 1
    assert "coverage: no patient could be read (every row is an error), so there is no coverage" in r.stdout
    assert "nan" not in (r.stdout + r.stderr).lower()
    r = invoke("coverage", "--cohort", p, "--line", "A*24:02~B*52:01", "--format", "json")
    (row,) = json.loads(r.stdout)
    assert row["coverage"] is None and row["lower"] is None and row["upper"] is None


# ============================================================================ coverage on a table


def test_coverage_refuses_tolerance_at_haplotype_level():
    one_error(
        invoke("coverage", "--top", "3", "--loci", "A,B,DRB1", "--level", "haplotype", "--tolerance", "1e-6"),
        "Error: --tolerance does not apply at --level haplotype, which is always computed exactly: leave it out",
    )


def test_a_coarse_line_names_the_resolution_to_pass():
    one_error(
        invoke("rank", "--line", "A*24~B*52~DRB1*15", "--loci", "A,B,DRB1"),
        "Error: line A*24~B*52~DRB1*15: A*24 is 1-field, coarser than 2-field; type the line at the "
        "computation's 2-field resolution, or pass --resolution 1-field",
    )
    assert (
        invoke(
            "rank", "--line", "A*24~B*52~DRB1*15", "--loci", "A,B,DRB1", "--resolution", "1-field", "-n", "3"
        ).exit_code
        == 0
    )


@pytest.mark.parametrize("name", ["coverage", "rank", "plan", "supply"])
def test_resolution_help_says_the_default_and_the_fix(name):
    help_text = " ".join(ok(name, "--help").split())
    assert "Default: the table's own" in help_text
    assert "is an error: pass --resolution 1-field (the line's resolution)" in help_text


# ============================================================================ rank, plan


def test_rank_refuses_show_where_it_cannot_apply():
    one_error(
        invoke("rank", "--loci", "A,B,DRB1", "--show", "3", "--format", "json"),
        "Error: --show does not apply to --format json, which holds every candidate: leave it out",
    )
    one_error(
        invoke("rank", "--loci", "A,B,DRB1", "--show", "3", "--all"),
        "Error: --show does not apply with --all-lines, which shows every candidate: leave it out",
    )


@pytest.mark.parametrize("name", ["rank", "plan", "supply"])
def test_n_candidates_with_a_candidates_file_is_refused(name, tmp_path):
    p = tmp_path / "cands.csv"
    p.write_text(f"haplotype\n{LINE}\n")
    extra = ("--max-lines", "1") if name == "plan" else ()
    one_error(
        invoke(name, "--candidates", p, "-n", "5", *extra),
        "Error: --n-candidates does not apply with --candidates (it counts the default candidates; the file's "
        "lines are the candidates): leave it out",
    )


@pytest.mark.parametrize("name", ["rank", "plan"])
def test_tolerance_under_the_default_rule_is_refused(name):
    extra = ("--max-lines", "1") if name == "plan" else ()
    one_error(
        invoke(name, "--loci", "A,B,DRB1", "--tolerance", "1e-3", *extra),
        "Error: --tolerance does not apply under the default rule (zero HvG mismatches), which is always "
        "computed exactly: leave it out, or give a rule it applies to (e.g. -k 1)",
    )


def test_plan_refuses_time_limit_without_exact():
    one_error(
        invoke("plan", "--loci", "A,B,DRB1", "--max-lines", "2", "--time-limit", "3"),
        "Error: --time-limit does not apply without --exact (it limits the exact solver): leave it out, or add --exact",
    )


# ============================================================================ supply


def test_supply_refuses_registry_options_without_registry_size():
    one_error(
        invoke("supply", "--loci", "A,B,DRB1", "-k", "1", "--seed", "3"),
        "Error: --seed and --max-mismatches do not apply without --registry-size (the level, rule and Monte "
        "Carlo options shape the expected coverage of registries of R typed people): leave them out, or add "
        "--registry-size R",
    )
    one_error(
        invoke("supply", "--loci", "A,B,DRB1", "--rows", "registry", "--format", "json"),
        "Error: --rows registry needs --registry-size (one row per registry size): add --registry-size R, "
        "or use --rows candidates",
    )


def test_supply_without_registry_size_lists_the_candidates():
    rows = json_rows("supply", "--loci", "A,B,DRB1", "-n", "2")
    assert [r["line"] for r in rows] == [LINE, "A*33:03~B*44:03~DRB1*13:02"]


def test_supply_refuses_monte_carlo_options_where_all_is_exact():
    one_error(
        invoke("supply", "--loci", "A,B,DRB1", "-R", "1000", "--level", "haplotype", "--samples", "3"),
        "Error: --samples does not apply at --level haplotype under the default rule, where the expected "
        "coverage is exact (no Monte Carlo): leave it out",
    )


def test_supply_refuses_rows_for_text():
    one_error(
        invoke("supply", "--loci", "A,B,DRB1", "-R", "1000", "--rows", "registry"),
        "Error: --rows does not apply to text output, which shows both the candidates and the registries: "
        "leave it out, or add --format json or --format csv",
    )


# ============================================================================ match


def test_match_refuses_table_options_without_top():
    one_error(
        invoke("match", "--patient", PATIENT, "--line", LINE, "-p", "JAPI"),
        "Error: --population does not apply without --top (the lines are given; no table is read): leave it "
        "out, or add --top N to take lines from the table",
    )


def test_match_top_compares_at_the_loci_the_patients_are_typed_at():
    out = ok("match", "--patient", PATIENT, "--top", "2").splitlines()
    assert out[0] == (
        "Patient look-up — loci A~B~DRB1 · resolution 2-field · rule: HvG mismatches = 0 (genotype level)"
    )
    assert out[2:] == ["patient 1: 1 line(s) match", "  0 mismatch(es)  A*24:02~B*52:01~DRB1*15:02  — full match"]


def test_match_top_with_patients_typed_at_no_table_locus(tmp_path):
    p = tmp_path / "dp.csv"
    p.write_text("id,DPB1_1,DPB1_2\nx,DPB1*05:01,DPB1*02:01\n")
    one_error(
        invoke("match", "--patients-file", p, "--top", "3"),
        "Error: the patients are typed at none of the loci of table bundled:japanese (A, C, B, DRB1, DQB1): "
        "pass --loci to choose the loci to compare",
    )


# ============================================================================ the helpers


def test_refuse_names_only_the_options_given():
    from hlamatch.cli.options import Command, refuse
    from hlamatch.errors import OptionError

    @click.command(cls=Command)
    @click.option("--a", default=1)
    @click.option("--bee", "-b", default=None)
    def probe(a, bee):
        try:
            refuse(("a", "bee"), "here")
        except OptionError as e:
            click.echo(str(e))
        else:
            click.echo("nothing refused")

    runner = CliRunner()
    assert runner.invoke(probe, []).output == "nothing refused\n"
    assert runner.invoke(probe, ["--a", "1"]).output == "--a does not apply here: leave it out\n"
    assert runner.invoke(probe, ["-b", "x", "--a", "2"]).output == "--a and --bee do not apply here: leave them out\n"
