"""``hlamatch coverage``: exact population coverage of a bank of donor lines (or of a typed cohort)."""

from __future__ import annotations

from typing import Any

import click

from hlamatch.cli.inputs import bank_lines, lazy_table, make_rules, parse_populations, patient_loci, split_list
from hlamatch.cli.options import (
    TABLE_LOCI_DEFAULT,
    TABLE_PARAMS,
    Command,
    compute_options,
    engine_options,
    given,
    line_options,
    loci_option,
    numba_threads,
    output_options,
    refuse,
    resolution_option,
    rule_options,
    table_options,
    tolerance_option,
    use_engine_options,
)
from hlamatch.cli.output import echo_error, emit, library_call, listed_lines, pct, progress_display
from hlamatch.constants import LEVEL_CHOICES
from hlamatch.errors import OptionError


@click.command("coverage", cls=Command)
@table_options
@line_options
@loci_option(TABLE_LOCI_DEFAULT + " With --cohort and --top, the table loci the patients are typed at.")
@resolution_option(
    "Default: the table's own (with --cohort: the coarsest resolution the lines are typed at); lines "
    "typed finer are brought to it, and a line typed coarser (A*24 on a two-field table) is an error: "
    "pass --resolution 1-field (the line's resolution). Several (--resolution 2-field,antigen, or "
    "repeated) give one row each; --top then takes the most frequent haplotypes at the first.",
    many=True,
)
@rule_options
@click.option(
    "--level",
    type=click.Choice(LEVEL_CHOICES),
    default="both",
    show_default=True,
    help="haplotype (phase-aware), genotype (unphased) or both. A cohort (--cohort) is compared at "
    "genotype level only.",
)
@click.option(
    "--distribution",
    is_flag=True,
    help="Also report the share of patients by the best line's mismatch count (shown anyway "
    "when the rules allow mismatches or change the direction, and for --cohort).",
)
@tolerance_option(
    "Genotype level: stop once the patient genotypes not yet visited (most frequent first) weigh at "
    "most EPS; they widen the upper bound only. 0 = exact. Not with --level haplotype (always "
    "exact) or --cohort."
)
@click.option(
    "--cohort",
    type=click.Path(dir_okay=False),
    default=None,
    help="Empirical coverage of a typed cohort file (see 'hlamatch match') instead of a table. The table "
    "options then apply only with --top (its lines come from the table, at the loci the patients "
    "are typed at unless --loci is given).",
)
@click.option("--all-lines", is_flag=True, help="Text output: list every line of the bank (default: the first 10).")
@compute_options
@engine_options
@output_options
@library_call
def command(
    table,
    table_format,
    sum_tolerance,
    population,
    weights,
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
    level,
    distribution,
    tolerance,
    cohort,
    all_lines,
    threads,
    quiet,
    fmt,
) -> None:
    """Exact population coverage of a bank of donor lines.

    Coverage is the share of Hardy-Weinberg patient genotypes served by at least one line under
    the match rules (default: zero host-versus-graft mismatches). When a table lists less than
    all chromosomes, 'coverage' is the lower bound and the upper bound is shown beside it. With
    weighted populations (-p JAPI=0.8 -p KORI=0.2) a 'weighted' row gives the mix's coverage.

    \b
    Examples:
      hlamatch coverage --line "A*24:02~B*52:01~DRB1*15:02"
      hlamatch coverage --top 10 --loci A,B,DRB1 --resolution 1-field --format json
      hlamatch coverage --top 10 --loci A,B,DRB1 -k 1 --require-match DRB1
      hlamatch coverage -t freqs.JAPI.csv --lines-file bank.csv --level genotype
      hlamatch coverage -t nmdp.csv -p EUR=0.7 -p AFA=0.3 --top 20 --loci A,B,DRB1
      hlamatch coverage --cohort patients.csv --line "A*24:02~B*52:01~DRB1*15:02"
      hlamatch coverage --cohort patients.csv --top 20
    """
    rules = make_rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    populations = parse_populations(population, weights)
    loci_list = split_list(loci)
    tab = lazy_table(table, table_format, sum_tolerance)
    if fmt != "text":
        refuse(("all_lines",), f"to --format {fmt}, which holds every line")
    if cohort:
        refuse(("all_lines",), "to --cohort (its text lists no lines)")
        cohort_coverage(
            cohort, tab, populations, lines, lines_file, top, loci_list, resolution, rules, level, threads, fmt
        )
        return
    use_engine_options()
    if level == "haplotype":
        refuse(("tolerance",), "at --level haplotype, which is always computed exactly")
    # With a list of resolutions, --top picks the most frequent haplotypes at the first one.
    first_resolution = resolution.split(",")[0] if resolution else None
    if top and level != "haplotype" and rules.is_default:
        from hlamatch.compute.budget import check_top_lines

        check_top_lines(top, tab().codes.shape[0])  # before building the lines
    bank = bank_lines(
        lines, lines_file, top, table=tab, populations=populations, loci=loci_list, resolution=first_resolution
    )
    from hlamatch.api.coverage import coverage

    report = coverage(
        tab(),
        bank,
        level=level,
        loci=loci_list,
        resolution=resolution,
        populations=populations,
        threads=threads,
        rules=rules,
        distribution=distribution,
        progress=progress_display(quiet),
        tolerance=tolerance,
    )
    emit(report.to_dicts(), fmt, text=lambda rows: coverage_text(rows, all_lines))


