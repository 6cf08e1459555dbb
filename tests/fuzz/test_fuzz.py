"""Fuzz and property tests of every reader: a clean HlamatchError or a valid result, always.

Readers: ``load_table`` (every format, valid and mutated files), ``read_lines_file``,
``read_patients``, ``parse_typing``, ``parse_allele``, ``parse_line``, and the CLI
(``tables``, ``coverage``, ``match``) end to end.  Inputs come from ``fuzz_inputs.py``: valid
synthetic files, structured mutations of them and byte-level mutations (of the compressed bytes
too, for gzip and zip).  Real tables in ``../shared/data`` are used as extra seeds, read in place
(mutated copies go to a temporary folder); those tests skip when the folder is absent.

Each case runs under a time limit (``CASE_SECONDS``, by ``setitimer`` where POSIX has it) and a
memory bound: in-process cases by the ``tracemalloc`` peak (``CASE_TRACED_BYTES``) and the rise of
the peak resident size (``CASE_RSS_BYTES``), CLI cases
in a worker process whose address space is capped (``RLIMIT_AS`` = ``CLI_ADDRESS_SPACE``);
corrupt Parquet files are read in that worker too (a native reader may abort the process).

Every test has a ``*_slow`` twin with many more examples.  The twins are marked ``slow`` and
run only when asked for: ``pytest -m slow tests/fuzz/test_fuzz.py`` or ``HLAMATCH_FUZZ_SLOW=1``
(so a plain ``pytest``, as CI runs it, stays within a minute for this file).  The number of
cases each test ran is printed in the terminal summary ("hlamatch fuzz cases").
"""

from __future__ import annotations

import faulthandler
import gc
import gzip
import importlib
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
import zipfile
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import fuzz_inputs as fi
import numpy as np
import pytest
from conftest import REPO, shared_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hlamatch.errors import HlamatchError, HlamatchWarning
from hlamatch.hla.alleles import parse_allele, reduce_name
from hlamatch.hla.lines import Line, parse_line
from hlamatch.hla.typing import Typing, parse_typing
from hlamatch.io.load import load_table
from hlamatch.table.model import HaplotypeTable

#: Wall-clock limit of one case (a reader call, or one CLI invocation).
CASE_SECONDS = 10.0
#: Peak of Python-level allocations (tracemalloc: NumPy arrays included) of one in-process case.
CASE_TRACED_BYTES = 256 * 2**20
#: Rise of the process's peak resident size during one in-process case (native allocations too).
CASE_RSS_BYTES = 512 * 2**20
#: Address-space limit of the worker process (CLI cases, corrupt Parquet files).  Address space,
#: not resident memory: pyarrow's allocator reserves ~2 GiB of it on the first Parquet read
#: (numba, polars and their threads add ~1 GiB), so 2 GiB would kill the worker on any Parquet
#: file; 4 GiB still stops a runaway allocation long before it hurts the machine.
CLI_ADDRESS_SPACE = 4 * 2**30
#: Slack on a population's frequency sum (the reader scales sums within its tolerance to 1).
SUM_SLACK = 1e-9

KNOWN_LOCI = ("A", "C", "B", "DRB345", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1", "DR", "DQ", "DP")
RESOLUTIONS = ("2-field", "1-field", "antigen")
TABLE_FORMATS = ("nmdp", "grimm", "nmdp2007", "hfx", "pypop", "wide")

COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# ============================================================================ counting


#: Per test: how many cases ran and how each ended ("valid", "clean error", ...).
COUNTS: dict[str, Counter] = defaultdict(Counter)


def _test_name() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "?")
    return current.rsplit(" (", 1)[0].split("::", 1)[-1]


def count(outcome: str) -> None:
    COUNTS[_test_name()][outcome] += 1


class _FuzzSummary:
    """Prints the number of cases per test at the end of the session."""

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not COUNTS:
            return
        terminalreporter.write_sep("-", "hlamatch fuzz cases")
        width = max(len(k) for k in COUNTS)
        for name, c in COUNTS.items():
            parts = ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
            terminalreporter.write_line(f"{name:<{width}}  {sum(c.values()):>6} cases  ({parts})")
        total = sum(sum(c.values()) for c in COUNTS.values())
        terminalreporter.write_line(f"{'total':<{width}}  {total:>6} cases")


@pytest.fixture(scope="session", autouse=True)
def _fuzz_summary(request):
    pm = request.config.pluginmanager
    if not pm.has_plugin("hlamatch-fuzz-summary"):
        pm.register(_FuzzSummary(), "hlamatch-fuzz-summary")


@pytest.fixture(autouse=True)
def _slow_gate(request):
    """Slow twins run only when asked for (``-m slow`` or ``HLAMATCH_FUZZ_SLOW=1``)."""
    if request.node.get_closest_marker("slow") is None:
        return
    expr = request.config.getoption("markexpr", "") or ""
    if os.environ.get("HLAMATCH_FUZZ_SLOW") == "1" or ("slow" in expr and "not slow" not in expr):
        return
    pytest.skip("many-example fuzz twin: run with -m slow or HLAMATCH_FUZZ_SLOW=1")


