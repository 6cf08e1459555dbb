"""``hlamatch plan``: a greedy bank plan (optionally with the exact optimum) and its coverage curve."""

from __future__ import annotations

from typing import Any

import click

from hlamatch.cli.inputs import bank_lines, lazy_table, make_rules, parse_populations, split_list
from hlamatch.cli.options import (
    PLANNING_TOLERANCE_HELP,
    Command,
    candidate_options,
    compute_options,
    deprecated_alias,
    engine_options,
    line_options,
    loci_option,
    output_options,
    read_candidates,
    refuse,
    refuse_exact_tolerance,
    resolution_option,
    rule_options,
    table_options,
    tolerance_option,
    use_engine_options,
)
from hlamatch.cli.output import emit, library_call, pct, progress_display, tolerance_note
from hlamatch.cli.types import Float, Int


@click.command("plan", cls=Command)
@table_options
@line_options
@loci_option()
@resolution_option()
@candidate_options
@rule_options
@click.option(
    "--target",
    type=Float(0, 1, min_open=True),
    default=None,
    metavar="C",
    help="Stop when coverage reaches C (e.g. 0.8).",
)
@click.option("--max-lines", "max_lines", type=Int(min=1), default=None, metavar="N", help="Stop after adding N lines.")
@deprecated_alias("--lines", "max_lines", type=Int(min=1), metavar="N")
@click.option(
    "--exact",
    is_flag=True,
    help="Also solve the selection exactly by integer programming (small instances; needs "
    "pip install 'hlamatch[exact]') and report greedy's gap.",
)
@click.option(
    "--time-limit",
    type=Float(min=0, min_open=True),
    default=None,
    metavar="S",
    help="With --exact: stop the solver after S seconds (then the result may not be optimal).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE.png",
    help="Also draw the coverage curve (needs pip install 'hlamatch[plot]').",
)
@tolerance_option(PLANNING_TOLERANCE_HELP)
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
    candidates_file,
    n_candidates,
    level,
    max_mismatches,
    require_match,
    allow_mismatch,
    homozygous_count,
    direction,
    target,
    max_lines,
    exact,
    time_limit,
    plot,
    tolerance,
    threads,
    quiet,
    fmt,
) -> None:
    """Plan a bank greedily: add the candidate with the largest gain until a target or a number of lines.

    Starts from the bank given (--line, --lines-file, --top; may be empty). Each step adds the
    candidate whose coverage gain (lower bound) is largest; the table of steps is the cumulative
    coverage curve. With weighted populations the plan maximises the weighted mix.

    \b
    Examples:
      hlamatch plan --loci A,B,DRB1 --target 0.8
      hlamatch plan --loci A,B,DRB1 --max-lines 50 --plot curve.png --format csv
      hlamatch plan --line "A*24:02~B*52:01~DRB1*15:02" --max-lines 5 -n 30 --exact
      hlamatch plan -t japanese -t korean -p JAPI=0.7 -p KORI=0.3 --loci A,B,DRB1 --max-lines 20
    """
    use_engine_options()
    from hlamatch.api.planning import plan_bank

    if not exact:
        refuse(("time_limit",), "without --exact (it limits the exact solver)", "add --exact")
    rules = make_rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    refuse_exact_tolerance(rules)
    populations = parse_populations(population, weights)
    loci_list = split_list(loci)
    candidates = read_candidates(candidates_file)
    if plot is not None:
        from hlamatch.results.plot import check_plot_path

        check_plot_path(plot)
    tab = lazy_table(table, table_format, sum_tolerance)
    bank = bank_lines(
        lines,
        lines_file,
        top,
        table=tab,
        populations=populations,
        loci=loci_list,
        resolution=resolution,
        required=False,
    )
    report = plan_bank(
        tab(),
        candidates,
        bank=bank,
        n_candidates=n_candidates,
        target=target,
        max_lines=max_lines,
        level=level,
        loci=loci_list,
        resolution=resolution,
        populations=populations,
        rules=rules,
        exact=exact,
        time_limit=time_limit,
        threads=threads,
        progress=progress_display(quiet),
        tolerance=tolerance,
    )
    rows = plan_rows(report)
    emit(rows, fmt, text=lambda r: plan_text(r, report))  # first: a failed plot never loses the plan
    if plot is not None:
        from hlamatch.results.plot import plot_plan

        plot_plan(
            plot_steps(rows), plot, title=f"Greedy plan — {rows[0]['table']} · {rows[0]['level']} level", target=target
        )


def plan_rows(report) -> list[dict[str, Any]]:
    """One row per step; the exact solution's summary (when asked) on every row of its population
    (:meth:`hlamatch.results.planning.PlanReport.output_rows`, the rows of ``to_polars()``)."""
    rows: list[dict[str, Any]] = report.output_rows()
    return rows


def plot_steps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps for :func:`hlamatch.results.plot.plot_plan`: one curve, or one per population."""
    pops = list(dict.fromkeys(r["population"] for r in rows))
    if len(pops) == 1:
        return [{**r, **{f"coverage_{p}": c for p, c in (r.get("coverage_by_population") or {}).items()}} for r in rows]
    by_step: dict[int, dict[str, Any]] = {}
    for r in rows:
        s = by_step.setdefault(r["step"], {"step": r["step"], "line": r["line"], "coverage": r["coverage"]})
        s[f"coverage_{r['population']}"] = r["coverage"]
    return [by_step[k] for k in sorted(by_step)]


def plan_text(rows: list[dict[str, Any]], report) -> str:
    r0 = rows[0]
    out = [
        f"Greedy bank plan — table {r0['table']}",
        f"loci {'~'.join(r0['loci'])} · resolution {r0['resolution']} · level {r0['level']} · rule: {r0['rule']}",
    ]
    out += tolerance_note(r0)
    if r0.get("weights"):
        out.append("weights: " + ", ".join(f"{p} {w:.2f}" for p, w in r0["weights"].items()) + " (normalised to sum 1)")
    from hlamatch.hla.lines import line_label, line_labels

    for pop in dict.fromkeys(r["population"] for r in rows):
        block = [r for r in rows if r["population"] == pop]
        out += ["", f"population {pop}", f"{'step':>4}  {'line':<40}{'gain':>9}{'coverage':>10}{'upper':>9}"]
        for r in block:
            line = line_label(r["line"], r["name"]) if r["line"] else f"(bank as given: {len(report.bank)} line(s))"
            gain = "" if r["step"] == 0 else pct(r["gain"])
            out.append(f"{r['step']:>4}  {line:<40}{gain:>9}{pct(r['coverage']):>10}{pct(r['upper']):>9}")
        out.append(f"stopped: {block[0]['stop_reason']}")
        ex = (report.exact or {}).get(pop)
        if ex is not None:
            state = "optimal" if ex["optimal"] else f"not proven optimal ({ex['status']})"
            if ex["gap_unit"] == "coverage":
                out.append(
                    f"exact ({state}): {pct(ex['coverage'])} with {ex['n_lines']} line(s); greedy "
                    f"{pct(ex['greedy_coverage'])}, gap {100 * ex['gap']:.3f} points"
                )
            else:
                out.append(
                    f"exact ({state}): {ex['n_lines']} line(s) reach the target ({pct(ex['coverage'])}); "
                    f"greedy needs {ex['greedy_lines']}"
                )
            out.append("  exact lines: " + "; ".join(line_labels(ex["lines"], ex.get("line_names"))))
    out += ["", f"{r0['definition']}.", "upper: the same bank with unlisted chromosomes matching whenever possible."]
    return "\n".join(out)
