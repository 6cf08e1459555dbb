"""The ``hlamatch`` command line: output formats, help texts, and one ``Error:`` line per bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from hlamatch.cli import cli
from hlamatch.cli.output import number_text

LINE = "A*24:02~B*52:01~DRB1*15:02"
NUMBER_KEYS = ("coverage", "lower", "upper", "unlisted_mass")


def invoke(*args: str):
    """Run the CLI; stdout and stderr kept apart (click >= 8.2 always, 8.1 with mix_stderr=False)."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2: separate streams by default
        runner = CliRunner()
    return runner.invoke(cli, list(args), catch_exceptions=False)


def all_output(result) -> str:
    return result.stdout + result.stderr


def assert_one_error_line(result, expected: str) -> None:
    """Exit status 1 and the whole output is exactly ``expected`` (one ``Error: `` line)."""
    out = all_output(result)
    assert result.exit_code == 1, out
    assert expected.startswith("Error: ")
    assert out.splitlines() == [expected], out
    assert "Traceback" not in out


def json_rows(*args: str) -> list[dict]:
    r = invoke(*args, "--format", "json")
    assert r.exit_code == 0, all_output(r)
    return json.loads(r.stdout)


def numbers(rows: list[dict]) -> dict[tuple[str, str], tuple[float, ...]]:
    return {(r["population"], r["level"]): tuple(r[k] for k in NUMBER_KEYS) for r in rows}


# ============================================================================ coverage


def test_coverage_text_default_table():
    r = invoke("coverage", "--line", LINE)
    assert r.exit_code == 0, all_output(r)
    out = r.stdout
    assert "bundled:japanese" in out
    assert "loci A~B~DRB1" in out
    assert "resolution 2-field" in out
    assert LINE in out
    assert "haplotype" in out and "genotype" in out  # both levels
    assert "[lower, upper]" in out and "unlisted mass" in out
    assert "51.39%" in out  # the bundled Japanese table's unlisted mass
    assert "coverage = lower bound" in out
    assert r.stderr == ""


def test_coverage_json():
    rows = json_rows("coverage", "--line", LINE)
    assert isinstance(rows, list) and len(rows) == 2
    assert [r["level"] for r in rows] == ["haplotype", "genotype"]
    for r in rows:
        assert {
            "population",
            "level",
            "loci",
            "resolution",
            "lines",
            "coverage",
            "lower",
            "upper",
            "unlisted_mass",
        } <= set(r)
        assert r["population"] == "JAPI"
        assert r["loci"] == ["A", "B", "DRB1"]
        assert r["resolution"] == "2-field"
        assert r["lines"] == [LINE]
        assert r["coverage"] == r["lower"]
        assert 0 <= r["lower"] <= r["upper"] <= 1
        assert r["unlisted_mass"] == pytest.approx(0.51392, abs=1e-4)
    hap, geno = rows
    # Genotype level (unphased) can only serve more patients than haplotype level.
    assert geno["lower"] >= hap["lower"] - 1e-15
    # Matches the library doctest figure for the same line.
    assert hap["lower"] == pytest.approx(0.1521, abs=5e-4)


def test_coverage_csv():
    r = invoke("coverage", "--line", LINE, "--format", "csv")
    assert r.exit_code == 0, all_output(r)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 2
    assert {row["level"] for row in rows} == {"haplotype", "genotype"}
    for row in rows:
        assert row["population"] == "JAPI"
        assert row["loci"] == "A~B~DRB1"
        assert row["lines"] == LINE
        assert 0 <= float(row["lower"]) <= float(row["upper"]) <= 1
    as_json = numbers(json_rows("coverage", "--line", LINE))
    for row in rows:
        # CSV rounds to 6 significant digits; JSON keeps full precision.
        assert tuple(float(row[k]) for k in NUMBER_KEYS) == tuple(
            float(number_text(v)) for v in as_json[(row["population"], row["level"])]
        )


def test_coverage_top_loci_resolution():
    rows = json_rows("coverage", "--top", "5", "--loci", "A,B,DRB1", "--resolution", "1-field")
    assert len(rows) == 2
    for r in rows:
        assert r["loci"] == ["A", "B", "DRB1"]
        assert r["resolution"] == "1-field"
        assert len(r["lines"]) == 5
        assert r["lines"][0] == "A*24~B*52~DRB1*15"
        assert all(ln.count("*") == 3 and ln.count(":") == 0 for ln in r["lines"])
    r = invoke("coverage", "--top", "5", "--loci", "A,B,DRB1", "--resolution", "1-field")
    assert r.exit_code == 0 and "resolution 1-field" in r.stdout and "5 line(s)" in r.stdout