def twins(n: int, n_slow: int, *strategies: st.SearchStrategy, **kw_strategies: st.SearchStrategy):
    """Decorate a property body into two tests: ``n`` examples, and a ``slow``-marked twin with ``n_slow``.

    Usage: ``test_x, test_x_slow = twins(20, 500, strategy)(body)``.
    """

    def make(body: Callable[..., None]):
        fast = settings(max_examples=n, **COMMON)(given(*strategies, **kw_strategies)(body))
        slow = settings(max_examples=n_slow, **COMMON)(given(*strategies, **kw_strategies)(body))
        return fast, pytest.mark.slow(slow)

    return make


# ============================================================================ bounds


class CaseLimitExceeded(AssertionError):
    """A case ran past its time limit or allocated past its memory bound."""


class _Alarm(BaseException):
    """Raised by SIGALRM inside the code under test (BaseException: no ``except Exception`` eats it)."""


def _rss() -> tuple[int | None, int | None]:
    """(resident bytes now, peak resident bytes of the process), None where unknown."""
    try:
        import resource

        unit = 1 if sys.platform == "darwin" else 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
    except (ImportError, OSError):
        return None, None
    try:
        with open("/proc/self/statm") as f:
            now = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        now = None
    return now, peak


@contextmanager
def bounded(seconds: float = CASE_SECONDS, traced_bytes: int = CASE_TRACED_BYTES,
            rss_bytes: int = CASE_RSS_BYTES) -> Iterator[None]:
    """Run the body under a wall-clock limit and memory bounds.

    Time: ``setitimer`` (POSIX, main thread); elsewhere only the elapsed time is checked afterwards.
    A hang inside native code that never returns to Python is caught by a faulthandler watchdog
    that dumps every thread's stack and exits (a CI run must not hang).
    Memory: the tracemalloc peak of Python-level allocations (NumPy arrays included), and, for
    native allocations (polars), the process's peak resident size must not rise more than
    ``rss_bytes`` above its resident size at the start.

    Parquet files are not read under this (see :attr:`fuzz_inputs.FileCase.isolate`): pyarrow
    frees a Parquet buffer from one of its own threads after the read returned, taking the GIL
    through a new thread state whose raw allocation tracemalloc traces while this function stops
    tracing, which crashes CPython 3.11 now and then (segfault in ``_tracemalloc.c:traceback_new``).
    """
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    previous = None
    if alarm:
        def on_alarm(signum, frame):
            raise _Alarm()

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(max(60.0, 6 * seconds), exit=True)
    own_tracing = not tracemalloc.is_tracing()
    if own_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    rss_before, peak_before = _rss()
    start = time.perf_counter()
    try:
        try:
            yield
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            faulthandler.cancel_dump_traceback_later()
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            if own_tracing:
                tracemalloc.stop()
            _, peak_after = _rss()
    except _Alarm:
        raise CaseLimitExceeded(f"case ran longer than {seconds:g} s") from None
    if elapsed > seconds:
        raise CaseLimitExceeded(f"case took {elapsed:.1f} s, more than {seconds:g} s")
    if peak > traced_bytes:
        raise CaseLimitExceeded(f"case allocated {peak / 2**20:.0f} MiB (tracemalloc peak), more than "
                                f"{traced_bytes / 2**20:.0f} MiB")
    base = rss_before if rss_before is not None else peak_before
    if peak_after is not None and base is not None and peak_after > peak_before and peak_after - base > rss_bytes:
        raise CaseLimitExceeded(f"the process's peak resident size rose to {peak_after / 2**20:.0f} MiB during the "
                                f"case, {(peak_after - base) / 2**20:.0f} MiB above its start (bound "
                                f"{rss_bytes / 2**20:.0f} MiB)")


