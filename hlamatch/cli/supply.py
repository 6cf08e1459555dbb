"""``hlamatch supply``: donor supply — people to type per donor, and what registries of R people hold."""

from __future__ import annotations

from typing import Any

import click

from hlamatch.cli.inputs import lazy_table, make_rules, parse_counts, parse_populations, split_list
from hlamatch.cli.options import (
    RULE_PARAMS,
    Command,
    candidates_option,
    compute_options,
    engine_options,
    given,
    loci_option,
    n_candidates_option,
    output_options,
    read_candidates,
    refuse,
    resolution_option,
    rule_options,
    table_options,
    use_engine_options,
)
from hlamatch.cli.output import emit, library_call, pct, progress_display
from hlamatch.cli.types import Float, Int
from hlamatch.errors import OptionError


@click.command("supply", cls=Command)
@table_options
@candidates_option
@n_candidates_option(20)
@loci_option("Default: the loci the candidates are typed at; every locus of the table for the default candidates.")
@resolution_option()
@click.option(
    "--registry-size",
    "-R",
    "registry_sizes",
    multiple=True,
    metavar="R",
    help="Registry size(s) of typed people: expected distinct homozygous lines found and the coverage "
    "they give. Repeatable or comma-separated (-R 15000,24000). The level, rule and Monte Carlo "
    "options shape these figures, so they need it.",
)
@click.option(
    "--inbreeding",
    type=Float(0, 1),
    default=0.0,
    show_default=True,
    metavar="F",
    help="Excess homozygosity: P(homozygous for h) = (1-F)·f² + F·f.",
)
@click.option(
    "--level",
    type=click.Choice(["haplotype", "genotype", "both"]),
    default="both",
    show_default=True,
    help="Coverage level of the expected coverage.",
)
@rule_options
@click.option(
    "--samples",
    type=Int(min=1),
    default=200,
    show_default=True,
    help="Monte Carlo samples where no exact formula applies (genotype level, other rules).",
)
@click.option("--seed", type=Int(min=0), default=0, show_default=True, help="Seed of the Monte Carlo samples.")
@click.option(
    "--rows",
    type=click.Choice(["registry", "candidates"]),
    default=None,
    help="JSON/CSV: one row per population, registry size and level (default with --registry-size), "
    "or one per candidate (default without).",
)
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
    candidates_file,
    n_candidates,
    loci,
    resolution,
    registry_sizes,
    inbreeding,
    level,
    max_mismatches,
    require_match,
    allow_mismatch,
    homozygous_count,
    direction,
    samples,
    seed,
    rows,
    threads,
    quiet,
    fmt,
) -> None:
    """Donor supply: how many people to type per homozygous donor, and what a registry holds.

    Under Hardy-Weinberg equilibrium a random person is homozygous for haplotype h with probability
    f_h² (with --inbreeding F: (1-F)·f_h² + F·f_h). For each registry size R: the expected number
    of distinct homozygous lines among R typed people, and the expected coverage of the bank of
    those lines (exact at haplotype level, seeded Monte Carlo with a 95% interval otherwise; the
    output says which).

    \b
    Examples:
      hlamatch supply --loci A,B,DRB1 -R 15000 -R 24000 -R 160000
      hlamatch supply --loci A,B,DRB1 -R 24000 --level haplotype --format json
      hlamatch supply -t japanese -t korean -p JAPI=0.7 -p KORI=0.3 --loci A,B,DRB1 -R 50000
    """
    use_engine_options()
    from hlamatch.api.supply import supply

    sizes = parse_counts(registry_sizes, "--registry-size")
    rules = make_rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    if fmt == "text":
        refuse(
            ("rows",),
            "to text output, which shows both the candidates and the registries",
            "add --format json or --format csv",
        )
    if not sizes:
        refuse(
            ("level", "samples", "seed", *RULE_PARAMS, "threads", "engine", "scheduler"),
            "without --registry-size (the level, rule and Monte Carlo options shape the expected coverage of "
            "registries of R typed people)",
            "add --registry-size R",
        )
        if rows == "registry" and given("rows"):
            raise OptionError(
                "--rows registry needs --registry-size (one row per registry size): add "
                "--registry-size R, or use --rows candidates"
            )
    elif level == "haplotype" and rules.is_default:
        refuse(
            ("samples", "seed"),
            "at --level haplotype under the default rule, where the expected coverage is exact (no Monte Carlo)",
        )
    rows = rows or ("registry" if sizes else "candidates")
    candidates = read_candidates(candidates_file)
    report = supply(
        lazy_table(table, table_format, sum_tolerance)(),
        candidates,
        n_candidates=n_candidates,
        registry_sizes=sizes,
        inbreeding=inbreeding,
        loci=split_list(loci),
        resolution=resolution,
        populations=parse_populations(population, weights),
        level=level,
        rules=rules,
        samples=samples,
        seed=seed,
        threads=threads,
        progress=progress_display(quiet),
    )
    emit(report.to_dicts(rows), fmt, text=lambda _: supply_text(report))


def _people(x: Any) -> str:
    return "never" if x is None or x == float("inf") else f"{x:,.0f}"


def supply_text(report) -> str:
    out = [
        f"Donor supply — table {report.table}",
        f"loci {'~'.join(report.loci)} · resolution {report.resolution} · rule: {report.rule}"
        + (f" · inbreeding F={report.inbreeding:g}" if report.inbreeding else ""),
    ]
    if report.weights:
        out.append(
            "weights: "
            + ", ".join(f"{p} {w:.2f}" for p, w in report.weights.items())
            + " (normalised to sum 1; the registry is drawn from the mix)"
        )
    from hlamatch.hla.lines import line_label

    cands = report.to_dicts("candidates")
    sizes = list(report.registry_sizes)
    for pop in dict.fromkeys(c["population"] for c in cands):
        out += [
            "",
            f"population {pop}: homozygous donors",
            f"{'line':<40}{'frequency':>11}{'P(donor)':>12}{'typed/donor':>13}"
            + "".join(f"{'P(in ' + format(R, ',') + ')':>14}" for R in sizes),
        ]
        for c in (c for c in cands if c["population"] == pop):
            label = line_label(c["line"], c.get("name"))
            out.append(
                f"{label:<40}{c['frequency']:>11.5f}{c['p_donor']:>12.3g}{_people(c['people_per_donor']):>13}"
                + "".join(f"{pct(c[f'p_in_registry_{R}']):>14}" for R in sizes)
            )
    reg = report.to_dicts("registry")
    if reg:
        out += [
            "",
            "Registries: expected distinct homozygous lines (listed haplotypes) and the coverage of those lines",
            f"{'population':<12}{'registry':>10}{'lines':>10}  {'level':<10}{'coverage':>10}  {'95% interval':<20}method",
        ]
        for r in reg:
            if r["method"] == "exact":
                ci = "exact"
            elif r["ci_low"] is None or r["ci_high"] is None:
                ci = "n/a (1 sample)"
            else:
                ci = f"[{pct(r['ci_low'])}, {pct(r['ci_high'])}]"
            out.append(
                f"{r['population']:<12}{r['registry_size']:>10,}{r['expected_distinct_lines']:>10.1f}  "
                f"{r['level']:<10}{pct(r['expected_coverage']):>10}  {ci:<20}{r['method']}"
            )
    out.append("")
    out += [f"{k}: {v}" for k, v in report.definitions.items()]
    return "\n".join(out)
