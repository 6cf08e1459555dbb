"""``hlamatch match``: which bank lines suit each patient (genotype level), best first."""

from __future__ import annotations

from typing import Any

import click

from hlamatch.cli.inputs import bank_lines, lazy_table, make_rules, parse_populations, patient_loci, split_list
from hlamatch.cli.options import (
    TABLE_PARAMS,
    Command,
    compute_options,
    line_options,
    loci_option,
    numba_threads,
    output_options,
    refuse,
    resolution_option,
    rule_options,
    table_options,
)
from hlamatch.cli.output import echo_error, emit, library_call


@click.command("match", cls=Command)
@click.option(
    "--patient",
    "patients",
    multiple=True,
    metavar="GL",
    help="A patient typing: loci joined by '^', the two alleles by '+', e.g. "
    "'A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05'. Repeatable.",
)
@click.option(
    "--patients-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV/TSV/Parquet of typings: two columns per locus (A_1, A_2, ...), one per locus (A: "
    "'A*24:02+A*02:01') or a 'typing' column; an optional 'id' column names patients. A bad row is "
    "an error for that row only; a third allele column (A_3) or a repeated column name, for the file.",
)
@line_options
@loci_option("Default: the loci the lines are typed at; with --top alone, the table loci the patients are typed at.")
@resolution_option(
    "Default: the coarsest resolution the lines are typed at (the table's for --top lines). A patient "
    "typed coarser is reported as not assessable."
)
@rule_options
@table_options
@click.option("--all-lines", is_flag=True, help="List every line for each patient, not only those that match.")
@compute_options
@output_options
@library_call
def command(
    patients,
    patients_file,
    lines,
    lines_file,
    top,
    loci,
    resolution,
    max_mismatches,
    require_match,
    allow_mismatch,
    homozygous_count,
    direction,
    table,
    table_format,
    sum_tolerance,
    population,
    weights,
    all_lines,
    threads,
    quiet,
    fmt,
) -> None:
    """Which bank lines suit each patient (genotype level), best first.

    Each patient's unphased typing is compared with every line under the match rules; the
    mismatched alleles are listed per locus. A typing coarser than the lines (A*24 against
    two-field lines) or missing a locus is reported as not assessable. A malformed row gives one
    'Error:' line naming it on standard error; the other patients are still reported, and the
    exit status is then 1. The table options apply only with --top (the lines it takes from the
    table).

    \b
    Examples:
      hlamatch match --patient "A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05" \\
                     --line "A*24:02~B*52:01~DRB1*15:02"
      hlamatch match --patients-file cohort.csv --top 20 --loci A,B,DRB1 -k 1 --format json
      hlamatch match --patients-file cohort.csv -t nmdp.csv -p EUR=0.7 -p AFA=0.3 --top 20 --loci A,B,DRB1
    """
    from hlamatch.api.match import match_patients
    from hlamatch.errors import OptionError
    from hlamatch.hla.typing import parse_typing
    from hlamatch.io.patients import read_patients
    from hlamatch.results.matching import ERROR

    if not top:
        refuse(
            TABLE_PARAMS,
            "without --top (the lines are given; no table is read)",
            "add --top N to take lines from the table",
        )
    rules = make_rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    loci_list = split_list(loci)
    typings = [parse_typing(text, str(i + 1), f"--patient {i + 1}") for i, text in enumerate(patients)]
    if patients_file:
        typings += read_patients(patients_file)
    if not typings:
        raise OptionError("no patients given: pass --patient or --patients-file")
    tab = lazy_table(table, table_format, sum_tolerance)
    if top and loci_list is None:
        loci_list = patient_loci(typings, tab())
    bank = bank_lines(
        lines,
        lines_file,
        top,
        table=tab,
        populations=parse_populations(population, weights),
        loci=loci_list,
        resolution=resolution,
    )
    with numba_threads(threads):
        results = match_patients(
            typings, bank, loci=loci_list, resolution=resolution, rules=rules, details="all" if all_lines else "matched"
        )
    used, res, rules = results.loci, results.resolution, results.rules
    for r in results:
        if r.status == ERROR:
            echo_error(r.reason)
    context = {"loci": "~".join(used), "resolution": res, "rule": rules.describe(used)}
    emit(
        [r.to_dict() for r in results],
        fmt,
        csv_rows=lambda rows: csv_rows(rows, context),
        text=lambda rows: match_text(rows, used, res, rules.describe(used)),
    )
    if any(r.status == ERROR for r in results):
        raise SystemExit(1)


def csv_rows(rows: list[dict[str, Any]], context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One CSV row per patient and line (one row with empty line columns for a patient without
    lines), after the shared columns in ``context`` (loci, resolution, rule):
    :func:`hlamatch.results.matching.line_rows`, the rows of ``MatchReport.to_polars()``."""
    from hlamatch.results.matching import line_rows

    return line_rows(rows, context)


def match_text(rows: list[dict[str, Any]], loci, res: str, rule: str) -> str:
    from hlamatch.hla.lines import line_label

    out = [f"Patient look-up — loci {'~'.join(loci)} · resolution {res} · rule: {rule} (genotype level)", ""]
    for r in rows:
        if r["status"] != "assessed":
            out.append(f"patient {r['patient']}: {r['status']} — {r['reason']}")
            continue
        head = "no line matches" if not r["matched"] else f"{r['matching_lines']} line(s) match"
        out.append(f"patient {r['patient']}: {head}")
        for m in r["lines"]:
            what = "; ".join(f"{k} {','.join(v)}" for k, v in m["mismatched_alleles"].items()) or "full match"
            flag = "" if m["matched"] else "  (outside the rules)"
            out.append(f"  {m['mismatches']} mismatch(es)  {line_label(m['line'], m.get('name'))}  — {what}{flag}")
    return "\n".join(out)
