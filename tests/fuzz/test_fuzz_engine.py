"""Fault cases of the engine: what lies outside hlamatch (a scheduler address, the Dask
configuration, numba's environment variables, a worker that dies) fails as one clean
HlamatchError (one ``Error:`` line from the CLI), never as a traceback or a hang.

* A port where something other than a Dask scheduler listens (an HTTP server, a silent listener,
  one that hangs up, one that sends garbage): :class:`SchedulerError` within the engine's
  deadline (``SCHEDULER_TIMEOUT``, 10 s; Dask's connect timeout when shorter).
* Bad Dask timeout settings (``distributed.comm.timeouts.*``), in the API and in the CLI (by
  the ``DASK_...`` variable).
* A Dask worker killed while it runs a range: the range is submitted again and the result is
  the same; a range that kills every worker it runs on: one :class:`SchedulerError` after
  ``RANGE_RETRIES`` retries.
* ``NUMBA_NUM_THREADS`` / ``NUMBA_THREADING_LAYER`` values numba refuses: the CLI, in a fresh
  process, prints one ``Error:`` line naming the variable and exits 1, within 10 s.

Each case is bounded in time and memory (``fuzzing.bounded``) and counted by outcome.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from conftest import REPO
from fuzzing import bounded, count, run_case

from hlamatch.errors import HlamatchError

HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason='Dask is not installed (pip install "hlamatch[distributed]")')
LINE = ["A*24:02~B*52:01~DRB1*15:02"]


def clean_error(fn: Callable[..., Any], *args: Any, seconds: float, **kwargs: Any) -> HlamatchError:
    """``fn(*args, **kwargs)`` under ``bounded(seconds)``: it must raise a HlamatchError (counted)."""
    try:
        with bounded(seconds=seconds):
            fn(*args, **kwargs)
    except HlamatchError as e:
        assert str(e).strip() and "\n" not in str(e), repr(str(e))
        count(f"clean {type(e).__name__}")
        return e
    raise AssertionError(f"{fn.__name__}{args} raised no HlamatchError")


# ============================================================================ listeners that are not Dask


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # no request log on stderr
        pass


def _silent(conn: socket.socket) -> None:  # accepts, reads, never answers
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def _hang_up(conn: socket.socket) -> None:
    conn.close()


def _garbage(conn: socket.socket) -> None:
    try:
        conn.sendall(os.urandom(64) + b"\xff" * 64)
        time.sleep(5)
    except OSError:
        pass
    finally:
        conn.close()


@contextmanager
def listener(kind: str) -> Iterator[str]:
    """A server on 127.0.0.1 (a free port) that is not a Dask scheduler: its ``tcp://`` address."""
    if kind == "http":
        server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    else:
        handle = {"silent": _silent, "hang-up": _hang_up, "garbage": _garbage}[kind]

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                handle(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@needs_dask
def test_http_server_at_the_scheduler_address():
    """The engine's own deadline (10 s) holds: Dask alone would wait for the handshake forever."""
    import distributed  # noqa: F401  (imported before the clock starts)

    from hlamatch import bundled_table, coverage
    from hlamatch.engine.dask import SCHEDULER_TIMEOUT

    table = bundled_table("japanese")
    coverage(table, LINE)  # the imports of a first run, before the clock starts
    with listener("http") as address:
        start = time.perf_counter()
        e = clean_error(coverage, table, LINE, scheduler=address, seconds=SCHEDULER_TIMEOUT + 5)
        took = time.perf_counter() - start
    assert type(e).__name__ == "SchedulerError" and str(e).startswith(f"cannot reach the Dask scheduler at {address}")
    assert took < SCHEDULER_TIMEOUT + 5, took


@needs_dask
@pytest.mark.parametrize("kind", ["silent", "hang-up", "garbage", "http"])
def test_other_listeners_with_a_short_connect_timeout(kind):
    """Dask's connect timeout, when shorter than the engine's deadline, bounds the wait."""
    import dask
    import distributed  # noqa: F401  (its defaults loaded before dask.config.set, which restores them on exit)

    from hlamatch import coverage

    with listener(kind) as address, dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        e = clean_error(coverage, "japanese", LINE, scheduler=address, seconds=8)
    assert type(e).__name__ == "SchedulerError" and address in str(e)


# ============================================================================ Dask settings


BAD_DURATIONS = ["abc", "-1s", "10 parsecs", "", "1e400s", [1]]


@needs_dask
@pytest.mark.parametrize("key", ["distributed.comm.timeouts.connect", "distributed.comm.timeouts.tcp"])
def test_bad_dask_timeout_settings(key):
    import dask
    import distributed  # noqa: F401

    from hlamatch import coverage

    for value in BAD_DURATIONS:
        with dask.config.set({key: value}):
            e = clean_error(coverage, "japanese", LINE, engine="dask", seconds=5)
        assert type(e).__name__ == "SchedulerError", e
        assert key in str(e) and "duration" in str(e), str(e)


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), **env}
    for name in ("NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER"):
        if name not in env:
            full.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "hlamatch", *args], env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _one_error_line(proc: subprocess.Popen, names: str, seconds: float = 10.0) -> str:
    """The process ends within ``seconds`` (measured from now), exit status 1, one ``Error:`` line naming ``names``."""
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"the CLI ran longer than {seconds:g} s ({names})") from None
    lines = [x for x in (out + err).splitlines() if x.strip()]
    assert proc.returncode == 1, (proc.returncode, out, err)
    assert len(lines) == 1 and lines[0].startswith("Error: ") and names in lines[0], (out, err)
    assert "Traceback" not in err
    count("clean Error: line")
    return lines[0]


