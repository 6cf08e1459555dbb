"""Patient look-up (``hlamatch.api.match`` and ``hlamatch match``) and empirical cohort coverage.

Every expected count below is worked out by hand in a comment from the match rules:
HvG = the line's expressed alleles that the patient lacks (genotype level, unphased).
"""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from click.testing import CliRunner

from hlamatch.api.match import cohort_coverage, match_patients
from hlamatch.cli import cli
from hlamatch.errors import LineError, OptionError, TypingError, UnknownLocusError
from hlamatch.hla.typing import parse_typing
from hlamatch.io.patients import read_patients
from hlamatch.results.matching import ASSESSABLE, ERROR, NOT_ASSESSABLE

L1 = "A*24:02~B*52:01~DRB1*15:02"  # CiRA's first line
L2 = "A*02:01~B*07:02~DRB1*04:05"

# A hand-built cohort against the homozygous lines L1 and L2 (HvG counts per line):
#   P1 A24,A2 / B52,B7 / DR15,DR4:5   L1 0; L2 0                          best 0
#   P2 A24,A11 / B52,B54 / DR15,DR4:5  L1 0; L2 A2,B7 -> 2                 best 0
#   P3 A24,A11 / B54 (hom) / DR15,DR4:5 L1 B52 -> 1; L2 A2,B7 -> 2         best 1
#   P4 A33,A11 / B44,B54 / DR13,DR4:5  L1 A24,B52,DR15 -> 3; L2 A2,B7 -> 2 best 2
#   P5 A24 / B52 / DR8 (one allele each: homozygous)  L1 DR15 -> 1 (at DRB1); L2 3   best 1
#   P6 one-field typing                 not assessable
#   P7 malformed allele A*24:0X          error
COHORT = {
    "P1": "A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05",
    "P2": "A*24:02+A*11:01^B*52:01+B*54:01^DRB1*15:02+DRB1*04:05",
    "P3": "A*24:02+A*11:01^B*54:01+B*54:01^DRB1*15:02+DRB1*04:05",
    "P4": "A*33:03+A*11:01^B*44:03+B*54:01^DRB1*13:02+DRB1*04:05",
    "P5": "A*24:02^B*52:01^DRB1*08:03",
    "P6": "A*24^B*52^DRB1*15",
    "P7": "A*24:0X^B*52:01^DRB1*15:02",
}


def typings():
    return [parse_typing(text, pid) for pid, text in COHORT.items()]


def by_id(results):
    return {r.id: r for r in results}


# ====================================================================== parsing


def test_parse_typing_gl_string():
    t = parse_typing("A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05", "x")
    assert t.error is None and t.id == "x"
    assert t.alleles == {"A": ("A*24:02", "A*02:01"), "B": ("B*52:01", "B*07:02"), "DRB1": ("DRB1*15:02", "DRB1*04:05")}
    # One allele at a locus means homozygous; the HLA- prefix and spaces are accepted.
    t = parse_typing(" HLA-A*24:02 ^ B*52:01+B*52:01 ", "y")
    assert t.alleles == {"A": ("A*24:02", "A*24:02"), "B": ("B*52:01", "B*52:01")}


@pytest.mark.parametrize(
    "text, words",
    [
        ("A*24:0X+A*02:01^B*52:01", ["A*24:0X"]),  # malformed allele
        ("A*24:02+A*02:01+A*11:01^B*52:01", ["3 alleles"]),  # three alleles at a locus
        ("A*24:02^ZZ*01:01", ["ZZ"]),  # unknown gene
        ("A*24:02^^B*52:01", ["empty"]),  # empty locus
        ("A*24:02+B*52:01", ["different loci"]),  # two loci joined by '+'
        ("A*24:02^A*02:01", ["twice"]),  # locus typed twice
        ("", ["empty"]),
    ],
)
def test_parse_typing_errors_never_raise(text, words):
    t = parse_typing(text, "bad")
    assert t.alleles is None and t.error
    assert "patient bad" in t.error
    for w in words:
        assert w in t.error