def run_case(fn: Callable[..., Any], *args: Any, repro: str = "", names: Path | None = None, **kwargs: Any):
    """``fn(*args, **kwargs)`` bounded; returns its value or the HlamatchError it raised.

    Anything else (another exception, a warning other than HlamatchWarning, a limit exceeded,
    an error message that does not name the file ``names``) fails the test, with ``repro``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with bounded():
                value = fn(*args, **kwargs)
        except CaseLimitExceeded as e:
            raise CaseLimitExceeded(f"{e}\n--- reproducer:\n{repro}") from None
        except HlamatchError as e:
            value = e
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - pyo3 panics derive from BaseException
            raise AssertionError(
                f"{type(e).__module__}.{type(e).__qualname__} (not a HlamatchError): {e}\n--- reproducer:\n{repro}"
            ) from e
    others = [w for w in caught if not issubclass(w.category, HlamatchWarning)]
    assert not others, f"warning other than HlamatchWarning: {others[0].category.__name__}: {others[0].message}\n" \
                       f"--- reproducer:\n{repro}"
    if isinstance(value, HlamatchError):
        msg = str(value)
        assert msg.strip(), f"empty error message ({type(value).__name__})\n--- reproducer:\n{repro}"
        assert "np.str_" not in msg and "np.float64" not in msg, f"NumPy repr in message: {msg}\n{repro}"
        if names is not None:
            assert str(names) in msg, f"error message does not name the file {names}: {msg!r}\n--- reproducer:\n{repro}"
        count(f"clean {type(value).__name__}")
    else:
        count("valid")
    return value


# ============================================================================ files


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


_serial = iter(range(10**9))


@contextmanager
def written(case: fi.FileCase, folder: Path) -> Iterator[Path]:
    """The case written into a fresh sub-folder (a space in its name: messages must keep it)."""
    d = folder / f"case {next(_serial)}"
    d.mkdir()
    try:
        yield case.write(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _repro(case: fi.FileCase, call: str) -> str:
    return case.repro(call) + (f"\n# mutations: {case.note}" if case.note else "")


# ============================================================================ validity


def check_table(t: HaplotypeTable, repro: str = "") -> None:
    """A table is valid: shapes and dtypes, codes in range, distinct haplotypes, allele names of
    their locus, per population finite non-negative frequencies summing to (0, 1 + slack], each
    population selectable by its own name; and the table can be described and projected."""
    where = f"\n--- reproducer:\n{repro}"
    assert isinstance(t, HaplotypeTable), where
    with warnings.catch_warnings():  # a population's warnings (rounding excess) are shown on its first use
        warnings.simplefilter("ignore", HlamatchWarning)
        t.describe()
    n, n_loci = t.codes.shape
    assert n >= 1 and n_loci >= 1, where
    assert t.codes.dtype == np.int32 and t.freqs.dtype == np.float64, where
    assert t.codes.flags.c_contiguous and t.freqs.flags.c_contiguous, where
    assert t.freqs.shape == (n, len(t.populations)) and len(t.populations) >= 1, where
    assert len(t.loci) == n_loci == len(t.alleles), where
    assert len(set(t.loci)) == n_loci and all(locus in KNOWN_LOCI for locus in t.loci), (t.loci, where)
    assert t.resolution in RESOLUTIONS, where
    for l, names in enumerate(t.alleles):
        assert list(names) == sorted(set(names)), (names, where)
        col = t.codes[:, l]
        assert col.min() >= 0 and col.max() < len(names), (f"codes out of range at locus {t.loci[l]}", where)
        for a in names:
            parsed = parse_allele(a)
            assert parsed.name == a and parsed.locus == t.loci[l], (a, t.loci[l], where)
    assert np.unique(t.codes, axis=0).shape[0] == n, ("a haplotype is listed on two rows", where)
    assert np.isfinite(t.freqs).all() and (t.freqs >= 0).all(), (t.freqs, where)
    for p, pop in enumerate(t.populations):
        assert isinstance(pop, str), where
        total = math.fsum(t.freqs[:, p])
        assert 0 < total <= 1 + SUM_SLACK, (pop, total, where)
        assert t.population_index(pop) == p, (f"population {pop!r} cannot be selected by its name "
                                              f"(populations {t.populations})", where)
    assert len(t.scaled_by) == len(t.populations), where
    assert all(0 < s <= 1 for s in t.scaled_by), (t.scaled_by, where)
    d = t.describe()
    assert json.loads(json.dumps(d, allow_nan=False)) == d, where
    t.haplotype_strings()
    for pop in t.populations:
        assert 0 <= t.unlisted_mass(pop) <= 1, where
        t.top_haplotypes(2, pop)
    if t.resolution == "2-field":
        check_table_light(t.select(None, "1-field"), where)


def check_table_light(t: HaplotypeTable, where: str) -> None:
    assert np.isfinite(t.freqs).all() and (t.freqs >= 0).all(), where
    assert np.unique(t.codes, axis=0).shape[0] == t.codes.shape[0], where
    for l, names in enumerate(t.alleles):
        assert t.codes[:, l].max() < len(names), where


def check_line(ln: Line, where: str = "") -> None:
    assert isinstance(ln, Line) and isinstance(ln.name, str), where
    assert len(ln.haplotypes) == 2, where
    h1, h2 = ln.haplotypes
    assert h1 and [l for l, _ in h1] == [l for l, _ in h2], (ln, where)
    for hap in ln.haplotypes:
        assert len({l for l, _ in hap}) == len(hap), (ln, where)
        for locus, name in hap:
            a = parse_allele(name)
            assert a.locus == locus and a.name == name, (locus, name, where)
    assert isinstance(ln.text(), str)


def check_typing(t: Typing, where: str = "", names: Path | None = None) -> None:
    assert isinstance(t, Typing) and isinstance(t.id, str) and isinstance(t.where, str), where
    if t.error is None:
        assert t.alleles, (t, where)
        for locus, pair in t.alleles.items():
            assert isinstance(pair, tuple) and len(pair) == 2, (t, where)
            for name in pair:
                a = parse_allele(name)
                assert a.locus == locus and a.name == name, (locus, name, where)
    else:
        assert t.alleles is None and isinstance(t.error, str) and t.error.strip(), (t, where)
        if names is not None:
            assert str(names) in t.error, (f"the error of a patient row does not name the file {names}", t.error, where)


# ============================================================================ allele names, lines, typings


def _parse_allele_body(text: str) -> None:
    value = run_case(parse_allele, text, repro=f"hlamatch.hla.alleles.parse_allele({text!r})")
    if isinstance(value, HlamatchError):
        return
    where = repr(text)
    assert value.locus in KNOWN_LOCI, where
    again = parse_allele(value.name)
    assert again == value, (f"normalised name {value.name!r} does not parse to itself", again, where)
    if value.name.startswith("DRBX"):  # "no DRB3/4/5 gene" has one spelling, and no fields
        assert value.name == "DRBX*NNNN" and value.fields == 0, (value, where)
    elif "*" in value.name:
        assert value.fields == value.name.count(":") + 1, where
        for res in ("2-field", "1-field"):
            reduced = parse_allele(reduce_name(value.name, res))
            assert reduced.locus == value.locus, where
    else:
        assert value.fields == 0, where


test_parse_allele, test_parse_allele_slow = twins(300, 10_000, fi.allele_texts())(_parse_allele_body)


def _parse_line_body(text: str) -> None:
    value = run_case(parse_line, text, repro=f"hlamatch.parse_line({text!r})")
    if not isinstance(value, HlamatchError):
        check_line(value, repr(text))


test_parse_line, test_parse_line_slow = twins(150, 5_000, fi.line_texts())(_parse_line_body)


def _parse_typing_body(text: str) -> None:
    # parse_typing never raises: a malformed typing comes back with .error set.
    value = run_case(parse_typing, text, repro=f"hlamatch.parse_typing({text!r})")
    assert not isinstance(value, HlamatchError), (f"parse_typing raised {value!r}", text)
    check_typing(value, repr(text))


test_parse_typing, test_parse_typing_slow = twins(150, 5_000, fi.typing_texts())(_parse_typing_body)


# ============================================================================ frequency tables: valid files


def _as_dict(t: HaplotypeTable, pop: str) -> dict[str, float]:
    p = t.population_index(pop)
    rows = t.population_rows(pop)
    return dict(zip(t.haplotype_strings(rows), (float(x) for x in t.freqs[rows, p])))


def _round_trip_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase) -> None:
    """A valid file loads, and holds exactly the table it was written from."""
    with written(case, fuzz_dir) as p:
        repro = _repro(case, "hlamatch.load_table(p)")
        t = read_case("hlamatch.io.load.load_table", case, p, repro, worker)
        assert not isinstance(t, HlamatchError), f"valid {case.kind} file rejected: {t}\n--- reproducer:\n{repro}"
        check_table(t, repro)
        spec = case.spec
        assert t.loci == spec.loci, (t.loci, spec.loci, repro)
        assert t.resolution == spec.table_resolution, (t.resolution, spec.table_resolution, repro)
        assert t.populations == spec.populations, (t.populations, spec.populations, repro)
        for pop in spec.populations:
            got, want = _as_dict(t, pop), spec.expected(pop)
            assert got.keys() == want.keys(), (pop, got, want, repro)
            for k, v in want.items():
                assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-15), (pop, k, repro)


test_valid_tables_round_trip, test_valid_tables_round_trip_slow = twins(
    40, 1_500, case=st.sampled_from(fi.TABLE_KINDS).flatmap(fi.table_files)
)(_round_trip_body)


_EQUIVALENT = [("bom", 0, 0), ("crlf", 0, 0), ("eol", 1, 0), ("eol", 0, 0)]


def _equivalent_encodings_body(fuzz_dir: Path, case: fi.FileCase, op: fi.Op) -> None:
    """A UTF-8 BOM, CRLF line ends, a missing or doubled final newline change nothing."""
    variant = fi.mutate_text_case(case, [], [op])
    with written(case, fuzz_dir) as p, written(variant, fuzz_dir) as q:
        repro = _repro(variant, "hlamatch.load_table(p)")
        t = run_case(load_table, p, repro=_repro(case, "hlamatch.load_table(p)"), names=p)
        u = run_case(load_table, q, repro=repro, names=q)
        assert not isinstance(t, HlamatchError), t
        assert not isinstance(u, HlamatchError), f"{op[0]} variant of a valid file rejected: {u}\n--- reproducer:\n{repro}"
        for pop in t.populations:
            assert _as_dict(u, pop) == _as_dict(t, pop), (op, repro)


test_equivalent_encodings, test_equivalent_encodings_slow = twins(
    30, 800,
    case=st.sampled_from([k for k in fi.TABLE_KINDS if k != "wide_parquet"]).flatmap(fi.table_files),
    op=st.sampled_from(_EQUIVALENT),
)(_equivalent_encodings_body)


# ============================================================================ frequency tables: mutated files


_NAMES_THE_FILE = object()


def read_case(function: str, case: fi.FileCase, p: Path, repro: str, worker: CliWorker | None,
              names: Path | None | object = _NAMES_THE_FILE, **kwargs: Any):
    """``function(p, **kwargs)``: in process (time and memory bounds), or, for a Parquet file, in
    the worker process (time and address-space bounds; see :attr:`fuzz_inputs.FileCase.isolate`).
    An error must name the file ``p`` (or ``names``; None: no such check)."""
    names = p if names is _NAMES_THE_FILE else names
    if case.isolate and worker is not None:
        return worker.call(function, p, repro=repro, names=names, **kwargs)
    module, name = function.rsplit(".", 1)
    fn = getattr(importlib.import_module(module), name)
    return run_case(fn, p, repro=repro, names=names, **kwargs)


def _table_outcome(case: fi.FileCase, folder: Path, format: str = "auto", worker: CliWorker | None = None) -> None:
    with written(case, folder) as p:
        call = "hlamatch.load_table(p)" if format == "auto" else f"hlamatch.load_table(p, format={format!r})"
        repro = _repro(case, call)
        t = read_case("hlamatch.io.load.load_table", case, p, repro, worker, format=format)
        if not isinstance(t, HlamatchError):
            check_table(t, repro)


@pytest.mark.parametrize("kind", fi.TABLE_KINDS)
@settings(max_examples=25, **COMMON)
@given(data=st.data())
def test_tables_structured_mutations(fuzz_dir, worker, kind, data):
    _table_outcome(data.draw(fi.mutated_table_files(kind, "structured"), label="case"), fuzz_dir, worker=worker)


@pytest.mark.slow
@pytest.mark.parametrize("kind", fi.TABLE_KINDS)
@settings(max_examples=600, **COMMON)
@given(data=st.data())
def test_tables_structured_mutations_slow(fuzz_dir, worker, kind, data):
    _table_outcome(data.draw(fi.mutated_table_files(kind, "structured"), label="case"), fuzz_dir, worker=worker)


@pytest.mark.parametrize("kind", fi.TABLE_KINDS)
@settings(max_examples=15, **COMMON)
@given(data=st.data())
def test_tables_byte_mutations(fuzz_dir, worker, kind, data):
    _table_outcome(data.draw(fi.mutated_table_files(kind, "bytes"), label="case"), fuzz_dir, worker=worker)


@pytest.mark.slow
@pytest.mark.parametrize("kind", fi.TABLE_KINDS)
@settings(max_examples=400, **COMMON)
@given(data=st.data())
def test_tables_byte_mutations_slow(fuzz_dir, worker, kind, data):
    _table_outcome(data.draw(fi.mutated_table_files(kind, "bytes"), label="case"), fuzz_dir, worker=worker)


def _explicit_format_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, format: str, mutate: bool, data) -> None:
    """Any file read with an explicit (often wrong) format: clean error or valid table."""
    if mutate:
        case = data.draw(fi.mutated(case, data.draw(st.sampled_from(["structured", "bytes"]))), label="mutated")
    _table_outcome(case, fuzz_dir, format=format, worker=worker)


test_tables_explicit_format, test_tables_explicit_format_slow = twins(
    40, 1_000,
    case=st.sampled_from(fi.TABLE_KINDS).flatmap(fi.table_files),
    format=st.sampled_from(TABLE_FORMATS),
    mutate=st.booleans(),
    data=st.data(),
)(_explicit_format_body)


def _options_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, population, loci, resolution,
                  sum_tolerance) -> None:
    """load_table's options (population, loci, resolution, sum tolerance) on a valid file."""
    kwargs = dict(population=population, loci=loci, resolution=resolution, sum_tolerance=sum_tolerance)
    with written(case, fuzz_dir) as p:
        repro = _repro(case, f"hlamatch.load_table(p, **{kwargs!r})")
        t = read_case("hlamatch.io.load.load_table", case, p, repro, worker, names=None, **kwargs)
        if not isinstance(t, HlamatchError):
            check_table(t, repro)
            if loci is not None:
                assert len(t.loci) == len(loci), (t.loci, loci, repro)
            if population is not None and population.strip():
                # The population asked for is in the table (NMDP 2007 and PyPop files keep only it,
                # single-population files take it as their name).
                assert run_case(t.population_index, population, repro=repro) in range(len(t.populations)), (
                    f"load_table(population={population!r}) gave a table without that population", t.populations, repro)