@needs_dask
def test_bad_dask_timeout_variable_in_the_cli():
    proc = _cli({"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "abc"}, "coverage", "--top", "2", "--engine", "dask")
    _one_error_line(proc, "distributed.comm.timeouts.connect", seconds=20)


# ============================================================================ numba's variables


def _tbb_loads() -> bool:
    return importlib.util.find_spec("tbb") is not None


NUMBA_CASES = [("NUMBA_NUM_THREADS", v) for v in ("0", "-3", "abc", "")] + [
    ("NUMBA_THREADING_LAYER", v) for v in ("bogus", "OMP")
]


def test_bad_numba_variables_in_the_cli():
    """One process per case, two side by side: each within 10 s of its start."""
    cases = list(NUMBA_CASES)
    if not _tbb_loads():
        cases.append(("NUMBA_THREADING_LAYER", "tbb"))  # named but not installed: cannot be loaded
    for batch in (cases[i : i + 2] for i in range(0, len(cases), 2)):
        procs = [
            (name, value, _cli({name: value}, "coverage", "--top", "2", "--threads", "1")) for name, value in batch
        ]
        start = time.monotonic()
        for name, value, proc in procs:
            line = _one_error_line(proc, name, seconds=max(0.5, 10.0 - (time.monotonic() - start)))
            assert repr(value) in line, line


def test_bad_numba_variables_in_the_api():
    """The same check in a library call (a fresh process: numba reads its variables once)."""
    code = (
        "from hlamatch.compute.dispatch import kernels_only\n"
        "from hlamatch import coverage\n"
        "from hlamatch.errors import OptionError\n"
        "try:\n"
        "    with kernels_only():\n"
        "        coverage('japanese', ['A*24:02~B*52:01~DRB1*15:02'])\n"
        "except OptionError as e:\n"
        "    print('OptionError', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env={**env, "NUMBA_NUM_THREADS": "0"}, capture_output=True, text=True, timeout=30
    )
    assert proc.stdout.startswith("OptionError the environment variable NUMBA_NUM_THREADS is '0'"), proc
    count("clean OptionError")


# ============================================================================ workers that die

# A kernel whose module no worker can import: cloudpickle sends it by value.
_KERNELS: dict[str, Any] = {"__name__": "hlamatch_fuzz_engine_kernels"}
exec(
    "def die_first(deaths, folder, x, start, stop):\n"
    "    import os\n"
    "    if len(os.listdir(folder)) < deaths:  # one file per death so far\n"
    "        open(os.path.join(folder, 'death-%d' % os.getpid()), 'w').close()\n"
    "        os._exit(1)\n"
    "    return x[start:stop] * 2\n"
    "def slow(x, start, stop):\n"
    "    import time\n"
    "    time.sleep(3)\n"
    "    return x[start:stop]\n",
    _KERNELS,
)


@pytest.fixture(scope="module")
def client():
    """The engine's local Dask cluster (two worker processes, restarted by their nannies when they die)."""
    if not HAVE_DASK:
        pytest.skip("Dask is not installed")
    import dask

    from hlamatch.engine import dask as engine

    with dask.config.set({"scheduler-address": None}):
        client = engine._dask_client(None)
    yield client
    engine.close_clusters()


@pytest.fixture
def strict_scheduler(client):
    """The scheduler gives a task up on its first worker death (Dask's default: after 3), so that
    the engine's own retries run."""
    scheduler = client.cluster.scheduler
    previous = scheduler.allowed_failures
    scheduler.allowed_failures = 0
    yield client
    scheduler.allowed_failures = previous
    client.wait_for_workers(2, timeout=30)  # the nannies restart the killed workers


@needs_dask
@pytest.mark.parametrize("deaths", [1, 2])
def test_worker_killed_mid_run_is_retried(strict_scheduler, tmp_path, deaths):
    from hlamatch.engine.dask import RANGE_RETRIES, _run_dask

    x = np.arange(40, dtype=np.float64)
    ranges = [(0, 40)]
    assert deaths <= RANGE_RETRIES
    parts = run_case(
        lambda: _run_dask(strict_scheduler, _KERNELS["die_first"], [deaths, str(tmp_path), x], ranges, None, "test"),
        repro=f"die_first(deaths={deaths})",
    )
    assert not isinstance(parts, HlamatchError), parts
    assert len(os.listdir(tmp_path)) == deaths
    np.testing.assert_array_equal(parts[0], x * 2)


@needs_dask
def test_range_that_always_kills_its_worker(strict_scheduler, tmp_path):
    from hlamatch.engine.dask import RANGE_RETRIES, _run_dask
    from hlamatch.engine.setting import SchedulerError

    x = np.arange(8, dtype=np.float64)
    e = clean_error(
        _run_dask, strict_scheduler, _KERNELS["die_first"], [99, str(tmp_path), x], [(0, 8)], None, "test", seconds=45
    )
    assert isinstance(e, SchedulerError)
    assert "the range 0..8 was lost with its worker" in str(e) and f"{RANGE_RETRIES + 1} times" in str(e), str(e)
    assert len(os.listdir(tmp_path)) == RANGE_RETRIES + 1


@needs_dask
def test_worker_killed_during_a_coverage_run(strict_scheduler):
    """A real run (coverage, four ranges): one worker is killed when the first range is done; the
    figures are those of the same split in this process, bit for bit."""
    from hlamatch import bundled_table, coverage, top_lines
    from hlamatch.engine.setting import use_engine

    table = bundled_table("japanese")
    lines = top_lines(table, 20)
    with use_engine("local", min_ranges=4):
        local = coverage(table, lines, max_mismatches=1).to_dicts()
    pids = strict_scheduler.run(os.getpid)
    killed = []

    def kill_one(label: str, done: float) -> None:
        if not killed:  # SIGKILL: the worker ends at once, whatever it runs
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

    with use_engine("dask", min_ranges=4):
        dask = run_case(
            lambda: coverage(table, lines, max_mismatches=1, progress=kill_one).to_dicts(),
            repro="coverage on dask, a worker killed after the first range",
        )
    assert killed and dask == local


@needs_dask
def test_scheduler_lost_mid_run():
    """The scheduler of a run goes away while its ranges run: one SchedulerError, soon."""
    import dask
    import distributed

    from hlamatch.engine import dask as engine

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0")
    address = cluster.scheduler_address
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):
            client = engine._dask_client(address)
            timer = threading.Timer(0.5, cluster.close)
            timer.start()
            e = clean_error(
                engine._run_dask,
                client,
                _KERNELS["slow"],
                [np.arange(10.0)],
                [(0, 5), (5, 10)],
                None,
                "test",
                seconds=20,
            )
            timer.join()
        assert type(e).__name__ == "SchedulerError" and "scheduler" in str(e), str(e)
    finally:
        engine._close(address)
        cluster.close()