def test_coverage_level_and_population_options():
    rows = json_rows("coverage", "--line", LINE, "--level", "genotype", "-p", "japi")
    assert [(r["population"], r["level"]) for r in rows] == [("JAPI", "genotype")]
    rows = json_rows("coverage", "--line", LINE, "-t", "korean")
    assert {r["population"] for r in rows} == {"KORI"}


def _lines_files(tmp_path: Path) -> dict[str, Path]:
    lines = [LINE, "A*33:03~B*44:03~DRB1*13:02"]
    csv_path = tmp_path / "bank.csv"
    csv_path.write_text("name,haplotype\n" + "".join(f"L{k},{ln}\n" for k, ln in enumerate(lines)))
    tsv_path = tmp_path / "bank.tsv"
    tsv_path.write_text("haplotype\tname\n" + "".join(f"{ln}\tL{k}\n" for k, ln in enumerate(lines)))
    pq_path = tmp_path / "bank.parquet"
    pl.DataFrame({"haplotype": lines, "name": ["L0", "L1"]}).write_parquet(pq_path)
    return {"csv": csv_path, "tsv": tsv_path, "parquet": pq_path}


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet"])
def test_coverage_lines_file_same_as_line(tmp_path, kind):
    path = _lines_files(tmp_path)[kind]
    from_line = numbers(json_rows("coverage", "--line", LINE, "--line", "A*33:03~B*44:03~DRB1*13:02"))
    from_file = numbers(json_rows("coverage", "--lines-file", str(path)))
    assert from_file == from_line
    # One line alone differs from the two-line bank.
    assert numbers(json_rows("coverage", "--line", LINE)) != from_file


