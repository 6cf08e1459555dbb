"""The fuzz harness shared by the tests of tests/fuzz: time and memory bounds per case, the count of
cases by outcome (printed at the end of the session), many-example twins, and the CLI worker process."""

from __future__ import annotations

import faulthandler
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hlamatch.errors import HlamatchError, HlamatchWarning

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
def bounded(
    seconds: float = CASE_SECONDS, traced_bytes: int = CASE_TRACED_BYTES, rss_bytes: int = CASE_RSS_BYTES
) -> Iterator[None]:
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
        raise CaseLimitExceeded(
            f"case allocated {peak / 2**20:.0f} MiB (tracemalloc peak), more than {traced_bytes / 2**20:.0f} MiB"
        )
    base = rss_before if rss_before is not None else peak_before
    if peak_after is not None and base is not None and peak_after > peak_before and peak_after - base > rss_bytes:
        raise CaseLimitExceeded(
            f"the process's peak resident size rose to {peak_after / 2**20:.0f} MiB during the "
            f"case, {(peak_after - base) / 2**20:.0f} MiB above its start (bound "
            f"{rss_bytes / 2**20:.0f} MiB)"
        )


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
    assert not others, (
        f"warning other than HlamatchWarning: {others[0].category.__name__}: {others[0].message}\n"
        f"--- reproducer:\n{repro}"
    )
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
        env = {
            **os.environ,
            "POLARS_MAX_THREADS": "2",
            "NUMBA_NUM_THREADS": "2",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        limit = _limit_address_space if os.name == "posix" else None
        self.lines = queue.Queue()
        self._log_file = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
            encoding="utf-8",
            preexec_fn=limit,
            env=env,
            cwd=str(self.folder),
        )
        self._reader = threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True)
        self._reader.start()
        first = self._next(300)
        if first != "ready":
            self.close()
            pytest.fail(
                f"the CLI worker did not start under a {CLI_ADDRESS_SPACE / 2**30:g} GiB address-space "
                f"limit: {self._log_tail()}"
            )

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

        res = self.invoke(
            {"call": function, "args": [str(a) if isinstance(a, Path) else a for a in args], "kwargs": kwargs}, repro
        )
        kind, value, others = pickle.loads(base64.b64decode(res["pickle"]))
        if kind == "bug":
            raise AssertionError(f"not a HlamatchError:\n{value}\n--- reproducer:\n{repro}")
        assert not others, f"warning other than HlamatchWarning: {others[0]}\n--- reproducer:\n{repro}"
        if kind == "error":
            msg = str(value)
            assert msg.strip(), f"empty error message ({type(value).__name__})\n--- reproducer:\n{repro}"
            if names is not None:
                assert str(names) in msg, (
                    f"error message does not name the file {names}: {msg!r}\n--- reproducer:\n{repro}"
                )
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
            raise CaseLimitExceeded(
                f"case ran longer than {CASE_SECONDS:g} s in the worker: {args}\n--- reproducer:\n{repro}"
            )
        if line == "":
            rc = self.proc.wait()
            self.close()
            raise AssertionError(
                f"the worker process died (exit status {rc}; address space capped at "
                f"{CLI_ADDRESS_SPACE / 2**30:g} GiB): {args}\n{self._log_tail()}\n"
                f"--- reproducer:\n{repro}"
            )
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