def test_read_patients_csv_two_columns_empty_second_is_homozygous(write):
    p = write(
        "cohort.csv",
        "id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\n"
        "p1,A*24:02,A*02:01,B*52:01,B*07:02,DRB1*15:02,DRB1*04:05\n"
        "p2,A*24:02,,B*52:01,,DRB1*15:02,\n",
    )
    t1, t2 = read_patients(p)
    assert (t1.id, t2.id) == ("p1", "p2")
    assert t1.alleles["DRB1"] == ("DRB1*15:02", "DRB1*04:05")
    assert t2.alleles == {
        "A": ("A*24:02", "A*24:02"),
        "B": ("B*52:01", "B*52:01"),
        "DRB1": ("DRB1*15:02", "DRB1*15:02"),
    }
    assert t1.where.endswith("cohort.csv row 2") and t2.where.endswith("cohort.csv row 3")


def test_read_patients_tsv_typing_column(write):
    p = write("cohort.tsv", "patient\ttyping\nq1\t" + COHORT["P1"] + "\nq2\t" + COHORT["P5"] + "\n")
    q1, q2 = read_patients(p)
    assert q1.id == "q1" and q1.alleles["B"] == ("B*52:01", "B*07:02")
    assert q2.id == "q2" and q2.alleles["DRB1"] == ("DRB1*08:03", "DRB1*08:03")


def test_read_patients_parquet_and_default_ids(tmp_path):
    p = tmp_path / "cohort.parquet"
    pl.DataFrame(
        {
            "A_1": ["A*24:02", "A*02:01"],
            "A_2": [None, "A*11:01"],
            "B_1": ["B*52:01", "B*07:02"],
            "B_2": ["B*52:01", None],
            "DRB1_1": ["DRB1*15:02", "DRB1*04:05"],
            "DRB1_2": [None, None],
        }
    ).write_parquet(p)
    r1, r2 = read_patients(p)
    assert (r1.id, r2.id) == ("1", "2")  # no id column: row numbers
    assert r1.alleles == {
        "A": ("A*24:02", "A*24:02"),
        "B": ("B*52:01", "B*52:01"),
        "DRB1": ("DRB1*15:02", "DRB1*15:02"),
    }
    assert r2.alleles == {
        "A": ("A*02:01", "A*11:01"),
        "B": ("B*07:02", "B*07:02"),
        "DRB1": ("DRB1*04:05", "DRB1*04:05"),
    }


def test_read_patients_bad_rows_are_reported_and_the_rest_kept(write):
    p = write(
        "bad.csv",
        "id,A_1,A_2,B_1,B_2\n"
        "ok1,A*24:02,,B*52:01,\n"
        "bad1,A*24:0X,,B*52:01,\n"  # malformed allele
        "bad2,A*24:02+A*02:01,A*11:01,B*52:01,\n"  # three alleles at A
        "bad3,B*07:02,,B*52:01,\n"  # B allele in the A columns
        "bad4,ZZ*01:01,,B*52:01,\n"  # unknown gene
        "ok2,A*02:01,A*11:01,B*07:02,\n",
    )
    rows = read_patients(p)
    assert [t.id for t in rows] == ["ok1", "bad1", "bad2", "bad3", "bad4", "ok2"]
    assert [t.error is None for t in rows] == [True, False, False, False, False, True]
    for t, row in zip(rows[1:5], (3, 4, 5, 6)):
        assert f"row {row}" in t.error and f"patient {t.id}" in t.error
    assert "3 alleles" in rows[2].error
    assert rows[5].alleles == {"A": ("A*02:01", "A*11:01"), "B": ("B*07:02", "B*07:02")}


def test_read_patients_unknown_locus_column_is_a_file_error(write):
    # A column naming no known locus concerns every row: the file is refused, naming the columns.
    p = write("u.csv", "id,A_1,A_2,XYZ_1,XYZ_2\n1,A*24:02,,B*52:01,\n")
    with pytest.raises(UnknownLocusError, match="XYZ_1"):
        read_patients(p)
    with pytest.raises(TypingError):
        read_patients(write("none.csv", "id,notes\n1,hello\n"))
    with pytest.raises(TypingError, match="no patients"):
        read_patients(write("empty.csv", "id,A_1,A_2\n"))


