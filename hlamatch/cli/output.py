"""Output of the ``hlamatch`` commands: one :func:`emit` for every format, the progress display,
and the wrapper that turns library errors and warnings into one-line messages.

* :func:`emit` writes a command's result to standard output: ``text`` for people (the command's
  renderer), ``json`` (an array of objects; a command describing one thing may emit one object)
  or ``csv`` (flat: see :func:`flatten_rows`).  A number that is not finite (NaN: nothing to
  divide by, e.g. a cohort with no assessable patient; infinity: e.g. people to type for a donor
  never found) is ``null`` in JSON (strict JSON has no NaN), an empty CSV cell and ``-`` in text.
* :func:`progress_display` returns the ``progress(label, fraction_done)`` callback the library
  takes, drawing one updating line on standard error (label, bar, percent, elapsed time, time
  left) when standard error is a terminal and ``--quiet`` is not given.
* :func:`library_call` wraps a command body: :class:`~hlamatch.errors.HlamatchError` → one
  ``Error: ...`` line and exit status 1; :class:`~hlamatch.errors.HlamatchWarning` → a
  ``Warning: ...`` line on standard error.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import sys
import time
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence, TextIO

import click

__all__ = [
    "emit", "finite", "flatten_rows", "csv_text", "plain_text", "pct", "echo_error",
    "progress_display", "ProgressDisplay", "progress_line", "library_call",
]

Row = dict[str, Any]
#: Columns dropped from CSV output in favour of a text column (``rules`` → ``rule``).
CSV_DROPPED = {"rules": "rule"}


# ============================================================================ emit


def emit(data: Sequence[Row] | Row, fmt: str, *, text: Callable[[Any], str] | None = None,
         csv_rows: Callable[[Any], Sequence[Row]] | None = None) -> None:
    """Write a command's result to standard output in format ``fmt``.

    Parameters
    ----------
    data : list of dict, or dict
        The result as plain Python: rows (or one object for a command describing one thing).
    fmt : {"text", "json", "csv"}
        ``json``: ``data`` as is (rows → an array of objects).  ``csv``: ``csv_rows(data)`` (default:
        the rows; one object → one row), flattened by :func:`flatten_rows`.
    text : callable, optional
        Renders ``data`` for people; default :func:`plain_text` (aligned columns).
    csv_rows : callable, optional
        Turns ``data`` into the CSV's rows when they differ from the JSON's (e.g. one row per
        patient and line).
    """
    if fmt == "json":
        try:
            text = json.dumps(data, indent=2, allow_nan=False)
        except ValueError:  # a NaN or infinity somewhere: null instead (strict JSON has neither)
            text = json.dumps(finite(data), indent=2, allow_nan=False)
        click.echo(text)
        return
    if fmt == "csv":
        rows = csv_rows(data) if csv_rows is not None else [data] if isinstance(data, Mapping) else data
        click.echo(csv_text(rows), nl=False)
        return
    click.echo((text or plain_text)(data))


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf), at any depth, replaced by None.

    >>> finite({"coverage": float("nan"), "lines": [1.0, float("inf")]})
    {'coverage': None, 'lines': [1.0, None]}
    """
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0
                                    and getattr(value.dtype, "kind", "") == "f"):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _cell(value: Any, key: str = "") -> Any:
    """One CSV cell: lists joined by ';' (loci by '~'), nested dicts as ``k=v`` pairs; never brackets."""
    value = finite(value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        sep = "~" if key == "loci" else ";"
        return sep.join(str(_cell(v)) for v in value)
    return value


def flatten_rows(rows: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Rows with no JSON inside cells, all with the same columns (the union, in order of appearance).

    A dict field (e.g. ``distribution``) becomes one column per key (``distribution_0``,
    ``distribution_1``, …, ``distribution_unmatched``; blank where a row has none); lists are
    joined with ';' (``loci`` with '~'); ``rules`` is dropped when a ``rule`` text column is
    there; None becomes an empty cell.
    """
    rows = list(rows)
    dict_keys: dict[str, dict[str, None]] = {}
    for r in rows:
        for k, v in r.items():
            if isinstance(v, Mapping):
                dict_keys.setdefault(k, {}).update(dict.fromkeys(map(str, v)))
    out: list[Row] = []
    columns: dict[str, None] = {}
    for r in rows:
        flat: Row = {}
        for k, v in r.items():
            if k in CSV_DROPPED and CSV_DROPPED[k] in r:
                continue
            if k in dict_keys:
                sub = {str(a): b for a, b in v.items()} if isinstance(v, Mapping) else {}
                for s in dict_keys[k]:
                    flat[f"{k}_{s}"] = _cell(sub.get(s))
            else:
                flat[k] = _cell(v, k)
        columns.update(dict.fromkeys(flat))
        out.append(flat)
    return [{c: ("" if r.get(c) is None else r[c]) for c in columns} for r in out]


def csv_text(rows: Iterable[Mapping[str, Any]]) -> str:
    """CSV (header + rows, '\\n' line ends) of :func:`flatten_rows` of ``rows``; empty when no rows."""
    flat = flatten_rows(rows)
    if not flat:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(flat[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buf.getvalue()


def plain_text(data: Sequence[Row] | Row) -> str:
    """Default text rendering: the flattened rows as left-aligned columns."""
    flat = flatten_rows([data] if isinstance(data, Mapping) else data)
    if not flat:
        return "(nothing)"
    cols = list(flat[0])
    cells = [[str(c) for c in cols]] + [[_short(r[c]) for c in cols] for r in flat]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else "-"
    return str(value)


def pct(x: float | None) -> str:
    """``0.12345`` → ``"12.35%"`` (``"-"`` for None, NaN or infinity)."""
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def echo_error(message: Any) -> None:
    """One ``Error: ...`` line on standard error (whitespace collapsed), e.g. for a bad input row."""
    click.echo(f"Error: {' '.join(str(message).split())}", err=True)


# ============================================================================ progress


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_line(label: str, fraction: float, elapsed: float, width: int = 30) -> str:
    """One progress line: label, bar, percent, elapsed time and an estimate of the time left.

    >>> progress_line("EUR haplotype", 0.25, 10.0, width=8)
    'EUR haplotype            [##......]  25.0%  elapsed 0:10  left 0:30'
    """
    f = min(max(float(fraction), 0.0), 1.0)
    done = int(width * f)
    left = _clock(elapsed * (1 - f) / f) if f > 0 else "?"
    return f"{label:<24} [{'#' * done}{'.' * (width - done)}] {100 * f:5.1f}%  elapsed {_clock(elapsed)}  left {left}"


class ProgressDisplay:
    """``progress(label, fraction_done)`` drawing one updating line (``\\r``) on ``file``.

    A label's clock starts when the display is made (first label) or at the previous call (later
    labels: the library works through them one after another).  The line ends at fraction 1.
    """

    def __init__(self, file: TextIO, clock: Callable[[], float] = time.monotonic, width: int = 30):
        self.file = file
        self.clock = clock
        self.width = width
        self._label: str | None = None
        self._start = self._last = clock()
        self._shown = 0  # length of the unfinished line on screen (0: none)

    def __call__(self, label: str, fraction: float) -> None:
        now = self.clock()
        if label != self._label:
            if self._shown:
                click.echo("", file=self.file)
            self._label, self._start, self._shown = label, self._last, 0
        self._last = now
        line = progress_line(label, fraction, now - self._start, self.width)
        done = fraction >= 1
        click.echo("\r" + line.ljust(self._shown), file=self.file, nl=done)
        self._shown = 0 if done else len(line)


def progress_display(quiet: bool = False, file: TextIO | None = None,
                     clock: Callable[[], float] = time.monotonic) -> ProgressDisplay | None:
    """The progress callback for a command: None when ``quiet`` or ``file`` (default standard
    error) is not a terminal, so nothing is drawn into pipes, files or test runners."""
    file = sys.stderr if file is None else file
    try:
        tty = file.isatty()
    except (AttributeError, ValueError):
        tty = False
    return ProgressDisplay(file, clock) if tty and not quiet else None


# ============================================================================ errors and warnings


def tolerance_note(row: dict[str, Any]) -> list[str]:
    """The header line of a rank or plan run with a tolerance (none when exact)."""
    eps = row.get("tolerance") or 0.0
    if eps <= 0:
        return []
    return [f"tolerance {eps:g}: patient genotypes weighing at most {eps:g} in all (the least frequent) were left "
            "out; they count in upper bounds only"]


def library_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body, turning library errors and warnings into CLI messages.

    :class:`~hlamatch.errors.HlamatchError` → ``Error: ...`` (one line) and exit status 1.
    Warnings are recorded while the body runs and shown once it is over (after the recording
    context is left, so a re-shown warning is never recorded again): a
    :class:`~hlamatch.errors.HlamatchWarning` as a ``Warning: ...`` line on standard error, any
    other warning the usual Python way.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from hlamatch.errors import HlamatchError, HlamatchWarning

        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", HlamatchWarning)
                from .options import apply_settings

                apply_settings()
                return fn(*args, **kwargs)
        except HlamatchError as e:
            raise click.ClickException(" ".join(str(e).split())) from None
        finally:
            for w in caught:
                if issubclass(w.category, HlamatchWarning):
                    click.echo(f"Warning: {w.message}", err=True)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)

    return wrapper
