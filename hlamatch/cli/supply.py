"""``hlamatch supply``: donor supply — people to type per donor, and what registries of R people hold."""

from __future__ import annotations

from typing import Any

import click

from .options import (engine_options, lazy_table, make_rules, output_options, parse_populations, quiet_option,
                      read_candidates, rule_options, split_list, table_options, use_engine_options)
from .output import emit, library_call, pct, progress_display


@click.command("supply")
@table_options
@click.option("--candidates", "candidates_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="CSV/TSV/Parquet of candidate lines ('haplotype', or 'haplotype1'/'haplotype2'); default: "
                   "the most frequent haplotypes.")
@click.option("--n-candidates", "-n", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="Without --candidates: how many of the most frequent haplotypes to list.")
@click.option("--loci", default=None, metavar="A,B,DRB1", help="Loci (default: all loci of the table).")
@click.option("--resolution", default=None, help="Allele resolution (default: the table's own).")
@click.option("--registry-size", "-R", "registry_sizes", type=click.IntRange(min=1), multiple=True, metavar="R",
              help="Registry size(s) of typed people: expected distinct homozygous lines found and the coverage "
                   "they give. Repeatable or comma-separated.")
@click.option("--inbreeding", type=click.FloatRange(0, 1), default=0.0, show_default=True, metavar="F",
              help="Excess homozygosity: P(homozygous for h) = (1-F)·f² + F·f.")
@click.option("--level", type=click.Choice(["haplotype", "genotype", "both"]), default="both", show_default=True,
              help="Coverage level of the expected coverage.")
@rule_options
@click.option("--samples", type=click.IntRange(min=1), default=200, show_default=True,
              help="Monte Carlo samples where no exact formula applies (genotype level, other rules).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the Monte Carlo samples.")
@click.option("--rows", type=click.Choice(["registry", "candidates"]), default="registry", show_default=True,
              help="JSON/CSV: one row per population, registry size and level, or one per candidate.")
@engine_options
@quiet_option
@output_options
@library_call
def command(table, table_format, sum_tolerance, population, weights, candidates_file, n_candidates, loci, resolution,
            registry_sizes, inbreeding, level, max_mismatches, require_match, allow_mismatch, homozygous_count,
            direction, samples, seed, rows, quiet, fmt) -> None:
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
    from hlamatch.donors import supply

    rules = make_rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    sizes = [int(x) for x in registry_sizes]
    report = supply(lazy_table(table, table_format, sum_tolerance)(), read_candidates(candidates_file),
                    top=n_candidates, registry_sizes=sizes, inbreeding=inbreeding, loci=split_list(loci),
                    resolution=resolution, populations=parse_populations(population, weights), level=level,
                    rules=rules, samples=samples, seed=seed, progress=progress_display(quiet))
    emit(report.to_dicts(rows), fmt, text=lambda _: supply_text(report))


def _people(x: Any) -> str:
    return "never" if x is None or x == float("inf") else f"{x:,.0f}"


def supply_text(report) -> str:
    out = [f"Donor supply — table {report.table}",
           f"loci {'~'.join(report.loci)} · resolution {report.resolution} · rule: {report.rule}"
           + (f" · inbreeding F={report.inbreeding:g}" if report.inbreeding else "")]
    if report.weights:
        out.append("weights: " + ", ".join(f"{p} {w:.2f}" for p, w in report.weights.items())
                   + " (normalised to sum 1; the registry is drawn from the mix)")
    cands = report.to_dicts("candidates")
    sizes = list(report.registry_sizes)
    for pop in dict.fromkeys(c["population"] for c in cands):
        out += ["", f"population {pop}: homozygous donors",
                f"{'line':<40}{'frequency':>11}{'P(donor)':>12}{'typed/donor':>13}"
                + "".join(f"{'P(in ' + format(R, ',') + ')':>14}" for R in sizes)]
        for c in (c for c in cands if c["population"] == pop):
            out.append(f"{c['line']:<40}{c['frequency']:>11.5f}{c['p_donor']:>12.3g}{_people(c['people_per_donor']):>13}"
                       + "".join(f"{pct(c[f'p_in_registry_{R}']):>14}" for R in sizes))
    reg = report.to_dicts("registry")
    if reg:
        out += ["", "Registries: expected distinct homozygous lines (listed haplotypes) and the coverage of those lines",
                f"{'population':<12}{'registry':>10}{'lines':>10}  {'level':<10}{'coverage':>10}  {'95% interval':<20}method"]
        for r in reg:
            if r["method"] == "exact":
                ci = "exact"
            elif r["ci_low"] is None or r["ci_high"] is None:
                ci = "n/a (1 sample)"
            else:
                ci = f"[{pct(r['ci_low'])}, {pct(r['ci_high'])}]"
            out.append(f"{r['population']:<12}{r['registry_size']:>10,}{r['expected_distinct_lines']:>10.1f}  "
                       f"{r['level']:<10}{pct(r['expected_coverage']):>10}  {ci:<20}{r['method']}")
    out.append("")
    out += [f"{k}: {v}" for k, v in report.definitions.items()]
    return "\n".join(out)
