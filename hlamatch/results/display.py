"""What every report shares: a flat polars DataFrame, a one-line ``repr`` and an HTML table for notebooks.

Every report of the library (:class:`~hlamatch.results.coverage.CoverageReport`,
:class:`~hlamatch.results.planning.RankReport`, :class:`~hlamatch.results.planning.PlanReport`,
:class:`~hlamatch.results.supply.SupplyReport`, :class:`~hlamatch.results.matching.MatchReport`,
:class:`~hlamatch.results.matching.CohortReport`) derives from :class:`Report` and has:

* ``to_polars()``: a flat DataFrame whose columns are those of the command's ``--format csv``
  output (the one layout of :mod:`hlamatch.results.flat`);
* ``to_dict()``: a JSON-ready document (the command's ``--format json`` output, or the document
  its rows come from);
* a one-line ``repr`` (``<CoverageReport: 2 results, …>``);
* ``_repr_html_()``: a small HTML table of the flat rows (at most :data:`HTML_ROWS` rows), which
  notebooks show.

A report says how: its rows before flattening (:meth:`Report._table_rows`, the CSV's rows) and a
short summary (:meth:`Report._summary`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hlamatch.results.flat import flat_rows

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Report", "HTML_ROWS", "json_ready", "one_line", "html_table", "percent", "distinct"]

#: Rows an HTML table shows; a note says how many more there are.
HTML_ROWS = 50


class Report:
    """The interface every report shares (see the module's text).

    A subclass gives :meth:`_table_rows` (its rows as the CLI's CSV has them, before
    flattening) and :meth:`_summary` (what its ``repr`` says after its name); it has
    ``to_polars``, ``__repr__`` and ``_repr_html_`` from here, and gives ``to_dict`` itself.
    """

    __slots__ = ()

    def _table_rows(self) -> list[dict[str, Any]]:
        """The report's rows as the CLI's ``--format csv`` writes them, before flattening."""
        raise NotImplementedError

    def _summary(self) -> str:
        """What the report holds, in a few words (after its name in :func:`repr`)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready document."""
        raise NotImplementedError

    def _flat(self) -> list[dict[str, Any]]:
        return flat_rows(self._table_rows())

    def to_polars(self) -> pl.DataFrame:
        """A flat polars DataFrame: the columns of the command's ``--format csv`` output
        (:mod:`hlamatch.results.flat`), numbers at full precision."""
        import polars

        return polars.DataFrame(self._flat(), infer_schema_length=None)

    def __repr__(self) -> str:
        return one_line(type(self).__name__, self._summary())

    def _repr_html_(self) -> str:
        return html_table(self._flat(), caption=repr(self))


def one_line(kind: str, summary: str) -> str:
    """``<kind: summary>`` on one line (runs of white space, line ends included, as one space).

    >>> one_line("CoverageReport", "2 results,\\nloci A~B")
    '<CoverageReport: 2 results, loci A~B>'
    """
    text = " ".join(f"{kind}: {summary}".split())
    return f"<{text}>"


def html_table(rows: Sequence[Mapping[str, Any]], caption: str = "", limit: int = HTML_ROWS) -> str:
    """An HTML table of flat rows (the columns of the first row), every text escaped.

    At most ``limit`` rows are shown; a note after the table says how many were left out.

    >>> print(html_table([{"line": "A*24:02<x>", "coverage": 0.5}], caption="<R>"))
    <div>
    <table>
    <caption>&lt;R&gt;</caption>
    <thead><tr><th>line</th><th>coverage</th></tr></thead>
    <tbody>
    <tr><td>A*24:02&lt;x&gt;</td><td>0.5</td></tr>
    </tbody>
    </table>
    </div>
    """
    columns = list(rows[0]) if rows else []
    out = ["<div>", "<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead>")
    out.append("<tbody>")
    for r in rows[:limit]:
        out.append("<tr>" + "".join(f"<td>{html.escape(_cell_text(r.get(c)))}</td>" for c in columns) + "</tr>")
    out += ["</tbody>", "</table>"]
    left = len(rows) - limit
    if left > 0:
        out.append(f"<p>… and {left} more row(s) (to_polars() holds them all)</p>")
    elif not rows:
        out.append("<p>(no rows)</p>")
    out.append("</div>")
    return "\n".join(out)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    return str(value)


def json_ready(value: Any) -> Any:
    """``value`` for strict JSON: tuples as lists, every non-finite float (NaN, ±inf) as None.

    >>> json_ready({"coverage": float("nan"), "lines": ("a", 1.0, float("inf"))})
    {'coverage': None, 'lines': ['a', 1.0, None]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def percent(x: float | None) -> str:
    """``0.15213`` → ``"15.21%"`` (``"-"`` for None or a number that is not finite).

    >>> percent(0.15213), percent(float("nan"))
    ('15.21%', '-')
    """
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def distinct(values: Iterable[Any], most: int = 4) -> str:
    """The distinct values, in order of appearance, joined by ``", "`` (at most ``most``, then ``…``).

    >>> distinct(["JAPI", "KORI", "JAPI"])
    'JAPI, KORI'
    """
    seen = list(dict.fromkeys(str(v) for v in values))
    return ", ".join(seen[:most] + (["…"] if len(seen) > most else []))
