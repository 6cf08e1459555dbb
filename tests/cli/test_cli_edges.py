"""Numbers at the edges, contradictory or empty rule options, and output faults of the command line:
every one ends in one ``Error:`` line (exit 1 for data and output faults, 2 for usage) and a plan is
never lost to a plot that cannot be written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_cli import all_output, invoke

from hlamatch.cli.inputs import parse_counts
from hlamatch.cli.types import INT64_MAX, Float, Int, ascii_count
from hlamatch.errors import OptionError

LINE = "A*24:02~B*52:01~DRB1*15:02"


def one_line(result, code: int, *parts: str) -> str:
    out = all_output(result)
    assert result.exit_code == code, out
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    assert "Traceback" not in out
    for p in parts:
        assert p in lines[0], lines[0]
    return lines[0]


# ============================================================================ the option types


@pytest.mark.parametrize("text", ["²", "٣", "３", "1e3", "1.0", "nan", "", " ", "0x10", "9" * 41, "1_", "--1"])
def test_int_refuses_what_is_not_ascii_digits(text):
    with pytest.raises(Exception) as e:
        Int(min=1).convert(text, None, None)
    assert "is not a valid integer range" in str(e.value) or "is not in the range" in str(e.value)


def test_int_bounds_and_int64():
    assert Int(min=1).convert("1_000", None, None) == 1000
    assert Int().convert(str(INT64_MAX), None, None) == INT64_MAX
    for text in (str(INT64_MAX + 1), "0", "-5"):
        with pytest.raises(Exception, match="is not in the range x[<>]="):
            Int(min=1).convert(text, None, None)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e309", "１", "0.٥", "1e", "..", "9" * 41])
def test_float_refuses_non_finite_and_non_ascii(text):
    with pytest.raises(Exception, match="is not a valid float range|is not a finite number"):
        Float(min=0).convert(text, None, None)


def test_float_range_ends():
    f = Float(0, 1, max_open=True)
    assert f.convert("0", None, None) == 0.0 and f.convert("1e-6", None, None) == 1e-6
    with pytest.raises(Exception, match="not in the range 0<=x<1"):
        f.convert("1", None, None)
    with pytest.raises(Exception, match="not in the range 0<x<=1"):
        Float(0, 1, min_open=True).convert("0", None, None)


def test_ascii_count():
    assert [ascii_count(t) for t in ("15000", "15_000", "²", "0", "9" * 30, "+5")] == [
        15000,
        15000,
        None,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize("value", ["²", "1e30", "99999999999999999999", "٣", "0", "-3", "1.5"])
def test_parse_counts_refuses_superscripts_and_overflow(value):
    with pytest.raises(OptionError, match="--registry-size .* is not a whole number ≥ 1"):
        parse_counts([value], "--registry-size")


def test_parse_counts_still_reads_lists():
    assert parse_counts(["15000,24_000", "160000"], "-R") == [15000, 24000, 160000]


# ============================================================================ every numeric option


NUMERIC = [  # (command and its needed options, option, a value that must be refused)
    (["coverage", "--line", LINE], "--threads", "0"),
    (["coverage", "--line", LINE], "--threads", "99999999999999999999"),
    (["coverage", "--line", LINE], "--sum-tolerance", "nan"),
    (["coverage", "--line", LINE], "--sum-tolerance", "1e309"),
    (["coverage", "--line", LINE], "-k", "²"),
    (["rank", "--loci", "A,B,DRB1"], "--n-candidates", "1e30"),
    (["rank", "--loci", "A,B,DRB1"], "--show", "٣"),
    (["rank", "--loci", "A,B,DRB1"], "--inbreeding", "nan"),
    (["rank", "--loci", "A,B,DRB1"], "--tolerance", "1e308"),
    (["plan", "--loci", "A,B,DRB1"], "--target", "nan"),
    (["plan", "--loci", "A,B,DRB1"], "--max-lines", "18446744073709551616"),
    (["plan", "--loci", "A,B,DRB1", "--exact"], "--time-limit", "inf"),
    (["supply", "--loci", "A,B,DRB1", "-R", "100"], "--samples", "-1"),
    (["supply", "--loci", "A,B,DRB1", "-R", "100"], "--seed", "３"),
    (["supply", "--loci", "A,B,DRB1"], "--inbreeding", "1e308"),
    (["tables", "japanese"], "--top", "0"),
]


@pytest.mark.parametrize("command, option, value", NUMERIC, ids=[f"{c[0]}{o}={v}" for c, o, v in NUMERIC])
def test_numeric_options_refuse_edges(command, option, value):
    one_line(invoke(*command, option, value), 2, option)


@pytest.mark.parametrize("value", ["1e30", "²", "99999999999999999999", "inf"])
def test_registry_size_edges(value):
    # Before: OverflowError (1e30 written as an integer) or ValueError ('²'.isdigit() is True).
    one_line(invoke("supply", "--loci", "A,B,DRB1", "-R", value), 1, "--registry-size", "whole number")
    one_line(invoke("rank", "--loci", "A,B,DRB1", "-R", value), 1, "--registry-size", "whole number")
    one_line(invoke("supply", "--loci", "A,B,DRB1", "-R", "1" + "0" * 30), 1, "--registry-size")


def test_samples_are_bounded_by_memory():
    # Before: --samples 1000000000000 tried to allocate 7.28 TiB.
    line = one_line(
        invoke("supply", "--loci", "A,B,DRB1", "-R", "100", "--level", "genotype", "--samples", "1000000000000"),
        1,
        "samples",
        "GiB",
        "limit",
        "--samples",
    )
    assert "≤" in line


def test_huge_weights_are_normalised():
    # Before: OverflowError in fsum.
    r = invoke(
        "coverage",
        "--line",
        LINE,
        "-t",
        "japanese",
        "-t",
        "korean",
        "-p",
        "JAPI=1e308",
        "-p",
        "KORI=1e308",
        "--format",
        "json",
    )
    assert r.exit_code == 0, all_output(r)
    assert '"JAPI": 0.5' in r.stdout


# ============================================================================ rules


def test_contradictory_rules_are_refused():
    # Before: printed "≤ 1 mismatch" and computed the -k 0 result.
    one_line(
        invoke("coverage", "--line", LINE, "-k", "1", "--require-match", "A", "--allow-mismatch", "A"),
        1,
        "contradictory",
        "A",
    )


@pytest.mark.parametrize(
    "option, value", [("--allow-mismatch", ""), ("--require-match", ","), ("--allow-mismatch", " , ")]
)
def test_empty_rule_lists_are_refused(option, value):
    one_line(invoke("coverage", "--line", LINE, "-k", "1", option, value), 1, option, "names no locus")


# ============================================================================ output faults


def _hlamatch(*args: str, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", "stdout" not in kw)
    return subprocess.run([sys.executable, "-m", "hlamatch", *args], check=False, text=True, timeout=300, **kw)


def test_plot_that_cannot_be_written_keeps_the_plan(tmp_path):
    # Before: a traceback, no plan printed, a 0-byte PNG left behind.  A FIFO (the write would block)
    # and a folder are refused before the plan is computed.
    pytest.importorskip("matplotlib")
    plot = tmp_path / "curve.png"
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "dir.png").mkdir()
    for path, code, why in ((tmp_path / "fifo.png", 1, "not a regular file"), (tmp_path / "dir.png", 2, "directory")):
        one_line(
            invoke("plan", "--loci", "A,B,DRB1", "--max-lines", "2", "-n", "5", "--plot", str(path)),
            code,
            str(path),
            why,
        )
    r = invoke("plan", "--loci", "A,B,DRB1", "--max-lines", "2", "-n", "5", "--plot", str(plot))
    assert r.exit_code == 0, all_output(r)
    assert plot.stat().st_size > 0 and "Greedy bank plan" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "dir.png", "fifo.png"]  # no temp left


def test_plot_write_failure_after_the_plan(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    def full(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    plot = tmp_path / "curve.png"
    r = invoke("plan", "--loci", "A,B,DRB1", "--max-lines", "2", "-n", "5", "--plot", str(plot))
    assert r.exit_code == 1
    assert "Greedy bank plan" in r.stdout and "stopped:" in r.stdout  # the plan is printed first
    assert r.stderr.splitlines() == [f"Error: cannot write plot file {str(plot)!r}: No space left on device"]
    assert not plot.exists() and list(tmp_path.iterdir()) == []  # no 0-byte file, no temporary file


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_results_to_a_full_device():
    with open("/dev/full", "w") as full:
        r = _hlamatch("coverage", "--line", LINE, stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["Error: cannot write the results to standard output: No space left on device"]
    with open("/dev/full", "w") as full:
        r = _hlamatch("--help", stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.startswith("Error: ")


@pytest.mark.skipif(os.name != "posix", reason="closing a standard stream needs POSIX")
def test_closed_standard_streams():
    sh = f"exec {sys.executable} -m hlamatch"
    r = subprocess.run(
        ["sh", "-c", f"{sh} coverage --line '{LINE}' >&-"], check=False, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 1 and r.stderr.splitlines() == [
        "Error: cannot write the results to standard output: standard output is closed"
    ]
    # No standard error: the error is never written into the results stream; the exit status says it.
    r = subprocess.run(
        ["sh", "-c", f"{sh} coverage --line X 2>&-"], check=False, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 1 and r.stdout == ""
    r = subprocess.run(
        ["sh", "-c", f"{sh} coverage --line '{LINE}' 2>&-"], check=False, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and LINE in r.stdout


@pytest.mark.skipif(os.name != "posix", reason="SIGPIPE needs POSIX")
def test_broken_pipe_is_still_quiet():
    r = subprocess.run(
        ["sh", "-c", f"{sys.executable} -m hlamatch coverage --line '{LINE}' --all-lines | head -1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.stdout.startswith("Coverage") and r.stderr == ""
