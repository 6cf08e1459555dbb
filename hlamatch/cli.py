"""Command-line interface: a thin click layer over the library.

Each command parses arguments, makes one library call, and formats the result.  Library
modules are imported inside command bodies, so ``hlamatch --help`` imports neither numba
nor polars.  Any :class:`~hlamatch.errors.HlamatchError` becomes one ``Error: ...`` line and
exit status 1; :class:`~hlamatch.errors.HlamatchWarning` becomes a ``Warning: ...`` line on
standard error.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
import warnings
from typing import Any, Callable

import click

from .constants import DEFAULT_SUM_TOLERANCE, DIRECTIONS, FORMATS, LEVEL_CHOICES, RESOLUTIONS, TABLE_FORMATS


def _library_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body, turning library errors and warnings into CLI messages."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import HlamatchError, HlamatchWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", HlamatchWarning)
            try:
                return fn(*args, **kwargs)
            except HlamatchError as e:
                raise click.ClickException(" ".join(str(e).split())) from None
            finally:
                for w in caught:
                    if issubclass(w.category, HlamatchWarning):
                        click.echo(f"Warning: {w.message}", err=True)
                    else:
                        warnings.showwarning(w.message, w.category, w.filename, w.lineno)

    return wrapper


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--format`` for every command."""
    return click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
        help="text for people; json or csv for machines.",
    )(fn)


def table_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options that choose and read a frequency table."""
    fn = click.option(
        "--sum-tolerance", type=click.FloatRange(min=0), default=DEFAULT_SUM_TOLERANCE, show_default=True,
        help="A population summing to at most 1 + this is scaled to 1 with a warning; above, rejected.",
    )(fn)
    fn = click.option(
        "--table-format", type=click.Choice(TABLE_FORMATS), default="auto", show_default=True,
        help="Format of a table file (auto detects NMDP, GRIMM, NMDP 2007, HFX, PyPop and wide CSV/Parquet).",
    )(fn)
    fn = click.option(
        "--table", "-t", "table", default=None, metavar="NAME|PATH",
        help="Bundled table name (see 'hlamatch tables') or a file; default: the bundled Japanese table.",
    )(fn)
    return fn


def rule_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Match-rule options shared by ``coverage`` and ``match``."""
    for opt in reversed([
        click.option("--max-mismatches", "-k", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Most mismatches in total over the loci."),
        click.option("--require-match", multiple=True, metavar="LOCI",
                     help="Loci that must match, e.g. DRB1 (comma-separated or repeated)."),
        click.option("--allow-mismatch", multiple=True, metavar="LOCI",
                     help="Allow mismatches only at these loci, e.g. A,B; all others must match."),
        click.option("--homozygous-count", type=click.Choice(["1", "2"]), default="1", show_default=True,
                     help="What a missing homozygous allele counts (2010 consensus: 1; 2016: 2)."),
        click.option("--direction", type=click.Choice(DIRECTIONS, case_sensitive=False), default="HvG",
                     show_default=True, help="HvG (host-versus-graft), GvH, or bidirectional (per-locus max)."),
    ]):
        fn = opt(fn)
    return fn


def _rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction):
    from .rules import MatchRules

    def flat(values):
        return [v.strip() for x in values for v in x.split(",") if v.strip()]

    return MatchRules(
        max_mismatches=max_mismatches,
        direction=direction,
        homozygous_count=int(homozygous_count),
        require_match=tuple(flat(require_match)),
        allow_mismatch=tuple(flat(allow_mismatch)) if allow_mismatch else None,
    )