test_load_table_options, test_load_table_options_slow = twins(
    40, 1_000,
    case=st.sampled_from(fi.TABLE_KINDS).flatmap(fi.table_files),
    population=st.none() | st.sampled_from(["EUR", "eur", " EUR ", "", " ", "ZZZ", "\u00e9", "A", "Freq"]),
    loci=st.none() | st.lists(st.sampled_from(KNOWN_LOCI + ("drb1", "HLA-A", "X", "", " ", "DRB3/4/5", "a")),
                              max_size=4),
    resolution=st.sampled_from([None, None, "2-field", "1-field", "antigen", "3-field", ""]),
    sum_tolerance=st.sampled_from([0.01, 0.01, 0.0, -0.0, 1e-12, 1.0, 1e308, math.inf, math.nan, -1.0]),
)(_options_body)


# ---------------------------------------------------------------------------- real tables as seeds


@lru_cache(maxsize=None)
def _head_lines(relative: str, n: int, gz: bool = False) -> str:
    p = shared_path(relative)
    raw = gzip.open(p, "rt", encoding="utf-8-sig") if gz else open(p, encoding="utf-8-sig")
    with raw as f:
        return "".join(line for _, line in zip(range(n), f))


@lru_cache(maxsize=None)
def real_seed(name: str) -> fi.FileCase:
    """A small case built from the head of a real table (read in place; skips when absent)."""
    if name == "nmdp":
        text = _head_lines("raw/HLAMatchIt/freqs_9loc_2020_trim/freqs.JAPI.csv", 25)
        g = fi.grid_from_text(text, header=True, freq_cols=(2,), hap_cols=(0,))
        return fi.FileCase("freqs.JAPI.csv", g.render().encode(), "nmdp", grid=g)
    if name == "grimm_gz":
        text = _head_lines("raw/py-graph-imputation/CAU.freqs.gz", 25, gz=True)
        g = fi.grid_from_text(text, header=False, freq_cols=(2,), hap_cols=(0,))
        return fi.FileCase("CAU.freqs.gz", gzip.compress(g.render().encode(), mtime=0), "grimm", grid=g,
                           container="gzip")
    if name == "nmdp2007":
        text = _head_lines("raw/ImmunogeneticDataTools/std/NMDP_2007_FiveLocus_Freqs.csv", 30)
        g = fi.grid_from_text(text, header=False, freq_cols=(2,), hap_cols=(1,))
        return fi.FileCase("NMDP_2007_FiveLocus_Freqs.csv", g.render().encode(), "nmdp2007", grid=g)
    if name == "hfx":
        with zipfile.ZipFile(shared_path("raw/phycus/HEGL_AFA.hfx")) as z:
            meta = z.read("metadata.json").decode("utf-8")
            member = next(n for n in z.namelist() if n.lower().endswith(".csv"))
            text = "".join(z.read(member).decode("utf-8-sig").splitlines(keepends=True)[:25])
        g = fi.grid_from_text(text, header=True, freq_cols=(2,), hap_cols=(0,))
        case = fi.FileCase("HEGL_AFA.hfx", b"", "hfx", grid=g, container="zip", meta=meta, member=member)
        return replace(case, data=fi._pack(case, g.render()))
    if name == "parquet":
        import polars as pl

        full = pl.read_parquet(shared_path("benchmark/us_nmdp2011_antigen_5locus.parquet"))
        pops = [c for c in full.columns if full[c].dtype.is_float()]
        # The 4 most frequent haplotypes of each population: every population keeps positive mass.
        frame = pl.concat([full.sort(c, descending=True).head(4) for c in pops]).unique(maintain_order=True)
        return fi.FileCase("us_antigen.parquet", fi.frame_bytes(frame), "wide", container="parquet", frame=frame)
    raise ValueError(name)


