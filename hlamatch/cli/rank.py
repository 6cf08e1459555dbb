"""``hlamatch rank``: the marginal coverage gain of every candidate line for a bank."""

from __future__ import annotations

from typing import Any

import click

from hlamatch.cli.inputs import bank_lines, lazy_table, make_rules, parse_counts, parse_populations, split_list
from hlamatch.cli.options import (
    PLANNING_TOLERANCE_HELP,
    Command,
    candidate_options,
    compute_options,
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


def supply_options(fn):
    """``--registry-size`` and ``--inbreeding`` (the donor figures of each candidate)."""
    fn = click.option(
        "--inbreeding",
        type=Float(0, 1),
        default=0.0,
        show_default=True,
        metavar="F",
        help="Excess homozygosity: P(homozygous for h) = (1-F)·f² + F·f.",
    )(fn)
    fn = click.option(
        "--registry-size",
        "-R",
        "registry_sizes",
        multiple=True,
        metavar="R",
        help="Also give the probability that a registry of R typed people holds each donor. "
        "Repeatable or comma-separated (-R 15000,24000).",
    )(fn)
    return fn


@click.command("rank", cls=Command)
@table_options
@line_options
@loci_option()
@resolution_option()
@candidate_options
@rule_options
@supply_options
@click.option(
    "--show",
    type=Int(min=1),
    default=20,
    show_default=True,
    metavar="N",
    help="Text output: show the N best candidates (JSON and CSV always hold all).",
)
@click.option("--all-lines", "--all", "show_all", is_flag=True, help="Text output: show every candidate.")
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
    registry_sizes,
    inbreeding,
    show,
    show_all,
    tolerance,
    threads,
    quiet,
    fmt,
) -> None:
    """Rank candidate lines by the coverage each would add to the bank.

    The gain of a candidate is coverage(bank + candidate) - coverage(bank) (lower bound), for
    every candidate at once from one pass over patient genotypes, under the match rules. The bank
    (--line, --lines-file, --top) may be empty. With weighted populations the gain is that of the
    weighted mix; with several unweighted populations each gets its own ranking.

    \b
    Examples:
      hlamatch rank --loci A,B,DRB1
      hlamatch rank --line "A*24:02~B*52:01~DRB1*15:02" -n 200 --registry-size 24000
      hlamatch rank --candidates donors.csv --lines-file bank.csv --level haplotype --format csv
      hlamatch rank -t japanese -t korean -p JAPI=0.7 -p KORI=0.3 --loci A,B,DRB1
    """
    use_engine_options()
    from hlamatch.api.planning import rank_candidates

    if fmt != "text":
        refuse(("show", "show_all"), f"to --format {fmt}, which holds every candidate")
    elif show_all:
        refuse(("show",), "with --all-lines, which shows every candidate")
    sizes = parse_counts(registry_sizes, "--registry-size")
    rules = make_rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    refuse_exact_tolerance(rules)
    populations = parse_populations(population, weights)
    loci_list = split_list(loci)
    candidates = read_candidates(candidates_file)
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
    report = rank_candidates(
        tab(),
        candidates,
        bank=bank,
        n_candidates=n_candidates,
        level=level,
        loci=loci_list,
        resolution=resolution,
        populations=populations,
        rules=rules,
        registry_sizes=sizes,
        inbreeding=inbreeding,
        threads=threads,
        progress=progress_display(quiet),
        tolerance=tolerance,
    )
    emit(report.to_dicts(), fmt, text=lambda rows: rank_text(rows, None if show_all else show))


def _people(x: float) -> str:
    return "never" if x == float("inf") else f"{x:,.0f}"


def rank_text(rows: list[dict[str, Any]], show: int | None) -> str:
    r0 = rows[0]
    out = [
        f"Candidates ranked by coverage gain — table {r0['table']}",
        f"loci {'~'.join(r0['loci'])} · resolution {r0['resolution']} · level {r0['level']} · rule: {r0['rule']}",
    ]
    out += tolerance_note(r0)
    if r0.get("weights"):
        out.append("weights: " + ", ".join(f"{p} {w:.2f}" for p, w in r0["weights"].items()) + " (normalised to sum 1)")
    sizes = r0["registry_sizes"]
    for pop in dict.fromkeys(r["population"] for r in rows):
        block = [r for r in rows if r["population"] == pop]
        b = block[0]
        bounds = "" if abs(b["bank_upper"] - b["bank_coverage"]) < 1e-9 else f" [upper {pct(b['bank_upper'])}]"
        out += ["", f"population {pop} · bank of {len(b['bank'])} line(s): coverage {pct(b['bank_coverage'])}{bounds}"]
        head = f"{'rank':>4}  {'line':<40}{'gain':>9}{'coverage':>10}{'upper':>9}{'frequency':>11}{'typed/donor':>13}"
        head += "".join(f"{'P(in ' + format(R, ',') + ')':>14}" for R in sizes)
        out.append(head)
        from hlamatch.hla.lines import line_label

        for r in block[: show or len(block)]:
            freq = "" if r["frequency"] is None else f"{r['frequency']:.5f}"
            label = line_label(r["line"], r["name"])
            line = (
                f"{r['rank']:>4}  {label:<40}{pct(r['gain']):>9}{pct(r['coverage']):>10}{pct(r['upper']):>9}"
                f"{freq:>11}{_people(r['people_per_donor']):>13}"
            )
            line += "".join(f"{pct(r[f'p_in_registry_{R}']):>14}" for R in sizes)
            out.append(line)
        if show and len(block) > show:
            out.append(f"  … {len(block) - show} more (--all-lines shows every candidate; JSON/CSV hold all)")
    out += [
        "",
        f"{r0['definition']}.",
        "upper: coverage after adding the line with unlisted chromosomes matching whenever possible; "
        "typed/donor: people to type per donor with the line's genotype (HWE"
        + (f", inbreeding F={r0['inbreeding']:g}" if r0["inbreeding"] else "")
        + ").",
    ]
    return "\n".join(out)
