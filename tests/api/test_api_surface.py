"""Planner ergonomics: the package's public surface, a table's one-line repr, warnings shown only
for the populations used, a table asked for its own resolution, and the compile notice."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import warnings
from importlib import import_module
from pathlib import Path

import pytest
from conftest import shared_path
from test_cli import invoke

import hlamatch
from hlamatch import _hooks, _jit, _settings
from hlamatch.cli.output import compile_notice
from hlamatch.constants import ALL_RESOLUTIONS
from hlamatch.hla.alleles import at_resolution, unreachable
from hlamatch.io.load import load_table
from hlamatch.table.model import PopulationWarning, combine_tables

REPO = Path(__file__).resolve().parents[2]
NMDP2007 = "raw/ImmunogeneticDataTools/std/NMDP_2007_FiveLocus_Freqs.csv"
ANTIGEN_TABLE = "benchmark/us_nmdp2011_antigen_5locus.parquet"
LINE = "A*01:01~B*08:01"
#: P1 sums to 1.004 (rounding excess within the default tolerance, scaled away), P2 to 0.9.
TWO_POPULATIONS = "A,B,P1,P2\nA*01:01,B*08:01,0.604,0.5\nA*02:01,B*07:02,0.4,0.4\n"


def coverage_json(*args: str) -> tuple[list[dict], list[str]]:
    """``hlamatch coverage ARGS --format json``, which must succeed: its rows and its standard error lines."""
    r = invoke("coverage", *args, "--format", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    return json.loads(r.stdout), r.stderr.splitlines()


def p1_warning(path: Path) -> str:
    return (
        f"frequencies for population 'P1' in {path} sum to 1.004; scaled down by 0.398% to sum to 1 "
        "(rounding excess within tolerance 0.01)"
    )


@pytest.fixture
def two_pops(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HLAMATCH_CACHE_DIR", str(tmp_path / "cache"))
    p = tmp_path / "two.csv"
    p.write_text(TWO_POPULATIONS)
    return p


# ============================================================================ repr


def test_table_repr_is_one_short_line():
    t = hlamatch.bundled_table("japanese")
    expected = "<HaplotypeTable 'bundled:japanese': loci A~C~B~DRB1~DQB1, 2-field, population JAPI, 100 rows>"
    assert repr(t) == expected
    assert str(t) == expected
    assert repr(t.select(["A", "B", "DRB1"], "1-field")).startswith(
        "<HaplotypeTable 'bundled:japanese': loci A~B~DRB1, 1-field, population JAPI, "
    )


def test_table_repr_names_every_population(two_pops):
    t = load_table(two_pops)
    assert repr(t) == f"<HaplotypeTable {str(two_pops)!r}: loci A~B, 2-field, populations P1, P2, 2 rows>"
    assert "\n" not in repr(t) and "array" not in repr(t)


# ============================================================================ the package's names


def test_every_name_in_all_resolves():
    for name in hlamatch.__all__:
        assert getattr(hlamatch, name) is not None, name
    namespace: dict = {}
    exec("from hlamatch import *", namespace)
    assert set(hlamatch.__all__) <= set(namespace)


def test_dir_lists_the_public_api_only():
    import hlamatch.table.model  # noqa: F401  (a loaded submodule must not show either)

    names = dir(hlamatch)
    assert names == sorted(hlamatch.__all__)
    assert [n for n in names if n.startswith("_") and n != "__version__"] == []
    for helper in ("Any", "import_module", "annotations", "tables", "errors", "warmup_"):
        assert helper not in names
    assert {
        "match_patients",
        "MatchRules",
        "PopulationWarning",
        "use_nomenclature",
        "use_engine",
        "HaplotypeTable",
    } <= set(names)


def _resolve(dotted: str) -> object:
    obj: object = hlamatch
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = import_module(f"{obj.__name__}.{part}")  # a submodule (type: ignore[attr-defined])
    return obj


def test_names_the_readme_uses_are_exported():
    text = (REPO / "README.md").read_text()
    dotted = set(re.findall(r"\bhlamatch\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", text))
    assert {"load_table", "coverage", "use_nomenclature"} <= dotted  # the pattern finds them
    for name in sorted(dotted):
        head = name.split(".")[0]
        if not isinstance(getattr(hlamatch, head, None), type(hlamatch)):  # not a submodule
            assert head in hlamatch.__all__, f"README uses hlamatch.{head}, which is not exported"
        assert _resolve(name) is not None
    python = text.split("From Python:", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    for name in re.findall(r"\bhlamatch\.(\w+)\(", python):
        assert name in hlamatch.__all__, name


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import hlamatch",
        "import hlamatch; dir(hlamatch); hlamatch.__all__",
        "from hlamatch.cli import cli; from click.testing import CliRunner; CliRunner().invoke(cli, ['--help'])",
        "from hlamatch.cli import cli; from click.testing import CliRunner; CliRunner().invoke(cli, ['coverage', '--help'])",
    ],
    ids=["import", "dir", "help", "coverage-help"],
)
def test_import_and_help_stay_cheap(code):
    loaded = _modules_after(code)
    assert "numba" not in loaded and "polars" not in loaded


# ============================================================================ warnings of the populations used


def warnings_of(action) -> list[str]:
    """The messages of the warnings ``action()`` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught]