def real_whole_file(name: str) -> fi.FileCase:
    """A whole (small) real file, for byte-level mutations of its compressed bytes."""
    rel = {"grimm_gz": "raw/py-graph-imputation/CAU.freqs.gz", "hfx": "raw/phycus/HEGL_AFA.hfx"}[name]
    p = shared_path(rel)
    return fi.FileCase(p.name, p.read_bytes(), name)


REAL_SEEDS = ("nmdp", "grimm_gz", "nmdp2007", "hfx", "parquet")


@pytest.mark.real_data
@pytest.mark.parametrize("name", REAL_SEEDS)
def test_real_seed_heads_are_valid_tables(fuzz_dir, worker, name):
    case = real_seed(name)
    with written(case, fuzz_dir) as p:
        t = read_case("hlamatch.io.load.load_table", case, p, f"# head of the real {name} table", worker)
        assert not isinstance(t, HlamatchError), t
        check_table(t, name)


def _real_seed_body(fuzz_dir: Path, worker: CliWorker, name: str, data) -> None:
    level = data.draw(st.sampled_from(["structured", "bytes", "whole"]), label="level")
    if level == "whole" and name in ("grimm_gz", "hfx"):
        case = fi.mutate_case_bytes(real_whole_file(name), data.draw(fi.mutations(list(fi.BYTE_OPS)), label="ops"))
    else:
        case = data.draw(fi.mutated(real_seed(name), "bytes" if level == "whole" else level), label="case")
    _table_outcome(case, fuzz_dir, worker=worker)