def cohort_coverage(
    cohort, tab, populations, lines, lines_file, top, loci_list, resolution, rules, level, threads, fmt
) -> None:
    """``coverage --cohort``: the empirical coverage of a typed cohort (its rows' errors on standard error)."""
    from hlamatch.api.match import cohort_report
    from hlamatch.io.patients import read_patients
    from hlamatch.results.matching import ERROR

    if not top:
        refuse(
            TABLE_PARAMS,
            "to --cohort without --top (the patients are counted; no table is read)",
            "add --top N to take lines from the table",
        )
    refuse(
        ("tolerance", "engine", "scheduler"),
        "to --cohort (the typed patients are counted; no patient genotypes are enumerated)",
    )
    if given("level") and level != "genotype":
        raise OptionError(
            f"--level {level} does not apply to --cohort: typed patients are compared at genotype "
            "level (their typings are unphased); leave --level out"
        )
    if resolution and "," in resolution:
        raise OptionError("--cohort takes one --resolution (a cohort is compared at one resolution)")
    if top and loci_list is None:
        loci_list = patient_loci(read_patients(cohort), tab())
    if top and level != "haplotype" and rules.is_default:
        from hlamatch.compute.budget import check_top_lines

        check_top_lines(top, tab().codes.shape[0])  # before building the lines
    bank = bank_lines(lines, lines_file, top, table=tab, populations=populations, loci=loci_list, resolution=resolution)
    with numba_threads(threads):
        row, results = cohort_report(cohort, bank, loci=loci_list, resolution=resolution, rules=rules)
    for r in results:
        if r.status == ERROR:
            echo_error(r.reason)
    emit([row], fmt, text=lambda rows: cohort_text(rows, results))
    if row["errors"]:
        raise SystemExit(1)


def cohort_text(rows: list[dict[str, Any]], results: Any = ()) -> str:
    """Text of a cohort's coverage; when no patient could be assessed it says so, and why."""
    r = rows[0]
    out = [
        f"Empirical coverage — cohort {r['population']}",
        f"loci {'~'.join(r['loci'])} · resolution {r['resolution']} · rule: {r['rule']} · {len(r['lines'])} line(s)",
        f"patients {r['patients']} · assessed {r['assessed']} · not assessable {r['not_assessable']} · "
        f"errors {r['errors']} · matched {r['matched']}",
    ]
    if r["assessed"] + r["not_assessable"] == 0:
        out.append("coverage: no patient could be read (every row is an error), so there is no coverage")
    else:
        among = f"among assessed {pct(r['assessed_coverage'])}" if r["assessed"] else "no patient assessed"
        out.append(f"coverage {pct(r['coverage'])}  [lower {pct(r['lower'])}, upper {pct(r['upper'])}]  {among}")
    if r["assessed"]:
        out.append(
            "best line by mismatches (assessed patients): "
            + ", ".join(f"{k}: {pct(v)}" for k, v in r["distribution"].items())
        )
    from hlamatch.results.matching import NOT_ASSESSABLE

    reasons: dict[str, int] = {}
    for m in results:
        if m.status == NOT_ASSESSABLE:
            reasons[m.reason] = reasons.get(m.reason, 0) + 1
    if reasons:
        common = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
        out.append(
            "not assessable: "
            + "; ".join(f"{n} {why}" for why, n in common)
            + (f"; {len(reasons) - 3} other reason(s)" if len(reasons) > 3 else "")
        )
    out.append(f"{r['definition']}; lower counts not-assessable patients as unmatched, upper as matched.")
    return "\n".join(out)