def test_loading_says_nothing_and_each_population_warns_when_used(two_pops):
    t = load_table(two_pops)
    assert warnings_of(lambda: hlamatch.coverage(load_table(two_pops), [LINE], populations="P2")) == []
    with pytest.warns(PopulationWarning) as rec:
        hlamatch.coverage(t, [LINE], populations="P1")
    assert [(str(w.message), w.message.population) for w in rec] == [(p1_warning(two_pops), "P1")]
    # Tables derived from it share its warnings: shown once per table read.
    assert warnings_of(lambda: hlamatch.coverage(t.select(["A"]), ["A*01:01"], populations=["P1", "P2"])) == []


def test_cached_table_replays_only_the_used_population(two_pops):
    load_table(two_pops)  # fills the cache
    assert list((two_pops.parent / "cache").glob("table-*.json"))
    t = load_table(two_pops)  # from the cache: the warning still travels with the table
    assert warnings_of(lambda: t.listed_mass("P2")) == []
    assert warnings_of(lambda: t.listed_mass("P1")) == [p1_warning(two_pops)]


def test_combined_tables_keep_each_population_warning(tmp_path, two_pops):
    other = tmp_path / "freqs.Q.csv"
    other.write_text("Haplo,Count,Freq\nA*01:01~B*08:01,1,0.5\n")
    both = combine_tables([load_table(two_pops, population="P1"), load_table(other)])
    assert warnings_of(lambda: both.population_index("Q")) == []
    assert warnings_of(lambda: both.population_index("P1")) == [p1_warning(two_pops)]


@pytest.mark.parametrize(
    "options, shown",
    [
        (["-p", "P2"], False),
        (["-p", "P1"], True),
        (["-p", "P1=0.5", "-p", "P2=0.5"], True),
        ([], True),  # every population used
    ],
)
def test_cli_warns_only_for_the_populations_asked(two_pops, options, shown):
    _, said = coverage_json("-t", str(two_pops), "--line", LINE, *options)
    assert said == ([f"Warning: {p1_warning(two_pops)}"] if shown else [])


