"""The Dask engine (extra ``hlamatch[distributed]``): the engine's ranges as tasks on a cluster.

The cluster is the engine's own local one (two worker processes), started once for this module
and closed at its end.  Runs are forced into several ranges (``min_ranges``) so that the ranges
really are spread over the workers; every figure must equal the single-process path's.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hlamatch import bundled_table, coverage, rank_candidates, top_lines
from hlamatch.cli import cli
from hlamatch.engine.dask import close_clusters
from hlamatch.engine.ranges import fold_ranges
from hlamatch.engine.setting import ENGINES, SchedulerError, current_engine, set_engine, use_engine
from hlamatch.errors import HlamatchError, MissingExtraError, OptionError

HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(
    not HAVE_DASK, reason='Dask is not installed (pip install "hlamatch[distributed]" runs these tests)'
)
RULES = [pytest.param({}, id="zero-mismatch"), pytest.param({"max_mismatches": 1}, id="one-mismatch")]
SPLIT = 4  # ranges per run on the cluster


@pytest.fixture(scope="module")
def table():
    return bundled_table("japanese")


@pytest.fixture(scope="module")
def lines(table):
    return top_lines(table, 20)


@pytest.fixture(scope="module")
def client():
    """The engine's local Dask cluster (two worker processes): its client, the cluster up."""
    import dask

    from hlamatch.engine import dask as engine

    with dask.config.set({"scheduler-address": None}):  # the local cluster, whatever the environment says
        client = engine._dask_client(None)
    yield client
    close_clusters()


def numbers(rows):
    """The numeric fields of report rows, flattened in order (distributions included)."""
    out = []
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dict):
                out += [(f"{key}.{k}", v) for k, v in value.items() if isinstance(v, float)]
            elif isinstance(value, float):
                out.append((key, value))
    return out


def assert_close(a, b, tol=1e-12):
    assert [k for k, _ in a] == [k for k, _ in b]
    worst = max((abs(x - y) for (_, x), (_, y) in zip(a, b)), default=0.0)
    assert worst <= tol, worst


def ran_on(client, stream):
    """Workers that ran the engine's range tasks recorded in ``stream``."""
    workers = [t["worker"] for t in stream.data if str(t["key"]).startswith("_run_range-")]
    assert workers, "no range ran on the cluster"
    assert set(workers) <= set(client.scheduler_info()["workers"])
    return workers


# ============================================================================ identical results


@needs_dask
@pytest.mark.parametrize("rules", RULES)
def test_coverage_on_two_workers_is_identical(client, table, lines, rules):
    from distributed import get_task_stream

    assert len(client.scheduler_info()["workers"]) == 2
    single = coverage(table, lines, level="both", distribution=True, **rules).to_dicts()
    with use_engine("local", min_ranges=SPLIT):
        local = coverage(table, lines, level="both", distribution=True, **rules).to_dicts()
    seen = []
    with use_engine("dask", min_ranges=SPLIT), get_task_stream(client) as stream:
        dask = coverage(
            table, lines, level="both", distribution=True, progress=lambda *a: seen.append(a), **rules
        ).to_dicts()
    workers = ran_on(client, stream)
    assert len(workers) >= 2 * SPLIT  # haplotype and genotype level, each split in SPLIT ranges
    assert seen and seen[-1][1] == 1.0  # progress as ranges finish
    assert dask == local  # the same split: bit for bit
    assert_close(numbers(dask), numbers(single))  # another split: to 1e-12
    assert current_engine().name == "local"


