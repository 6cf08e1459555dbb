"""Shared option decorators of the ``hlamatch`` commands, and the small parsers behind them.

A command stacks the decorators it needs and passes the raw values to the parsers here, inside
its body (so a bad value is one ``Error:`` line, like any library error)::

    @click.command("rank", cls=Command)   # a single-valued option given twice is a usage error
    @table_options          # table, table_format, sum_tolerance, population, weights (+ --nomenclature/--mac/--strict)
    @line_options           # lines, lines_file, top
    @loci_option(LOCI_HELP)                       # loci (comma lists and repeats)
    @resolution_option(TABLE_RESOLUTION_HELP)     # resolution
    @rule_options           # max_mismatches, require_match, allow_mismatch, homozygous_count, direction
    @compute_options        # threads, quiet
    @engine_options         # --engine, --scheduler (applied by use_engine_options() in the body)
    @output_options         # fmt
    @library_call
    def command(table, table_format, sum_tolerance, population, weights, ...): ...

Every command that reads a table takes the same :data:`table_options`; every command that
computes takes :data:`compute_options`.  An option given where it cannot apply is an error that
says why (:func:`refuse`), never silently dropped.

Parsers: :func:`parse_populations` (``--population``/``--weights``), :func:`lazy_table`
(``--table`` and friends), :func:`bank_lines` (``--line``/``--lines-file``/``--top``),
:func:`make_rules` (rule options), :func:`split_list` (comma lists and repeated values),
:func:`parse_counts` (``--registry-size``) and :func:`patient_loci` (the loci of ``--top`` for
typed patients).

Nothing here imports numba or polars at module level: ``hlamatch --help`` must stay fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import click
from click.core import ParameterSource

from hlamatch.cli.types import Float, Int
from hlamatch.constants import ALL_RESOLUTIONS, DEFAULT_SUM_TOLERANCE, DIRECTIONS, FORMATS, TABLE_FORMATS
from hlamatch.errors import OptionError

__all__ = [
    "Command",
    "output_options",
    "table_file_options",
    "nomenclature_options",
    "apply_settings",
    "strict_names",
    "population_options",
    "table_options",
    "line_options",
    "loci_option",
    "resolution_option",
    "rule_options",
    "threads_option",
    "quiet_option",
    "compute_options",
    "engine_options",
    "use_engine_options",
    "given",
    "refuse",
    "TABLE_PARAMS",
    "RULE_PARAMS",
    "SingleUse",
    "DeprecatedAlias",
    "deprecated_alias",
    "numba_threads",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _stack(*options: Decorator) -> Decorator:
    """Apply click options so that they show in ``--help`` in the order given."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return decorate


class SingleUse(click.Option):
    """An option that takes one value and may be given once: click keeps the last of
    ``--level genotype --level haplotype`` and drops the first without a word; here that is a
    usage error (one ``Error:`` line, exit status 2).

    The parser keeps every occurrence (click's ``append`` action); :meth:`type_cast_value`
    refuses a second one and casts the single value as usual.
    """

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        parser.add_option(obj=self, opts=self.opts, dest=self.name, action="append", nargs=self.nargs)

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        if ctx.get_parameter_source(self.name) is ParameterSource.COMMANDLINE:  # a list of occurrences
            if len(value) > 1:
                raise click.UsageError(
                    f"{max(self.opts, key=len)} is given {len(value)} times ({', '.join(map(repr, value))}); "
                    "it takes one value: give it once",
                    ctx,
                )
            value = value[0]
        return super().type_cast_value(ctx, value)