def test_coverage_on_a_table_file(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("A,B,JAPI\nA*24:02,B*52:01,0.5\nA*02:01,B*07:02,0.5\n")
    rows = json_rows("coverage", "-t", str(p), "--line", "A*24:02~B*52:01", "--level", "haplotype")
    assert len(rows) == 1
    # Homozygous line, two haplotypes of 0.5 each: covered = 1 - 0.5**2 = 0.75, no unlisted mass.
    assert rows[0]["lower"] == pytest.approx(0.75)
    assert rows[0]["upper"] == pytest.approx(0.75)
    assert rows[0]["unlisted_mass"] == 0
    assert rows[0]["table"] == str(p)


# ============================================================================ tables


def test_tables_lists_bundled():
    r = invoke("tables")
    assert r.exit_code == 0, all_output(r)
    assert "japanese*" in r.stdout and "korean" in r.stdout
    assert "JAPI" in r.stdout and "KORI" in r.stdout
    assert "51.39%" in r.stdout and "54.63%" in r.stdout
    rows = json.loads(invoke("tables", "--format", "json").stdout)
    assert [row["name"] for row in rows] == ["japanese", "korean"]
    assert rows[0]["default"] is True and rows[1]["default"] is False
    assert rows[0]["loci"] == ["A", "C", "B", "DRB1", "DQB1"]
    assert rows[0]["unlisted_mass"] == pytest.approx(0.51392)
    r = invoke("tables", "--format", "csv")
    assert [row["name"] for row in csv.DictReader(io.StringIO(r.stdout))] == ["japanese", "korean"]


def test_tables_describes_one():
    r = invoke("tables", "japanese")
    assert r.exit_code == 0, all_output(r)
    out = r.stdout
    assert "bundled:japanese" in out
    assert "provenance" in out and "NMDP (Be The Match) 2020" in out  # source
    assert "citation" in out and "Gragert et al. 2013" in out
    assert "0.48608" in out and "51.39%" in out  # listed and unlisted mass
    assert "A~C~B~DRB1~DQB1" in out
    d = json.loads(invoke("tables", "japanese", "--format", "json").stdout)
    assert d["source"] == "bundled:japanese"
    assert d["citation"] and d["provenance"]
    assert d["loci"] == ["A", "C", "B", "DRB1", "DQB1"]
    (pop,) = d["populations"]
    assert pop["population"] == "JAPI"
    assert pop["listed_mass"] == pytest.approx(0.48608, abs=1e-4)
    assert pop["unlisted_mass"] == pytest.approx(0.51392, abs=1e-4)


def test_tables_describes_a_file(tmp_path):
    p = tmp_path / "n07.csv"
    p.write_text("EUR,HLA-A*01:01g~HLA-B*08:01g,0.3,1\nAFA,HLA-A*01:01g~HLA-B*08:01g,0.1,1\n")
    d = json.loads(invoke("tables", str(p), "--format", "json").stdout)
    assert d["source"] == str(p)
    assert [x["population"] for x in d["populations"]] == ["EUR", "AFA"]
    assert [x["unlisted_mass"] for x in d["populations"]] == [pytest.approx(0.7), pytest.approx(0.9)]


# ============================================================================ help


COMMANDS = sorted(cli.commands)


def test_every_command_module_is_registered():
    from hlamatch.cli import COMMANDS as MODULES

    assert set(MODULES) <= set(COMMANDS)
    assert {"coverage", "match", "tables"} <= set(COMMANDS)


@pytest.mark.parametrize("command", [[]] + [[c] for c in COMMANDS], ids=["group"] + COMMANDS)
def test_help_has_an_example(command):
    r = invoke(*command, "--help")
    assert r.exit_code == 0
    assert "Example" in r.stdout
    assert "hlamatch " + (command[0] + " " if command else "") in r.stdout
    assert r.stderr == ""


def test_help_imports_neither_numba_nor_polars():
    code = (
        "import sys\n"
        "from hlamatch.cli import cli\n"
        "for args in [['--help']] + [[c, '--help'] for c in cli.commands]:\n"
        "    try:\n"
        "        cli(args, prog_name='hlamatch')\n"
        "    except SystemExit as e:\n"
        "        assert e.code in (0, None), e.code\n"
        "bad = sorted(m for m in ('numba', 'polars') if m in sys.modules)\n"
        "print('LOADED', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "LOADED []" in proc.stdout


# ============================================================================ errors: one line, exit 1

MALFORMED_HINT = "expected a name like 'A*24:02' (two-field), 'A*24' (one-field) or an antigen label like 'A24'"


def _table(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_error_malformed_allele_in_table(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*01:0X,B*08:01,0.2\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01")
    assert_one_error_line(r, f"Error: {p} line 3: malformed allele name 'A*01:0X': {MALFORMED_HINT}")


def test_error_negative_frequency(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,-0.2\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01")
    assert_one_error_line(
        r, f"Error: {p} line 3: frequency -0.2 in column 'JAPI' is negative; frequencies must lie in [0, 1]"
    )


def test_error_non_numeric_frequency(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,abc\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01")
    assert_one_error_line(
        r,
        f"Error: {p} line 3: frequency in column 'JAPI' is non-numeric ('abc'); "
        "every frequency must be a number between 0 and 1",
    )


def test_error_duplicate_haplotype(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,0.1\nA*01:01,B*08:01,0.2\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01")
    assert_one_error_line(
        r,
        f"Error: {p}: haplotype A*01:01~B*08:01 is listed twice for population 'JAPI' (lines 2 and 4); "
        "merge the rows (sum their frequencies) or remove one",
    )


def test_error_unknown_locus_option():
    r = invoke("coverage", "--loci", "A,B,DPB1", "--line", "A*24:02~B*52:01~DPB1*05:01")
    assert_one_error_line(
        r,
        "Error: locus 'DPB1' is not in table bundled:japanese (its loci: A, C, B, DRB1, DQB1); "
        "choose --loci among these",
    )


def test_error_empty_table(tmp_path):
    p = _table(tmp_path, "Haplo,Count,Freq\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01")
    assert_one_error_line(r, f"Error: table {p} has no haplotype rows: add rows below the header, or check the file")
    q = _table(tmp_path, "", name="empty.csv")
    r = invoke("coverage", "-t", str(q), "--line", "A*01:01~B*08:01")
    assert_one_error_line(r, f"Error: table file {q} is empty: expected a header or haplotype rows")


def test_error_line_typed_at_locus_the_table_lacks():
    line = "A*24:02~B*52:01~DPB1*05:01"
    r = invoke("coverage", "--line", line)
    assert_one_error_line(
        r,
        f"Error: line {line} is typed at DPB1, which table bundled:japanese lacks "
        "(table loci: A, C, B, DRB1, DQB1); pass --loci to use a subset",
    )


def test_error_sum_above_tolerance(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.6\nA*02:01,B*08:01,0.5\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01")
    assert_one_error_line(
        r,
        f"Error: frequencies for population 'JAPI' in {p} sum to 1.1, above 1 by more than the tolerance "
        "0.01; fix the table or raise --sum-tolerance",
    )


def test_error_malformed_line_allele():
    r = invoke("coverage", "--line", "A*24:0X~B*52:01")
    assert_one_error_line(r, f"Error: line 'A*24:0X~B*52:01': malformed allele name 'A*24:0X': {MALFORMED_HINT}")


def test_error_unknown_population():
    r = invoke("coverage", "--line", LINE, "-p", "XXX")
    assert_one_error_line(r, "Error: population 'XXX' is not in table bundled:japanese (it has JAPI)")


@pytest.mark.parametrize("command", ["coverage", "tables"])
def test_error_nonexistent_table(tmp_path, command):
    p = tmp_path / "nothere.csv"
    args = ["coverage", "-t", str(p), "--line", LINE] if command == "coverage" else ["tables", str(p)]
    r = invoke(*args)
    assert_one_error_line(
        r, f"Error: table {str(p)!r} is neither a bundled table (japanese, korean) nor an existing file"
    )


def test_error_unreadable_table_format(tmp_path):
    p = _table(tmp_path, "hello world\nfoo\n", name="t.txt")
    r = invoke("coverage", "-t", str(p), "--line", LINE)
    # The hint must name the CLI option that picks the table format (--format is the output format).
    assert_one_error_line(
        r,
        f"Error: cannot tell the format of {p}: its first line is 'hello world'; expected an NMDP "
        "'Haplo,Count,Freq' header, GRIMM 'haplotype,count,freq' rows, NMDP 2007 "
        "'pop,haplotype,freq,rank' rows or a wide header with locus columns (give the format: --table-format in the CLI, format= in Python)",
    )


def test_error_no_lines():
    assert_one_error_line(invoke("coverage"), "Error: no lines given: pass --line, --lines-file or --top")


def test_error_in_lines_file(tmp_path):
    p = tmp_path / "bank.csv"
    p.write_text(f"haplotype\n{LINE}\nA*33:03~B*4X:03~DRB1*13:02\n")
    r = invoke("coverage", "--lines-file", str(p))
    assert_one_error_line(r, f"Error: lines file {p} row 3: malformed allele name 'B*4X:03': {MALFORMED_HINT}")


def test_error_on_tables_command(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*01:01,B*08:01,0.2\n")
    r = invoke("tables", str(p))
    assert_one_error_line(
        r,
        f"Error: {p}: haplotype A*01:01~B*08:01 is listed twice for population 'JAPI' (lines 2 and 3); "
        "merge the rows (sum their frequencies) or remove one",
    )


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_errors_are_one_line_in_machine_formats_too(tmp_path, fmt):
    r = invoke("coverage", "--line", LINE, "-p", "XXX", "--format", fmt)
    assert_one_error_line(r, "Error: population 'XXX' is not in table bundled:japanese (it has JAPI)")


# ============================================================================ warnings


def test_warning_when_table_is_scaled(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.604\nA*02:01,B*08:01,0.4\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01", "--format", "json")
    assert r.exit_code == 0, all_output(r)
    assert r.stderr.splitlines() == [
        f"Warning: frequencies for population 'JAPI' in {p} sum to 1.004; scaled down by 0.398% to sum to 1 "
        "(rounding excess within tolerance 0.01)"
    ]
    rows = json.loads(r.stdout)  # stdout stays machine-readable
    assert all(row["unlisted_mass"] == 0 for row in rows)


def test_sum_tolerance_option(tmp_path):
    p = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.604\nA*02:01,B*08:01,0.4\n")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~B*08:01", "--sum-tolerance", "0.001")
    assert_one_error_line(
        r,
        f"Error: frequencies for population 'JAPI' in {p} sum to 1.004, above 1 by more than the tolerance "
        "0.001; fix the table or raise --sum-tolerance",
    )
    high = _table(tmp_path, "A,B,JAPI\nA*01:01,B*08:01,0.6\nA*02:01,B*08:01,0.5\n", name="high.csv")
    r = invoke("coverage", "-t", str(high), "--line", "A*01:01~B*08:01", "--sum-tolerance", "0.2")
    assert r.exit_code == 0, all_output(r)
    assert r.stderr.startswith("Warning: ") and "scaled down by 9.09%" in r.stderr


def test_warning_for_allele_absent_from_table():
    r = invoke("coverage", "--line", "A*24:02~B*52:01~DRB1*99:99", "--format", "json")
    assert r.exit_code == 0, all_output(r)
    assert r.stderr.startswith("Warning: ") and "DRB1*99:99" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    rows = json.loads(r.stdout)
    assert all(row["lower"] == 0 for row in rows)


# ============================================================================ real data (skipped when absent)


@pytest.mark.real_data
def test_real_nine_locus_table_projected_by_lines():
    from conftest import hlamatchit

    p = hlamatchit("JAPI")
    r = invoke("coverage", "-t", str(p), "--line", LINE, "--format", "json")
    assert r.exit_code == 0, all_output(r)
    assert r.stderr == ""
    rows = json.loads(r.stdout)
    assert [row["loci"] for row in rows] == [["A", "B", "DRB1"]] * 2
    assert all(row["unlisted_mass"] == 0 and row["lower"] == row["upper"] for row in rows)
    assert all(row["population"] == "JAPI" for row in rows)


@pytest.mark.real_data
def test_real_nmdp2007_warns_once_per_scaled_population():
    from conftest import shared_path

    p = shared_path("raw/ImmunogeneticDataTools/std/NMDP_2007_FiveLocus_Freqs.csv")
    r = invoke("coverage", "-t", str(p), "--line", "A*01:01~C*07:01~B*08:01~DRB1*03:01~DQB1*02:01", "--format", "json")
    assert r.exit_code == 0, all_output(r)
    warnings_ = r.stderr.splitlines()
    assert len(warnings_) == 2 and all(w.startswith("Warning: ") and "scaled down by" in w for w in warnings_)
    assert {"'AFA'", "'HIS'"} == {w.split("population ")[1].split(" ")[0] for w in warnings_}
    rows = json.loads(r.stdout)
    assert {row["population"] for row in rows} == {"EUR", "AFA", "API", "HIS"}
    eur = [row for row in rows if row["population"] == "EUR"]
    assert all(row["unlisted_mass"] == pytest.approx(0.00331, abs=1e-9) for row in eur)
    assert all(row["lower"] < row["upper"] for row in eur)


def test_error_line_coarser_than_table():
    r = invoke("coverage", "--line", "A*24~B*52~DRB1*15")
    assert_one_error_line(
        r,
        "Error: line A*24~B*52~DRB1*15: A*24 is 1-field, coarser than 2-field; type the line at the "
        "computation's 2-field resolution, or pass --resolution 1-field",
    )
    ok = invoke("coverage", "--line", "A*24~B*52~DRB1*15", "--resolution", "1-field")
    assert ok.exit_code == 0, all_output(ok)


def test_error_antigen_line_against_allele_table():
    # An antigen-level line against the two-field default table: lines use loci A, B, DR, and
    # the table lacks DR, so this is a loci error; at A,B the antigen/allele mismatch is named.
    r = invoke("coverage", "--line", "A24~B52", "--loci", "A,B")
    assert_one_error_line(
        r,
        "Error: line A24~B52: A24 is an antigen, not at 2-field level; type the line at the "
        "computation's 2-field resolution, or pass --resolution antigen or broad with --nomenclature DIR "
        "(the WMDA files)",
    )


# ============================================================================ populations and weights

TWO_POPS = (
    "A,B,EUR,AFA\nA*01:01,B*08:01,0.5,0.1\nA*02:01,B*07:02,0.3,0.2\nA*03:01,B*07:02,0.1,0.3\nA*24:02,B*52:01,0.1,0.4\n"
)
EUR_TOP, AFA_TOP = "A*01:01~B*08:01", "A*24:02~B*52:01"


@pytest.fixture
def two_pops(tmp_path) -> Path:
    return _table(tmp_path, TWO_POPS, name="two.csv")


def _by_pop(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["population"], r["level"]): r for r in rows}


def test_population_comma_list_equals_repeated_option(two_pops):
    base = ("coverage", "-t", str(two_pops), "--line", EUR_TOP)
    comma = json_rows(*base, "-p", "EUR,AFA")
    repeated = json_rows(*base, "-p", "EUR", "-p", "AFA")
    assert [(r["population"], r["level"]) for r in comma] == [
        ("EUR", "haplotype"),
        ("EUR", "genotype"),
        ("AFA", "haplotype"),
        ("AFA", "genotype"),
    ]
    assert numbers(comma) == numbers(repeated) == numbers(json_rows(*base))
    assert all(r["weights"] is None for r in comma)


@pytest.mark.parametrize("k", ["0", "1"])
def test_weighted_coverage_is_the_weighted_sum(two_pops, k):
    base = ("coverage", "-t", str(two_pops), "--line", EUR_TOP, "--line", AFA_TOP, "-k", k)
    rows = _by_pop(json_rows(*base, "-p", "EUR=3", "-p", "AFA=1"))
    eur = _by_pop(json_rows(*base, "-p", "EUR"))
    afa = _by_pop(json_rows(*base, "-p", "AFA"))
    for level in ("haplotype", "genotype"):
        w = rows[("weighted", level)]
        assert w["weights"] == {"EUR": 0.75, "AFA": 0.25}
        for key in NUMBER_KEYS:
            expected = 0.75 * eur[("EUR", level)][key] + 0.25 * afa[("AFA", level)][key]
            assert w[key] == pytest.approx(expected, abs=1e-12)
        # The per-population rows of the mix are those computed on their own.
        assert rows[("EUR", level)]["coverage"] == eur[("EUR", level)]["coverage"]
        assert rows[("AFA", level)]["coverage"] == afa[("AFA", level)]["coverage"]
        if k == "1":
            for b, share in w["distribution"].items():
                assert share == pytest.approx(
                    0.75 * eur[("EUR", level)]["distribution"][b] + 0.25 * afa[("AFA", level)]["distribution"][b],
                    abs=1e-12,
                )
    # Weights in one comma list are the same mix.
    assert numbers(json_rows(*base, "-p", "EUR=3,AFA=1")) == numbers(list(rows.values()))


def test_weighted_coverage_text_shows_the_mix_and_its_weights(two_pops):
    r = invoke("coverage", "-t", str(two_pops), "--line", EUR_TOP, "-p", "EUR=3", "-p", "AFA=1")
    assert r.exit_code == 0, all_output(r)
    out = r.stdout.splitlines()
    assert "weights: EUR 0.75, AFA 0.25 (normalised to sum 1)" in out
    assert any(ln.startswith("weighted    haplotype") for ln in out)
    assert any(ln.startswith("weighted    genotype") for ln in out)
    # Unweighted: no mix, no weights line.
    plain = invoke("coverage", "-t", str(two_pops), "--line", EUR_TOP)
    lines = plain.stdout.splitlines()
    assert not any(ln.startswith(("weighted", "weights:")) for ln in lines)


@pytest.mark.parametrize("sep,suffix", [(",", "csv"), ("\t", "tsv")])
def test_weights_file_equals_name_equals_weight(tmp_path, two_pops, sep, suffix):
    w = _table(tmp_path, f"population{sep}weight\nEUR{sep}3\nAFA{sep}1\n", name=f"w.{suffix}")
    base = ("coverage", "-t", str(two_pops), "--line", EUR_TOP)
    from_file = json_rows(*base, "--weights", str(w))
    assert numbers(from_file) == numbers(json_rows(*base, "-p", "EUR=3", "-p", "AFA=1"))
    assert {r["population"] for r in from_file} == {"EUR", "AFA", "weighted"}


def test_population_option_errors(tmp_path, two_pops):
    base = ("coverage", "-t", str(two_pops), "--line", EUR_TOP)
    assert_one_error_line(
        invoke(*base, "-p", "EUR=3", "-p", "AFA"),
        "Error: --population mixes weighted and unweighted populations (EUR=3 and AFA): "
        "give every population a weight (NAME=W) or none",
    )
    assert_one_error_line(invoke(*base, "-p", "EUR=abc"), "Error: --population EUR=abc: weight 'abc' is not a number")
    assert_one_error_line(
        invoke(*base, "-p", "EUR=-1", "-p", "AFA=1"), "Error: weight -1.0 of population 'EUR' must be a positive number"
    )
    assert_one_error_line(
        invoke(*base, "-p", "EUR=1", "-p", "XXX=1"),
        f"Error: population 'XXX' is not in table {two_pops} (it has EUR, AFA)",
    )
    w = _table(tmp_path, "population,weight\nEUR,1\n", name="w.csv")
    assert_one_error_line(
        invoke(*base, "-p", "EUR", "--weights", str(w)),
        "Error: give the populations either with --population or with --weights, not both",
    )
    bad = _table(tmp_path, "pop,w\nEUR,1\n", name="bad.csv")
    assert_one_error_line(
        invoke(*base, "--weights", str(bad)),
        f"Error: weights file {bad}: expected columns 'population' and 'weight', found pop, w",
    )
    nan = _table(tmp_path, "population,weight\nEUR,1\nAFA,lots\n", name="nan.csv")
    assert_one_error_line(
        invoke(*base, "--weights", str(nan)), f"Error: weights file {nan} row 3: weight 'lots' is not a number"
    )


TOP_NEEDS_WEIGHTS = (
    "holds populations EUR, AFA: choose one for the most frequent haplotypes (--population EUR), "
    "or weight them (e.g. --population EUR=0.5,AFA=0.5)"
)
PATIENT = "A*24:02+A*01:01^B*52:01+B*08:01"


def test_top_on_several_populations_needs_weights(two_pops):
    assert_one_error_line(
        invoke("coverage", "-t", str(two_pops), "--top", "2"), f"Error: table {two_pops} {TOP_NEEDS_WEIGHTS}"
    )
    assert_one_error_line(
        invoke("match", "-t", str(two_pops), "--top", "2", "--patient", PATIENT),
        f"Error: table {two_pops} {TOP_NEEDS_WEIGHTS}",
    )


@pytest.mark.parametrize(
    "pops,top",
    [
        (("-p", "EUR"), EUR_TOP),
        (("-p", "AFA"), AFA_TOP),
        (("-p", "EUR=4", "-p", "AFA=1"), EUR_TOP),
        (("-p", "EUR=1", "-p", "AFA=4"), AFA_TOP),
    ],
)
def test_top_follows_the_population_or_the_weighted_frequency(two_pops, pops, top):
    rows = json_rows("coverage", "-t", str(two_pops), "--top", "1", *pops)
    assert {tuple(r["lines"]) for r in rows} == {(top,)}
    (row,) = json_rows("match", "-t", str(two_pops), "--top", "1", *pops, "--patient", PATIENT)
    assert [m["line"] for m in row["lines"]] == [top]


# ============================================================================ CSV output


def _csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_is_flat_with_distribution_columns():
    r = invoke("coverage", "--top", "5", "--loci", "A,B,DRB1", "-k", "1", "--format", "csv")
    assert r.exit_code == 0, all_output(r)
    cells = _csv_cells(r.stdout)
    assert all("{" not in c and "[" not in c for row in cells for c in row), r.stdout
    header = cells[0]
    assert "rules" not in header and "rule" in header
    dist = [c for c in header if c.startswith("mismatches_") and not c.startswith("mismatches_upper_")]
    assert dist == [f"mismatches_{m}" for m in range(7)] + ["mismatches_unmatched"]
    assert "mismatches_upper_unmatched" in header
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["loci"] for row in rows] == ["A~B~DRB1"] * 2
    assert all(len(row["lines"].split(";")) == 5 for row in rows)
    js = _by_pop(json_rows("coverage", "--top", "5", "--loci", "A,B,DRB1", "-k", "1"))
    for row in rows:
        d = js[(row["population"], row["level"])]["distribution"]
        assert {k: float(row[f"mismatches_{k}"]) for k in d} == {k: float(number_text(v)) for k, v in d.items()}


def test_csv_of_a_weighted_mix_has_weight_columns(two_pops):
    r = invoke("coverage", "-t", str(two_pops), "--line", EUR_TOP, "-p", "EUR=3", "-p", "AFA=1", "--format", "csv")
    assert r.exit_code == 0, all_output(r)
    assert all("{" not in c and "[" not in c for row in _csv_cells(r.stdout) for c in row)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(row["population"], row["weights_EUR"], row["weights_AFA"]) for row in rows][-2:] == [
        ("weighted", "0.75", "0.25")
    ] * 2
    assert rows[0]["weights_EUR"] == "" and not any(c.startswith(("distribution", "mismatches")) for c in rows[0])


def test_emit_flattens_any_rows():
    from hlamatch.cli.output import csv_text, flatten_rows

    rows = flatten_rows(
        [
            {
                "name": "x",
                "loci": ["A", "B"],
                "lines": ["a", "b"],
                "d": None,
                "rules": {"k": 1},
                "rule": "k ≤ 1",
                "pairs": [{"p": 1}, {"p": 2}],
            },
            {"name": "y", "loci": [], "lines": [], "d": {"0": 0.5, "unmatched": 0.5}, "rule": "-", "pairs": []},
        ]
    )
    assert rows == [
        {"name": "x", "loci": "A~B", "lines": "a;b", "d_0": "", "d_unmatched": "", "rule": "k ≤ 1", "pairs": "p=1;p=2"},
        {"name": "y", "loci": "", "lines": "", "d_0": 0.5, "d_unmatched": 0.5, "rule": "-", "pairs": ""},
    ]
    assert csv_text([]) == ""


def test_tables_and_match_csv_are_flat(tmp_path):
    p = _table(tmp_path, "EUR,HLA-A*01:01g~HLA-B*08:01g,0.3,1\nAFA,HLA-A*01:01g~HLA-B*08:01g,0.1,1\n", name="n07.csv")
    for args in (
        ("tables",),
        ("tables", str(p)),
        ("match", "--patient", PATIENT, "--line", EUR_TOP, "--line", AFA_TOP, "--all-lines"),
    ):
        r = invoke(*args, "--format", "csv")
        assert r.exit_code == 0, all_output(r)
        assert all("{" not in c and "[" not in c for row in _csv_cells(r.stdout) for c in row), r.stdout


# ============================================================================ progress display


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_display_shows_bar_percent_elapsed_and_time_left():
    from hlamatch.cli.output import progress_display

    now = [100.0]
    term = FakeTerminal()
    show = progress_display(quiet=False, file=term, clock=lambda: now[0])
    assert show is not None
    now[0] = 110.0
    show("EUR haplotype", 0.25)
    first = term.getvalue()
    assert first.startswith("\rEUR haplotype") and not first.endswith("\n")
    assert "[" + "#" * 7 + "." * 23 + "]" in first  # 30 wide, a quarter done
    assert " 25.0%" in first and "elapsed 0:10" in first and "left 0:30" in first
    now[0] = 140.0
    show("EUR haplotype", 1.0)
    assert term.getvalue().endswith("\n")
    assert "100.0%  elapsed 0:40  left 0:00" in term.getvalue()
    # The next label's clock starts where the previous one ended.
    now[0] = 150.0
    show("EUR genotype", 0.5)
    last = term.getvalue().split("\n")[-1]
    assert last.startswith("\rEUR genotype") and "50.0%  elapsed 0:10  left 0:10" in last


def test_progress_line_before_any_work_and_for_hours():
    from hlamatch.cli.output import progress_line

    assert progress_line("x", 0.0, 3.0, width=4) == f"{'x':<24} [....]   0.0%  elapsed 0:03  left ?"
    assert progress_line("x", 0.5, 3700.0, width=4).endswith("elapsed 1:01:40  left 1:01:40")


def test_no_progress_when_quiet_or_not_a_terminal():
    from hlamatch.cli.output import progress_display

    assert progress_display(quiet=True, file=FakeTerminal()) is None
    assert progress_display(quiet=False, file=io.StringIO()) is None


# ============================================================================ errors and warnings wrapper


def test_library_call_shows_each_warning_once_after_the_body():
    import warnings

    import click

    from hlamatch.cli.output import library_call
    from hlamatch.errors import HlamatchWarning, OptionError

    @click.command()
    @click.option("--fail", is_flag=True)
    @library_call
    def noisy(fail):
        warnings.warn("rounding excess scaled away", HlamatchWarning, stacklevel=1)
        warnings.warn("a plain python warning", UserWarning, stacklevel=1)
        if fail:
            raise OptionError("bad\n   option")
        click.echo("done")

    runner = CliRunner()
    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        ok = runner.invoke(noisy, [], catch_exceptions=False)
        bad = runner.invoke(noisy, ["--fail"], catch_exceptions=False)
    assert ok.exit_code == 0 and ok.stdout == "done\n"
    assert ok.stderr.splitlines() == ["Warning: rounding excess scaled away"]
    assert bad.exit_code == 1 and bad.stdout == ""
    assert bad.stderr.splitlines() == ["Warning: rounding excess scaled away", "Error: bad option"]
    # Other warnings are handed on once per run, after the recording context has closed.
    assert [str(w.message) for w in outer if w.category is UserWarning] == ["a plain python warning"] * 2
