"""Output people can use: flat CSV in one column order, ``tables NAME --top N``, ``--all-lines``,
one definition footer per command, and a clear ``CoverageReport.get`` on several populations.

Everything here runs on the bundled tables (no ``../shared`` data needed)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from test_cli import invoke  # tests/ is on sys.path (conftest.py)

import hlamatch
from hlamatch.errors import OptionError
from hlamatch.results.definitions import DEFINITIONS
from hlamatch.results.flat import LEADING

LINE = "A*24:02~B*52:01~DRB1*15:02"
ABDR = ("--loci", "A,B,DRB1")
MIX = ("-t", "japanese", "-t", "korean", "-p", "JAPI=0.7", "-p", "KORI=0.3")


def ok(*args: str) -> str:
    r = invoke(*args)
    assert r.exit_code == 0, r.stdout + r.stderr
    return r.stdout


def error(*args: str) -> str:
    """The one ``Error:`` line of a failing command (exit status 1)."""
    r = invoke(*args)
    assert r.exit_code == 1, r.stdout + r.stderr
    (line,) = (r.stdout + r.stderr).splitlines()
    return line


def csv_lines(*args: str) -> list[str]:
    return ok(*args, "--format", "csv").splitlines()


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def cohort(write) -> Path:
    """Three typed patients: one matched, one not, one not assessable (A*24 is one-field)."""
    return write(
        "cohort.csv",
        "id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\n"
        "p1,A*24:02,A*01:01,B*52:01,B*08:01,DRB1*15:02,DRB1*01:01\n"
        "p2,A*02:01,A*01:01,B*07:02,B*08:01,DRB1*15:02,DRB1*01:01\n"
        "p3,A*24,A*01:01,B*52:01,B*08:01,DRB1*15:02,DRB1*01:01\n",
    )


@pytest.fixture
def two_pops(write) -> Path:
    """Two populations; A*24:09N carries a null allele (never a --top line)."""
    return write(
        "two.csv",
        "A,B,EUR,AFA\nA*01:01,B*08:01,0.5,0.1\nA*02:01,B*07:02,0.3,0.2\n"
        "A*24:02,B*52:01,0.1,0.6\nA*24:09N,B*52:01,0.05,0.05\n",
    )


# ============================================================================ flat CSV


def test_coverage_csv_is_flat_short_and_rounded():
    assert csv_lines("coverage", "--line", LINE) == [
        "population,level,resolution,loci,rule,definition,table,coverage,lower,upper,unlisted_mass,nomenclature,"
        "tolerance,lines",
        f"JAPI,haplotype,2-field,A~B~DRB1,HvG mismatches = 0,hwe-haplotype,bundled:japanese,0.15214,0.15214,0.83445,"
        f"0.513915,,0,{LINE}",
        f"JAPI,genotype,2-field,A~B~DRB1,HvG mismatches = 0,hwe-genotype,bundled:japanese,0.153978,0.153978,0.836288,"
        f"0.513915,,0,{LINE}",
    ]


def test_json_keeps_full_precision_and_the_definition_in_full():
    rows = json.loads(ok("coverage", "--line", LINE, "--format", "json"))
    assert rows[1]["definition"] == DEFINITIONS["genotype"]
    assert rows[1]["coverage"] == pytest.approx(0.153978, abs=1e-6) and rows[1]["coverage"] != 0.153978
    assert rows[1]["rules"]["max_mismatches"] == 0
    text = ok("coverage", "--line", LINE)
    assert f"genotype: {DEFINITIONS['genotype']}." in text


def test_distribution_is_one_column_per_bin():
    head, row = csv_lines("coverage", "--line", LINE, "-k", "1", "--level", "genotype")
    assert head == (
        "population,level,resolution,loci,rule,definition,table,coverage,lower,upper,unlisted_mass,"
        + ",".join(f"mismatches_{m}" for m in range(7))
        + ",mismatches_unmatched,"
        + ",".join(f"mismatches_upper_{m}" for m in range(7))
        + ",mismatches_upper_unmatched,"
        "nomenclature,tolerance,lines"
    )
    assert row == (
        "JAPI,genotype,2-field,A~B~DRB1,HvG mismatches ≤ 1; homozygous mismatch counts 1,hwe-genotype,"
        "bundled:japanese,0.176445,0.176445,0.845092,0.513915,"
        "0.153978,0.0224674,0.250283,0.573272,0,0,0,0,"
        "0.836288,0.00880356,0.0957466,0.0591618,0,0,0,0,,0," + LINE
    )


def test_weighted_mix_has_weight_columns_and_a_weighted_definition():
    assert csv_lines("coverage", *MIX, "--line", LINE, "--level", "genotype") == [
        "population,level,resolution,loci,rule,definition,table,coverage,lower,upper,unlisted_mass,weights_JAPI,"
        "weights_KORI,nomenclature,tolerance,lines",
        "JAPI,genotype,2-field,A~B~DRB1,HvG mismatches = 0,hwe-genotype,bundled:japanese+bundled:korean,0.153978,"
        f"0.153978,0.836288,0.513915,,,,0,{LINE}",
        "KORI,genotype,2-field,A~B~DRB1,HvG mismatches = 0,hwe-genotype,bundled:japanese+bundled:korean,0.0387256,"
        f"0.0387256,0.811558,0.546347,,,,0,{LINE}",
        "weighted,genotype,2-field,A~B~DRB1,HvG mismatches = 0,hwe-genotype-weighted,bundled:japanese+bundled:korean,"
        f"0.119402,0.119402,0.828869,0.523645,0.7,0.3,,0,{LINE}",
    ]


def test_cohort_csv_has_the_table_layout(cohort):
    assert csv_lines("coverage", "--cohort", str(cohort), "--line", LINE, "-k", "2") == [
        "population,level,resolution,loci,rule,definition,table,patients,assessed,not_assessable,errors,matched,"
        "coverage,lower,upper,assessed_coverage,mismatches_0,mismatches_1,mismatches_2,mismatches_unmatched,"
        "unlisted_mass,lines",
        f"cohort.csv,genotype,2-field,A~B~DRB1,HvG mismatches ≤ 2; homozygous mismatch counts 1,cohort-genotype,"
        f"cohort:{cohort},3,2,1,0,2,0.666667,0.666667,1,1,0.5,0,0.5,0,,{LINE}",
    ]


def test_rank_and_plan_csv_headers():
    assert csv_lines("rank", *ABDR, "-n", "2", "--line", LINE)[0] == (
        "population,level,resolution,loci,rule,definition,table,rank,line,name,gain,coverage,lower,upper,frequency,"
        "p_donor,people_per_donor,bank_coverage,bank_upper,registry_sizes,inbreeding,tolerance,bank"
    )
    plan = csv_lines("plan", *ABDR, "-n", "3", "--max-lines", "1")
    assert plan == [
        "population,level,resolution,loci,rule,definition,table,step,line,name,gain,coverage,lower,upper,target,"
        "tolerance,stop_reason",
        "JAPI,genotype,2-field,A~B~DRB1,HvG mismatches = 0,gain-hwe-genotype,bundled:japanese,0,,,0,0,0,0,,0,"
        "1 line(s) added",
        f"JAPI,genotype,2-field,A~B~DRB1,HvG mismatches = 0,gain-hwe-genotype,bundled:japanese,1,{LINE},{LINE},"
        "0.153978,0.153978,0.153978,0.836288,,0,1 line(s) added",
    ]
    mix = csv_lines("rank", *MIX, *ABDR, "-n", "1")
    assert mix[1].split(",")[:7] == [
        "weighted",
        "genotype",
        "2-field",
        "A~B~DRB1",
        "HvG mismatches = 0",
        "gain-hwe-genotype-weighted",
        "bundled:japanese+bundled:korean",
    ]


COMMANDS = {
    "coverage": ("coverage", "--line", LINE, "-k", "1"),
    "coverage mix": ("coverage", *MIX, "--top", "3", *ABDR, "--distribution"),
    "coverage resolutions": ("coverage", "--top", "3", *ABDR, "--resolution", "2-field,1-field"),
    "rank": ("rank", *ABDR, "-n", "3", "--registry-size", "24000"),
    "rank mix": ("rank", *MIX, *ABDR, "-n", "3"),
    "plan": ("plan", *ABDR, "-n", "5", "--max-lines", "2"),
    "supply": ("supply", *ABDR, "-n", "2", "-R", "1000", "--level", "haplotype"),
    "supply candidates": ("supply", *ABDR, "-n", "2", "-R", "1000", "--rows", "candidates"),
    "tables NAME": ("tables", "japanese"),
    "tables NAME --top": ("tables", "japanese", "--top", "3"),
    "match": ("match", "--patient", "A*24:02+A*01:01^B*52:01+B*08:01^DRB1*15:02+DRB1*01:01", "--line", LINE),
}
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]\d+)?")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_csv_is_flat_ordered_and_rounded(name):
    table = cells(ok(*COMMANDS[name], "--format", "csv"))
    head, rows = table[0], table[1:]
    assert rows and all(len(r) == len(head) for r in rows)
    # the shared leading columns come first, in one order
    shared = [c for c in head if c in LEADING]
    assert head[: len(shared)] == shared == [c for c in LEADING if c in head]
    assert not {"rules", "distribution", "distribution_upper", "weights", "source"} & set(head)
    # every computed figure says which definition it follows (the tables' own listings compute none)
    assert "definition" in head or name.startswith(("tables", "match"))
    for row in rows:
        for column, value in zip(head, row):
            assert not any(ch in value for ch in "{}[]"), (column, value)
            assert value.lower() not in ("nan", "inf", "-inf", "none", "null"), (column, value)
            if column == "definition":
                assert len(value) <= 30, value
            if NUMBER.fullmatch(value) and "." in value:  # at most 6 significant digits
                digits = value.split("e")[0].lstrip("-").replace(".", "").lstrip("0")
                assert len(digits) <= 6, (column, value)


def test_to_polars_is_flat_and_writes_csv(tmp_path):
    pl = pytest.importorskip("polars")
    report = hlamatch.coverage("japanese", [LINE], max_mismatches=1)
    df = report.to_polars()
    path = tmp_path / "coverage.csv"
    df.write_csv(path)
    cli_head = csv_lines("coverage", "--line", LINE, "-k", "1")[0]
    assert path.read_text().splitlines()[0] == cli_head
    assert df["definition"].to_list() == ["hwe-haplotype", "hwe-genotype"]
    assert df["coverage"][1] == report.get("genotype").coverage  # full precision
    assert df["mismatches_1"][1] == report.get("genotype").distribution["1"]
    nested = report.to_polars(flat=False)
    assert nested["definition"][1] == DEFINITIONS["genotype"]
    assert isinstance(nested.schema["distribution"], pl.Struct)


# ============================================================================ tables NAME --top N


def test_tables_top_text_json_csv():
    assert ok("tables", "japanese", "--top", "3", *ABDR).splitlines() == [
        "Most frequent haplotypes — table bundled:japanese",
        "loci A~B~DRB1 · resolution 2-field · the lines '--top 3' takes (haplotypes with a null allele left out)",
        "",
        "population JAPI",
        "rank  haplotype                    frequency  cumulative",
        "   1  A*24:02~B*52:01~DRB1*15:02     0.07921     0.07921",
        "   2  A*33:03~B*44:03~DRB1*13:02     0.03884     0.11805",
        "   3  A*24:02~B*07:02~DRB1*01:01     0.03717     0.15522",
    ]
    assert csv_lines("tables", "japanese", "--top", "2", *ABDR) == [
        "population,resolution,loci,table,rank,haplotype,frequency,cumulative",
        "JAPI,2-field,A~B~DRB1,bundled:japanese,1,A*24:02~B*52:01~DRB1*15:02,0.079207,0.079207",
        "JAPI,2-field,A~B~DRB1,bundled:japanese,2,A*33:03~B*44:03~DRB1*13:02,0.038841,0.118048",
    ]
    rows = json.loads(ok("tables", "japanese", "--top", "1", "--format", "json"))
    assert rows == [
        {
            "population": "JAPI",
            "loci": ["A", "C", "B", "DRB1", "DQB1"],
            "resolution": "2-field",
            "table": "bundled:japanese",
            "rank": 1,
            "haplotype": "A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01",
            "frequency": 0.079207,
            "cumulative": 0.079207,
        }
    ]


def test_tables_top_lists_the_lines_top_takes():
    listed = [
        r["haplotype"]
        for r in json.loads(
            ok("tables", "japanese", "--top", "8", *ABDR, "--resolution", "1-field", "--format", "json")
        )
    ]
    used = json.loads(ok("coverage", "--top", "8", *ABDR, "--resolution", "1-field", "--format", "json"))[0]["lines"]
    assert listed == used and len(listed) == 8


def test_tables_top_per_population_and_for_a_mix(two_pops):
    assert csv_lines("tables", str(two_pops), "--top", "2") == [
        "population,resolution,loci,table,rank,haplotype,frequency,cumulative",
        f"EUR,2-field,A~B,{two_pops},1,A*01:01~B*08:01,0.5,0.5",
        f"EUR,2-field,A~B,{two_pops},2,A*02:01~B*07:02,0.3,0.8",
        f"AFA,2-field,A~B,{two_pops},1,A*24:02~B*52:01,0.6,0.6",
        f"AFA,2-field,A~B,{two_pops},2,A*02:01~B*07:02,0.2,0.8",
    ]
    # A*24:09N~B*52:01 (a null allele) is never a line; the mix is ranked by weighted frequency
    assert csv_lines("tables", str(two_pops), "--top", "5", "-p", "EUR=3", "-p", "AFA=1") == [
        "population,resolution,loci,table,rank,haplotype,frequency,cumulative,weights_EUR,weights_AFA,"
        "frequencies_EUR,frequencies_AFA",
        f"weighted,2-field,A~B,{two_pops},1,A*01:01~B*08:01,0.4,0.4,0.75,0.25,0.5,0.1",
        f"weighted,2-field,A~B,{two_pops},2,A*02:01~B*07:02,0.275,0.675,0.75,0.25,0.3,0.2",
        f"weighted,2-field,A~B,{two_pops},3,A*24:02~B*52:01,0.225,0.9,0.75,0.25,0.1,0.6",
    ]


def test_tables_top_errors_and_help():
    assert error("tables", "--top", "3") == (
        "Error: --top needs a table: give its name or path, e.g. 'hlamatch tables japanese --top 10'"
    )
    assert error("tables", "japanese", "--loci", "A") == (
        "Error: --loci does not apply without --top: leave it out, or add --top N to list the most frequent haplotypes"
    )
    assert "hlamatch tables japanese --top 10 --loci A,B,DRB1" in ok("tables", "--help")


def test_tables_without_name_is_unchanged():
    assert csv_lines("tables")[0] == "name,default,population,loci,resolution,unlisted_mass,description"
    assert ok("tables").splitlines()[0].startswith("name      population  loci")


# ============================================================================ --all-lines and footers


def test_coverage_all_lines():
    short = ok("coverage", "--top", "12", *ABDR, "--level", "genotype").splitlines()
    assert "  … and 2 more (--all-lines lists every line)" in short
    every = ok("coverage", "--top", "12", *ABDR, "--level", "genotype", "--all-lines").splitlines()
    lines = json.loads(ok("coverage", "--top", "12", *ABDR, "--level", "genotype", "--format", "json"))[0]["lines"]
    assert [f"  {ln}" for ln in lines] == every[2:14]
    assert not any("more (--all-lines" in ln for ln in every)
    assert error("coverage", "--top", "12", "--all-lines", "--format", "csv") == (
        "Error: --all-lines does not apply to --format csv, which holds every line: leave it out"
    )
    assert sum(ln.startswith("  A*") for ln in short) == 10


def test_all_lines_on_rank_and_not_with_a_cohort(cohort):
    short = ok("rank", *ABDR, "-n", "25", "--show", "3")
    assert "  … 22 more (--all-lines shows every candidate; JSON/CSV hold all)" in short
    every = ok("rank", *ABDR, "-n", "25", "--all-lines").splitlines()
    assert sum(bool(re.match(r"\s+\d+  A\*", ln)) for ln in every) == 25
    assert error("coverage", "--cohort", str(cohort), "--line", LINE, "--all-lines") == (
        "Error: --all-lines does not apply to --cohort (its text lists no lines): leave it out"
    )


def test_definition_footer_once_per_command():
    text = ok("coverage", *MIX, "--top", "3", *ABDR, "--resolution", "2-field,1-field")
    for lev in ("haplotype", "genotype"):
        assert text.count(DEFINITIONS[lev]) == 1, text
    assert text.count("weighted: the mix's coverage") == 1
    for cmd in (
        ("rank", "-t", "japanese", "-t", "korean", *ABDR, "-n", "3"),
        ("plan", "-t", "japanese", "-t", "korean", *ABDR, "-n", "3", "--max-lines", "2"),
    ):
        text = ok(*cmd)
        assert text.count("population JAPI") == 1 and text.count("population KORI") == 1
        assert text.count(DEFINITIONS["genotype"]) == 1, text


# ============================================================================ CoverageReport.get


def test_get_names_the_populations_to_choose_from():
    report = hlamatch.coverage(["japanese", "korean"], [LINE], populations={"JAPI": 0.7, "KORI": 0.3})
    with pytest.raises(OptionError) as e:
        report.get("genotype")
    assert str(e.value) == (
        "the report holds 3 results for level 'genotype': choose a population (JAPI, KORI, "
        "weighted), e.g. report.get('genotype', population='JAPI')"
    )
    assert report.get("genotype", population="KORI").population == "KORI"
    with pytest.raises(OptionError) as e:
        report.get("genotype", population="EUR")
    assert str(e.value) == (
        "no result for level='genotype', population='EUR': the report holds levels haplotype, "
        "genotype; populations JAPI, KORI, weighted; resolutions 2-field"
    )
    two = hlamatch.coverage("japanese", [LINE], resolution="2-field,1-field", level="genotype")
    with pytest.raises(
        OptionError,
        match=r"choose a resolution \(2-field, 1-field\), "
        r"e\.g\. report\.get\('genotype', resolution='2-field'\)",
    ):
        two.get("genotype")
    assert two.get("genotype", resolution="1-field").resolution == "1-field"