# ====================================================================== matching


def test_match_patients_hand_cohort():
    results = match_patients(typings(), [L1, L2], max_mismatches=1)
    loci, res, rules = results.loci, results.resolution, results.rules
    assert loci == ("A", "B", "DRB1") and res == "2-field" and rules.max_mismatches == 1
    assert [r.id for r in results] == list(COHORT)  # input order
    r = by_id(results)
    assert [r[p].status for p in COHORT] == [ASSESSABLE] * 5 + [NOT_ASSESSABLE, ERROR]
    # best first, totals and per-locus counts as worked out above
    assert [(m.line, m.mismatches, m.matched) for m in r["P1"].lines] == [(L1, 0, True), (L2, 0, True)]
    assert [(m.line, m.mismatches, m.matched) for m in r["P2"].lines] == [(L1, 0, True), (L2, 2, False)]
    assert r["P2"].lines[1].mismatched == {"A": ["A*02:01"], "B": ["B*07:02"]}
    assert r["P2"].lines[1].per_locus == {"A": 1, "B": 1, "DRB1": 0}
    assert [(m.line, m.mismatches, m.matched) for m in r["P3"].lines] == [(L1, 1, True), (L2, 2, False)]
    assert r["P3"].lines[0].mismatched == {"B": ["B*52:01"]}
    # P4: L2 (2) comes before L1 (3): best first even when nothing matches.
    assert [(m.line, m.mismatches, m.matched) for m in r["P4"].lines] == [(L2, 2, False), (L1, 3, False)]
    assert r["P4"].lines[1].mismatched == {"A": ["A*24:02"], "B": ["B*52:01"], "DRB1": ["DRB1*15:02"]}
    assert not r["P4"].matched and r["P4"].best is None
    assert r["P5"].lines[0].mismatched == {"DRB1": ["DRB1*15:02"]} and r["P5"].best == 1
    assert "coarser" in r["P6"].reason and r["P6"].lines == ()
    assert "A*24:0X" in r["P7"].reason and r["P7"].lines == ()


def test_match_patients_rules_and_directions():
    # DRB1 must match: P5's only 1-mismatch line misses at DRB1 -> outside the rules.
    results = match_patients(typings(), [L1, L2], max_mismatches=1, require_match=["DRB1"])
    r = by_id(results)
    assert not r["P5"].matched and not r["P5"].lines[0].within_limits
    assert r["P3"].matched  # its mismatch is at B
    # Mismatch allowed only at DRB1: P3's B mismatch is now outside, P5 inside.
    results = match_patients(typings(), [L1, L2], max_mismatches=1, allow_mismatch=["DRB1"])
    r = by_id(results)
    assert not r["P3"].matched and r["P5"].matched
    # GvH: the patient's alleles the line lacks.  P2 vs L1: A*11:01, B*54:01, DRB1*04:05 -> 3.
    results = match_patients([COHORT["P2"]], [L1], direction="GvH")
    (m,) = results[0].lines
    assert m.mismatches == 3 and m.mismatched == {"A": ["A*11:01"], "B": ["B*54:01"], "DRB1": ["DRB1*04:05"]}
    # Bidirectional per locus max: P2 vs L2: HvG A2,B7 / GvH A24,A11,B52,B54,DR15 ->
    #   A max(1,2)=2, B max(1,2)=2, DRB1 max(0,1)=1 -> 5.
    results = match_patients([COHORT["P2"]], [L2], direction="bidirectional")
    (m,) = results[0].lines
    assert m.per_locus == {"A": 2, "B": 2, "DRB1": 1} and m.mismatches == 5
    assert "HvG:A*02:01" in m.mismatched["A"] and "GvH:A*11:01" in m.mismatched["A"]
    # homozygous_count=2: P3 (B54 homozygous) vs L1 HvG: L1's B52 is homozygous in the LINE
    #   -> counts 2; GvH: P3's homozygous B54 missing from L1 -> 2.
    results = match_patients([COHORT["P3"]], [L1], homozygous_count=2)
    assert results[0].lines[0].per_locus["B"] == 2
    results = match_patients([COHORT["P3"]], [L1], homozygous_count=2, direction="GvH")
    assert results[0].lines[0].per_locus["B"] == 2