def bank_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options that give the bank of donor lines."""
    for opt in reversed([
        click.option("--line", "-l", "lines", multiple=True, metavar="HAP[/HAP]",
                     help="A donor line: one haplotype (homozygous) or two joined by '/'. Repeatable."),
        click.option("--lines-file", type=click.Path(dir_okay=False),
                     help="CSV/TSV/Parquet with a 'haplotype' column (or 'haplotype1','haplotype2')."),
        click.option("--top", type=click.IntRange(min=1), default=None,
                     help="Add the N most frequent haplotypes of the table (at the chosen loci) as homozygous lines."),
        click.option("--loci", default=None, metavar="A,B,DRB1",
                     help="Loci to compare (default: those the lines are typed at; with --top only, all table loci)."),
        click.option("--resolution", type=click.Choice(RESOLUTIONS), default=None,
                     help="Allele resolution (default: the table's own, or the lines').")
    ]):
        fn = opt(fn)
    return fn


def _bank(tab_loader, lines, lines_file, top, loci_list, resolution, population):
    """Lines from --line, --lines-file and --top; returns (lines, loci)."""
    from .lines import as_lines, read_lines_file

    bank = as_lines(lines)
    if lines_file:
        bank += read_lines_file(lines_file)
    if top:
        sel = tab_loader().select(loci_list, resolution)
        bank += as_lines(sel.top_haplotypes(top, population))
        if loci_list is None:
            loci_list = list(sel.loci)
    if not bank:
        from .errors import OptionError

        raise OptionError("no lines given: pass --line, --lines-file or --top")
    return bank, loci_list


def _load(table: str | None, table_format: str, sum_tolerance: float):
    from .cover import resolve_table

    return resolve_table(table, format=table_format, sum_tolerance=sum_tolerance)


def _split_list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hlamatch")
def cli() -> None:
    """hlamatch: exact HLA haplobank coverage from haplotype frequency tables.

    \b
    Example:
      hlamatch coverage --line "A*24:02~B*52:01~DRB1*15:02"
    """
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped to head


@cli.command()
@table_options
@bank_options
@rule_options
@click.option("--level", type=click.Choice(LEVEL_CHOICES), default="both", show_default=True,
              help="haplotype (phase-aware), genotype (unphased) or both.")
@click.option("--population", "-p", "populations", multiple=True,
              help="Population(s) of the table to report (default: all). Repeatable.")
@click.option("--distribution", is_flag=True,
              help="Also report the share of patients by the best line's mismatch count (shown anyway "
                   "when the rules allow mismatches or change the direction).")
@click.option("--cohort", type=click.Path(dir_okay=False), default=None,
              help="Empirical coverage of a typed cohort file (see 'hlamatch match') instead of a table.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Numba threads (default: all cores).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display on long runs.")
@output_options
@_library_call
def coverage(table, table_format, sum_tolerance, lines, lines_file, top, loci, resolution,
             max_mismatches, require_match, allow_mismatch, homozygous_count, direction,
             level, populations, distribution, cohort, threads, quiet, fmt) -> None:
    """Exact population coverage of a bank of donor lines.

    Coverage is the share of Hardy-Weinberg patient genotypes served by at least one line under
    the match rules (default: zero host-versus-graft mismatches). When a table lists less than
    all chromosomes, 'coverage' is the lower bound and the upper bound is shown beside it.

    \b
    Examples:
      hlamatch coverage --line "A*24:02~B*52:01~DRB1*15:02"
      hlamatch coverage --top 10 --loci A,B,DRB1 --resolution 1-field --format json
      hlamatch coverage --top 10 --loci A,B,DRB1 -k 1 --require-match DRB1
      hlamatch coverage -t freqs.JAPI.csv --lines-file bank.csv --level genotype
      hlamatch coverage --cohort patients.csv --line "A*24:02~B*52:01~DRB1*15:02"
    """
    from .cover import coverage as run_coverage

    rules = _rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    loci_list = _split_list(loci)
    bank, loci_list = _bank(lambda: _load(table, table_format, sum_tolerance), lines, lines_file, top,
                            loci_list, resolution, populations[0] if populations else None)
    if cohort:
        _cohort_coverage(cohort, bank, loci_list, resolution, rules, fmt)
        return
    tab = _load(table, table_format, sum_tolerance)
    report = run_coverage(tab, bank, level=level, loci=loci_list, resolution=resolution,
                          populations=list(populations) or None, threads=threads, rules=rules,
                          distribution=distribution, progress=None if quiet else _progress())
    _emit(report.to_dicts(), fmt, _coverage_text)


def _progress():
    """A progress display on standard error, only when it is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(label: str, fraction: float) -> None:
        width = 30
        done = int(width * fraction)
        end = "\n" if fraction >= 1 else ""
        click.echo(f"\r{label:<24} [{'#' * done}{'.' * (width - done)}] {100 * fraction:5.1f}%{end}", err=True, nl=False)

    return show