class Command(click.Command):
    """A command whose single-valued options are :class:`SingleUse` (those declared with a plain
    ``click.option`` become one): a single-valued option given twice is a usage error.  Flags and
    counts given twice stay harmless; options taking several values (``multiple=True``) repeat.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for param in self.params:
            if (
                not isinstance(param, click.Option)
                or isinstance(param, SingleUse)
                or param.is_flag
                or param.count
                or param.multiple
            ):
                continue
            if type(param) is not click.Option:  # another subclass: it must say how it is counted
                raise TypeError(f"option {param.name!r} of {self.name!r}: derive {type(param).__name__} from SingleUse")
            param.__class__ = SingleUse

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        for alias, value in ctx.meta.pop(_ALIASES, []):
            alias.apply(ctx, value)
        return rest


_ALIASES = "hlamatch.deprecated_aliases"


class DeprecatedAlias(SingleUse):
    """The old, hidden spelling of an option (``--lines`` for ``--max-lines``): its value goes to
    the new option's parameter, with one ``Note: --lines is deprecated, use --max-lines (removal in
    0.3.0)`` line on standard error; giving both is a usage error.  ``--help`` shows the new name only.

    Make one with :func:`deprecated_alias`; a :class:`Command` applies it after parsing.
    """

    def __init__(self, decls: Sequence[str], *, new: str, since: str, removal: str, **kwargs: Any) -> None:
        super().__init__(decls, expose_value=False, hidden=True, callback=self._keep, **kwargs)
        self.new, self.since, self.removal = new, since, removal

    @staticmethod
    def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and ctx.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE:
            ctx.meta.setdefault(_ALIASES, []).append((param, value))
        return value

    def apply(self, ctx: click.Context, value: Any) -> None:
        """Pass ``value`` on to the new option's parameter (a usage error when that is given too)."""
        new_flag = _flag(ctx, self.new)
        old_flag = max(self.opts, key=len)
        if given(self.new, ctx):
            raise click.UsageError(f"{old_flag} is the old name of {new_flag}: give {new_flag} only", ctx)
        ctx.params[self.new] = value
        click.echo(f"Note: {old_flag} is deprecated, use {new_flag} (removal in {self.removal})", err=True)


def deprecated_alias(old: str, new: str, *, since: str = "0.2.0", removal: str = "0.3.0", **kwargs: Any) -> Decorator:
    """A hidden option ``old`` (a flag, e.g. ``--lines``) standing for the option of parameter
    ``new`` (e.g. ``max_lines``); ``kwargs`` as for ``click.option`` (give the new option's type)."""
    name = "deprecated_" + old.lstrip("-").replace("-", "_")
    return click.option(old, name, cls=DeprecatedAlias, new=new, since=since, removal=removal, default=None, **kwargs)


# ============================================================================ decorators


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--format`` (parameter ``fmt``): text, json or csv; see :func:`hlamatch.cli.output.emit`."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="text for people; json (an array of objects) or csv (flat columns) for machines.",
    )(fn)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a nomenclature option in ``ctx.meta``; :func:`apply_settings` applies it in the command body."""
    if value not in (None, False):
        ctx.meta[f"hlamatch.{param.name}"] = value
    return value


#: ``--nomenclature``, ``--mac`` and ``--strict``: process settings, not command parameters (they
#: reach the command through ``ctx.meta`` and are applied by :func:`apply_settings`, which
#: :func:`~.output.library_call` calls, so their errors are ``Error:`` lines too).
nomenclature_options = _stack(
    click.option(
        "--nomenclature",
        type=click.Path(),
        default=None,
        metavar="DIR",
        expose_value=False,
        callback=_remember,
        help="Folder of the IPD-IMGT/HLA WMDA files (rel_dna_ser.txt, rel_ser_ser.txt, hla_nom_g.txt, "
        "hla_nom_p.txt, Allelelist.txt), for --resolution G/P/antigen/broad and name checks "
        "(default: $HLAMATCH_NOMENCLATURE).",
    ),
    click.option(
        "--mac",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        expose_value=False,
        callback=_remember,
        help="NMDP multiple-allele code list (numer.v3.txt) to expand codes like A*24:AB.",
    ),
    click.option(
        "--strict",
        is_flag=True,
        default=False,
        expose_value=False,
        callback=_remember,
        help="Allele names the nomenclature does not know in a table are an error, not a warning.",
    ),
)


def apply_settings() -> None:
    """Apply ``--nomenclature`` and ``--mac`` of the current command (no-op outside a click command).

    Raises
    ------
    HlamatchError
        A folder or file that cannot be used.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    from hlamatch.hla.nomenclature import use_mac_file, use_nomenclature

    if "hlamatch.nomenclature" in ctx.meta:
        use_nomenclature(ctx.meta["hlamatch.nomenclature"], origin="--nomenclature")
    if "hlamatch.mac" in ctx.meta:
        use_mac_file(ctx.meta["hlamatch.mac"])


def strict_names() -> bool:
    """Whether ``--strict`` was given to the current command."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get("hlamatch.strict"))


def _resolution(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> str | None:
    """``--resolution``: one of :data:`ALL_RESOLUTIONS`, as a comma-joined string; several (comma
    list or repeated option) only where the option was made with ``many=True`` (``coverage``)."""
    if not values:
        return None
    value = ",".join(values)
    items = _flat(values)
    if not items:
        raise click.BadParameter(f"{value!r} names no resolution: give one of {', '.join(ALL_RESOLUTIONS)}")
    for v in items:
        if v not in ALL_RESOLUTIONS:
            raise click.BadParameter(f"{v!r} is not one of {', '.join(ALL_RESOLUTIONS)}")
    if len(items) != 1 and not getattr(param, "many", False):
        raise click.BadParameter(f"give one resolution ({value!r} names {len(items)}); only 'coverage' takes a list")
    if len(set(items)) != len(items):
        raise click.BadParameter(f"{value!r} names a resolution twice")
    return ",".join(items)


#: ``--table-format`` and ``--sum-tolerance`` (parameters ``table_format``, ``sum_tolerance``).
table_file_options = _stack(
    click.option(
        "--table-format",
        type=click.Choice(TABLE_FORMATS),
        default="auto",
        show_default=True,
        help="Format of a table file (auto detects NMDP, GRIMM, NMDP 2007, HFX, PyPop and wide CSV/Parquet).",
    ),
    click.option(
        "--sum-tolerance",
        type=Float(min=0),
        default=DEFAULT_SUM_TOLERANCE,
        show_default=True,
        help="A population summing to at most 1 + this is scaled to 1 with a warning; above, rejected.",
    ),
    nomenclature_options,
)

#: ``--population/-p`` and ``--weights`` (parameters ``population``, ``weights``); parse them
#: with :func:`parse_populations`.
population_options = _stack(
    click.option(
        "--population",
        "-p",
        "population",
        multiple=True,
        metavar="NAME[=W]",
        help="Population(s) of the table (default: all). Repeatable or comma-separated (-p EUR,AFA); "
        "NAME=W weights a mix (-p JAPI=0.8 -p KORI=0.2, normalised to sum 1).",
    ),
    click.option(
        "--weights",
        "weights",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="CSV/TSV/Parquet with columns 'population' and 'weight': a weighted mix (instead of NAME=W).",
    ),
)

#: ``--table/-t`` (parameter ``table``), the table-file options and the population options.
table_options = _stack(
    click.option(
        "--table",
        "-t",
        "table",
        multiple=True,
        metavar="NAME|PATH",
        help="Bundled table name (see 'hlamatch tables') or a file; default: the bundled Japanese table. "
        "Repeat to combine tables of different populations (-t japanese -t korean).",
    ),
    table_file_options,
    population_options,
)

#: ``--line/-l``, ``--lines-file``, ``--top`` (parameters ``lines``, ``lines_file``, ``top``);
#: parse them with :func:`bank_lines`.
line_options = _stack(
    click.option(
        "--line",
        "-l",
        "lines",
        multiple=True,
        metavar="HAP[/HAP]",
        help="A donor line: one haplotype (homozygous) or two joined by '/'. Repeatable.",
    ),
    click.option(
        "--lines-file",
        type=click.Path(dir_okay=False),
        help="CSV (comma, semicolon or tab), TSV or Parquet with a 'haplotype' column, or "
        "'haplotype1','haplotype2' (empty haplotype2: homozygous), or per-locus columns "
        "A_1,A_2,B_1,...; an optional 'name' column names the lines.",
    ),
    click.option(
        "--top",
        type=Int(min=1),
        default=None,
        metavar="N",
        help="Add the N most frequent haplotypes of the table (at the loci and resolution compared; by "
        "weighted frequency for a weighted mix) as homozygous lines.",
    ),
)

#: ``--loci`` help, before the command's default.
LOCI_HELP = "Loci to compare, comma-separated or repeated (--loci A,B,DRB1 or --loci A --loci B). "
#: The default loci of the commands on a table (coverage, rank, plan).
TABLE_LOCI_DEFAULT = (
    "Default: the loci the lines are typed at; every locus of the table when all lines come from it "
    "(--top, default candidates)."
)


def loci_option(default_help: str = TABLE_LOCI_DEFAULT) -> Decorator:
    """``--loci`` (parameter ``loci``, a tuple of raw values; parse with :func:`split_list`)."""
    return click.option("--loci", multiple=True, metavar="LOCI", help=LOCI_HELP + default_help)


#: ``--resolution`` help, before the command's default.
RESOLUTION_HELP = (
    "Matching resolution: " + ", ".join(ALL_RESOLUTIONS) + " (G/P groups, serologic split antigens "
    "and broads need --nomenclature). "
)
#: The default resolution of the commands on a table.
TABLE_RESOLUTION_DEFAULT = (
    "Default: the table's own; lines typed finer are brought to it, and a line typed coarser "
    "(A*24 on a two-field table) is an error: pass --resolution 1-field (the line's "
    "resolution)."
)


class _ResolutionOption(click.Option):
    def __init__(self, *args: Any, many: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.many = many


def resolution_option(default_help: str = TABLE_RESOLUTION_DEFAULT, many: bool = False) -> Decorator:
    """``--resolution`` (parameter ``resolution``: None or a comma-joined string of valid names).

    ``many``: several resolutions (comma list or repeated option) are allowed (``coverage``).
    """
    return click.option(
        "--resolution",
        cls=_ResolutionOption,
        many=many,
        multiple=True,
        callback=_resolution,
        metavar="RES",
        help=RESOLUTION_HELP + default_help,
    )


#: Match-rule options (parameters ``max_mismatches``, ``require_match``, ``allow_mismatch``,
#: ``homozygous_count``, ``direction``); parse them with :func:`make_rules`.
rule_options = _stack(
    click.option(
        "--max-mismatches",
        "-k",
        type=Int(min=0),
        default=0,
        show_default=True,
        help="Most mismatches in total over the loci.",
    ),
    click.option(
        "--require-match",
        multiple=True,
        metavar="LOCI",
        help="Loci that must match, e.g. DRB1 (comma-separated or repeated).",
    ),
    click.option(
        "--allow-mismatch",
        multiple=True,
        metavar="LOCI",
        help="Allow mismatches only at these loci, e.g. A,B (comma-separated or repeated); all others must match.",
    ),
    click.option(
        "--homozygous-count",
        type=click.Choice(["1", "2"]),
        default="1",
        show_default=True,
        help="What a missing homozygous allele counts (2010 consensus: 1; 2016: 2).",
    ),
    click.option(
        "--direction",
        type=click.Choice(DIRECTIONS, case_sensitive=False),
        default="HvG",
        show_default=True,
        help="HvG (host-versus-graft), GvH, or bidirectional (per-locus max).",
    ),
)


def threads_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--threads`` (parameter ``threads``): numba threads for the call."""
    return click.option(
        "--threads", type=Int(min=1, max=4096), default=None, help="Numba threads (default: all cores)."
    )(fn)


#: ``--engine`` and ``--scheduler``: a process setting, not command parameters (kept in ``ctx.meta``
#: like the nomenclature options); the command body applies them with :func:`use_engine_options`.
engine_options = _stack(
    click.option(
        "--engine",
        type=click.Choice(["local", "dask"]),
        default=None,
        expose_value=False,
        callback=_remember,
        help="Where the pair work runs: local (this process, default) or dask (a Dask cluster; needs "
        'pip install "hlamatch[distributed]"). Results are identical.',
    ),
    click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        expose_value=False,
        callback=_remember,
        help="Dask scheduler address (tcp://HOST:8786); implies --engine dask. Default with --engine "
        "dask: a local cluster of two worker processes.",
    ),
)


def use_engine_options() -> None:
    """Apply ``--engine`` and ``--scheduler`` of the current command until it ends (no-op outside one).

    Raises
    ------
    HlamatchError
        ``--engine dask`` without Dask installed (MissingExtraError), or ``--engine local`` with
        ``--scheduler``.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None or not {"hlamatch.engine", "hlamatch.scheduler"} & ctx.meta.keys():
        return
    from hlamatch.engine.setting import use_engine

    ctx.with_resource(use_engine(ctx.meta.get("hlamatch.engine"), ctx.meta.get("hlamatch.scheduler")))


#: ``--tolerance`` help of the planning commands (coverage has its own words).
PLANNING_TOLERANCE_HELP = (
    "Rules other than zero HvG mismatches: visit patient genotypes most frequent first and leave out those "
    "weighing at most EPS in all; they widen upper bounds only. 0 = exact. Not with the default rule, which is "
    "always computed exactly."
)


def refuse_exact_tolerance(rules: Any) -> None:
    """``--tolerance`` of rank and plan under the default rule, which they compute exactly: an error."""
    if rules.is_default:
        refuse(
            ("tolerance",),
            "under the default rule (zero HvG mismatches), which is always computed exactly",
            "give a rule it applies to (e.g. -k 1)",
        )


def tolerance_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--tolerance EPS`` (parameter ``tolerance``, 0 = exact) with the command's own help."""
    return click.option(
        "--tolerance",
        type=Float(min=0, max=1, max_open=True),
        default=0.0,
        show_default=True,
        metavar="EPS",
        help=help_text,
    )