def test_cli_tables_describes_every_population_so_warns(two_pops):
    r = invoke("tables", str(two_pops), "--format", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stderr.splitlines() == [f"Warning: {p1_warning(two_pops)}"]


@pytest.mark.real_data
@pytest.mark.parametrize(
    "options, shown",
    [
        (["-p", "EUR"], []),
        (["-p", "AFA"], ["AFA"]),
        (["-p", "EUR=0.6", "-p", "HIS=0.4"], ["HIS"]),
    ],
)
def test_real_nmdp2007_warns_only_for_the_populations_asked(options, shown):
    p = shared_path(NMDP2007)
    sums = {"AFA": ("1.00389", "0.387%"), "HIS": ("1.00394", "0.392%")}
    _, said = coverage_json("-t", str(p), "--top", "3", "--loci", "A,B,DRB1", "--level", "genotype", *options)
    assert said == [
        f"Warning: frequencies for population '{pop}' in {p} sum to {sums[pop][0]}; scaled down by "
        f"{sums[pop][1]} to sum to 1 (rounding excess within tolerance 0.01)"
        for pop in shown
    ]


# ============================================================================ a table's own resolution


@pytest.mark.parametrize("resolution", ALL_RESOLUTIONS)
def test_every_resolution_reaches_itself(resolution):
    assert unreachable(resolution, resolution) is None


@pytest.mark.parametrize(
    "name, resolution",
    [
        ("A*01:01:01G", "G"),
        ("A*01:01P", "P"),
        ("A24", "antigen"),
        ("Cw7", "antigen"),
    ],
)
def test_a_name_at_its_own_resolution_needs_no_files(name, resolution):
    assert at_resolution(name, resolution) == (name, None)  # no nomenclature in use (conftest)


def test_group_table_at_its_own_resolution_without_files(tmp_path, monkeypatch):
    monkeypatch.setenv("HLAMATCH_CACHE_DIR", str(tmp_path / "cache"))
    p = tmp_path / "p.csv"
    p.write_text("A,B,F\nA*01:01P,B*08:01P,0.3\nA*02:01P,B*07:02P,0.2\n")
    t = load_table(p, resolution="P")
    assert t.resolution == "P"
    rows, said = coverage_json("-t", str(p), "--line", "A*01:01P~B*08:01P", "--resolution", "P", "--level", "genotype")
    assert said == []
    # Carrying A*01:01P~B*08:01P on one chromosome is enough for a homozygous line: 0.3² + 2·0.3·0.7.
    assert rows[0]["coverage"] == pytest.approx(0.51)
    assert coverage_json("-t", str(p), "--top", "1", "--resolution", "P")[1] == []


@pytest.mark.real_data
def test_real_antigen_table_at_antigen_resolution():
    path = shared_path(ANTIGEN_TABLE)
    t = load_table(path, population="CAU")
    assert t.resolution == "antigen"
    assert t.select(None, "antigen") is t
    rows, said = coverage_json(
        "-t", str(path), "-p", "CAU", "--top", "3", "--loci", "A,B,DR", "--resolution", "antigen", "--level", "genotype"
    )
    assert said == []
    assert rows[0]["resolution"] == "antigen" and rows[0]["coverage"] > 0


# ============================================================================ the compile notice


@pytest.fixture
def notices() -> list[str]:
    said: list[str] = []
    _settings.set_defaults(compile_announced=False, on_compile=said.append)  # restored after the test (conftest)
    return said


def test_compile_notice_once_per_process(notices):
    _hooks.compiling(cached=True)
    _hooks.compiling(cached=True)
    assert notices == ["compiling kernels (once per installation; later runs load them from the cache)…"]


def test_a_cache_load_that_finds_nothing_announces_a_compile(notices):
    class Cache:
        found = None

        def load_overload(self, sig, ctx):
            return self.found

        def save_overload(self, sig, data):
            pass

    class Dispatcher:
        _cache = Cache()

    d = Dispatcher()
    _jit._guard_cache_io(d)
    d._cache.found = "machine code"
    assert d._cache.load_overload("sig", None) == "machine code"
    assert notices == []  # loaded: nothing compiles
    d._cache.found = None
    assert d._cache.load_overload("sig", None) is None
    assert notices == [_hooks.COMPILE_CACHED]


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"), reason="numba compiles nothing here")
def test_real_numba_without_cache_announces_its_compile(notices, monkeypatch):
    monkeypatch.setattr(_jit, "CACHE", False)
    f = _jit.jit()(lambda x: x + 1)
    assert notices == []  # nothing compiled yet
    assert f(1) == 2
    assert notices == [_hooks.COMPILE_UNCACHED]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "quiet, file, shown",
    [
        (False, _Terminal, True),
        (True, _Terminal, False),
        (False, io.StringIO, False),
    ],
)
def test_cli_prints_the_notice_on_a_terminal_only(monkeypatch, quiet, file, shown):
    _settings.set_defaults(compile_announced=False, on_compile=None)
    out = file()
    compile_notice(quiet, out)
    _hooks.compiling(cached=True)
    assert out.getvalue().splitlines() == ([_hooks.COMPILE_CACHED] if shown else [])


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_fresh_cache_first_command_says_it_compiles(tmp_path):
    """A real first run (empty numba cache, standard error a terminal) says so once; the next run is silent."""
    import pty

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "HLAMATCH_CACHE_DIR": str(tmp_path / "cache")}
    for name in ("HLAMATCH_NUMBA_CACHE", "NUMBA_DISABLE_JIT"):
        env.pop(name, None)
    cmd = [
        sys.executable,
        "-m",
        "hlamatch",
        "match",
        "--patient",
        "A*24:02+A*02:01^B*52:01+B*07:02^DRB1*15:02+DRB1*04:05",
        "--line",
        "A*24:02~B*52:01~DRB1*15:02",
    ]

    def stderr_lines() -> list[str]:
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=tmp_path)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.communicate(timeout=300)
        os.close(master)
        assert proc.returncode == 0
        return b"".join(chunks).decode().splitlines()

    assert stderr_lines() == [_hooks.COMPILE_CACHED]
    assert stderr_lines() == []
