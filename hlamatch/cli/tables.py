"""``hlamatch tables``: list the bundled tables, or describe one table (bundled name or file)."""

from __future__ import annotations

from typing import Any

import click

from .options import lazy_table, output_options, table_file_options
from .output import emit, library_call, pct


@click.command("tables")
@click.argument("name", required=False, metavar="[NAME|PATH]")
@table_file_options
@output_options
@library_call
def command(name, table_format, sum_tolerance, fmt) -> None:
    """List the bundled tables, or describe one table (bundled name or file).

    \b
    Examples:
      hlamatch tables
      hlamatch tables japanese
      hlamatch tables freqs.JAPI.csv --format json
    """
    from hlamatch.data import available_tables, bundled_overview, table_info

    if name is None:
        emit(bundled_overview(), fmt, text=tables_text)
        return
    desc = lazy_table(name, table_format, sum_tolerance)().describe()
    if name in available_tables():
        info = table_info(name)
        desc.update({k: info[k] for k in ("description", "citation")})
        desc["provenance"] = info["source"]
    emit(desc, fmt, text=describe_text, csv_rows=population_rows)


def population_rows(desc: dict[str, Any]) -> list[dict[str, Any]]:
    """CSV of a described table: one row per population."""
    return [{**p, "source": desc["source"], "loci": desc["loci"], "resolution": desc["resolution"]}
            for p in desc["populations"]]


def tables_text(rows: list[dict[str, Any]]) -> str:
    out = [f"{'name':<10}{'population':<12}{'loci':<22}{'resolution':<11}{'unlisted':>9}  description"]
    for r in rows:
        name = r["name"] + ("*" if r["default"] else "")
        out.append(f"{name:<10}{r['population']:<12}{'~'.join(r['loci']):<22}{r['resolution']:<11}"
                   f"{pct(r['unlisted_mass']):>9}  {r['description']}")
    out.append("* default table.  'hlamatch tables NAME' describes one, with its source and citation.")
    return "\n".join(out)


def describe_text(d: dict[str, Any]) -> str:
    out = [f"table       {d['source']}"]
    for key in ("description", "provenance", "citation"):
        if key in d:
            out.append(f"{key:<12}{d[key]}")
    out += [f"loci        {'~'.join(d['loci'])}", f"resolution  {d['resolution']}",
            f"haplotypes  {d['haplotypes']}", "",
            f"{'population':<12}{'haplotypes':>11}{'listed mass':>13}{'unlisted':>10}{'scaled by':>11}"]
    for p in d["populations"]:
        out.append(f"{p['population']:<12}{p['haplotypes']:>11}{p['listed_mass']:>13.5f}"
                   f"{pct(p['unlisted_mass']):>10}{p['scaled_by']:>11.5f}")
    return "\n".join(out)
