"""Command-line interface: a thin click layer over the library.

Layout (one module per command, shared pieces in four modules):

* ``options.py``: the shared option decorators (``table_options``, ``line_options``, ``loci_option``,
  ``resolution_option``, ``rule_options``, ``compute_options``, ``output_options`` …), the
  ``Command`` class (a single-valued option given twice is a usage error; deprecated flags are
  hidden aliases with one ``Note:`` line) and ``refuse`` (options that cannot apply are an
  ``Error:`` line);
* ``inputs.py``: the parsers of option values (``parse_populations``, ``lazy_table``,
  ``bank_lines``, ``make_rules``, ``split_list``, ``parse_counts``);
* ``types.py``: numeric click types that take ASCII digits only, within int64;
* ``output.py``: ``emit(data, fmt, text=..., csv_rows=...)``, the one output function (text, JSON
  array of objects, flat CSV), ``progress_display(quiet)`` for long runs, and ``library_call``,
  which turns :class:`~hlamatch.errors.HlamatchError` into one ``Error: ...`` line (exit 1) and
  :class:`~hlamatch.errors.HlamatchWarning` into ``Warning: ...`` lines on standard error (the
  parameter names a library message names become the command's flags);
* ``coverage.py``, ``rank.py``, ``plan.py``, ``supply.py``, ``match.py``, ``tables.py``: the commands.

Each command parses its options, makes one library call and one :func:`~.output.emit` call.
Usage errors that click finds itself (an unknown option, a bad choice or number, a missing
value) are one line too: ``Error: <message> (see 'hlamatch COMMAND --help')``, exit status 2
(:class:`OneLineErrors`); errors in the data are exit status 1.
Library modules are imported inside command bodies, so ``hlamatch --help`` imports neither
numba nor polars.

Adding a command (say ``rank``):

1. write ``hlamatch/cli/rank.py`` defining ``command``, a :func:`click.command` named ``"rank"``
   whose help has an ``Examples:`` block, decorated with the shared options and, last (closest to
   the function), ``@library_call``; its body parses the options (``parse_populations``,
   ``bank_lines``, ``make_rules`` …), imports and calls the library, and ends with
   ``emit(rows, fmt, text=renderer)``;
2. add ``"rank"`` to :data:`COMMANDS` below.
"""

from __future__ import annotations

import atexit
import errno
import io
import os
import signal
import sys
from importlib import import_module
from typing import IO, Any

import click

__all__ = ["cli", "main", "COMMANDS", "OneLineErrors"]

#: Command modules of this package, in the order ``hlamatch --help`` lists them; each defines ``command``.
COMMANDS: tuple[str, ...] = ("coverage", "rank", "plan", "supply", "match", "tables")


class _UsageLine(click.ClickException):
    """A click usage error shown as one ``Error:`` line (exit status 2, as click's own)."""

    exit_code = 2

    def __init__(self, error: click.UsageError, command_path: str):
        message = " ".join(error.format_message().split()).rstrip(".")
        where = error.ctx.command_path if error.ctx is not None else command_path
        super().__init__(f"{message} (see '{where} --help')")

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class OneLineErrors(click.Group):
    """The ``hlamatch`` group: click's usage errors (three lines of usage and hint) become one
    ``Error: ...`` line naming the command's ``--help``, exit status 2.

    Both places where click raises them are covered: parsing the group's own arguments
    (:meth:`make_context`) and resolving, parsing and running a command (:meth:`invoke`).  Calling
    ``hlamatch`` with no command still shows the help.
    """

    @staticmethod
    def _one_line(e: click.UsageError, command_path: str) -> click.ClickException:
        if isinstance(e, getattr(click.exceptions, "NoArgsIsHelpError", ())):
            return e
        return _UsageLine(e, command_path)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as e:
            raise self._one_line(e, info_name or "hlamatch") from None

    def invoke(self, ctx: click.Context) -> Any:
        # Some click versions raise option errors without a context: name the command from the
        # arguments left to the group (its first one is the command's name).
        state = vars(ctx)  # click 8.2 renamed protected_args to _protected_args
        rest = list(state.get("_protected_args", state.get("protected_args")) or []) + list(ctx.args)
        path = ctx.command_path + (f" {rest[0]}" if rest and rest[0] in self.commands else "")
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise self._one_line(e, path) from None


@click.group(
    "hlamatch", cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(package_name="hlamatch")
def cli() -> None:
    """hlamatch: exact HLA haplobank coverage from haplotype frequency tables.

    \b
    Example:
      hlamatch coverage --line "A*24:02~B*52:01~DRB1*15:02"
    """
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped to head


for _name in COMMANDS:
    cli.add_command(import_module(f".{_name}", __name__).command)


def main() -> None:
    """The ``hlamatch`` console command: run :func:`cli`, then end the process promptly.

    Once the command has returned (or failed) and its output is flushed, the ``atexit`` handlers
    run (a Dask cluster is closed there) and the process ends with :func:`os._exit`, skipping the
    interpreter's own teardown: after a kernel has run, tearing down numba's objects and
    OpenMP threads takes 0.1–0.25 s that no one needs to wait for.  Files are closed by the
    commands themselves.  In a host program, call :func:`cli` (click's usual entry), not this.
    """
    _closed_streams()
    try:
        cli.main(prog_name="hlamatch")
        code: object = 0
    except SystemExit as e:
        code = e.code
    except OSError as e:  # a write click does not handle (e.g. help to a full disk): one line, no traceback
        _say(f"Error: {e.strerror or e}")
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        _say(str(code))
        code = 1
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as e:  # the results did not reach their file
        if code == 0 and getattr(e, "errno", None) != errno.EPIPE:
            _say(f"Error: cannot write the results to standard output: {getattr(e, 'strerror', None) or e}")
            code = 1
    try:
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stream: nothing more can be said
        pass
    atexit._run_exitfuncs()
    os._exit(code)


class _ClosedOutput(io.TextIOBase):
    """Standard output when the process started without one (``>&-``): every write fails (EBADF), so the
    command ends with one ``Error:`` line instead of reporting results no one receives."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def isatty(self) -> bool:
        return False


def _closed_streams() -> None:
    """Stand-ins for standard streams the process started without: no standard error (``2>&-``) → a
    sink (errors are then only the exit status, never written into the results); no standard
    output (``>&-``) → :class:`_ClosedOutput`."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
        try:  # keep descriptor 1 taken, so that no file opened later becomes "standard output"
            os.fstat(1)
        except OSError:
            fd = os.open(os.devnull, os.O_WRONLY)
            if fd != 1:
                os.dup2(fd, 1)
                os.close(fd)


def _say(line: str) -> None:
    """One line on standard error, if it can take it."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass
