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

import gzip
import importlib
import json
import math
import shutil
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import fuzz_inputs as fi
import numpy as np
import pytest
from conftest import shared_path
from fuzzing import COMMON, SUM_SLACK, CliWorker, count, run_case, twins
from hypothesis import given, settings
from hypothesis import strategies as st

from hlamatch.errors import HlamatchError, HlamatchWarning
from hlamatch.hla.alleles import parse_allele, reduce_name
from hlamatch.hla.lines import Line, parse_line
from hlamatch.hla.typing import Typing, parse_typing
from hlamatch.io.load import load_table
from hlamatch.table.model import HaplotypeTable

KNOWN_LOCI = ("A", "C", "B", "DRB345", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1", "DR", "DQ", "DP")
RESOLUTIONS = ("2-field", "1-field", "antigen")
TABLE_FORMATS = ("nmdp", "grimm", "nmdp2007", "hfx", "pypop", "wide")


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
        assert t.population_index(pop) == p, (
            f"population {pop!r} cannot be selected by its name (populations {t.populations})",
            where,
        )
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
        assert not isinstance(u, HlamatchError), (
            f"{op[0]} variant of a valid file rejected: {u}\n--- reproducer:\n{repro}"
        )
        for pop in t.populations:
            assert _as_dict(u, pop) == _as_dict(t, pop), (op, repro)


test_equivalent_encodings, test_equivalent_encodings_slow = twins(
    30,
    800,
    case=st.sampled_from([k for k in fi.TABLE_KINDS if k != "wide_parquet"]).flatmap(fi.table_files),
    op=st.sampled_from(_EQUIVALENT),
)(_equivalent_encodings_body)


# ============================================================================ frequency tables: mutated files


_NAMES_THE_FILE = object()


def read_case(
    function: str,
    case: fi.FileCase,
    p: Path,
    repro: str,
    worker: CliWorker | None,
    names: Path | None | object = _NAMES_THE_FILE,
    **kwargs: Any,
):
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


def _explicit_format_body(
    fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, format: str, mutate: bool, data
) -> None:
    """Any file read with an explicit (often wrong) format: clean error or valid table."""
    if mutate:
        case = data.draw(fi.mutated(case, data.draw(st.sampled_from(["structured", "bytes"]))), label="mutated")
    _table_outcome(case, fuzz_dir, format=format, worker=worker)


test_tables_explicit_format, test_tables_explicit_format_slow = twins(
    40,
    1_000,
    case=st.sampled_from(fi.TABLE_KINDS).flatmap(fi.table_files),
    format=st.sampled_from(TABLE_FORMATS),
    mutate=st.booleans(),
    data=st.data(),
)(_explicit_format_body)


def _options_body(
    fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, population, loci, resolution, sum_tolerance
) -> None:
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
                    f"load_table(population={population!r}) gave a table without that population",
                    t.populations,
                    repro,
                )


test_load_table_options, test_load_table_options_slow = twins(
    40,
    1_000,
    case=st.sampled_from(fi.TABLE_KINDS).flatmap(fi.table_files),
    population=st.none() | st.sampled_from(["EUR", "eur", " EUR ", "", " ", "ZZZ", "\u00e9", "A", "Freq"]),
    loci=st.none()
    | st.lists(st.sampled_from(KNOWN_LOCI + ("drb1", "HLA-A", "X", "", " ", "DRB3/4/5", "a")), max_size=4),
    resolution=st.sampled_from([None, None, "2-field", "1-field", "antigen", "3-field", ""]),
    sum_tolerance=st.sampled_from([0.01, 0.01, 0.0, -0.0, 1e-12, 1.0, 1e308, math.inf, math.nan, -1.0]),
)(_options_body)


# ---------------------------------------------------------------------------- real tables as seeds


@cache
def _head_lines(relative: str, n: int, gz: bool = False) -> str:
    p = shared_path(relative)
    raw = gzip.open(p, "rt", encoding="utf-8-sig") if gz else open(p, encoding="utf-8-sig")
    with raw as f:
        return "".join(line for _, line in zip(range(n), f))


@cache
def real_seed(name: str) -> fi.FileCase:
    """A small case built from the head of a real table (read in place; skips when absent)."""
    if name == "nmdp":
        text = _head_lines("raw/HLAMatchIt/freqs_9loc_2020_trim/freqs.JAPI.csv", 25)
        g = fi.grid_from_text(text, header=True, freq_cols=(2,), hap_cols=(0,))
        return fi.FileCase("freqs.JAPI.csv", g.render().encode(), "nmdp", grid=g)
    if name == "grimm_gz":
        text = _head_lines("raw/py-graph-imputation/CAU.freqs.gz", 25, gz=True)
        g = fi.grid_from_text(text, header=False, freq_cols=(2,), hap_cols=(0,))
        return fi.FileCase(
            "CAU.freqs.gz", gzip.compress(g.render().encode(), mtime=0), "grimm", grid=g, container="gzip"
        )
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
    45,
    1_500,
    case=fi.lines_files(),
    level=st.sampled_from(["valid", "structured", "structured", "bytes"]),
    data=st.data(),
)(_lines_body)


def _patients_body(fuzz_dir: Path, worker: CliWorker, case: fi.FileCase, level: str, data) -> None:
    if level != "valid":
        case = data.draw(fi.mutated(case, level), label="mutated")
    with written(case, fuzz_dir) as p:
        repro = _repro(case, "hlamatch.read_patients(p)")
        value = read_case("hlamatch.io.patients.read_patients", case, p, repro, worker)
        if level == "valid":
            assert not isinstance(value, HlamatchError), (
                f"valid patients file rejected: {value}\n--- reproducer:\n{repro}"
            )
            assert all(t.error is None for t in value), ([t.error for t in value], repro)
        if not isinstance(value, HlamatchError):
            assert isinstance(value, list) and value, repro
            for t in value:
                check_typing(t, repro, names=p)


test_patients_files, test_patients_files_slow = twins(
    45,
    1_500,
    case=fi.patients_files(),
    level=st.sampled_from(["valid", "structured", "structured", "bytes"]),
    data=st.data(),
)(_patients_body)


def _cli_call(args: list[str], p: Path) -> str:
    shown = ", ".join("str(p)" if a == str(p) else repr(a) for a in args)
    return (
        "from click.testing import CliRunner; from hlamatch.cli import cli\n"
        f"r = CliRunner().invoke(cli, [{shown}]); print(r.exit_code, r.output)"
    )


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
            assert res["stdout"] == "", ("output on standard output despite the error", res, repro)
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
    24,
    600,
    case=st.sampled_from(fi.TABLE_KINDS).flatmap(
        lambda k: st.sampled_from(["valid", "structured", "bytes"]).flatmap(
            lambda level: fi.table_files(k) if level == "valid" else fi.mutated_table_files(k, level)
        )
    ),
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
            assert len(errors) == len(bad), (
                f"{len(bad)} patients with errors but {len(errors)} 'Error: ' lines",
                errors,
                repro,
            )
            assert (res["exit_code"] == 1) == bool(bad), (res["exit_code"], repro)
        else:
            assert res["exit_code"] == 1 and len(errors) == 1, (res, repro)


test_cli_match, test_cli_match_slow = twins(
    16,
    400,
    case=fi.patients_files(),
    level=st.sampled_from(["valid", "structured", "bytes"]),
    data=st.data(),
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
    12,
    300,
    case=fi.lines_files(),
    level=st.sampled_from(["valid", "structured", "bytes"]),
    data=st.data(),
)(_cli_lines_body)