@pytest.mark.real_data
@pytest.mark.parametrize("name", REAL_SEEDS)
@settings(max_examples=12, **COMMON)
@given(data=st.data())
def test_real_seed_mutations(fuzz_dir, worker, name, data):
    _real_seed_body(fuzz_dir, worker, name, data)


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("name", REAL_SEEDS)
@settings(max_examples=400, **COMMON)
@given(data=st.data())
def test_real_seed_mutations_slow(fuzz_dir, worker, name, data):
    _real_seed_body(fuzz_dir, worker, name, data)


# ============================================================================ lines and patients files


def _lines_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, level: str, data) -> None:
    if level != "valid":
        case = data.draw(fi.mutated(case, level), label="mutated")
    with written(case, fuzz_dir) as p:
        repro = _repro(case, "hlamatch.read_lines_file(p)")
        value = read_case("hlamatch.io.lines.read_lines_file", case, p, repro, worker)
        if level == "valid":
            assert not isinstance(value, HlamatchError), f"valid lines file rejected: {value}\n--- reproducer:\n{repro}"
        if not isinstance(value, HlamatchError):
            assert isinstance(value, list) and value, repro
            for ln in value:
                check_line(ln, repro)


test_lines_files, test_lines_files_slow = twins(
    45, 1_500, case=fi.lines_files(), level=st.sampled_from(["valid", "structured", "structured", "bytes"]),
    data=st.data(),
)(_lines_body)


def _patients_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, level: str, data) -> None:
    if level != "valid":
        case = data.draw(fi.mutated(case, level), label="mutated")
    with written(case, fuzz_dir) as p:
        repro = _repro(case, "hlamatch.read_patients(p)")
        value = read_case("hlamatch.io.patients.read_patients", case, p, repro, worker)
        if level == "valid":
            assert not isinstance(value, HlamatchError), f"valid patients file rejected: {value}\n--- reproducer:\n{repro}"
            assert all(t.error is None for t in value), ([t.error for t in value], repro)
        if not isinstance(value, HlamatchError):
            assert isinstance(value, list) and value, repro
            for t in value:
                check_typing(t, repro, names=p)


