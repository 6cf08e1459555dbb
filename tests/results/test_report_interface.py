"""Every report has the same interface: ``to_polars()`` (the CLI's CSV columns), ``to_dict()`` (the
CLI's JSON document), a one-line ``repr`` naming its kind and an HTML table for notebooks.

Expected values come from the CLI's output for the same call (``--format csv`` header,
``--format json`` document), run with click's test runner.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hlamatch
from hlamatch.cli import cli

LINE = "A*24:02~B*52:01~DRB1*15:02"
TYPED = "A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05"  # carries LINE's alleles: matched
COARSE = "A*24^B*52^DRB1*15"  # one-field against two-field lines: not assessable
COHORT_KEYS = {
    "patients",
    "assessed",
    "not_assessable",
    "errors",
    "matched",
    "coverage",
    "lower",
    "upper",
    "assessed_coverage",
    "distribution",
}


@pytest.fixture(scope="module")
def table() -> hlamatch.HaplotypeTable:
    return hlamatch.bundled_table("japanese")


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    path.write_text(f"id,typing\nP1,{TYPED}\nP2,{COARSE}\n")
    return path


def run_cli(args: list[str]) -> str:
    """The command's standard output (it must succeed)."""
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def csv_header(args: list[str]) -> list[str]:
    return next(csv.reader(io.StringIO(run_cli([*args, "--format", "csv"]))))


def cli_json(args: list[str]) -> Any:
    return json.loads(run_cli([*args, "--format", "json"]))


# Each kind: (the API call, the CLI arguments of the same call, the to_dict() part the CLI's JSON prints).
Case = tuple[Callable[[hlamatch.HaplotypeTable, Path], Any], list[str], Callable[[dict[str, Any]], Any]]


def cases(cohort: str) -> dict[str, Case]:
    return {
        "CoverageReport": (
            lambda t, _: hlamatch.coverage(t, [LINE], level="both"),
            ["coverage", "--line", LINE, "--level", "both"],
            lambda d: d["results"],
        ),
        "RankReport": (
            lambda t, _: hlamatch.rank_candidates(t, loci="A,B,DRB1", n_candidates=5, bank=[LINE]),
            ["rank", "--loci", "A,B,DRB1", "-n", "5", "--line", LINE],
            lambda d: d["candidates"],
        ),
        "PlanReport": (
            lambda t, _: hlamatch.plan_bank(t, loci="A,B,DRB1", n_candidates=5, target=0.3),
            ["plan", "--loci", "A,B,DRB1", "-n", "5", "--target", "0.3"],
            lambda d: d["steps"],
        ),
        "SupplyReport": (
            lambda t, _: hlamatch.supply(t, loci="A,B,DRB1", n_candidates=5, registry_sizes=[1000]),
            ["supply", "--loci", "A,B,DRB1", "-n", "5", "-R", "1000"],
            lambda d: d["registry"],
        ),
        "MatchReport": (
            lambda t, _: hlamatch.match_patients([TYPED, COARSE], [LINE], details="matched"),
            ["match", "--patient", TYPED, "--patient", COARSE, "--line", LINE],
            lambda d: d["patients"],
        ),
        "CohortReport": (
            lambda t, path: hlamatch.cohort_coverage(
                hlamatch.match_patients(hlamatch.read_patients(path), [LINE], details="none")
            ).with_context(population=path.name, table=f"cohort:{path}"),
            ["coverage", "--cohort", cohort, "--line", LINE],
            lambda d: [d],  # the CLI prints the one row as an array
        ),
    }


KINDS = list(cases(""))


@pytest.fixture(scope="module")
def built(table: hlamatch.HaplotypeTable, cohort_file: Path) -> dict[str, tuple[Any, Case]]:
    return {kind: (case[0](table, cohort_file), case) for kind, case in cases(str(cohort_file)).items()}


