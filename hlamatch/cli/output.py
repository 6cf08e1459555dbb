"""Output of the ``hlamatch`` commands: one :func:`emit` for every format, the progress display,
and the wrapper that turns library errors and warnings into one-line messages.

* :func:`emit` writes a command's result to standard output: ``text`` for people (the command's
  renderer), ``json`` (an array of objects, full precision, definitions in full; a command
  describing one thing may emit one object) or ``csv`` (flat, the layout of :mod:`hlamatch.results.flat`:
  the shared columns ``population, level, resolution, loci, rule, definition, table`` first, one
  column per mismatch bin, no JSON in any cell, the definition as a short name; numbers to
  :data:`SIGNIFICANT_DIGITS` significant digits, see :func:`number_text`).  A number that is not
  finite (NaN: nothing to divide by, e.g. a cohort with no assessable patient; infinity: e.g.
  people to type for a donor never found) is ``null`` in JSON (strict JSON has no NaN), an empty
  CSV cell and ``-`` in text.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

import click

__all__ = [
    "emit",
    "write_output",
    "finite",
    "flatten_rows",
    "csv_text",
    "number_text",
    "plain_text",
    "pct",
    "echo_error",
    "listed_lines",
    "progress_display",
    "ProgressDisplay",
    "progress_line",
    "library_call",
    "flag_names",
    "option_flag",
    "SIGNIFICANT_DIGITS",
]

Row = dict[str, Any]
#: Significant digits of the numbers in CSV output (JSON keeps full precision).
SIGNIFICANT_DIGITS = 6
#: Lines the text output lists before "… and N more" (``--all-lines`` lists them all).
LINES_SHOWN = 10


# ============================================================================ emit


def emit(
    data: Sequence[Row] | Row,
    fmt: str,
    *,
    text: Callable[[Any], str] | None = None,
    csv_rows: Callable[[Any], Sequence[Row]] | None = None,
    order: bool = True,
) -> None:
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
    order : bool
        CSV: the shared columns first (:data:`hlamatch.results.flat.LEADING`); False keeps the rows' order.
    """
    if fmt == "json":
        try:
            doc = json.dumps(data, indent=2, allow_nan=False)
        except ValueError:  # a NaN or infinity somewhere: null instead (strict JSON has neither)
            doc = json.dumps(finite(data), indent=2, allow_nan=False)
        write_output(doc)
        return
    if fmt == "csv":
        rows = csv_rows(data) if csv_rows is not None else [data] if isinstance(data, Mapping) else data
        write_output(csv_text(rows, order=order), nl=False)
        return
    write_output((text or plain_text)(data))