test_patients_files, test_patients_files_slow = twins(
    45, 1_500, case=fi.patients_files(), level=st.sampled_from(["valid", "structured", "structured", "bytes"]),
    data=st.data(),
)(_patients_body)


# ============================================================================ the CLI, end to end

_WORKER = r"""
import json, os, sys, traceback
out = os.fdopen(os.dup(1), "w", encoding="utf-8")
from click.testing import CliRunner
import hlamatch
from hlamatch.cli import cli
hlamatch.warmup()
try:
    runner = CliRunner(mix_stderr=False)
except TypeError:  # click >= 8.2 keeps the streams apart by default
    runner = CliRunner()
out.write("ready\n"); out.flush()
for request in sys.stdin:
    request = json.loads(request)
    if isinstance(request, dict):  # a library call: {"call": "hlamatch.load_table", "args": [...], "kwargs": {...}}
        import base64, importlib, pickle, warnings
        from hlamatch.errors import HlamatchError
        module, name = request["call"].rsplit(".", 1)
        fn = getattr(importlib.import_module(module), name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = ("value", fn(*request["args"], **request["kwargs"]))
            except HlamatchError as e:
                res = ("error", e)
            except BaseException as e:
                res = ("bug", "".join(traceback.format_exception(e)))
        res += ([f"{w.category.__name__}: {w.message}" for w in caught
                 if not issubclass(w.category, hlamatch.HlamatchWarning)],)
        try:
            payload = pickle.dumps(res)
        except Exception as e:
            payload = pickle.dumps(("bug", f"result cannot be pickled: {e!r}", []))
        out.write(json.dumps({"pickle": base64.b64encode(payload).decode()}) + "\n")
        out.flush()
        continue
    r = runner.invoke(cli, request, catch_exceptions=True)
    exc = None
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        exc = "".join(traceback.format_exception(r.exception))
    out.write(json.dumps({"exit_code": r.exit_code, "stdout": r.stdout, "stderr": r.stderr, "exception": exc}) + "\n")
    out.flush()
"""


def _limit_address_space() -> None:  # runs in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CLI_ADDRESS_SPACE, CLI_ADDRESS_SPACE))