@needs_dask
def test_coverage_engine_argument(client, table, lines):
    """``engine="dask"`` for one call: the default split (one range here), still on the cluster."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        dask = coverage(table, lines, max_mismatches=1, engine="dask").to_dicts()
    ran_on(client, stream)
    assert current_engine().name == "local"  # restored
    assert dask == coverage(table, lines, max_mismatches=1).to_dicts()


@needs_dask
@pytest.mark.parametrize("level", ["genotype", "haplotype"])
def test_rank_gains_on_two_workers_are_identical(client, table, level):
    """One gain per candidate (compensated sum over the parts) under a mismatch rule."""
    args = dict(n_candidates=40, level=level, loci=["A", "B", "DRB1"], max_mismatches=1)
    single = rank_candidates(table, None, **args).to_dicts()
    with use_engine("local", min_ranges=SPLIT):
        local = rank_candidates(table, None, **args).to_dicts()
    with use_engine("dask", min_ranges=SPLIT):
        dask = rank_candidates(table, None, **args).to_dicts()
    assert dask == local
    assert_close(numbers(dask), numbers(single))


@needs_dask
def test_cli_engine_dask(client):
    runner = CliRunner()
    args = ["coverage", "--top", "10", "--loci", "A,B,DRB1", "-k", "1", "--format", "json"]
    local = runner.invoke(cli, args, catch_exceptions=False)
    dask = runner.invoke(cli, args + ["--engine", "dask"], catch_exceptions=False)
    assert local.exit_code == dask.exit_code == 0, dask.output
    assert json.loads(dask.stdout) == json.loads(local.stdout)
    assert current_engine().name == "local"  # the command's setting ends with it


# ============================================================================ errors


@needs_dask
def test_unreachable_scheduler(client, table, lines):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(SchedulerError) as e:
            coverage(table, lines[:2], scheduler="tcp://127.0.0.1:1")
        assert str(e.value).startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:1: ")
        assert "\n" not in str(e.value) and isinstance(e.value, HlamatchError)
        r = CliRunner().invoke(cli, ["coverage", "--top", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert r.exit_code == 1
    assert r.output.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:1")
    assert r.output.count("\n") == 1
    assert current_engine().name == "local"


@needs_dask
def test_workers_with_other_kernel_code_are_refused(client, monkeypatch):
    """Workers that imported other kernel code (another install, or a file changed since) are refused."""
    from hlamatch.engine import dask as engine

    engine._check_workers(client, "the local cluster")  # the same code: accepted
    monkeypatch.setattr(engine, "_code_fingerprint", lambda: "0" * 16)  # this process only
    with pytest.raises(SchedulerError, match=r"runs other hlamatch kernel code than this process \(both version "):
        engine._check_workers(client, "the local cluster")


def test_code_fingerprint_is_the_same_in_another_process():
    from hlamatch.engine.dask import _code_fingerprint

    code = "from hlamatch.engine.dask import _code_fingerprint; print(_code_fingerprint())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == _code_fingerprint()


def test_missing_dask(monkeypatch):
    for name in ("dask", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: import fails
    with pytest.raises(MissingExtraError) as e:
        use_engine("dask")
    assert str(e.value) == 'the Dask engine needs Dask: pip install "hlamatch[distributed]"'
    with pytest.raises(MissingExtraError):
        coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02"], engine="dask")
    r = CliRunner().invoke(cli, ["coverage", "--top", "2", "--engine", "dask"])
    assert (r.exit_code, r.output) == (1, 'Error: the Dask engine needs Dask: pip install "hlamatch[distributed]"\n')
    assert current_engine().name == "local"


def test_engine_arguments():
    assert ENGINES == ("local", "dask")
    with pytest.raises(OptionError, match="engine must be one of local, dask, got 'spark'"):
        use_engine("spark")
    with pytest.raises(OptionError, match="needs the dask engine"):
        use_engine("local", scheduler="tcp://host:8786")
    with pytest.raises(OptionError, match="scheduler must be an address"):
        use_engine("dask", scheduler=8786)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(OptionError, match="min_ranges"):
            use_engine("local", min_ranges=bad)
    with pytest.raises(OptionError):  # checked by the API before any work
        coverage("japanese", ["A*24:02~B*52:01~DRB1*15:02"], engine="spark")
    r = CliRunner().invoke(cli, ["coverage", "--top", "2", "--engine", "local", "--scheduler", "tcp://h:1"])
    assert (r.exit_code, r.output) == (1, "Error: a scheduler (tcp://h:1) needs the dask engine, not 'local'\n")
    previous = set_engine("local", min_ranges=3)
    try:
        assert current_engine().min_ranges == 3 and fold_ranges(100) == [(0, 16), (16, 33), (33, 50)]
    finally:
        set_engine(previous.name, previous.scheduler, min_ranges=previous.min_ranges)
    assert fold_ranges(100) == [(0, 50)]


@pytest.mark.parametrize("n_rows", [1, 2, 7, 100, 1001])
@pytest.mark.parametrize("min_ranges", [1, 2, 5, 1000])
def test_min_ranges_split_covers_every_fold_once(n_rows, min_ranges):
    n_folds = (n_rows + 1) // 2
    ranges = fold_ranges(n_rows, min_ranges=min_ranges)
    assert len(ranges) == min(min_ranges, n_folds)
    assert ranges[0][0] == 0 and ranges[-1][1] == n_folds
    assert all(a < b for a, b in ranges) and all(x[1] == y[0] for x, y in zip(ranges, ranges[1:]))


def test_help_imports_no_dask():
    code = (
        "import sys\n"
        "from hlamatch.cli import cli\n"
        "for c in ('coverage', 'rank', 'plan', 'supply'):\n"
        "    try:\n"
        "        cli([c, '--help'], prog_name='hlamatch')\n"
        "    except SystemExit as e:\n"
        "        assert e.code in (0, None), e.code\n"
        "bad = sorted(m for m in ('dask', 'distributed', 'numba', 'polars') if m in sys.modules)\n"
        "print('LOADED', bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LOADED []" in proc.stdout
    assert "--engine [local|dask]" in proc.stdout and "--scheduler ADDRESS" in proc.stdout
