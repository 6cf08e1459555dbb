"""Fuzz tests of the files around the tables: WMDA nomenclature files damaged field by field,
non-regular files (FIFO, link to ``/dev/zero``, folder) given as tables, lines, nomenclature or MAC
files, and a hostile cache folder (writable by others, owned by another user, planted entries).

The outcome is always a valid result or one clean HlamatchError naming the file, within the
harness's time and memory bounds (``fuzzing.run_case``), counted by outcome; nothing planted in the
cache ever runs (a pickle whose loading would create a marker file: the marker never appears), and
a table read through the cache equals the table built fresh.  Every property test has a ``slow``
twin with more examples (run with ``-m slow`` or ``HLAMATCH_FUZZ_SLOW=1``).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from fuzzing import count, run_case, twins
from hypothesis import strategies as st

from hlamatch import _cache
from hlamatch.errors import HlamatchError
from hlamatch.hla.nomenclature import (
    Nomenclature,
    NomenclatureError,
    read_mac_file,
    use_mac_file,
    use_nomenclature,
)
from hlamatch.io.lines import read_lines_file
from hlamatch.io.load import load_table

#: A small valid nomenclature (one serology row per allele; the field layout of each file).
TINY = {
    "rel_dna_ser.txt": (
        "# version: TEST 0.1\nA*;24:02:01:01;24;;;\nA*;24:03:01:01;2403;;;\nA*;01:01:01:01;;1/0;;\n"
        "B*;08:01:01:01;8;;;\nB*;39:01:01:01;;;3901;\nC*;12:02:02;?;;;\nDRB1*;15:01:01:01;15;;;\n"
    ),
    "rel_ser_ser.txt": "A;9;23/24;\nA;24;;2403\nB;16;38/39;\nB;39;;3901\nDR;2;15/16;\n",
    "hla_nom_g.txt": "A*;24:02:01:01/24:02:01:03;24:02:01G\nA*;01:01:01:01;\nB*;08:01:01:01/08:01:02;08:01:01G\n",
    "hla_nom_p.txt": "A*;24:02:01:01/24:02:01:03;24:02P\nB*;08:01:01:01;08:01P\n",
    "Allelelist.txt": (
        "# version: TEST 0.1\nAlleleID,Allele\nHLA1,A*24:02:01:01\nHLA2,A*24:03:01:01\n"
        "HLA3,A*01:01:01:01\nHLA4,B*08:01:01:01\nHLA5,B*39:01:01:01\nHLA6,DRB1*15:01:01:01\n"
    ),
}
NAMES = ("A*24:02", "A*24:03", "A*01:01", "B*08:01", "B*39:01", "C*12:02", "DRB1*15:01", "A*24:02:01G", "A24")
TABLE = "A,B,P1\nA*24:02,B*08:01,0.3\nA*01:01,B*39:01,0.6\n"

_serial = iter(range(10**9))


@pytest.fixture(scope="module", autouse=True)
def private_cache(fuzz_dir):
    """This module's own cache folder, no nomenclature or MAC file in use."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HLAMATCH_CACHE_DIR", str(fuzz_dir / "cache"))
        mp.delenv("HLAMATCH_NOMENCLATURE", raising=False)
        use_nomenclature(None)
        use_mac_file(None)
        yield fuzz_dir / "cache"
        use_nomenclature(None)
        use_mac_file(None)


def _fresh(folder: Path) -> Path:
    d = folder / f"case {next(_serial)}"
    d.mkdir()
    return d


def _everything(folder: Path) -> list:
    """Every fact the nomenclature of ``folder`` gives (each file read and parsed)."""
    nom = Nomenclature.open(folder)
    facts: list = [nom.release, sorted(nom.antigen_labels)]
    for name in NAMES:
        facts.append((nom.antigen(name), nom.broad(name), nom.group(name, "G"), nom.group(name, "P"), nom.known(name)))
    facts.append(sorted(nom.group_members("G").items()))
    return facts


# ============================================================================ WMDA files, field by field

JUNK = st.one_of(
    st.text(alphabet="0123456789?/;:*,xAN -²٣\t", max_size=12),
    st.text(max_size=8),
    st.sampled_from(["", "?", "0", "-1", "99999999", "1e3", " 24 ", "24/", "/", "0/0", "x", "N", "²"]),
)


def _damage_body(fuzz_dir, data) -> None:
    name = data.draw(st.sampled_from(sorted(TINY)), label="file")
    sep = "," if name == "Allelelist.txt" else ";"
    lines = TINY[name].splitlines()
    row = data.draw(st.integers(0, len(lines) - 1), label="row")
    fields = lines[row].split(sep)
    k = data.draw(st.integers(0, len(fields) - 1), label="field")
    fields[k] = data.draw(JUNK, label="junk")
    lines[row] = sep.join(fields)
    folder = _fresh(fuzz_dir)
    for n, text in TINY.items():
        (folder / n).write_text(
            ("\n".join(lines) + "\n") if n == name else text, encoding="utf-8", errors="surrogatepass"
        )
    repro = f"file {name} line {row + 1} field {k + 1}: {lines[row]!r}"
    first = run_case(_everything, folder, repro=repro, names=folder / name)
    again = run_case(_everything, folder, repro=repro + " (from the cache)", names=folder / name)
    if isinstance(first, HlamatchError):
        assert isinstance(first, NomenclatureError) and type(again) is type(first) and str(again) == str(first), repro
        assert "line " in str(first), f"error does not name the line: {first}\n{repro}"
    else:
        assert again == first, f"the cached nomenclature differs from the files': {repro}"
    shutil.rmtree(folder, ignore_errors=True)


test_damaged_wmda_fields, test_damaged_wmda_fields_slow = twins(60, 2_000, st.data())(_damage_body)


# ============================================================================ non-regular files


def _plant_non_regular(kind: str, path: Path) -> None:
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(path)
    elif kind == "zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero on this platform")
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()


def _nomenclature_file(folder: Path, file: str):
    for n, text in TINY.items():
        if n != file:
            (folder / n).write_text(text)
    return lambda: _everything(folder)


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
@pytest.mark.parametrize("target", ["table.csv", "table.freqs", "lines.csv", "numer.v3.txt", *sorted(TINY)])
def test_non_regular_files(fuzz_dir, kind, target):
    folder = _fresh(fuzz_dir)
    path = folder / target
    _plant_non_regular(kind, path)
    if target.startswith("table"):
        call = lambda: load_table(path)
    elif target == "lines.csv":
        call = lambda: read_lines_file(path)
    elif target == "numer.v3.txt":
        call = lambda: read_mac_file(path)
    else:
        call = _nomenclature_file(folder, target)
    value = run_case(call, repro=f"{target} as a {kind}", names=path)
    assert isinstance(value, HlamatchError), f"{target} as a {kind} was read: {value!r}"


# ============================================================================ a hostile cache folder


class Marker:
    """A pickle whose loading creates a file."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


PLANTS = ("pickle", "object-npy", "random", "truncate", "fifo", "zero", "folder", "swap", "big-shape", "json-bomb")


def _plant(kind: str, target: Path, marker: Path, junk: bytes, cut: float) -> None:
    """Replace an entry file by something hostile or broken."""
    original = target.read_bytes() if target.is_file() else b""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    if kind == "pickle":
        target.write_bytes(pickle.dumps(Marker(str(marker))))
    elif kind == "object-npy":
        with open(target, "wb") as fh:
            np.save(fh, np.array([Marker(str(marker))], dtype=object), allow_pickle=True)
    elif kind == "random":
        target.write_bytes(junk)
    elif kind == "truncate":
        target.write_bytes(original[: int(cut * max(0, len(original) - 1))])
    elif kind in ("fifo", "zero", "folder"):
        _plant_non_regular(kind, target)
    elif kind == "swap" and target.suffix == ".npy":  # a valid array of another dtype and shape
        np.save(target, np.arange(6, dtype=np.int64).reshape(3, 2))
    elif kind == "big-shape" and target.suffix == ".npy":  # a header claiming a huge array
        header = {"descr": "<f8", "fortran_order": False, "shape": (2**31, 2**20)}
        with open(target, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
    elif kind == "json-bomb" and target.suffix == ".json":
        target.write_text("[" * 100_000 + "]" * 100_000)
    else:
        try:  # the entry's own document, unless an earlier plant replaced it
            doc = json.loads(original) if target.suffix == ".json" and original[:1] == b"{" else None
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict):
            doc["meta"] = {"table": {"loci": [[1]]}, "said": 3}
            target.write_text(json.dumps(doc))
        else:
            target.write_bytes(original[::-1])


def _hostile_body(fuzz_dir, data) -> None:
    from fuzzing import _Alarm  # noqa: F401 - the harness's alarm must reach us

    case = _fresh(fuzz_dir)
    cache = case / "cache"
    marker = case / "marker"
    p = case / "t.csv"
    p.write_text(TABLE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HLAMATCH_CACHE_DIR", str(cache))
        mp.setattr(_cache, "_refused", set())
        mp.setattr(_cache, "_cleaned", set())
        fresh = run_case(load_table, p, repro="first load", names=p)
        plants = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["json", "codes.npy", "freqs.npy", "legacy.pickle"]),
                    st.sampled_from(PLANTS),
                    st.binary(max_size=200),
                    st.floats(0, 1),
                ),
                min_size=1,
                max_size=3,
            ),
            label="plants",
        )
        (entry,) = cache.glob("table-*.json")
        stem = entry.name[: -len(".json")]
        for which, kind, junk, cut in plants:
            target = cache / (f"{stem}.{which}" if which != "legacy.pickle" else "table-0000.pickle")
            _plant(kind, target, marker, junk, cut)
        planted = {f.name: f.read_bytes() for f in cache.iterdir() if f.is_file() and not f.is_symlink()}
        mode = data.draw(st.sampled_from([0o700, 0o750, 0o770, 0o777, 0o705, 0o1777]), label="mode")
        os.chmod(cache, mode)
        other_owner = hasattr(os, "getuid") and data.draw(st.booleans(), label="other owner")
        if other_owner:
            real = os.getuid()
            mp.setattr(os, "getuid", lambda: real + 1)
        _cache._cleaned.clear()  # as in a new process
        repro = f"plants {plants}, folder mode {mode:o}, other owner {other_owner}"
        again = run_case(load_table, p, repro=repro, names=p)
        twice = run_case(load_table, p, repro=repro + " (twice)", names=p)
    assert not marker.exists(), f"a planted entry ran: {repro}"
    for t in (again, twice):
        assert not isinstance(t, HlamatchError), f"{t}\n{repro}"
        assert t.haplotype_strings() == fresh.haplotype_strings() and (t.freqs == fresh.freqs).all(), repro
        assert t.codes.dtype == np.int32 and t.freqs.dtype == np.float64
    refused = bool(mode & 0o022) or other_owner
    count("refused folder" if refused else "folder used")
    if not refused:
        for f in cache.iterdir():  # every file hlamatch wrote is private; others are the planted ones, untouched
            if f.name.startswith(stem) and f.suffix in (".json", ".npy") and f.is_file() and not f.is_symlink():
                assert stat.S_IMODE(os.lstat(f).st_mode) == 0o600 or planted.get(f.name) == f.read_bytes(), repro
    shutil.rmtree(case, ignore_errors=True)


test_hostile_cache_folder, test_hostile_cache_folder_slow = twins(40, 1_000, st.data())(_hostile_body)