def test_match_patients_not_assessable_cases():
    results = match_patients(
        [
            "A*24^B*52^DRB1*15",  # one-field vs two-field lines
            "A*24:02+A*02:01^B*52:01+B*07:02",  # no DRB1
            "A*24:02:01:01^B*52:01:01^DRB1*15:02:01",  # finer than the lines: reduced, assessed
        ],
        [L1],
    )
    a, b, c = results
    assert a.status == NOT_ASSESSABLE and "A*24" in a.reason and "1-field" in a.reason
    assert b.status == NOT_ASSESSABLE and "DRB1" in b.reason
    assert c.status == ASSESSABLE and c.lines[0].mismatches == 0
    # The same one-field typing is assessable against one-field lines.
    results = match_patients(["A*24^B*52^DRB1*15"], [L1], resolution="1-field")
    res = results.resolution
    assert res == "1-field" and results[0].status == ASSESSABLE and results[0].lines[0].mismatches == 0


def test_match_patients_null_alleles():
    # A patient with a null allele: A*24:02 + A*01:11N.  The line's A*24:02 is carried -> 0.
    # A patient A*02:01 (homozygous) lacks L1's A*24:02 -> 1.
    results = match_patients(["A*24:02+A*01:11N^B*52:01^DRB1*15:02", "A*02:01^B*52:01^DRB1*15:02"], [L1], details="all")
    p, q = results
    assert [m.mismatches for m in p.lines] == [0]
    assert {m.line: m.mismatches for m in q.lines} == {L1: 1}
    # A null allele in a LINE is refused: a donor line is typed at the alleles it expresses.
    # (It used to count as "nothing expressed at A": 0 mismatches there for anyone.)
    with pytest.raises(
        LineError,
        match=r"^line A\*01:11N~B\*52:01~DRB1\*15:02: donor lines are chosen for the "
        r"antigens they express: null allele A\*01:11N cannot be part of a line; "
        r"give the expressed allele$",
    ):
        match_patients(["A*02:01^B*52:01^DRB1*15:02"], [L1, "A*01:11N~B*52:01~DRB1*15:02"])


def test_match_patients_bad_options_raise():
    with pytest.raises(OptionError):
        match_patients([COHORT["P1"]], [])
    with pytest.raises(UnknownLocusError):
        match_patients([COHORT["P1"]], [L1], require_match=["DQB1"])


# ====================================================================== cohort coverage


def test_cohort_coverage_counts_and_bounds():
    results = match_patients(typings(), [L1, L2], max_mismatches=1)
    s = cohort_coverage(results)
    # 7 patients: 5 assessed (4 matched: P1, P2, P3, P5), 1 not assessable, 1 error (left out).
    assert (s["patients"], s["assessed"], s["not_assessable"], s["errors"], s["matched"]) == (7, 5, 1, 1, 4)
    assert s["lower"] == pytest.approx(4 / 6) and s["coverage"] == s["lower"]
    assert s["upper"] == pytest.approx(5 / 6)
    assert s["assessed_coverage"] == pytest.approx(4 / 5)
    assert s["distribution"] == pytest.approx({"0": 2 / 5, "1": 2 / 5, "2": 1 / 5})
    # DRB1 required: P5 falls out (no line within the limits -> "unmatched").
    results = match_patients(typings(), [L1, L2], max_mismatches=1, require_match=["DRB1"])
    s = cohort_coverage(results)
    assert s["matched"] == 3 and s["lower"] == pytest.approx(3 / 6) and s["upper"] == pytest.approx(4 / 6)
    assert s["distribution"] == pytest.approx({"0": 2 / 5, "1": 1 / 5, "2": 1 / 5, "unmatched": 1 / 5})
    assert list(s["distribution"]) == ["0", "1", "2", "unmatched"]