def _cohort_coverage(path, bank, loci_list, resolution, rules, fmt) -> None:
    from pathlib import Path

    from .match import cohort_coverage, match_patients, read_patients

    results, loci, res, rules = match_patients(read_patients(path), bank, loci=loci_list,
                                               resolution=resolution, rules=rules, details="none")
    summary = cohort_coverage(results)
    row = {
        "population": Path(path).name, "level": "genotype", "loci": list(loci), "resolution": res,
        "lines": [ln.text(loci, None if res == "antigen" else res) for ln in bank],
        **summary, "unlisted_mass": None, "rule": rules.describe(loci), "rules": rules.to_dict(),
        "definition": "empirical cohort coverage (genotype level): share of typed patients whose "
                      "alleles meet the rules for some line; not-assessable patients bound it",
        "table": f"cohort:{path}",
    }
    _report_bad_rows(results)
    _emit([row], fmt, _cohort_text)
    if summary["errors"]:
        raise SystemExit(1)


def _report_bad_rows(results) -> None:
    from .match import ERROR

    for r in results:
        if r.status == ERROR:
            click.echo(f"Error: {' '.join(str(r.reason).split())}", err=True)


def _cohort_text(rows: list[dict[str, Any]]) -> str:
    r = rows[0]
    out = [
        f"Empirical coverage — cohort {r['population']}",
        f"loci {'~'.join(r['loci'])} · resolution {r['resolution']} · rule: {r['rule']} · {len(r['lines'])} line(s)",
        f"patients {r['patients']} · assessed {r['assessed']} · not assessable {r['not_assessable']} · "
        f"errors {r['errors']} · matched {r['matched']}",
        f"coverage {_pct(r['coverage'])}  [lower {_pct(r['lower'])}, upper {_pct(r['upper'])}]  "
        f"among assessed {_pct(r['assessed_coverage'])}",
        "best line by mismatches (assessed patients): "
        + ", ".join(f"{k}: {_pct(v)}" for k, v in r["distribution"].items()),
        f"{r['definition']}; lower counts not-assessable patients as unmatched, upper as matched.",
    ]
    return "\n".join(out)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _coverage_text(rows: list[dict[str, Any]]) -> str:
    from .constants import MASS_EPSILON
    from .cover import DEFINITIONS

    r0 = rows[0]
    out = [
        f"Coverage — table {r0['table']}",
        f"loci {'~'.join(r0['loci'])} · resolution {r0['resolution']} · rule: {r0['rule']} · "
        f"{len(r0['lines'])} line(s)",
    ]
    shown = r0["lines"][:10]
    out += [f"  {ln}" for ln in shown]
    if len(r0["lines"]) > len(shown):
        out.append(f"  … and {len(r0['lines']) - len(shown)} more")
    out.append("")
    header = f"{'population':<12}{'level':<11}{'coverage':>10}  {'[lower, upper]':<20}{'unlisted mass':>14}"
    out.append(header)
    for r in rows:
        bounds = "exact" if r["upper"] - r["lower"] <= MASS_EPSILON else f"[{_pct(r['lower'])}, {_pct(r['upper'])}]"
        out.append(
            f"{r['population']:<12}{r['level']:<11}{_pct(r['coverage']):>10}  {bounds:<20}{_pct(r['unlisted_mass']):>14}"
        )
    dists = [r for r in rows if r.get("distribution")]
    if dists:
        used = max(max((int(k) for k, v in r["distribution"].items() if k != "unmatched" and v > 0), default=0)
                   for r in dists)
        keys = [str(m) for m in range(used + 1)] + ["unmatched"]
        out += ["", "Best line's mismatch count (share of patients; unlisted chromosomes as novel):",
                f"{'population':<12}{'level':<11}" + "".join(f"{k:>10}" for k in keys)]
        for r in dists:
            out.append(f"{r['population']:<12}{r['level']:<11}" + "".join(f"{_pct(r['distribution'][k]):>10}" for k in keys))
    out.append("")
    for lev in dict.fromkeys(r["level"] for r in rows):
        out.append(f"{lev}: {DEFINITIONS[lev]}.")
    if any(r["upper"] - r["lower"] > MASS_EPSILON for r in rows):
        out.append(
            "coverage = lower bound (unlisted chromosomes never match); upper = unlisted chromosomes "
            "match whenever possible."
        )
    return "\n".join(out)