def write_output(text: str, nl: bool = True) -> None:
    """``text`` to standard output (flushed).  A closed pipe (``| head -1``) ends the process quietly,
    as click does; any other failure (a full disk, ``> /dev/full``, a closed standard output) is one
    ``Error:`` line on standard error, exit status 1."""
    import errno

    try:
        click.echo(text, nl=nl)
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise
        raise click.ClickException(f"cannot write the results to standard output: {e.strerror or e}") from None


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf), at any depth, replaced by None.

    >>> finite({"coverage": float("nan"), "lines": [1.0, float("inf")]})
    {'coverage': None, 'lines': [1.0, None]}
    """
    if isinstance(value, float) or (
        hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and getattr(value.dtype, "kind", "") == "f"
    ):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def flatten_rows(rows: Iterable[Mapping[str, Any]], order: bool = True) -> list[Row]:
    """Rows with no JSON inside cells, all with the same columns: :func:`hlamatch.results.flat.flat_rows`
    (shared columns first unless ``order`` is False; one column per mismatch bin, ``mismatches_0``
    …; other dicts one column per key, e.g. ``weights_JAPI``; lists joined with ';', ``loci``
    with '~'; ``rules`` dropped where ``rule`` says them; the definition as a short name), with
    an empty cell for a missing value.  Numbers keep full precision."""
    from hlamatch.results.flat import flat_rows

    return [{k: ("" if v is None else v) for k, v in r.items()} for r in flat_rows(rows, order=order)]


def number_text(value: float) -> str:
    """A number for CSV and plain text: :data:`SIGNIFICANT_DIGITS` significant digits, never an
    exponent above 1 (``7237159``, not ``7.23716e+06``); empty when not finite.

    >>> [number_text(x) for x in (0.28997453793611994, 1.1712e-05, 159.3943308, 7237159.48, 0.0, float("nan"))]
    ['0.289975', '1.1712e-05', '159.394', '7237159', '0', '']
    """
    if not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 10 ** (SIGNIFICANT_DIGITS - 1):
        return f"{value:.0f}"
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def _csv_cell(value: Any) -> Any:
    return number_text(value) if isinstance(value, float) else value


def csv_text(rows: Iterable[Mapping[str, Any]], order: bool = True) -> str:
    """CSV (header + rows, '\\n' line ends) of :func:`flatten_rows` of ``rows``, numbers to
    :data:`SIGNIFICANT_DIGITS` significant digits (:func:`number_text`); empty when no rows."""
    flat = flatten_rows(rows, order=order)
    if not flat:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(flat[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in r.items()} for r in flat)
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
        return number_text(value) or "-"
    return str(value)


def listed_lines(lines: Sequence[str], all_lines: bool = False, indent: str = "  ") -> list[str]:
    """Text lines listing donor lines: the first :data:`LINES_SHOWN` and "… and N more", or
    every one with ``all_lines`` (the commands' ``--all-lines``).

    >>> listed_lines(["a", "b"])
    ['  a', '  b']
    """
    shown = list(lines) if all_lines else list(lines[:LINES_SHOWN])
    out = [f"{indent}{ln}" for ln in shown]
    if len(lines) > len(shown):
        out.append(f"{indent}… and {len(lines) - len(shown)} more (--all-lines lists every line)")
    return out


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


def progress_display(
    quiet: bool = False, file: TextIO | None = None, clock: Callable[[], float] = time.monotonic
) -> ProgressDisplay | None:
    """The progress callback for a command: None when ``quiet`` or ``file`` (default standard
    error) is not a terminal, so nothing is drawn into pipes, files or test runners."""
    file = sys.stderr if file is None else file
    try:
        tty = file.isatty()
    except (AttributeError, ValueError):
        tty = False
    return ProgressDisplay(file, clock) if tty and not quiet else None


def compile_notice(quiet: bool = False, file: TextIO | None = None) -> None:
    """Have the library say once, where a progress display would show (a terminal, not ``--quiet``),
    that it compiles the numba kernels: a first run in a fresh environment spends seconds there."""
    from hlamatch._hooks import on_compile  # imports no numba: --help stays fast

    out = sys.stderr if file is None else file
    on_compile((lambda message: click.echo(message, file=out)) if progress_display(quiet, out) is not None else None)


# ============================================================================ errors and warnings


def tolerance_note(row: dict[str, Any]) -> list[str]:
    """The header line of a rank or plan run with a tolerance (none when exact)."""
    eps = row.get("tolerance") or 0.0
    if eps <= 0:
        return []
    return [
        f"tolerance {eps:g}: patient genotypes weighing at most {eps:g} in all (the least frequent) were left "
        "out; they count in upper bounds only"
    ]


#: Library parameters whose CLI option has another click parameter name.
CLI_NAMES = {"populations": "population", "candidates": "candidates_file"}


def option_flag(name: str, ctx: click.Context | None = None) -> str | None:
    """The flag of the current command's option for library parameter ``name`` (its longest
    spelling, ``--n-candidates``), or None when the command has no such option."""
    ctx = ctx if ctx is not None else click.get_current_context(silent=True)
    if ctx is None:
        return None
    wanted = CLI_NAMES.get(name, name)
    for param in ctx.command.params:
        if param.name == wanted and isinstance(param, click.Option) and not param.hidden:
            return max(param.opts, key=len)
    return None


def flag_names(message: str, params: Iterable[str], ctx: click.Context | None = None) -> str:
    """``message`` with each library parameter name of ``params`` written as the command's flag
    (``n_candidates`` → ``--n-candidates``); a name the command has no option for stays as it is."""
    import re

    for name in params:
        flag = option_flag(name, ctx)
        if flag is not None:
            message = re.sub(rf"(?<![\w=-]){re.escape(name)}(?![\w=(-])", flag, message)
    return message


def library_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body, turning library errors and warnings into CLI messages.

    :class:`~hlamatch.errors.HlamatchError` → ``Error: ...`` (one line) and exit status 1.
    Warnings are recorded while the body runs and shown once it is over (after the recording
    context is left, so a re-shown warning is never recorded again): a
    :class:`~hlamatch.errors.HlamatchWarning` as a ``Warning: ...`` line on standard error (once:
    a command that prepares several problems, e.g. one per resolution, meets the same lines
    again), any other warning the usual Python way.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from hlamatch.errors import HlamatchError, HlamatchWarning

        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", HlamatchWarning)
                from hlamatch.cli.options import apply_settings

                apply_settings()
                compile_notice(bool(kwargs.get("quiet")))
                return fn(*args, **kwargs)
        except HlamatchError as e:
            raise click.ClickException(" ".join(flag_names(str(e), e.params).split())) from None
        finally:
            shown: set[str] = set()
            for w in caught:
                if issubclass(w.category, HlamatchWarning):
                    if str(w.message) not in shown:
                        shown.add(str(w.message))
                        click.echo(f"Warning: {w.message}", err=True)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)

    return wrapper