@pytest.mark.parametrize("kind", KINDS)
def test_to_polars_has_the_csv_columns(built: dict[str, tuple[Any, Case]], kind: str) -> None:
    report, (_, args, _) = built[kind]
    assert type(report).__name__ == kind
    frame = report.to_polars()
    assert frame.columns == csv_header(args)
    assert frame.height >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_to_dict_is_the_json_document(built: dict[str, tuple[Any, Case]], kind: str) -> None:
    report, (_, args, part) = built[kind]
    doc = report.to_dict()
    assert isinstance(doc, dict)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc  # strict JSON, and it round-trips
    assert part(doc) == cli_json(args)


@pytest.mark.parametrize("kind", KINDS)
def test_repr_is_one_line_naming_the_kind(built: dict[str, tuple[Any, Case]], kind: str) -> None:
    report, _ = built[kind]
    text = repr(report)
    assert "\n" not in text
    assert text.startswith(f"<{kind}: ") and text.endswith(">")


@pytest.mark.parametrize("kind", KINDS)
def test_repr_html_is_an_escaped_table_of_the_columns(built: dict[str, tuple[Any, Case]], kind: str) -> None:
    report, _ = built[kind]
    page = report._repr_html_()
    assert "<table>" in page and "</table>" in page
    # The caption is the repr, whose "<" is escaped (no tag named after the kind).
    assert f"<{kind}" not in page and f"&lt;{kind}:" in page
    for column in report.to_polars().columns:
        assert f"<th>{column}</th>" in page


def test_repr_html_escapes_cells_and_caps_rows() -> None:
    odd = hlamatch.parse_typing(TYPED, "<P&1>")
    many = [hlamatch.parse_typing(TYPED, f"Q{i}") for i in range(60)]
    report = hlamatch.match_patients([odd, *many], [LINE])
    page = report._repr_html_()
    assert "&lt;P&amp;1&gt;" in page and "<P&1>" not in page
    assert page.count("<tr><td>") == 50  # 61 rows (one per patient and line), 50 shown
    assert "11 more" in page


def test_match_report_is_a_sequence_of_patient_matches() -> None:
    report = hlamatch.match_patients([TYPED, COARSE], [LINE])
    results = list(report)
    assert len(report) == 2 and report[0] is results[0] and report[-1].status == "not assessable"
    assert report == results and report == tuple(results)
    assert [r.id for r in report[:1]] == ["1"]
    assert report.loci == ("A", "B", "DRB1") and report.resolution == "2-field"
    assert report.rules.max_mismatches == 0 and report.lines == (LINE,)
    assert isinstance(report, hlamatch.MatchReport)


def test_cohort_report_is_a_mapping_of_todays_keys() -> None:
    report = hlamatch.cohort_coverage(hlamatch.match_patients([TYPED, COARSE], [LINE]))
    assert isinstance(report, hlamatch.CohortReport)
    assert set(report) == COHORT_KEYS
    # One patient matched, one not assessable: lower counts it as unmatched, upper as matched.
    assert (report["patients"], report["assessed"], report["not_assessable"], report["matched"]) == (2, 1, 1, 1)
    assert report["lower"] == report["coverage"] == 0.5 and report["upper"] == 1.0
    assert dict(report) == {k: report[k] for k in COHORT_KEYS}
    # From plain PatientMatch objects (no context): the figures only.
    bare = hlamatch.cohort_coverage(list(hlamatch.match_patients([TYPED], [LINE])))
    assert set(bare.to_dict()) == COHORT_KEYS and bare["matched"] == 1


def test_existing_methods_keep_working(built: dict[str, tuple[Any, Case]]) -> None:
    coverage, _ = built["CoverageReport"]
    assert [r["level"] for r in coverage.to_dicts()] == ["haplotype", "genotype"]
    assert coverage.to_polars(flat=False).columns[:3] == ["population", "level", "loci"]
    supply, _ = built["SupplyReport"]
    assert supply.to_polars("candidates").height == 5
    assert supply.to_polars(part="registry").columns == supply.to_polars().columns
