"""Donor-line input as planners give it: lines files (blank rows, mixed homozygous and
heterozygous rows, names, per-locus columns, semicolon CSV), repeated lines, and the advice for
a line that does not fit an antigen table."""

from __future__ import annotations

import json
import re
import warnings

import pytest
from click.testing import CliRunner
from conftest import shared_path

import hlamatch
from hlamatch import HlamatchWarning
from hlamatch.cli import cli
from hlamatch.errors import LineError, OptionError
from hlamatch.hla.lines import Line, line_label, parse_line, unique_lines
from hlamatch.io.lines import read_lines_file

X = "A*24:02~B*52:01~DRB1*15:02"  # the most frequent Japanese haplotype
Y = "A*33:03~B*44:03~DRB1*13:02"
Z = "A*24:02~B*07:02~DRB1*01:01"
ANTIGEN_TABLE = "benchmark/us_nmdp2011_antigen_5locus.parquet"
NOMENCLATURE = "raw/IMGTHLA"


def invoke(*args: str):
    """Run the CLI; stdout and stderr kept apart (click >= 8.2 always, 8.1 with mix_stderr=False)."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2
        runner = CliRunner()
    return runner.invoke(cli, list(str(a) for a in args), catch_exceptions=False)


def ok(*args: str):
    r = invoke(*args)
    assert r.exit_code == 0, r.stdout + r.stderr
    return r


def assert_error(result, expected: str) -> None:
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert out.splitlines() == [expected], out


def listed(text: str) -> list[str]:
    """The bank lines a coverage text lists (indented, between the header and the blank line)."""
    block = text.split("\n\n")[0].splitlines()
    return [ln[2:] for ln in block if ln.startswith("  ")]


def quiet_coverage(*a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HlamatchWarning)
        return hlamatch.coverage(*a, **kw)


def figures(report) -> list[tuple[str, str, float, float]]:
    return [(r.population, r.level, r.lower, r.upper) for r in report]


# ============================================================================ lines files


def test_blank_rows_anywhere_are_skipped(write):
    p = write("bank.csv", f"haplotype1,haplotype2\n\n{X},\n  ,  \n,\n{Y},{X}\n\n\n")
    lines = read_lines_file(p)
    assert [ln.text() for ln in lines] == [X, f"{Y}/{X}"]
    assert [ln.where for ln in lines] == [f"lines file {p} row 3", f"lines file {p} row 6"]
    r = ok("coverage", "--lines-file", p)
    assert listed(r.stdout) == [X, f"{Y}/{X}"]


def test_homozygous_and_heterozygous_rows_mixed(write):
    """An empty haplotype2 cell is a homozygous line, in a file that also holds heterozygous ones."""
    p = write("bank.csv", f"haplotype1,haplotype2\n{X},\n{Y},{X}\n{Z}\n")
    r = ok("coverage", "--lines-file", p)
    assert listed(r.stdout) == [X, f"{Y}/{X}", Z]
    assert "None" not in r.stdout + r.stderr
    assert [ln.homozygous for ln in read_lines_file(p)] == [True, False, True]


def test_empty_haplotype1_names_row(write):
    p = write("bank.csv", f"haplotype1,haplotype2\n,{X}\n")
    assert_error(
        invoke("coverage", "--lines-file", p), f"Error: lines file {p} row 2: empty haplotype1 (haplotype2 is '{X}')"
    )


def test_semicolon_lines_patients_and_weights_files(write):
    """Spreadsheets in many locales write ';' between fields: every small file reader detects it."""
    from hlamatch.cli.inputs import read_weights_file
    from hlamatch.io.patients import read_patients

    lines = read_lines_file(write("bank.csv", f"name;haplotype\nL1;{X}\nL2;{Y}/{X}\n"))
    assert [(ln.name, ln.text()) for ln in lines] == [("L1", X), ("L2", f"{Y}/{X}")]
    patients = read_patients(write("p.csv", "id;A_1;A_2;B_1;B_2\np1;A*24:02;A*02:01;B*52:01;\n"))
    assert [(t.id, t.alleles) for t in patients] == [("p1", {"A": ("A*24:02", "A*02:01"), "B": ("B*52:01", "B*52:01")})]
    assert read_weights_file(write("w.csv", "population;weight\nJAPI;3\nKORI;1\n")) == {"JAPI": 3.0, "KORI": 1.0}
    tab = read_lines_file(write("t.tsv", f"name\thaplotype\nL1\t{X}\n"))
    assert [(ln.name, ln.text()) for ln in tab] == [("L1", X)]


def test_separator_is_the_one_splitting_the_first_line_most():
    """A comma inside a quoted column name does not make a semicolon file comma-separated, and
    semicolons inside a comma file's data do not matter (the first line decides)."""
    from hlamatch.io.text import _separator

    assert _separator('"name, full";haplotype') == ";"
    assert _separator("name,haplotype") == ","
    assert _separator("name\thaplotype") == "\t"
    assert _separator("haplotype") == ","


