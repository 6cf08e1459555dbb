"""``hlamatch tables``: list the bundled tables, describe one table (bundled name or file), or
list its most frequent haplotypes (``--top N``: the lines ``--top N`` of the other commands takes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from hlamatch.cli.inputs import lazy_table, parse_populations, split_list
from hlamatch.cli.options import (
    Command,
    loci_option,
    output_options,
    population_options,
    refuse,
    resolution_option,
    table_file_options,
)
from hlamatch.cli.output import emit, library_call, pct
from hlamatch.cli.types import Int
from hlamatch.errors import OptionError

#: Options that only apply with ``--top``.
TOP_PARAMS = ("loci", "resolution", "population", "weights")


@click.command("tables", cls=Command)
@click.argument("name", required=False, metavar="[NAME|PATH]")
@table_file_options
@click.option(
    "--top",
    type=Int(min=1),
    default=None,
    metavar="N",
    help="List the table's N most frequent haplotypes per population, with their frequencies: the lines "
    "'--top N' of coverage, rank, plan and match takes (same --loci, --resolution and --population; "
    "haplotypes with a null allele are left out, as there).",
)
@population_options
@loci_option("Default: every locus of the table. Only with --top.")
@resolution_option("Default: the table's own. Only with --top.")
@output_options
@library_call
def command(name, table_format, sum_tolerance, top, population, weights, loci, resolution, fmt) -> None:
    """List the bundled tables, describe one table (bundled name or file), or list its most
    frequent haplotypes.

    With --top N: per population, the N most frequent haplotypes at the loci and resolution given
    (frequencies summed over what they merge), with their frequency and the cumulative frequency;
    a weighted mix (-p JAPI=0.7 -p KORI=0.3) is listed by weighted frequency, as --top takes it.

    \b
    Examples:
      hlamatch tables
      hlamatch tables japanese
      hlamatch tables freqs.JAPI.csv --format json
      hlamatch tables japanese --top 10 --loci A,B,DRB1
    """
    from hlamatch.io.bundled import available_tables, bundled_overview, table_info

    if top is None:
        refuse(TOP_PARAMS, "without --top", "add --top N to list the most frequent haplotypes")
    if name is None:
        refuse(
            ("table_format", "sum_tolerance"),
            "without a table NAME (the bundled tables are listed)",
            "give a table's name or path",
        )
        if top is not None:
            raise OptionError("--top needs a table: give its name or path, e.g. 'hlamatch tables japanese --top 10'")
        emit(bundled_overview(), fmt, text=tables_text, order=False)
        return
    if top is not None:
        rows = top_haplotypes(
            lazy_table(name, table_format, sum_tolerance)(),
            top,
            parse_populations(population, weights),
            split_list(loci),
            resolution,
        )
        emit(rows, fmt, text=lambda r: top_text(r, top))
        return
    desc = lazy_table(name, table_format, sum_tolerance)().describe()
    if name in available_tables():
        info = table_info(name)
        desc.update({k: info[k] for k in ("description", "citation")})
        desc["provenance"] = info["source"]
    emit(desc, fmt, text=describe_text, csv_rows=population_rows)


def population_rows(desc: dict[str, Any]) -> list[dict[str, Any]]:
    """CSV of a described table: one row per population (its source in column ``table``)."""
    return [
        {**p, "table": desc["source"], "loci": desc["loci"], "resolution": desc["resolution"]}
        for p in desc["populations"]
    ]


def top_haplotypes(
    table: Any, n: int, populations: Any = None, loci: Sequence[str] | None = None, resolution: str | None = None
) -> list[dict[str, Any]]:
    """Rows of ``tables NAME --top N``: per population (or for a weighted mix), the haplotypes
    :func:`hlamatch.compute.candidates.top_lines` takes, most frequent first.

    Each row: ``population`` (``weighted`` for a mix), ``loci``, ``resolution``, ``table``,
    ``rank``, ``haplotype``, ``frequency`` (the mix's: weighted), ``cumulative`` (sum of the
    frequencies of ranks 1 to this one); for a mix also ``weights`` and each population's
    ``frequencies``.
    """
    import numpy as np

    from hlamatch.compute.candidates import top_lines
    from hlamatch.results.definitions import WEIGHTED
    from hlamatch.table.populations import resolve_populations

    tab = table.select(loci, resolution)
    names, weights = resolve_populations(tab, populations)
    groups = [[p] for p in names] if weights is None else [dict(zip(names, weights))]
    index = tab.row_index()
    codes = [{a: i for i, a in enumerate(alleles)} for alleles in tab.alleles]
    context = {"loci": list(tab.loci), "resolution": tab.resolution, "table": tab.source}
    rows: list[dict[str, Any]] = []
    for group in groups:
        cols = [tab.population_index(p) for p in group]
        w = np.array(list(group.values()) if isinstance(group, dict) else [1.0])
        cumulative = 0.0
        for rank, line in enumerate(top_lines(tab, n, populations=group), start=1):
            key = np.array([codes[l][a] for l, (_, a) in enumerate(line.haplotypes[0])], dtype=tab.codes.dtype)
            f = tab.freqs[index[key.tobytes()], cols]
            cumulative += float(f @ w)
            row = {
                "population": WEIGHTED if isinstance(group, dict) else group[0],
                **context,
                "rank": rank,
                "haplotype": line.name,
                "frequency": float(f @ w),
                "cumulative": cumulative,
            }
            if isinstance(group, dict):
                row["weights"] = dict(group)
                row["frequencies"] = {p: float(x) for p, x in zip(group, f)}
            rows.append(row)
    return rows


def top_text(rows: list[dict[str, Any]], n: int) -> str:
    """Text of ``tables NAME --top N``: one block per population."""
    if not rows:
        return "(no haplotype with a positive frequency)"
    r0 = rows[0]
    width = max(len(r["haplotype"]) for r in rows) + 2
    out = [
        f"Most frequent haplotypes — table {r0['table']}",
        f"loci {'~'.join(r0['loci'])} · resolution {r0['resolution']} · the lines '--top {n}' takes "
        "(haplotypes with a null allele left out)",
    ]
    if r0.get("weights"):
        out.append(
            "weights: "
            + ", ".join(f"{p} {w:.2f}" for p, w in r0["weights"].items())
            + " (normalised to sum 1; ranked by weighted frequency)"
        )
    for pop in dict.fromkeys(r["population"] for r in rows):
        out += ["", f"population {pop}", f"{'rank':>4}  {'haplotype':<{width}}{'frequency':>10}{'cumulative':>12}"]
        for r in (r for r in rows if r["population"] == pop):
            out.append(f"{r['rank']:>4}  {r['haplotype']:<{width}}{r['frequency']:>10.5f}{r['cumulative']:>12.5f}")
    return "\n".join(out)


def tables_text(rows: list[dict[str, Any]]) -> str:
    out = [f"{'name':<10}{'population':<12}{'loci':<22}{'resolution':<11}{'unlisted':>9}  description"]
    for r in rows:
        name = r["name"] + ("*" if r["default"] else "")
        out.append(
            f"{name:<10}{r['population']:<12}{'~'.join(r['loci']):<22}{r['resolution']:<11}"
            f"{pct(r['unlisted_mass']):>9}  {r['description']}"
        )
    out.append("* default table.  'hlamatch tables NAME' describes one, with its source and citation.")
    return "\n".join(out)


def describe_text(d: dict[str, Any]) -> str:
    out = [f"table       {d['source']}"]
    for key in ("description", "provenance", "citation"):
        if key in d:
            out.append(f"{key:<12}{d[key]}")
    out += [
        f"loci        {'~'.join(d['loci'])}",
        f"resolution  {d['resolution']}",
        f"haplotypes  {d['haplotypes']}",
        "",
        f"{'population':<12}{'haplotypes':>11}{'listed mass':>13}{'unlisted':>10}{'scaled by':>11}",
    ]
    for p in d["populations"]:
        out.append(
            f"{p['population']:<12}{p['haplotypes']:>11}{p['listed_mass']:>13.5f}"
            f"{pct(p['unlisted_mass']):>10}{p['scaled_by']:>11.5f}"
        )
    return "\n".join(out)
