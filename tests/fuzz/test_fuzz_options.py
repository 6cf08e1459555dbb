"""Fuzz tests of the options and arguments: numbers at the edges for every numeric option of every
command, outputs that cannot be written, and API calls with wrong-typed arguments.

Every CLI case must end in success (exit 0) or in exactly one ``Error:`` line on standard error
(exit 1 for data and output faults, 2 for usage errors), never a traceback; every API case must
return or raise a TypeError or a :class:`~hlamatch.errors.HlamatchError`, never an AttributeError,
KeyError, IndexError, OverflowError or MemoryError.  The CLI runs in-process (click's CliRunner),
each case under the harness's time and memory bounds (:func:`fuzzing.bounded`) and counted by
outcome; every test has a ``slow`` twin with many more examples (``pytest -m slow``).
"""

from __future__ import annotations

import inspect
import os

import pytest
from fuzzing import bounded, count, twins
from hypothesis import strategies as st

import hlamatch
from hlamatch.errors import HlamatchError

LINE = "A*24:02~B*52:01~DRB1*15:02"

#: Every numeric option of every command, with the options its command needs (kept small: a valid
#: extreme, e.g. ``--lines 2**62``, must still finish within the case's time limit).
NUMERIC_OPTIONS = [
    (["coverage", "--line", LINE], "--threads"),
    (["coverage", "--line", LINE], "--sum-tolerance"),
    (["coverage", "--line", LINE], "--max-mismatches"),
    (["coverage", "--line", LINE, "-k", "1"], "--max-mismatches"),
    (["rank", "--loci", "A,B,DRB1", "-n", "5"], "--n-candidates"),
    (["rank", "--loci", "A,B,DRB1", "-n", "5"], "--show"),
    (["rank", "--loci", "A,B,DRB1", "-n", "5"], "--registry-size"),
    (["rank", "--loci", "A,B,DRB1", "-n", "5", "--registry-size", "1000"], "--inbreeding"),
    (["rank", "--loci", "A,B,DRB1", "-n", "5"], "--tolerance"),
    (["rank", "--loci", "A,B,DRB1", "-n", "5"], "--top"),
    (["plan", "--loci", "A,B,DRB1", "-n", "5"], "--target"),
    (["plan", "--loci", "A,B,DRB1", "-n", "5"], "--max-lines"),
    (["plan", "--loci", "A,B,DRB1", "-n", "5", "--max-lines", "2", "--exact"], "--time-limit"),
    (["plan", "--loci", "A,B,DRB1", "-n", "5"], "--tolerance"),
    (["supply", "--loci", "A,B,DRB1", "-n", "5"], "--registry-size"),
    (["supply", "--loci", "A,B,DRB1", "-n", "5"], "--inbreeding"),
    (["supply", "--loci", "A,B,DRB1", "-n", "5"], "--samples"),  # without -R: refused after parsing
    (["supply", "--loci", "A,B,DRB1", "-n", "5"], "--seed"),
    (["supply", "--loci", "A,B,DRB1", "-n", "5"], "--n-candidates"),
    (["tables", "japanese"], "--top"),
]

EXTREMES = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e309",
    "1e-320",
    "0",
    "-0",
    "-1",
    "1",
    "0.5",
    "1.0",
    "²",
    "٣",
    "３",
    "１e3",
    "0x10",
    "1_000",
    "",
    " ",
    "9" * 50,
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "1e30",
    "-" + "9" * 30,
    "1" + "0" * 400,
    "0." + "0" * 300 + "1",
]

numbers = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.sampled_from("0123456789.e-+_²³¹٣３ⅷ"), min_size=1, max_size=60),
)


def invoke(args):
    from click.testing import CliRunner

    from hlamatch.cli import cli

    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps the streams apart
        runner = CliRunner()
    return runner.invoke(cli, list(args), catch_exceptions=True)