def test_semicolons_in_data_of_a_comma_file(write):
    lines = read_lines_file(write("bank.csv", f"name,haplotype\nL;1,{X}\n"))
    assert [(ln.name, ln.text()) for ln in lines] == [("L;1", X)]
    lines = read_lines_file(write("bank.csv", f'"name, full";haplotype\nL1;{X}\n'))
    assert [(ln.name, ln.own_name, ln.text()) for ln in lines] == [(X, None, X)]  # 'name, full' is no name column


# ============================================================================ names


def test_own_name():
    assert parse_line(X).own_name is None
    assert parse_line(X, name="iPS-7").own_name == "iPS-7"
    assert parse_line(X, name="C1").own_name == "C1"  # parses as a line (antigen Cw1), but another one
    assert parse_line(X, name="B*52:01~A*24:02~DRB1*15:02").own_name is None  # its own text, loci reordered
    assert parse_line(f"{X}/{Y}", name=f"{Y}/{X}").own_name is None
    assert line_label(X, "iPS-7") == f"iPS-7 ({X})"
    assert line_label(X, X) == X and line_label(X, None) == X


def test_names_in_coverage_text_json_and_csv(write):
    p = write("bank.csv", f"name,haplotype\nL1,{X}\n,{Y}\n")
    assert listed(ok("coverage", "--lines-file", p).stdout) == [f"L1 ({X})", Y]
    rows = json.loads(ok("coverage", "--lines-file", p, "--format", "json").stdout)
    for row in rows:
        assert row["lines"] == [X, Y]
        assert row["line_names"] == ["L1", Y]
        assert list(row).index("line_names") == list(row).index("lines") + 1
    import csv
    import io

    table = list(csv.DictReader(io.StringIO(ok("coverage", "--lines-file", p, "--format", "csv").stdout)))
    assert [(t["lines"], t["line_names"]) for t in table] == [(f"{X};{Y}", f"L1;{Y}")] * 2


def test_outputs_without_names_are_unchanged(write):
    """No line named: no line_names anywhere, text lists the haplotypes alone."""
    p = write("bank.csv", f"haplotype\n{X}\n{Y}\n")
    for args in (("--lines-file", p), ("--line", X, "--line", Y)):
        assert listed(ok("coverage", *args).stdout) == [X, Y]
        rows = json.loads(ok("coverage", *args, "--format", "json").stdout)
        assert all("line_names" not in r for r in rows)
        assert "line_names" not in ok("coverage", *args, "--format", "csv").stdout
    ranked = json.loads(ok("rank", "--line", X, "-n", "3", "--loci", "A,B,DRB1", "--format", "json").stdout)
    assert all(r["name"] == r["line"] and "bank_names" not in r for r in ranked)


def test_names_in_rank_plan_supply_and_match(write):
    cands = write("cands.csv", f"name,haplotype\nL2,{Y}\n,{Z}\n")
    bank = write("bank.csv", f"name,haplotype\nL1,{X}\n")

    text = ok("rank", "--lines-file", bank, "--candidates", cands).stdout.splitlines()
    rows = [t for t in text if t[:4].strip().isdigit()]
    assert sorted(t[6:].split("  ")[0] for t in rows) == sorted([f"L2 ({Y})", Z])
    ranked = json.loads(ok("rank", "--lines-file", bank, "--candidates", cands, "--format", "json").stdout)
    assert sorted((r["line"], r["name"]) for r in ranked) == sorted([(Y, "L2"), (Z, Z)])
    assert all(r["bank"] == [X] and r["bank_names"] == ["L1"] for r in ranked)

    plan = ok("plan", "--candidates", cands, "--max-lines", "2").stdout
    assert f"L2 ({Y})" in plan
    steps = json.loads(ok("plan", "--candidates", cands, "--max-lines", "2", "--format", "json").stdout)
    assert sorted((s["line"], s["name"]) for s in steps if s["step"]) == sorted([(Y, "L2"), (Z, Z)])

    supply = ok("supply", "--candidates", cands).stdout
    assert [t.split("  ")[0] for t in supply.splitlines() if t.startswith(("L2", "A*"))] == [f"L2 ({Y})", Z]
    sup = json.loads(ok("supply", "--candidates", cands, "--format", "json").stdout)  # one row per candidate
    assert [(c["line"], c["name"]) for c in sup] == [(Y, "L2"), (Z, Z)]

    patient = "A*24:02+A*33:03^B*52:01+B*44:03^DRB1*15:02+DRB1*13:02"
    both = write("both.csv", f"name,haplotype\nL1,{X}\n,{Y}\n")
    out = ok("match", "--patient", patient, "--lines-file", both).stdout
    assert f"  0 mismatch(es)  L1 ({X})  — full match" in out.splitlines()
    assert f"  0 mismatch(es)  {Y}  — full match" in out.splitlines()
    got = json.loads(ok("match", "--patient", patient, "--lines-file", both, "--format", "json").stdout)
    assert sorted((m["line"], m.get("name")) for m in got[0]["lines"]) == sorted([(X, "L1"), (Y, None)])