def coverage_text(rows: list[dict[str, Any]], all_lines: bool = False) -> str:
    from hlamatch.constants import MASS_EPSILON
    from hlamatch.results.definitions import DEFINITIONS

    r0 = rows[0]
    resolutions = list(dict.fromkeys(r["resolution"] for r in rows))
    many = len(resolutions) > 1
    out = [
        f"Coverage — table {r0['table']}",
        f"loci {'~'.join(r0['loci'])} · resolution{'s' if many else ''} {', '.join(resolutions)} · "
        f"rule: {r0['rule']} · {len(r0['lines'])} line(s)",
    ]
    if r0.get("nomenclature"):
        out.append(f"nomenclature {r0['nomenclature']}")
    from hlamatch.hla.lines import line_labels

    out += listed_lines(line_labels(r0["lines"], r0.get("line_names")), all_lines)
    out.append("")
    res_head = f"{'resolution':<12}" if many else ""
    out.append(
        f"{'population':<12}{'level':<11}{res_head}{'coverage':>10}  {'[lower, upper]':<20}{'unlisted mass':>14}"
    )
    pop_order = {p: i for i, p in enumerate(dict.fromkeys(r["population"] for r in rows))}
    lev_order = {v: i for i, v in enumerate(dict.fromkeys(r["level"] for r in rows))}
    # One block per population and level, its resolutions in the order asked (sorted is stable).
    rows = sorted(rows, key=lambda r: (pop_order[r["population"]], lev_order[r["level"]]))
    for r in rows:
        bounds = "exact" if r["upper"] - r["lower"] <= MASS_EPSILON else f"[{pct(r['lower'])}, {pct(r['upper'])}]"
        res_cell = f"{r['resolution']:<12}" if many else ""
        out.append(
            f"{r['population']:<12}{r['level']:<11}{res_cell}{pct(r['coverage']):>10}  {bounds:<20}"
            f"{pct(r['unlisted_mass']):>14}"
        )
    weights = next((r["weights"] for r in rows if r.get("weights")), None)
    if weights:
        out.append("weights: " + ", ".join(f"{p} {w:.2f}" for p, w in weights.items()) + " (normalised to sum 1)")
    dists = [r for r in rows if r.get("distribution")]
    if dists:
        used = max(
            max((int(k) for k, v in r["distribution"].items() if k != "unmatched" and v > 0), default=0) for r in dists
        )
        keys = [str(m) for m in range(used + 1)] + ["unmatched"]
        out += [
            "",
            "Best line's mismatch count (share of patients; unlisted chromosomes as novel):",
            f"{'population':<12}{'level':<11}{res_head}" + "".join(f"{k:>10}" for k in keys),
        ]
        for r in dists:
            res_cell = f"{r['resolution']:<12}" if many else ""
            out.append(
                f"{r['population']:<12}{r['level']:<11}{res_cell}"
                + "".join(f"{pct(r['distribution'][k]):>10}" for k in keys)
            )
    out.append("")
    for lev in dict.fromkeys(r["level"] for r in rows):
        out.append(f"{lev}: {DEFINITIONS[lev]}.")
    if any(r.get("weights") for r in rows):
        out.append("weighted: the mix's coverage, sum over populations of weight × coverage.")
    eps = max((r.get("tolerance") or 0.0) for r in rows)
    if eps > 0:
        out.append(
            f"tolerance {eps:g}: genotype-level runs visit patient genotypes most frequent first and stop once "
            f"those left weigh at most {eps:g}; those count in upper only (zero-mismatch runs that "
            f"are faster exact are computed exactly)."
        )
    if any(r["upper"] - r["lower"] > MASS_EPSILON for r in rows):
        out.append(
            "coverage = lower bound (unlisted chromosomes never match); upper = unlisted chromosomes "
            "match whenever possible."
        )
    return "\n".join(out)