class CliWorker:
    """A Python process running CLI invocations (click's CliRunner) under an address-space cap.

    One process serves many cases (the import and kernel warm-up are paid once); a case that
    runs past the time limit kills it, and a case that kills it (memory cap) fails; the next case
    starts a fresh one.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        self.log = folder / "worker-stderr.txt"

    def _start(self) -> None:
        env = {**os.environ, "POLARS_MAX_THREADS": "2", "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        limit = _limit_address_space if os.name == "posix" else None
        self.lines = queue.Queue()
        self._log_file = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file,
            text=True, encoding="utf-8", preexec_fn=limit, env=env, cwd=str(self.folder),
        )
        self._reader = threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True)
        self._reader.start()
        first = self._next(300)
        if first != "ready":
            self.close()
            pytest.fail(f"the CLI worker did not start under a {CLI_ADDRESS_SPACE / 2**30:g} GiB address-space "
                        f"limit: {self._log_tail()}")

    @staticmethod
    def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put("")  # EOF

    def _next(self, timeout: float) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def call(self, function: str, *args: Any, repro: str = "", names: Path | None = None, **kwargs: Any):
        """``function(*args, **kwargs)`` (e.g. ``"hlamatch.load_table"``) run in the worker, checked like
        :func:`run_case`: returns the value (unpickled) or the HlamatchError it raised."""
        import base64
        import pickle

        res = self.invoke({"call": function, "args": [str(a) if isinstance(a, Path) else a for a in args],
                           "kwargs": kwargs}, repro)
        kind, value, others = pickle.loads(base64.b64decode(res["pickle"]))
        if kind == "bug":
            raise AssertionError(f"not a HlamatchError:\n{value}\n--- reproducer:\n{repro}")
        assert not others, f"warning other than HlamatchWarning: {others[0]}\n--- reproducer:\n{repro}"
        if kind == "error":
            msg = str(value)
            assert msg.strip(), f"empty error message ({type(value).__name__})\n--- reproducer:\n{repro}"
            if names is not None:
                assert str(names) in msg, f"error message does not name the file {names}: {msg!r}\n--- reproducer:\n{repro}"
            count(f"clean {type(value).__name__}")
        else:
            count("valid")
        return value

    def invoke(self, args: list[str] | dict, repro: str) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        line = self._next(CASE_SECONDS)
        if line is None:
            self.close()
            raise CaseLimitExceeded(f"case ran longer than {CASE_SECONDS:g} s in the worker: {args}\n--- reproducer:\n{repro}")
        if line == "":
            rc = self.proc.wait()
            self.close()
            raise AssertionError(f"the worker process died (exit status {rc}; address space capped at "
                                 f"{CLI_ADDRESS_SPACE / 2**30:g} GiB): {args}\n{self._log_tail()}\n"
                                 f"--- reproducer:\n{repro}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
            self._log_file.close()


@pytest.fixture(scope="module")
def worker(fuzz_dir):
    worker = CliWorker(fuzz_dir)
    yield worker
    worker.close()


def _cli_call(args: list[str], p: Path) -> str:
    shown = ", ".join("str(p)" if a == str(p) else repr(a) for a in args)
    return ("from click.testing import CliRunner; from hlamatch.cli import cli\n"
            f"r = CliRunner().invoke(cli, [{shown}]); print(r.exit_code, r.output)")


def _reject_constant(name: str):
    raise ValueError(f"{name} in JSON output")


def check_cli(res: dict, args: list[str], repro: str, *, single_error: bool = True) -> list[str]:
    """Exit status 0 or 1 (2: usage), no traceback, standard error made of ``Warning:``/``Error:``
    lines only, and on failure ending with an ``Error:`` line (exactly one for a file-level error).
    Returns the ``Error:`` lines."""
    where = f"hlamatch {' '.join(args)}\n--- reproducer:\n{repro}"
    assert res["exception"] is None, f"uncaught exception in {where}\n{res['exception']}"
    out = res["stdout"] + res["stderr"]
    assert "Traceback" not in out, f"traceback in the output of {where}\n{out}"
    code = res["exit_code"]
    assert code in (0, 1, 2), (code, where)
    err = res["stderr"].splitlines()
    errors = [line for line in err if line.startswith("Error: ")]
    if code == 2:
        assert errors, (res, where)
        return errors
    stray = [line for line in err if not line.startswith(("Error: ", "Warning: "))]
    assert not stray, (f"standard error holds lines that are neither 'Error: ' nor 'Warning: ': {stray[:3]}", where)
    if code == 0:
        assert not errors, (errors, where)
        count("CLI exit 0")
    else:
        assert errors and err[-1].startswith("Error: "), (res["stderr"], where)
        if single_error:
            assert len(errors) == 1, (f"{len(errors)} 'Error: ' lines for one failure", errors, where)
        count("CLI exit 1")
    return errors


def _cli_table_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, command: str) -> None:
    with written(case, fuzz_dir) as p:
        if command == "tables":
            args = ["tables", str(p), "--format", "json"]
        else:
            args = ["coverage", "-t", str(p), "--top", "2", "--format", "json", "--quiet"]
        repro = _repro(case, _cli_call(args, p))
        res = worker.invoke(args, repro)
        check_cli(res, args, repro)
        if res["exit_code"] != 0:
            assert res["stdout"] == "", (f"output on standard output despite the error", res, repro)
            return
        data = json.loads(res["stdout"], parse_constant=_reject_constant)
        if command == "tables":
            for pop in data["populations"]:
                assert 0 <= pop["unlisted_mass"] <= 1 and 0 < pop["listed_mass"] <= 1 + SUM_SLACK, (pop, repro)
        else:
            assert data, repro
            for row in data:
                lo, up = row["lower"], row["upper"]
                assert 0 <= lo <= up + 1e-12 <= 1 + 1e-9, (row, repro)


test_cli_tables_and_coverage, test_cli_tables_and_coverage_slow = twins(
    24, 600,
    case=st.sampled_from(fi.TABLE_KINDS).flatmap(
        lambda k: st.sampled_from(["valid", "structured", "bytes"]).flatmap(
            lambda level: fi.table_files(k) if level == "valid" else fi.mutated_table_files(k, level))),
    command=st.sampled_from(["tables", "coverage"]),
)(_cli_table_body)


CLI_LINE = "A*24:02~B*52:01~DRB1*15:02"


def _cli_match_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, level: str, data) -> None:
    if level != "valid":
        case = data.draw(fi.mutated(case, level), label="mutated")
    with written(case, fuzz_dir) as p:
        args = ["match", "--patients-file", str(p), "--line", CLI_LINE, "--format", "json"]
        repro = _repro(case, _cli_call(args, p))
        res = worker.invoke(args, repro)
        errors = check_cli(res, args, repro, single_error=False)
        if res["stdout"].strip():
            rows = json.loads(res["stdout"])
            bad = [r for r in rows if r["status"] == "error"]
            assert len(errors) == len(bad), (f"{len(bad)} patients with errors but {len(errors)} 'Error: ' lines",
                                             errors, repro)
            assert (res["exit_code"] == 1) == bool(bad), (res["exit_code"], repro)
        else:
            assert res["exit_code"] == 1 and len(errors) == 1, (res, repro)


test_cli_match, test_cli_match_slow = twins(
    16, 400, case=fi.patients_files(), level=st.sampled_from(["valid", "structured", "bytes"]), data=st.data(),
)(_cli_match_body)


def _cli_lines_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, level: str, data) -> None:
    """``hlamatch coverage --lines-file FILE`` on the bundled default table."""
    if level != "valid":
        case = data.draw(fi.mutated(case, level), label="mutated")
    with written(case, fuzz_dir) as p:
        args = ["coverage", "--lines-file", str(p), "--format", "json", "--quiet"]
        repro = _repro(case, _cli_call(args, p))
        res = worker.invoke(args, repro)
        check_cli(res, args, repro)
        if res["exit_code"] == 0:
            for row in json.loads(res["stdout"], parse_constant=_reject_constant):
                assert 0 <= row["lower"] <= row["upper"] + 1e-12 <= 1 + 1e-9, (row, repro)


test_cli_lines_file, test_cli_lines_file_slow = twins(
    12, 300, case=fi.lines_files(), level=st.sampled_from(["valid", "structured", "bytes"]), data=st.data(),
)(_cli_lines_body)