# ============================================================================ per-locus columns


def test_per_locus_columns_read_like_patients_files(write):
    p = write(
        "bank.csv",
        "name,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\n"
        "L1,A*24:02,,B*52:01,,DRB1*15:02,\n"
        "L2,A*24:02,A*33:03,B*52:01,B*52:01,DRB1*15:02,DRB1*15:02\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # heterozygous at one locus only: the phase is not in doubt
        lines = read_lines_file(p)
    assert [(ln.own_name, ln.text()) for ln in lines] == [("L1", X), ("L2", f"{X}/A*33:03~B*52:01~DRB1*15:02")]
    as_text = quiet_coverage("japanese", [X, f"{X}/A*33:03~B*52:01~DRB1*15:02"])
    assert figures(quiet_coverage("japanese", lines)) == figures(as_text)


def test_per_locus_column_spellings(write):
    dotted = read_lines_file(write("a.csv", "A.1,A.2,B.1,B.2\nA*24:02,A*02:01,B*52:01,B*52:01\n"))
    joined = read_lines_file(write("b.csv", "id,A,B\nx,A*24:02+A*02:01,B*52:01\n"))
    assert [ln.text() for ln in dotted] == [ln.text() for ln in joined] == ["A*24:02~B*52:01/A*02:01~B*52:01"]
    assert [ln.name for ln in joined] == ["x"]


def test_per_locus_heterozygous_at_two_loci_warns_about_phase(write):
    p = write("bank.csv", "A_1,A_2,B_1,B_2\nA*24:02,,B*52:01,\nA*24:02,A*02:01,B*52:01,B*07:02\n")
    with pytest.warns(HlamatchWarning) as caught:
        lines = read_lines_file(p)
    assert [str(w.message) for w in caught] == [
        f"lines file {p} row(s) 3: heterozygous at two or more loci in per-locus columns, read as the haplotype "
        "of the first alleles and the haplotype of the second alleles; haplotype-level results depend on that "
        "phase: give phased lines as 'haplotype1' and 'haplotype2' columns"
    ]
    assert lines[1].text() == "A*24:02~B*52:01/A*02:01~B*07:02"


def test_per_locus_column_errors(write):
    p = write("bank.csv", "A_1,A_2,A_3\nA*24:02,A*02:01,A*11:01\n")
    assert_error(
        invoke("coverage", "--lines-file", p),
        f"Error: lines file {p}: column(s) A_3 would hold a third allele of a locus, but a typing has two "
        "alleles per locus, in columns numbered 1 and 2 (A_1, A_2, B_1, ...); drop or rename them",
    )
    p = write("bank2.csv", "A_1,A_2,B_1\nA*24:02,B*52:01,B*52:01\n")
    assert_error(
        invoke("coverage", "--lines-file", p),
        f"Error: lines file {p} row 2: alleles of different loci joined by '+' in 'A*24:02+B*52:01'",
    )
    p = write("bank3.csv", f"haplotype1,notes\n{X},x\n")
    assert_error(
        invoke("coverage", "--lines-file", p),
        f"Error: lines file {p}: a 'haplotype1' column needs its partner 'haplotype2' (leave it empty for a "
        "homozygous line); or name one column 'haplotype'",
    )
    p = write("bank4.csv", "name,notes\nL1,x\n")
    assert_error(
        invoke("coverage", "--lines-file", p),
        f"Error: lines file {p}: expected a 'haplotype' column (or 'haplotype1' and 'haplotype2', or per-locus "
        "columns A_1, A_2, B_1, B_2, ...), found name, notes",
    )
    p = write("bank5.csv", "name,A_1,A_2\nL1,,\n")
    assert_error(
        invoke("coverage", "--lines-file", p), f"Error: lines file {p} row 2: no allele in the per-locus columns"
    )


# ============================================================================ repeated lines


def test_repeated_lines_count_once(write):
    p = write("bank.csv", f"name,haplotype\nL1,{X}\nL2,{X}/{X}\nL3,{X}/{Y}\nL4,{Y}/{X}\n")
    r = ok("coverage", "--lines-file", p)
    assert r.stdout.splitlines()[1].endswith("· 2 line(s)")
    assert listed(r.stdout) == [f"L1 ({X})", f"L3 ({X}/{Y})"]
    assert r.stderr.splitlines() == [
        f"Warning: 2 repeated line(s) left out, each line counted once (the first is kept; names aside, hap1/hap2 "
        f"is hap2/hap1): lines file {p} row 3 (line L2) repeats lines file {p} row 2 (line L1); lines file {p} row 5 "
        f"(line L4) repeats lines file {p} row 4 (line L3)"
    ]
    once = json.loads(ok("coverage", "--line", X, "--line", f"{X}/{Y}", "--format", "json").stdout)
    twice = json.loads(ok("coverage", "--lines-file", p, "--format", "json").stdout)
    assert [(r["lower"], r["upper"]) for r in twice] == [(r["lower"], r["upper"]) for r in once]


def test_repeat_across_sources_one_warning_per_run():
    """--line and --top giving the same line, over two resolutions (two prepared problems): one warning."""
    r = ok("coverage", "--line", X, "--top", "2", "--loci", "A,B,DRB1", "--resolution", "2-field,1-field")
    assert r.stderr.splitlines() == [
        f"Warning: 1 repeated line(s) left out, each line counted once (the first is kept; names aside, hap1/hap2 "
        f"is hap2/hap1): line {X} repeats line {X}"
    ]
    assert r.stdout.splitlines()[1].endswith("· 2 line(s)")


def test_line_key_names_aside():
    a, b = parse_line(f"{X}/{Y}", name="a"), parse_line(f"{Y}/{X}", name="b")
    assert a != b and a.key == b.key
    assert parse_line("B*52:01~A*24:02~DRB1*15:02").key == parse_line(X).key
    assert parse_line(X).key != parse_line(f"{X}/{Y}").key


def test_unique_lines_bank_and_candidates():
    bank = [parse_line(X, "b1"), parse_line(X, "b2")]
    cands = [parse_line(X, "c1"), parse_line(Y, "c2"), parse_line(Y, "c3"), parse_line(Z, "c4")]
    with pytest.warns(HlamatchWarning) as caught:
        kept_bank, kept_cands = unique_lines(bank, cands)
    assert [ln.name for ln in kept_bank] == ["b1"] and [ln.name for ln in kept_cands] == ["c2", "c4"]
    assert [str(w.message) for w in caught] == [
        "3 repeated line(s) left out, each line counted once (the first is kept; names aside, hap1/hap2 is "
        "hap2/hap1): line b2 repeats line b1; candidate line c1 is already in the bank (line b1); candidate "
        "line c3 repeats candidate line c2"
    ]


def test_rank_and_plan_leave_out_candidates_in_the_bank():
    with pytest.warns(HlamatchWarning, match="candidate line .* is already in the bank"):
        r = hlamatch.rank_candidates("japanese", [X, Y, Z, Y], bank=[X])
    assert sorted(c.line for c in r) == sorted([Y, Z])
    with pytest.warns(HlamatchWarning, match="repeats candidate"):
        plan = hlamatch.plan_bank("japanese", [Y, Z, Y], bank=[X], max_lines=5)
    assert sorted(s.line for s in plan if s.step) == sorted([Y, Z])
    with pytest.warns(HlamatchWarning), pytest.raises(LineError) as e:
        hlamatch.rank_candidates("japanese", [X], bank=[X])
    assert str(e.value) == (
        "every candidate (1) is already in the bank: there is nothing to rank or add; give "
        "candidates the bank does not hold"
    )


def test_default_candidates_leave_out_bank_lines_quietly():
    """The top haplotypes are the default candidates: those the bank holds are left out, no warning."""
    top = [ln.text() for ln in hlamatch.top_lines("japanese", 3, loci=["A", "B", "DRB1"])]
    assert top[0] == X
    r = hlamatch.rank_candidates("japanese", bank=[X], n_candidates=3, loci=["A", "B", "DRB1"])  # warnings are errors
    assert sorted(c.line for c in r) == sorted(top[1:])
    with pytest.raises(OptionError) as e:
        hlamatch.rank_candidates("japanese", bank=top, n_candidates=3, loci=["A", "B", "DRB1"])
    assert str(e.value) == (
        "the 3 most frequent haplotypes (the default candidates) are all in the bank: take "
        "more of them (n_candidates) or give candidates"
    )


def test_supply_and_match_leave_out_repeats():
    with pytest.warns(HlamatchWarning, match="repeats candidate line"):
        rep = hlamatch.supply("japanese", [X, X, Y])
    assert [c.line for c in rep.candidates] == [X, Y]
    from hlamatch.api.match import match_patients
    from hlamatch.hla.typing import parse_typing

    typing = parse_typing("A*24:02+A*33:03^B*52:01+B*44:03^DRB1*15:02+DRB1*13:02")
    with pytest.warns(HlamatchWarning, match=re.escape(f"line {Y}/{X} repeats line {X}/{Y}")):
        results = match_patients([typing], [f"{X}/{Y}", f"{Y}/{X}"], details="all")
    assert [m.line for m in results[0].lines] == [f"{X}/{Y}"]


def test_problem_names():
    from hlamatch.compute.problem import prepare

    p = prepare("japanese", [Line(parse_line(X).haplotypes, "iPS-1")], candidates=[Y])
    assert p.names == ("iPS-1", Y) and p.named
    assert not prepare("japanese", [X], candidates=[Y]).named


# ============================================================================ loci and antigen tables


def test_lines_at_different_loci_suggest_the_common_loci():
    assert_error(
        invoke("coverage", "--line", X, "--line", "A*24:02~B*52:01"),
        "Error: the lines are typed at different loci (A,B (line A*24:02~B*52:01); A,B,DRB1 (line "
        f"{X})): pass --loci to choose the loci to compare, e.g. --loci A,B (the loci every line has)",
    )


def test_dr_and_drb1_lines_are_at_one_locus():
    """DR4 and DRB1*04:01 name one locus: no '--loci' advice, the lines are compared at A~B~DR."""
    from hlamatch.hla.lines import line_loci

    lines = [parse_line("A2~B44~DR4"), parse_line("A*02:01~B*44:02~DRB1*04:01")]
    assert line_loci(lines, ("A", "C", "B", "DR", "DQ"), "t") == ("A", "B", "DR")


def _nomenclature_error() -> str:
    from hlamatch.hla.nomenclature import NomenclatureError, current_nomenclature

    with pytest.raises(NomenclatureError) as e:
        current_nomenclature("resolution antigen")
    return str(e.value)


@pytest.mark.real_data
def test_allele_line_on_an_antigen_table_says_what_to_do():
    table = shared_path(ANTIGEN_TABLE)
    line = "A*02:01~B*44:02~DRB1*04:01"
    expected = (
        f"Error: line {line}: A*02:01 is an allele name and the computation is at antigen level (an antigen "
        "table): type the line with antigen labels as the table names them (e.g. A2~B44~DR4, if those are "
        f"the antigens of its alleles), or have hlamatch bring its alleles to antigens: {_nomenclature_error()}"
    )
    assert_error(invoke("coverage", "-t", table, "-p", "CAU", "--line", line), expected)
    # with an antigen line next to it (DR and DRB1 are one locus), the advice is the same
    assert_error(invoke("coverage", "-t", table, "-p", "CAU", "--line", "A2~B44~DR4", "--line", line), expected)
    assert_error(
        invoke("coverage", "-t", table, "-p", "CAU", "--line", "A2~B44~DRB1*04"),
        "Error: line A2~B44~DRB1*04: DRB1*04: one-field names do not determine a serologic antigen; type "
        "at two fields; type it with its antigen label (e.g. DR4), or at two fields (with --nomenclature DIR, "
        "which brings alleles to antigens)",
    )


@pytest.mark.real_data
def test_allele_line_on_an_antigen_table_with_the_nomenclature():
    """With the WMDA files the allele line is brought to its antigens: the same coverage as A2~B44~DR4."""
    table = hlamatch.load_table(shared_path(ANTIGEN_TABLE))
    antigen = quiet_coverage(table, ["A2~B44~DR4"], populations="CAU", level="genotype")
    assert antigen[0].loci == ("A", "B", "DR")
    hlamatch.use_nomenclature(shared_path(NOMENCLATURE))
    allele = quiet_coverage(table, ["A*02:01~B*44:02~DRB1*04:01"], populations="CAU", level="genotype")
    both = quiet_coverage(table, ["A2~B44~DR4", "A*02:01~B*44:02~DRB1*04:01"], populations="CAU", level="genotype")
    assert figures(allele) == figures(antigen) == figures(both)
    assert both[0].loci == ("A", "B", "DR") and len(both[0].lines) == 2