# ====================================================================== CLI


def invoke(args):
    """Run the CLI with stdout and stderr kept apart (click >= 8.2 always does; older needs the flag)."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, args, catch_exceptions=False)


def cohort_csv(write, name="cohort.csv"):
    # Rows (file line numbers): p1 line 2, p2 line 3, bad1 line 4, p3 line 5, bad2 line 6.
    return write(
        name,
        "id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2\n"
        "p1,A*24:02,A*02:01,B*52:01,B*07:02,DRB1*15:02,DRB1*04:05\n"
        "p2,A*24:02,,B*52:01,,DRB1*15:02,\n"
        "bad1,A*24:0X,,B*52:01,,DRB1*15:02,\n"
        "p3,A*33:03,A*11:01,B*44:03,B*54:01,DRB1*13:02,DRB1*04:05\n"
        "bad2,A*24:02+A*02:01,A*11:01,B*52:01,,DRB1*15:02,\n",
    )


def test_cli_match_text_names_mismatched_alleles():
    res = invoke(["match", "--patient", COHORT["P3"], "--line", L1, "--line", L2, "-k", "1", "--all-lines"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "patient 1: 1 line(s) match" in out
    assert "B B*52:01" in out and "A A*02:01" in out  # the alleles behind the counts
    assert "(outside the rules)" in out  # L2 (2 mismatches) listed with --all-lines
    assert out.index(L1) < out.index(L2)  # best first
    assert res.stderr == ""


def test_cli_match_json_and_csv():
    args = ["match", "--patient", COHORT["P2"], "--patient", COHORT["P6"], "--line", L1, "--line", L2]
    res = invoke(args + ["--format", "json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert [r["patient"] for r in rows] == ["1", "2"]
    assert rows[0]["status"] == "assessed" and rows[0]["matched"] is True and rows[0]["best_mismatches"] == 0
    assert [m["line"] for m in rows[0]["lines"]] == [L1]  # only matching lines without --all-lines
    assert rows[1]["status"] == "not assessable" and rows[1]["matched"] is None and rows[1]["lines"] == []
    res = invoke(args + ["--format", "csv", "--all-lines"])
    assert res.exit_code == 0
    table = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["patient"], r["line"], r["mismatches"]) for r in table] == [
        ("1", L1, "0"),
        ("1", L2, "2"),
        ("2", "", ""),
    ]
    assert table[1]["mismatched_alleles"] == "A: A*02:01; B: B*07:02"
    assert table[2]["status"] == "not assessable"


def test_cli_match_batch_with_bad_rows(write):
    p = cohort_csv(write)
    res = invoke(["match", "--patients-file", str(p), "--line", L1, "--line", L2, "-k", "1", "--format", "json"])
    assert res.exit_code == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(errors) == 2, res.stderr
    assert all(ln.startswith("Error: ") for ln in errors)
    assert "cohort.csv row 4" in errors[0] and "bad1" in errors[0] and "A*24:0X" in errors[0]
    assert "cohort.csv row 6" in errors[1] and "bad2" in errors[1] and "3 alleles" in errors[1]
    rows = {r["patient"]: r for r in json.loads(res.stdout)}
    assert set(rows) == {"p1", "p2", "bad1", "p3", "bad2"}
    assert rows["p1"]["matched"] and rows["p2"]["matched"]
    # p3 vs L2: A*02:01, B*07:02 missing -> 2 > k: no line matches.
    assert rows["p3"]["status"] == "assessed" and rows["p3"]["matched"] is False
    assert rows["bad1"]["status"] == "error"


def test_cli_match_text_batch_good_patients_on_stdout(write):
    p = cohort_csv(write)
    res = invoke(["match", "--patients-file", str(p), "--line", L1])
    assert res.exit_code == 1
    assert "patient p1: 1 line(s) match" in res.stdout and "patient p2: 1 line(s) match" in res.stdout
    assert "patient p3: no line matches" in res.stdout
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("Error: ")]) == 2


def test_cli_match_bad_patient_option_names_it():
    res = invoke(["match", "--patient", COHORT["P1"], "--patient", "A*24:02^QQ*01:01", "--line", L1])
    assert res.exit_code == 1
    errors = res.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("Error: ") and "--patient 2" in errors[0]
    assert "patient 1: 1 line(s) match" in res.stdout


def test_cli_coverage_cohort_json(write):
    p = write("hand.csv", "id,typing\n" + "".join(f"{pid},{text}\n" for pid, text in COHORT.items()))
    res = invoke(["coverage", "--cohort", str(p), "--line", L1, "--line", L2, "-k", "1", "--format", "json"])
    assert res.exit_code == 1  # P7 is malformed: reported, the rest summarised
    assert len(res.stderr.splitlines()) == 1 and "P7" in res.stderr and "row 8" in res.stderr
    (row,) = json.loads(res.stdout)
    assert (row["patients"], row["assessed"], row["not_assessable"], row["errors"], row["matched"]) == (7, 5, 1, 1, 4)
    assert row["lower"] == pytest.approx(4 / 6) and row["upper"] == pytest.approx(5 / 6)
    assert row["level"] == "genotype" and row["loci"] == ["A", "B", "DRB1"] and row["resolution"] == "2-field"
    assert row["rules"]["max_mismatches"] == 1
    # Without the bad row: exit 0.
    good = write("good.csv", "id,typing\n" + "".join(f"{pid},{COHORT[pid]}\n" for pid in ("P1", "P4")))
    res = invoke(["coverage", "--cohort", str(good), "--line", L1, "--format", "json"])
    assert res.exit_code == 0 and res.stderr == ""
    (row,) = json.loads(res.stdout)
    assert (row["matched"], row["coverage"]) == (1, 0.5)


def test_cli_coverage_rules_json_has_rules_and_distribution():
    res = invoke(
        ["coverage", "--top", "10", "--loci", "A,B,DRB1", "-k", "1", "--require-match", "DRB1", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {r["level"] for r in rows} == {"haplotype", "genotype"}
    k0 = {
        r["level"]: r
        for r in json.loads(invoke(["coverage", "--top", "10", "--loci", "A,B,DRB1", "--format", "json"]).stdout)
    }
    for r in rows:
        assert r["rules"] == {
            "max_mismatches": 1,
            "direction": "HvG",
            "homozygous_count": 1,
            "require_match": ["DRB1"],
            "allow_mismatch": None,
        }
        assert "DRB1 must match" in r["rule"]
        d = r["distribution"]
        assert set(d) == {"0", "1", "2", "3", "4", "5", "6", "unmatched"}
        assert sum(d.values()) == pytest.approx(1.0, abs=1e-9)
        assert sum(r["distribution_upper"].values()) == pytest.approx(1.0, abs=1e-9)
        assert r["coverage"] == pytest.approx(d["0"] + d["1"], abs=1e-12)
        assert d["0"] == pytest.approx(k0[r["level"]]["coverage"], abs=1e-12)
        assert r["coverage"] >= k0[r["level"]]["coverage"]


def test_cli_unknown_locus_in_rule_is_one_error_line():
    res = invoke(["coverage", "--top", "10", "--loci", "A,B,DRB1", "-k", "1", "--require-match", "DQB1"])
    assert res.exit_code == 1 and res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "DQB1" in lines[0]
    res = invoke(["match", "--patient", COHORT["P1"], "--line", L1, "--allow-mismatch", "C"])
    assert res.exit_code == 1 and len(res.stderr.splitlines()) == 1 and "'C'" in res.stderr


def test_cli_match_help_has_example():
    res = invoke(["match", "--help"])
    assert res.exit_code == 0 and "Example" in res.stdout and "--patients-file" in res.stdout
