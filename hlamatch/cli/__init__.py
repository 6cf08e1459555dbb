"""Command-line interface: a thin click layer over the library.

Layout (one module per command, shared pieces in two modules):

* ``options.py``: the shared option decorators (``table_options``, ``bank_options``,
  ``rule_options``, ``threads_option``, ``quiet_option``, ``output_options`` …) and the parsers
  behind them (``parse_populations``, ``lazy_table``, ``bank_lines``, ``make_rules``, ``split_list``);
* ``output.py``: ``emit(data, fmt, text=..., csv_rows=...)``, the one output function (text, JSON
  array of objects, flat CSV), ``progress_display(quiet)`` for long runs, and ``library_call``,
  which turns :class:`~hlamatch.errors.HlamatchError` into one ``Error: ...`` line (exit 1) and
  :class:`~hlamatch.errors.HlamatchWarning` into ``Warning: ...`` lines on standard error;
* ``coverage.py``, ``match.py``, ``tables.py``: the commands.

Each command parses its options, makes one library call and one :func:`~.output.emit` call.
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

import signal
from importlib import import_module

import click

__all__ = ["cli", "COMMANDS"]

#: Command modules of this package, in the order ``hlamatch --help`` lists them; each defines ``command``.
COMMANDS: tuple[str, ...] = ("coverage", "rank", "plan", "supply", "match", "tables")


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


for _name in COMMANDS:
    cli.add_command(import_module(f".{_name}", __name__).command)
