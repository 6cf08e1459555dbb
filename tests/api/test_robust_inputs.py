"""Hostile inputs: every failure is one ``Error:`` line (exit 1 for data, 2 for usage) or a typed
exception saying what to pass; batches are never lost to one bad row; nothing is silently misread.

Patients files: a bad ROW (an extra field, an unclosed quote, a byte that is not UTF-8, a bad
allele) is an error for that row only: every good row is still reported, one ``Error:`` line per
bad row naming file and row, exit status 1.  Wrong COLUMNS (a third allele column ``A_3``, a
column name given twice) concern every row, so they are one error for the file.  Lines and
weights files stop at their first bad row, naming file and row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numba
import polars as pl
import pytest
from click.testing import CliRunner

import hlamatch
from hlamatch import _jit, _settings
from hlamatch.cli import cli
from hlamatch.errors import HlamatchWarning, LineError, OptionError, TypingError
from hlamatch.hla.lines import parse_line
from hlamatch.io.lines import read_lines_file
from hlamatch.io.patients import read_patients

L1 = "A*24:02~B*52:01~DRB1*15:02"
HEADER = "id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\n"
GOOD = "p1,A*24:02,A*02:01,B*52:01,B*07:02,DRB1*15:02,DRB1*04:05\n"
NULL_LINE_REASON = (
    "donor lines are chosen for the antigens they express: null allele A*24:02N cannot be part "
    "of a line; give the expressed allele"
)
USAGE_HINT = "(see 'hlamatch coverage --help')"


def invoke(*args: str):
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stdout and stderr apart anyway
        runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_error(result, expected: str, code: int = 1) -> None:
    """Exit status ``code`` and the whole output is exactly ``expected``."""
    out = result.stdout + result.stderr
    assert result.exit_code == code, out
    assert out.splitlines() == [expected], out


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity (strict JSON)."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# ============================================================================ patients: wrong columns


@pytest.mark.parametrize("command", ["match", "cohort"])
def test_third_allele_column_is_a_file_error(write, command):
    # Before: A_3 was ignored and the patient reported as a full match on A_1 and A_2.
    p = write("third.csv", "id,A_1,A_2,A_3,B_1,B_2,DRB1_1,DRB1_2\np1,A*24:02,A*02:01,A*11:01,B*52:01,,DRB1*15:02,\n")
    args = (["match", "--patients-file", p] if command == "match" else ["coverage", "--cohort", p]) + ["--line", L1]
    one_error(
        invoke(*args),
        f"Error: patients file {p}: column(s) A_3 would hold a third allele of a locus, but a typing has two "
        "alleles per locus, in columns numbered 1 and 2 (A_1, A_2, B_1, ...); drop or rename them",
    )


def test_zero_numbered_column_is_refused_too(write):
    p = write("zero.csv", "A_0,A_1,B_0,B_1\nA*24:02,A*02:01,B*52:01,B*07:02\n")
    with pytest.raises(TypingError) as e:
        read_patients(p)
    assert str(e.value) == (
        f"patients file {p}: column(s) A_0, B_0 would hold a third allele of a locus, but a typing has two alleles "
        "per locus, in columns numbered 1 and 2 (A_1, A_2, B_1, ...); drop or rename them"
    )


def test_duplicated_column_name_is_a_file_error(write):
    # Before: polars renamed the second A_1 to A_1_duplicated_0, and its allele was dropped.
    p = write("dup.csv", "id,A_1,A_1,B_1,B_2,DRB1_1,DRB1_2\np1,A*24:02,A*02:01,B*52:01,,DRB1*15:02,\n")
    one_error(
        invoke("match", "--patients-file", p, "--line", L1),
        f"Error: patients file {p}: column 'A_1' appears twice in the header (columns 2 and 3); every column "
        "needs its own name",
    )


def test_other_numbered_columns_are_ignored(write):
    p = write("extra.csv", "id,visit3,A_1,A_2\nq1,x,A*24:02,\n")
    (t,) = read_patients(p)
    assert t.alleles == {"A": ("A*24:02", "A*24:02")}


def test_two_spellings_of_one_allele_column(write):
    p = write("spell.csv", "A_1,A1,B_1\nA*24:02,A*02:01,B*52:01\n")
    with pytest.raises(TypingError) as e:
        read_patients(p)
    assert str(e.value) == f"patients file {p}: columns A_1 and A1 both hold the first allele of locus A; keep one"


def test_one_column_per_locus_named_after_it(write):
    p = write("wide.csv", "id,A,B,DRB1\nq1,A*24:02+A*02:01,B*52:01,DRB1*15:02+DRB1*04:05\n")
    (t,) = read_patients(p)
    assert t.alleles == {"A": ("A*24:02", "A*02:01"), "B": ("B*52:01", "B*52:01"), "DRB1": ("DRB1*15:02", "DRB1*04:05")}


def test_drb345_gene_columns_feed_one_locus(write):
    p = write(
        "drb.csv",
        "id,DRB1_1,DRB1_2,DRB3,DRB4_1,DRB5\n"
        "p1,DRB1*15:02,DRB1*04:05,,DRB4*01:03,DRB5*01:01\n"
        "p2,DRB1*15:02,,DRB3*01:01,DRB4*01:03,DRB5*01:01\n",
    )
    t1, t2 = read_patients(p)
    assert t1.alleles["DRB345"] == ("DRB4*01:03", "DRB5*01:01")
    assert t2.error == (
        f"patients file {p} row 3 (patient p2): 3 alleles at one locus "
        "('DRB3*01:01+DRB4*01:03+DRB5*01:01'); a typing has at most two per locus"
    )


# ============================================================================ patients: bad rows


def _mixed_batch(tmp_path):
    """Good rows around an extra field, an unclosed quote, a non-UTF-8 byte and blank lines."""
    p = tmp_path / "batch.csv"
    p.write_bytes(
        (
            HEADER
            + GOOD  # row 2
            + "p2,A*24:02,,B*52:01,,DRB1*15:02,,EXTRA\n"  # row 3: extra field
            + 'p3,"A*24:02,,B*52:01,,DRB1*15:02,\n'  # row 4: unclosed quote
            + "\n"  # row 5: blank
            + "p4,A*24:02,,B*52:01,,DRB1*15:02,\n"  # row 6
            + ",,,,,,\n"  # row 7: empty fields only
        ).encode()
        + "p5,A*24:02\xff,,B*52:01,,DRB1*15:02,\n".encode("latin-1")  # row 8: byte 0xff
        + b"p6,A*02:01,,B*07:02,,DRB1*04:05,\r\n\r\n\n"
    )  # row 9, CRLF, trailing blanks
    return p


def _batch_errors(p) -> list[str]:
    return [
        f"Error: patients file {p} row 3 (patient p2): the row has 8 fields but the header has 7 columns; remove "
        "the extra field(s), or quote a value that holds the separator",
        f"Error: patients file {p} row 4 (patient p3): a quote opens a field that does not close on this row; "
        "close the quote or remove it",
        f"Error: patients file {p} row 8 (patient p5): byte 0xff (byte 11 of the row) is not UTF-8 text; save "
        "the file as UTF-8",
    ]


def test_match_reports_every_good_row_and_one_error_per_bad_row(tmp_path):
    p = _mixed_batch(tmp_path)
    r = invoke("match", "--patients-file", p, "--line", L1, "--format", "json")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == _batch_errors(p)
    rows = {x["patient"]: x for x in strict_json(r.stdout)}
    assert list(rows) == ["p1", "p2", "p3", "p4", "p5", "p6"]  # blank rows are no patients
    assert [rows[k]["status"] for k in rows] == ["assessed", "error", "error", "assessed", "error", "assessed"]
    assert rows["p1"]["matched"] and rows["p4"]["matched"] and not rows["p6"]["matched"]


def test_cohort_coverage_keeps_the_batch(tmp_path):
    p = _mixed_batch(tmp_path)
    r = invoke("coverage", "--cohort", p, "--line", L1, "--format", "json")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == _batch_errors(p)
    (row,) = strict_json(r.stdout)
    assert (row["patients"], row["assessed"], row["errors"], row["matched"]) == (6, 3, 3, 2)
    assert row["coverage"] == pytest.approx(2 / 3)


def test_read_patients_row_numbers_are_file_lines(tmp_path):
    rows = read_patients(_mixed_batch(tmp_path))
    assert [t.where.rsplit(" ", 1)[1] for t in rows] == ["2", "3", "4", "6", "8", "9"]
    assert rows[3].alleles == {
        "A": ("A*24:02", "A*24:02"),
        "B": ("B*52:01", "B*52:01"),
        "DRB1": ("DRB1*15:02", "DRB1*15:02"),
    }


def test_trailing_blank_lines_are_not_patients(write):
    # Before: a blank line became an error patient ("no allele typed") and the exit status 1.
    p = write("blank.csv", HEADER + GOOD + "\n\n   \n")
    r = invoke("match", "--patients-file", p, "--line", L1, "--format", "json")
    assert r.exit_code == 0 and r.stderr == ""
    assert [x["patient"] for x in strict_json(r.stdout)] == ["p1"]


def test_semicolons_bom_and_tsv(tmp_path):
    semi = tmp_path / "semi.csv"
    semi.write_bytes(b"\xef\xbb\xbfid;A_1;A_2;B_1;B_2\r\nq1;A*24:02;;B*52:01;\r\n")
    (t,) = read_patients(semi)
    assert t.id == "q1" and t.alleles["A"] == ("A*24:02", "A*24:02")


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty: expected a header row and one row per entry"),
        ("\n  \n\n", "is empty: expected a header row and one row per entry"),
        ("id,A_1,A_2\n", "holds no patients: add one row per patient below the header"),
        ("id,A_1,A_2\n\n,,\n", "holds no patients: add one row per patient below the header"),
    ],
)
def test_empty_patients_files(write, content, message):
    p = write("cohort.csv", content)
    one_error(invoke("match", "--patients-file", p, "--line", L1), f"Error: patients file {p} {message}")
    one_error(invoke("coverage", "--cohort", p, "--line", L1), f"Error: patients file {p} {message}")


@pytest.mark.parametrize(
    "data, message",
    [
        (
            "id,A_1\np1,A*24:02\n".encode("utf-16"),
            "is UTF-16 text; save it as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)",
        ),
        (b"PK\x03\x04\x14\x00\x00\x00", "is a ZIP archive or a spreadsheet workbook, not text; save it as CSV (UTF-8)"),
        (
            b"id,A_1\x00\x01\x02\n",
            "is not a text file (it holds NUL bytes); give a CSV/TSV text file or a Parquet file",
        ),
    ],
)
def test_files_that_are_not_csv_text(tmp_path, data, message):
    p = tmp_path / "cohort.csv"
    p.write_bytes(data)
    one_error(invoke("match", "--patients-file", p, "--line", L1), f"Error: patients file {p} {message}")


def test_parquet_that_is_not_parquet(write):
    p = write("cohort.parquet", "id,A_1\np1,A*24:02\n")
    r = invoke("match", "--patients-file", p, "--line", L1)
    assert r.exit_code == 1 and r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"Error: cannot read patients file {p} as Parquet (")
    assert line.endswith("); give a Parquet file, or a CSV/TSV file with a .csv/.tsv name")


def test_parquet_by_content_whatever_its_name(tmp_path):
    p = tmp_path / "cohort.dat"
    pl.DataFrame({"id": ["z1"], "typing": ["A*24:02^B*52:01^DRB1*15:02"]}).write_parquet(p)
    (t,) = read_patients(p)
    assert t.id == "z1" and t.alleles["B"] == ("B*52:01", "B*52:01")


def test_header_that_cannot_be_read(tmp_path):
    p = tmp_path / "h.csv"
    p.write_bytes(b'id,"A_1\np1,A*24:02\n')
    one_error(
        invoke("match", "--patients-file", p, "--line", L1),
        f"Error: patients file {p} line 1: cannot read the header: a quote opens a field that does not close "
        "on this row; close the quote or remove it",
    )


def test_patients_folder_is_one_usage_line(tmp_path):
    one_error(
        invoke("match", "--patients-file", tmp_path, "--line", L1),
        f"Error: Invalid value for '--patients-file': File '{tmp_path}' is a directory (see 'hlamatch match --help')",
        code=2,
    )
    with pytest.raises(TypingError) as e:
        read_patients(tmp_path)
    assert str(e.value) == f"patients file {tmp_path} is a folder; give a CSV/TSV or Parquet file"


# ============================================================================ lines files


@pytest.mark.parametrize(
    "body, message",
    [
        (
            f"haplotype,name\n{L1},L1\n{L1},L2,extra\n",
            "row 3: the row has 3 fields but the header has 2 columns; remove the extra field(s), or quote a value "
            "that holds the separator",
        ),
        (
            f'haplotype,name\n{L1},L1\n"{L1},L2\n',
            "row 3: a quote opens a field that does not close on this row; close the quote or remove it",
        ),
        (f"haplotype,name\n{L1},L1\n,L2\n", "row 3: empty haplotype"),
        (f"haplotype1,haplotype2\n,{L1}\n", f"row 2: empty haplotype1 (haplotype2 is '{L1}')"),
        (
            f"{L1}\n{L1},A*02:01~B*07:02~DRB1*04:05\n",  # headerless, two haplotypes by comma
            "row 2: the row has 2 fields but the header has 1 column; remove the extra field(s), or quote a value "
            "that holds the separator",
        ),
        ("haplotype,name\n", "holds no lines: add one haplotype (or 'hap1/hap2') per row"),
    ],
)
@pytest.mark.parametrize("option", ["--lines-file", "--candidates"])
def test_bad_lines_file_rows_name_file_and_row(write, body, message, option):
    p = write("bank.csv", body)
    command = "coverage" if option == "--lines-file" else "rank"
    one_error(invoke(command, option, p, "--loci", "A,B,DRB1"), f"Error: lines file {p} {message}")


def test_lines_file_bad_utf8_row(tmp_path):
    p = tmp_path / "bank.csv"
    p.write_bytes(f"haplotype\n{L1}\n".encode() + "A*02:01~B*07:02~DRB1*04:05 é\n".encode("latin-1"))
    one_error(
        invoke("coverage", "--lines-file", p),
        f"Error: lines file {p} row 3: byte 0xe9 (byte 28 of the row) is not UTF-8 text; save the file as UTF-8",
    )


def test_errors_about_a_read_line_name_file_and_row(write):
    # Errors raised later, by the one line encoder, still name where the line came from.
    p = write("bank.csv", f"name,haplotype\nL1,{L1}\nL2,A*24~B*52~DRB1*15\n")
    one_error(
        invoke("coverage", "--lines-file", p),
        f"Error: lines file {p} row 3 (line L2): A*24 is 1-field, coarser than 2-field; type the line at the "
        "computation's 2-field resolution, or pass --resolution 1-field",
    )
    one_error(
        invoke("coverage", "--lines-file", p, "--loci", "A,C,B,DRB1", "--resolution", "1-field"),
        f"Error: lines file {p} row 2 (line L1) is not typed at C, which the computation uses (loci A~C~B~DRB1); "
        "pass --loci to leave C out",
    )
    q = write("cands.csv", "haplotype\nA*24:02~B*52:01~DPB1*05:01\n")
    one_error(
        invoke("rank", "--candidates", q),
        f"Error: lines file {q} row 2 (line A*24:02~B*52:01~DPB1*05:01) is typed at DPB1, which table "
        "bundled:japanese lacks (table loci: A, C, B, DRB1, DQB1); pass --loci to use a subset",
    )


def test_lines_file_blank_lines_and_where(write):
    p = write("bank.csv", f"haplotype\n\n{L1}\n\n\n")
    (ln,) = read_lines_file(p)
    assert ln.where == f"lines file {p} row 3"
    assert ln == parse_line(L1)  # where is not part of equality
    r = invoke("coverage", "--lines-file", p, "--format", "json")
    assert r.exit_code == 0 and r.stderr == ""
    assert strict_json(r.stdout) == strict_json(invoke("coverage", "--line", L1, "--format", "json").stdout)


def test_lines_file_is_a_folder_or_missing(tmp_path):
    one_error(
        invoke("coverage", "--lines-file", tmp_path),
        f"Error: Invalid value for '--lines-file': File '{tmp_path}' is a directory {USAGE_HINT}",
        code=2,
    )
    missing = tmp_path / "nothere.csv"
    one_error(
        invoke("coverage", "--lines-file", missing),
        f"Error: lines file {str(missing)!r} does not exist or is not a file",
    )


# ============================================================================ null alleles in lines


@pytest.mark.parametrize("line", ["A*24:02N~B*52:01~DRB1*15:02", "A*24:02N~B*52:01N~DRB1*15:02N"])
def test_null_allele_line_is_refused(line):
    # Before: a warning about unlisted chromosomes, yet coverage ROSE (0.163 vs 0.152), and the
    # all-null line gave 100%.
    one_error(invoke("coverage", "--line", line), f"Error: line {line}: {NULL_LINE_REASON}")
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", [line])
    assert str(e.value) == f"line {line}: {NULL_LINE_REASON}"


def test_null_allele_line_refused_by_every_command(write):
    p = write("bank.csv", "name,haplotype\nN1,A*24:02N~B*52:01~DRB1*15:02\n")
    expected = f"Error: lines file {p} row 2 (line N1): {NULL_LINE_REASON}"
    patient = "A*24:02^B*52:01^DRB1*15:02"
    for args in (
        ["coverage", "--lines-file", p],
        ["rank", "--candidates", p],
        ["plan", "--candidates", p, "--max-lines", "1"],
        ["supply", "--candidates", p],
        ["match", "--patient", patient, "--lines-file", p],
        ["rank", "--lines-file", p, "--loci", "A,B,DRB1"],
    ):
        one_error(invoke(*args), expected)
    het = "A*02:01~B*07:02~DRB1*04:05/A*24:02N~B*52:01~DRB1*15:02"
    with pytest.raises(LineError, match="null allele A\\*24:02N cannot be part of a line"):
        hlamatch.match_patients([patient], [het])


def test_no_drb345_gene_stays_allowed_in_a_line(write):
    t = write("t.csv", "A,DRB345,JAPI\nA*24:02,DRBX*NNNN,0.5\nA*02:01,DRB4*01:01,0.5\n")
    rep = hlamatch.coverage(t, ["A*24:02~DRBX*NNNN"], level="genotype")
    assert rep[0].coverage == pytest.approx(0.75)


def test_top_skips_haplotypes_with_a_null_allele(write):
    # The most frequent haplotype carries a null allele: --top takes the next one instead.
    t = write("t.csv", "A,B,JAPI\nA*01:11N,B*08:01,0.5\nA*02:01,B*07:02,0.3\nA*03:01,B*07:02,0.2\n")
    r = invoke("coverage", "-t", t, "--top", "1", "--format", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert {tuple(x["lines"]) for x in strict_json(r.stdout)} == {("A*02:01~B*07:02",)}
    assert [ln.text() for ln in hlamatch.top_lines(t, 3)] == ["A*02:01~B*07:02", "A*03:01~B*07:02"]
    assert [ln.text() for ln in hlamatch.top_lines(t, 1, expressed_only=False)] == ["A*01:11N~B*08:01"]


# ============================================================================ weights and populations


@pytest.mark.parametrize("weight", ["nan", "inf", "-1", "0"])
def test_weights_file_refuses_non_positive_or_non_finite(write, weight):
    w = write("w.csv", f"population,weight\nJAPI,{weight}\n")
    one_error(
        invoke("coverage", "--line", L1, "--weights", w),
        f"Error: weights file {w} row 2: weight '{weight}' must be a positive number",
    )


def test_weights_file_rows(write):
    w = write("w.csv", "population,weight\nJAPI,1\n\n\n")
    r = invoke("coverage", "--line", L1, "--weights", w, "--format", "json")
    assert r.exit_code == 0 and {x["population"] for x in strict_json(r.stdout)} == {"JAPI", "weighted"}
    e = write("e.csv", "population,weight\nJAPI,\n")
    one_error(
        invoke("coverage", "--line", L1, "--weights", e),
        f"Error: weights file {e} row 2: the weight of population 'JAPI' is empty",
    )
    x = write("x.csv", "population,weight\nJAPI,1,2\n")
    one_error(
        invoke("coverage", "--line", L1, "--weights", x),
        f"Error: weights file {x} row 2: the row has 3 fields but the header has 2 columns; remove the extra "
        "field(s), or quote a value that holds the separator",
    )


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_empty_population_option(value):
    one_error(
        invoke("coverage", "--line", L1, "-p", value),
        f"Error: --population {value!r} names no population: give a name (NAME or NAME=W); "
        "'hlamatch tables NAME' lists a table's populations",
    )


def test_empty_loci_option():
    one_error(
        invoke("coverage", "--line", L1, "--loci", ""),
        "Error: --loci '' names nothing: give a comma-separated list (e.g. --loci A,B,DRB1) or leave --loci out",
    )


# ============================================================================ usage errors: one line, exit 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["coverage", "--top", "0"], f"Invalid value for '--top': 0 is not in the range x>=1 {USAGE_HINT}"),
        (["coverage", "--top", "x"], f"Invalid value for '--top': 'x' is not a valid integer range {USAGE_HINT}"),
        (
            ["coverage", "--format", "xml"],
            f"Invalid value for '--format': 'xml' is not one of 'text', 'json', 'csv' {USAGE_HINT}",
        ),
        (["coverage", "--top"], f"Option '--top' requires an argument {USAGE_HINT}"),
        (
            ["coverage", "--threads", "1.5"],
            f"Invalid value for '--threads': '1.5' is not a valid integer range {USAGE_HINT}",
        ),
        (["nosuch"], "No such command 'nosuch' (see 'hlamatch --help')"),
        (["tables", "a", "b"], "Got unexpected extra argument (b) (see 'hlamatch tables --help')"),
    ],
)
def test_usage_errors_are_one_line(args, message):
    one_error(invoke(*args), f"Error: {message}", code=2)


def test_unknown_option_is_one_line():
    r = invoke("coverage", "--lien", L1)
    assert r.exit_code == 2 and r.stdout == ""
    (line,) = r.stderr.splitlines()
    # click's own wording of the suggestion differs between versions.
    assert line.startswith("Error: No such option") and "--lien" in line and line.endswith(USAGE_HINT)


def test_group_without_command_still_shows_help():
    r = invoke()
    assert "Usage: hlamatch" in r.stdout + r.stderr and "Error:" not in r.stdout + r.stderr


# ============================================================================ JSON: never NaN


def test_cohort_with_no_assessable_patient_is_strict_json(write):
    # Before: "assessed_coverage": NaN (not JSON).
    p = write("coarse.csv", "id,typing\nx,A*24^B*52^DRB1*15\n")
    r = invoke("coverage", "--cohort", p, "--line", L1, "--format", "json")
    assert r.exit_code == 0, r.stderr
    (row,) = strict_json(r.stdout)
    assert row["assessed"] == 0 and row["assessed_coverage"] is None and row["upper"] == 1.0
    r = invoke("coverage", "--cohort", p, "--line", L1)
    assert "no patient assessed" in r.stdout and "nan" not in r.stdout.lower()
    r = invoke("coverage", "--cohort", p, "--line", L1, "--format", "csv")
    assert "nan" not in r.stdout.lower()


def test_emit_maps_non_finite_numbers():
    from hlamatch.cli.output import finite, flatten_rows, pct

    assert finite({"a": float("nan"), "b": [1.0, float("-inf")], "c": "x"}) == {"a": None, "b": [1.0, None], "c": "x"}
    assert flatten_rows([{"x": float("inf"), "d": {"0": float("nan")}}]) == [{"x": "", "d_0": ""}]
    assert pct(float("nan")) == "-"


# ============================================================================ Python API


def test_api_lines_argument():
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", None)
    assert str(e.value) == (
        "lines must be a list of texts like ['A*24:02~B*52:01~DRB1*15:02'] (or hlamatch.Line objects), got None"
    )
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", 5)
    assert str(e.value).endswith("got int 5")
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", [L1, 5])
    assert str(e.value) == (
        "lines[1] is int 5: each item is a text like 'A*24:02~B*52:01~DRB1*15:02', or one of hlamatch.Line objects"
    )
    # A single string is one line (not a sequence of one-character lines).
    one = hlamatch.coverage("japanese", L1, level="haplotype")
    assert one[0].lines == (L1,)
    with pytest.raises(TypingError) as e:
        hlamatch.match_patients(None, [L1])
    assert str(e.value).startswith("patients must be a list of texts like ['A*24:02+A*02:01")


@pytest.mark.parametrize("threads", [1.5, "2", True, 0, -1])
def test_api_threads_is_checked_in_one_place(threads):
    limit = numba.config.NUMBA_NUM_THREADS
    for call in (
        lambda: hlamatch.coverage("japanese", [L1], threads=threads),
        lambda: hlamatch.rank_candidates("japanese", [L1], threads=threads),
    ):
        with pytest.raises(OptionError) as e:
            call()
        if isinstance(threads, int) and not isinstance(threads, bool):
            assert str(e.value) == f"threads must be between 1 and {limit} on this machine, got {threads}"
        else:
            assert str(e.value) == (
                f"threads must be a whole number between 1 and {limit} on this machine "
                f"(or None for all cores), got {type(threads).__name__} {threads!r}"
            )


RULE_KEYWORDS = "max_mismatches, direction, homozygous_count, require_match, allow_mismatch"


@pytest.mark.parametrize(
    "call",
    [
        lambda: hlamatch.coverage("japanese", [L1], foo=1),
        lambda: hlamatch.rank_candidates("japanese", [L1], foo=1),
        lambda: hlamatch.plan_bank("japanese", [L1], max_lines=1, foo=1),
        lambda: hlamatch.match_patients(["A*24:02^B*52:01^DRB1*15:02"], [L1], foo=1),
    ],
    ids=["coverage", "rank_candidates", "plan_bank", "match_patients"],
)
def test_api_unknown_keyword(call):
    # Before: a raw TypeError from MatchRules(**kw).
    with pytest.raises(OptionError) as e:
        call()
    assert str(e.value) == f"unknown argument 'foo' (match-rule keywords: {RULE_KEYWORDS})"


def test_api_rule_arguments():
    with pytest.raises(OptionError) as e:
        hlamatch.coverage("japanese", [L1], rules={"max_mismatches": 1})
    assert str(e.value).startswith("rules must be a hlamatch.MatchRules")
    with pytest.raises(OptionError, match="max_mismatches must be a whole number ≥ 0, got True"):
        hlamatch.MatchRules(max_mismatches=True)
    # One string is one locus list, not its characters.
    assert hlamatch.MatchRules(require_match="DRB1").require_match == ("DRB1",)
    assert hlamatch.MatchRules(allow_mismatch="A, B").allow_mismatch == ("A", "B")
    with pytest.raises(OptionError, match="require_match must be a list of locus names"):
        hlamatch.MatchRules(require_match=5)
    a = hlamatch.coverage("japanese", [L1], loci="A,B,DRB1", level="genotype")
    b = hlamatch.coverage("japanese", [L1], loci=["A", "B", "DRB1"], level="genotype")
    assert a[0].coverage == b[0].coverage


# ============================================================================ numba cache


def test_jit_falls_back_to_no_cache_once(monkeypatch):
    calls = []

    def fake_njit(**options):
        calls.append(options.get("cache"))
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file '/ro/kernels.py'")
        return numba.njit(**options)

    monkeypatch.setattr(_jit, "_njit", fake_njit)
    _settings.set_defaults(kernel_cache_failed=False)  # restored after the test (tests/conftest.py)
    monkeypatch.setattr(_jit, "CACHE", True)
    with pytest.warns(HlamatchWarning) as caught:
        f = _jit.jit()(lambda x: x + 1)
        g = _jit.jit()(lambda x: x * 2)
    assert (f(1), g(3)) == (2, 6)
    assert calls == [True, False, False]  # tried once, then never again in this process
    assert [str(w.message) for w in caught] == [
        "numba cannot cache compiled kernels (no writable cache folder was found); running without a cache, so "
        "each new process compiles again (set NUMBA_CACHE_DIR to a writable folder, or HLAMATCH_NUMBA_CACHE=0 "
        "to skip caching)"
    ]


def test_jit_other_runtime_errors_are_not_hidden(monkeypatch):
    def fake_njit(**options):
        raise RuntimeError("something else")

    monkeypatch.setattr(_jit, "_njit", fake_njit)
    _settings.set_defaults(kernel_cache_failed=False)  # restored after the test (tests/conftest.py)
    monkeypatch.setattr(_jit, "CACHE", True)
    with pytest.raises(RuntimeError, match="something else"):
        _jit.jit()(lambda x: x)


def test_cache_file_errors_become_a_miss(monkeypatch):
    class Cache:
        def load_overload(self, sig, ctx):
            raise EOFError("truncated index")

        def save_overload(self, sig, data):
            raise PermissionError(13, "Permission denied")

    class Dispatcher:
        _cache = Cache()

    d = Dispatcher()
    _settings.set_defaults(kernel_cache_failed=False)  # restored after the test (tests/conftest.py)
    _jit._guard_cache_io(d)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert d._cache.load_overload("sig", None) is None  # a miss (damaged files are removed), silently
    with pytest.warns(HlamatchWarning, match="writing the cache failed"):
        d._cache.save_overload("sig", None)  # the save after the compile is still tried
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d._cache.save_overload("sig", None)  # caching is off now: skipped silently


def test_real_numba_without_any_cache_folder_still_computes():
    """numba's own 'cannot cache function' (no locator finds a writable folder) in a fresh process."""
    code = textwrap.dedent(f"""
        from numba.core import caching
        impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
        impl._locator_classes = []  # as if neither the package folder nor HOME were writable
        from click.testing import CliRunner
        from hlamatch.cli import cli
        r = CliRunner().invoke(cli, ["coverage", "--line", "{L1}", "--level", "haplotype", "-k", "1",
                                     "--format", "json"])  # a rule: kernels run (small problems need none)
        print(r.exit_code)
        print(r.output)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("HLAMATCH_NUMBA_CACHE", "NUMBA_DISABLE_JIT")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    assert out[0] == "0"
    warnings_ = [ln for ln in out if ln.startswith("Warning: ")]
    assert warnings_ == [
        "Warning: numba cannot cache compiled kernels (no writable cache folder was found); running "
        "without a cache, so each new process compiles again (set NUMBA_CACHE_DIR to a writable "
        "folder, or HLAMATCH_NUMBA_CACHE=0 to skip caching)"
    ]
    rows = strict_json("\n".join(ln for ln in out[1:] if not ln.startswith("Warning: ")))
    expected = hlamatch.coverage("japanese", [L1], level="haplotype", max_mismatches=1)[0].coverage
    assert rows[0]["coverage"] == pytest.approx(expected, abs=1e-12)