def quiet_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--quiet/-q`` (parameter ``quiet``): no progress display (see :func:`hlamatch.cli.output.progress_display`)."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress display on long runs.")(fn)


#: ``--threads`` and ``--quiet/-q`` (parameters ``threads``, ``quiet``): every command that computes.
compute_options = _stack(threads_option, quiet_option)


def numba_threads(threads: int | None) -> AbstractContextManager[Any]:
    """A context running kernels with ``threads`` numba threads (nothing, and no numba import, for None).

    Raises
    ------
    OptionError
        More threads than the machine has.
    """
    if threads is None:
        return contextlib.nullcontext()
    from hlamatch._jit import num_threads

    return num_threads(threads)


def _flat(values: Sequence[str]) -> list[str]:
    """Repeated and comma-separated values as one list."""
    return [v.strip() for x in values for v in x.split(",") if v.strip()]


# ============================================================================ options that cannot apply

#: Parameters of :data:`table_options` (``strict`` too: it is about a table's names).
TABLE_PARAMS = ("table", "table_format", "sum_tolerance", "population", "weights", "strict")
#: Parameters of :data:`rule_options`.
RULE_PARAMS = ("max_mismatches", "require_match", "allow_mismatch", "homozygous_count", "direction")


def given(name: str, ctx: click.Context | None = None) -> bool:
    """Whether the current command's parameter ``name`` was given on the command line (not its default)."""
    ctx = ctx if ctx is not None else click.get_current_context(silent=True)
    if ctx is None:
        return False
    return ctx.get_parameter_source(name) in (
        ParameterSource.COMMANDLINE,
        ParameterSource.ENVIRONMENT,
        ParameterSource.PROMPT,
    )


def _flag(ctx: click.Context, name: str) -> str:
    for param in ctx.command.params:
        if param.name == name and isinstance(param, click.Option):
            return max(param.opts, key=len)
    return name


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def refuse(names: Iterable[str], why: str, instead: str | None = None) -> None:
    """An error naming the options of ``names`` given on the command line, if any: they do not apply.

    The message reads ``--a and --b do not apply WHY: leave them out[, or INSTEAD]``.

    Raises
    ------
    OptionError
        One of ``names`` was given.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    flags = [_flag(ctx, n) for n in names if given(n)]
    if not flags:
        return
    one = len(flags) == 1
    raise OptionError(
        f"{_and(flags)} {'does' if one else 'do'} not apply {why}: leave {'it' if one else 'them'} out"
        + (f", or {instead}" if instead else "")
    )


#: ``--candidates FILE`` (parameter ``candidates_file``; read it with :func:`read_candidates`).
candidates_option = click.option(
    "--candidates",
    "candidates_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="CSV/TSV/Parquet of candidate lines: a 'haplotype' column (homozygous), or 'haplotype1'/'haplotype2' "
    "(heterozygous), optional 'name'. Default: the most frequent haplotypes as homozygous lines.",
)


def n_candidates_option(default: int) -> Decorator:
    """``--n-candidates/-n`` (parameter ``n_candidates``): how many default candidates."""
    return click.option(
        "--n-candidates",
        "-n",
        type=Int(min=1),
        default=default,
        show_default=True,
        metavar="N",
        help="Without --candidates: how many of the most frequent haplotypes are candidates.",
    )


#: Options of rank and plan: the candidate lines and the level.
candidate_options = _stack(
    candidates_option,
    n_candidates_option(100),
    click.option(
        "--level",
        type=click.Choice(["genotype", "haplotype"]),
        default="genotype",
        show_default=True,
        help="Coverage level the gains are measured at: genotype (unphased) or haplotype (phase-aware).",
    ),
)


def read_candidates(path: str | None):
    """Candidate lines of ``--candidates`` (None: the library's default, the top haplotypes).

    Raises
    ------
    OptionError
        ``--n-candidates`` given too (it counts the default candidates only).
    """
    if path is None:
        return None
    refuse(
        ("n_candidates",), "with --candidates (it counts the default candidates; the file's lines are the candidates)"
    )
    from hlamatch.io.lines import read_lines_file

    return read_lines_file(path)