def _emit(rows: list[dict[str, Any]], fmt: str, text: Callable[[list[dict[str, Any]]], str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        flat = [{k: ("~".join(v) if k == "loci" else ";".join(map(str, v)) if isinstance(v, list)
                     else json.dumps(v) if isinstance(v, dict) else v)
                 for k, v in r.items()} for r in rows]
        writer = csv.DictWriter(buf, fieldnames=list(flat[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        click.echo(buf.getvalue(), nl=False)
    else:
        click.echo(text(rows))


@cli.command()
@click.option("--patient", "patients", multiple=True, metavar="GL",
              help="A patient typing: loci joined by '^', the two alleles by '+', e.g. "
                   "'A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05'. Repeatable.")
@click.option("--patients-file", type=click.Path(dir_okay=False), default=None,
              help="CSV/TSV/Parquet of typings: two columns per locus (A_1, A_2, ...) or a 'typing' column; "
                   "an optional 'id' column names patients.")
@bank_options
@rule_options
@click.option("--table", "-t", "table", default=None, metavar="NAME|PATH",
              help="Table for --top (bundled name or file); default: the bundled Japanese table.")
@click.option("--all-lines", is_flag=True, help="List every line for each patient, not only those that match.")
@output_options
@_library_call
def match(patients, patients_file, lines, lines_file, top, loci, resolution, max_mismatches, require_match,
          allow_mismatch, homozygous_count, direction, table, all_lines, fmt) -> None:
    """Which bank lines suit each patient (genotype level), best first.

    Each patient's unphased typing is compared with every line under the match rules; the
    mismatched alleles are listed per locus. A typing coarser than the lines (A*24 against
    two-field lines) or missing a locus is reported as not assessable. A malformed row gives one
    'Error:' line naming it on standard error; the other patients are still reported, and the
    exit status is then 1.

    \b
    Examples:
      hlamatch match --patient "A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05" \\
                     --line "A*24:02~B*52:01~DRB1*15:02"
      hlamatch match --patients-file cohort.csv --top 20 --loci A,B,DRB1 -k 1 --format json
    """
    from .match import ERROR, match_patients, parse_typing, read_patients

    rules = _rules(max_mismatches, require_match, allow_mismatch, homozygous_count, direction)
    bank, loci_list = _bank(lambda: _load(table, "auto", DEFAULT_SUM_TOLERANCE), lines, lines_file, top,
                            _split_list(loci), resolution, None)
    typings = [parse_typing(text, str(i + 1), f"--patient {i + 1}") for i, text in enumerate(patients)]
    if patients_file:
        typings += read_patients(patients_file)
    if not typings:
        from .errors import OptionError

        raise OptionError("no patients given: pass --patient or --patients-file")
    results, used, res, rules = match_patients(typings, bank, loci=loci_list, resolution=resolution, rules=rules,
                                               details="all" if all_lines else "matched")
    _report_bad_rows(results)
    rows = [r.to_dict() for r in results]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "csv":
        flat = []
        for r in rows:
            base = {"patient": r["patient"], "status": r["status"], "reason": r["reason"] or ""}
            if not r["lines"]:
                flat.append({**base, "line": "", "matched": "", "mismatches": "", "mismatched_alleles": ""})
            for m in r["lines"]:
                flat.append({**base, "line": m["line"], "matched": m["matched"], "mismatches": m["mismatches"],
                             "mismatched_alleles": "; ".join(f"{k}: {','.join(v)}" for k, v in m["mismatched_alleles"].items())})
        _emit(flat, "csv", str)
    else:
        click.echo(_match_text(rows, used, res, rules.describe(used)))
    if any(r.status == ERROR for r in results):
        raise SystemExit(1)


def _match_text(rows: list[dict[str, Any]], loci, res: str, rule: str) -> str:
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
            out.append(f"  {m['mismatches']} mismatch(es)  {m['line']}  — {what}{flag}")
    return "\n".join(out)


@cli.command()
@click.argument("name", required=False, metavar="[NAME|PATH]")
@click.option("--table-format", type=click.Choice(TABLE_FORMATS), default="auto", show_default=True,
              help="Format of a table file.")
@click.option("--sum-tolerance", type=click.FloatRange(min=0), default=DEFAULT_SUM_TOLERANCE, show_default=True,
              help="Rounding excess above 1 that is scaled away with a warning.")
@output_options
@_library_call
def tables(name, table_format, sum_tolerance, fmt) -> None:
    """List the bundled tables, or describe one table (bundled name or file).

    \b
    Examples:
      hlamatch tables
      hlamatch tables japanese
      hlamatch tables freqs.JAPI.csv --format json
    """
    from .data import available_tables, default_table, table_info

    if name is None:
        rows = []
        for n in available_tables():
            info = table_info(n)
            rows.append({
                "name": n, "default": n == default_table(), "population": info["population"],
                "loci": info["loci"], "resolution": info["resolution"],
                "unlisted_mass": info["unlisted_mass"], "description": info["description"],
            })
        _emit(rows, fmt, _tables_text)
        return
    tab = _load(name, table_format, sum_tolerance)
    desc = tab.describe()
    if name in available_tables():
        info = table_info(name)
        desc.update({k: info[k] for k in ("description", "citation")})
        desc["provenance"] = info["source"]
    if fmt == "csv":
        _emit([{**p, "source": desc["source"], "loci": desc["loci"], "resolution": desc["resolution"]}
               for p in desc["populations"]], fmt, str)
    elif fmt == "json":
        click.echo(json.dumps(desc, indent=2))
    else:
        click.echo(_describe_text(desc))


def _tables_text(rows: list[dict[str, Any]]) -> str:
    out = [f"{'name':<10}{'population':<12}{'loci':<22}{'resolution':<11}{'unlisted':>9}  description"]
    for r in rows:
        name = r["name"] + ("*" if r["default"] else "")
        out.append(f"{name:<10}{r['population']:<12}{'~'.join(r['loci']):<22}{r['resolution']:<11}"
                   f"{_pct(r['unlisted_mass']):>9}  {r['description']}")
    out.append("* default table.  'hlamatch tables NAME' describes one, with its source and citation.")
    return "\n".join(out)


def _describe_text(d: dict[str, Any]) -> str:
    out = [f"table       {d['source']}"]
    for key in ("description", "provenance", "citation"):
        if key in d:
            out.append(f"{key:<12}{d[key]}")
    out += [f"loci        {'~'.join(d['loci'])}", f"resolution  {d['resolution']}",
            f"haplotypes  {d['haplotypes']}", "",
            f"{'population':<12}{'haplotypes':>11}{'listed mass':>13}{'unlisted':>10}{'scaled by':>11}"]
    for p in d["populations"]:
        out.append(f"{p['population']:<12}{p['haplotypes']:>11}{p['listed_mass']:>13.5f}"
                   f"{_pct(p['unlisted_mass']):>10}{p['scaled_by']:>11.5f}")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli())