def check_cli(args, expect_file: str | None = None):
    """One CLI case, bounded: exit 0, or exit 1/2 with exactly one ``Error:`` line on standard error."""
    with bounded():
        r = invoke(args)
    repro = "hlamatch " + " ".join(repr(a) for a in args)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback

        raise AssertionError(f"{repro}\n" + "".join(traceback.format_exception(r.exception)))
    assert "Traceback" not in r.stdout + r.stderr, repro
    if r.exit_code == 0:
        count("valid")
        return r
    assert r.exit_code in (1, 2), (repro, r.exit_code, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("Warning: ")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), (repro, r.stderr)
    if expect_file is not None:
        assert expect_file in lines[0], (repro, lines[0])
    count(f"error exit {r.exit_code}")
    return r


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Compile and load once, outside the per-case time limit."""
    hlamatch.warmup()
    for base, _ in NUMERIC_OPTIONS[::4]:
        invoke(base)
    yield


# ============================================================================ numbers at the edges


def _numeric(option, value):
    base, name = option
    check_cli([*base, name, value])


test_numeric_option_extremes, test_numeric_option_extremes_slow = twins(
    60, 2000, st.sampled_from(NUMERIC_OPTIONS), numbers
)(_numeric)


@pytest.mark.parametrize("option", NUMERIC_OPTIONS, ids=[f"{b[0]}{o}" for b, o in NUMERIC_OPTIONS])
def test_every_numeric_option_refuses_the_named_extremes(option):
    base, name = option
    integer = name not in ("--sum-tolerance", "--inbreeding", "--tolerance", "--target", "--time-limit")
    for value in ("nan", "inf", "1e309", "²", "٣", "9" * 50, "-1e308", *((str(2**64), "1e3") if integer else ())):
        r = check_cli([*base, name, value])
        assert r.exit_code in (1, 2), (base, name, value)


def _registry_sizes(values):
    check_cli(["supply", "--loci", "A,B,DRB1", "-n", "3", "--level", "haplotype", "-R", ",".join(values)])


test_registry_size_lists, test_registry_size_lists_slow = twins(30, 600, st.lists(numbers, min_size=1, max_size=3))(
    _registry_sizes
)


def _weights(w1, w2):
    check_cli(["coverage", "--line", LINE, "-t", "japanese", "-t", "korean", "-p", f"JAPI={w1}", "-p", f"KORI={w2}"])


test_population_weights, test_population_weights_slow = twins(30, 600, numbers, numbers)(_weights)


# ============================================================================ unwritable outputs


def _plot_path(kind: str, folder) -> str:
    if kind == "proc":
        return "/proc/curve.png"
    if kind == "dev-full":
        return "/dev/full"
    if kind == "missing-folder":
        return str(folder / "no such folder" / "curve.png")
    if kind == "bad-suffix":
        return str(folder / "curve.gif")
    path = folder / f"{kind}.png"
    if not os.path.lexists(path):
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            path.mkdir()
        elif kind == "dangling-link":
            os.symlink(folder / "nowhere", path)
    return str(path)


PLOT_KINDS = ["proc", "dev-full", "missing-folder", "bad-suffix", "fifo", "folder", "dangling-link"]


@pytest.fixture(scope="module")
def plot_folder(tmp_path_factory):
    pytest.importorskip("matplotlib")
    return tmp_path_factory.mktemp("plots")


def test_unwritable_plot_files(plot_folder):
    for kind in PLOT_KINDS:
        if kind in ("proc", "dev-full") and not os.path.exists("/proc/self" if kind == "proc" else "/dev/full"):
            continue
        path = _plot_path(kind, plot_folder)
        for fmt in ("text", "csv"):
            r = check_cli(
                ["plan", "--loci", "A,B,DRB1", "-n", "4", "--max-lines", "2", "--plot", path, "--format", fmt],
                expect_file=path,
            )
            assert r.exit_code == (2 if kind == "folder" else 1), (kind, r.stderr)  # click's Path: usage
    if os.path.exists("/dev/full"):
        assert not os.path.isfile("/dev/full")  # the device is still a device, never replaced by a file
    leftovers = [p.name for p in plot_folder.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


# ============================================================================ API misuse

BAD_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            1,
            1.5,
            "x",
            "",
            [1],
            [],
            {},
            {"x": 1},
            (None,),
            b"A",
            float("nan"),
            float("inf"),
            -1,
            0,
            10**30,
            -(10**30),
            True,
            "A,B,DRB1",
            ["A", 1],
        ]
    ),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=8),
    st.builds(object),
)

SETTINGS = {"warmup", "use_engine", "use_nomenclature", "use_mac_file"}  # change the process: not fuzzed
FUNCTIONS = sorted(
    n
    for n in hlamatch.__all__
    if inspect.isfunction(getattr(hlamatch, n))
    and n not in SETTINGS
    and inspect.signature(getattr(hlamatch, n)).parameters
)


def _api(data):
    api_table = hlamatch.bundled_table("japanese")
    name = data.draw(st.sampled_from(FUNCTIONS), label="function")
    fn = getattr(hlamatch, name)
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    kwargs = {}
    for q in params:
        if q.default is q.empty:
            kwargs[q.name] = (
                [api_table, api_table]
                if q.name == "tables"
                else api_table
                if q.name == "table"
                else [LINE]
                if q.name in ("lines", "bank")
                else LINE
            )
    param = data.draw(st.sampled_from([p.name for p in params]), label="parameter")
    kwargs[param] = data.draw(BAD_VALUES, label="value")
    try:
        with bounded():
            fn(**kwargs)
        count("valid")
    except TypeError:
        count("clean TypeError")
    except HlamatchError as e:
        assert str(e).strip()
        count(f"clean {type(e).__name__}")
    except Exception as e:
        raise AssertionError(f"{name}({param}={kwargs[param]!r:.60}): {type(e).__name__}: {e}") from e


test_api_misuse, test_api_misuse_slow = twins(60, 2000, data=st.data())(_api)
