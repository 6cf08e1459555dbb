"""The on-disk cache of built tables: same table, same warnings, named as the caller named the file."""

from __future__ import annotations

import pytest

from hlamatch.errors import HlamatchWarning
from hlamatch.io.load import load_table


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HLAMATCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cached_table_equals_fresh_and_replays_its_warnings(write, private_cache):
    p = write("t.csv", "A,B,P1\nA*01:01:01,B*08:01,0.3\nA*01:01:02,B*08:01,0.2\nA*02:01,B*07:02,0.4\n")
    loads, said = [], []
    for _ in range(2):
        with pytest.warns(HlamatchWarning) as rec:
            loads.append(load_table(p))
        said.append([str(w.message) for w in rec])
    assert said[0] == said[1] and "three or four fields" in said[0][0]
    assert list(private_cache.glob("table-*.json"))  # the second load came from the cache
    assert not list(private_cache.glob("*.pickle"))
    a, b = loads
    assert a.haplotype_strings() == b.haplotype_strings() and (a.freqs == b.freqs).all() and a.source == b.source


def test_same_file_through_another_path_is_named_as_given(write, tmp_path):
    p = write("t.csv", "A,B,P1\nA*01:01,B*08:01,0.3\nA*02:01,B*07:02,0.6\n")
    link = tmp_path / "link.csv"
    link.symlink_to(p)
    assert load_table(p).source == str(p)
    assert load_table(link).source == str(link)


def test_changed_file_is_read_again(write):
    p = write("t.csv", "A,B,P1\nA*01:01,B*08:01,0.3\n")
    assert load_table(p).n_haplotypes == 1
    p.write_text("A,B,P1\nA*01:01,B*08:01,0.3\nA*02:01,B*07:02,0.6\n")
    assert load_table(p).n_haplotypes == 2


# ============================================================================ safety and staleness (no pickles)

import json
import os
import pickle
import stat
import time

import numpy as np

from hlamatch import _cache
from hlamatch.hla.nomenclature import use_nomenclature
from hlamatch.io import load as load_module
from hlamatch.table.stored import table_from_parts, table_parts

TABLE = "A,B,P1\nA*01:01,B*08:01,0.3\nA*02:01,B*07:02,0.6\n"


@pytest.fixture(autouse=True)
def fresh_cache_state(monkeypatch):
    """Each test sees the cache module as a new process does (warnings and cleaning not yet done)."""
    monkeypatch.setattr(_cache, "_refused", set())
    monkeypatch.setattr(_cache, "_cleaned", set())


def _no_build(*args, **kwargs):
    raise AssertionError("built again: the cache was not used")


class Marker:
    """A pickle whose loading creates a file: it must never be loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_entries_are_private_json_and_npy_and_used(write, private_cache, monkeypatch):
    p = write("t.csv", TABLE)
    first = load_table(p)
    mode = stat.S_IMODE(os.stat(private_cache).st_mode)
    assert mode == 0o700
    files = sorted(f.name for f in private_cache.iterdir())
    assert {f.rsplit(".", 2)[-1] if f.endswith(".npy") else f.rsplit(".", 1)[-1] for f in files} == {"json", "npy"}
    assert all(stat.S_IMODE(os.stat(private_cache / f).st_mode) == 0o600 for f in files)
    monkeypatch.setattr(load_module, "build_table", _no_build)
    again = load_table(p)  # from the cache: building would fail
    assert again.codes.dtype == np.int32 and again.freqs.dtype == np.float64
    assert not again.codes.flags.writeable and again.codes.flags.c_contiguous
    assert again.haplotype_strings() == first.haplotype_strings() and (again.freqs == first.freqs).all()


def test_table_rewritten_in_place_with_same_size_and_time_is_read_again(write):
    p = write("t.csv", TABLE)
    st = os.stat(p)
    assert sorted(load_table(p).freqs[:, 0].tolist()) == [0.3, 0.6]
    with open(p, "r+") as fh:  # same size, same inode
        fh.write(TABLE.replace("0.3", "0.1"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(p).st_size == st.st_size and os.stat(p).st_mtime_ns == st.st_mtime_ns
    assert sorted(load_table(p).freqs[:, 0].tolist()) == [0.1, 0.6]


TINY_NOM = {
    "rel_dna_ser.txt": "# version: TEST 0.1\nA*;01:01:01:01;1;;;\nA*;02:01:01:01;2;;;\nB*;08:01:01:01;8;;;\n"
    "B*;07:02:01:01;7;;;\n",
    "rel_ser_ser.txt": "A;9;23/24;\n",
    "hla_nom_g.txt": "A*;01:01:01:01;01:01:01G\n",
    "hla_nom_p.txt": "A*;01:01:01:01;01:01P\n",
    "Allelelist.txt": "AlleleID,Allele\nHLA1,A*01:01:01:01\nHLA2,A*02:01:01:01\nHLA3,B*08:01:01:01\n"
    "HLA4,B*07:02:01:01\n",
}


def test_strict_table_is_recomputed_when_allelelist_changes(write, tmp_path):
    from hlamatch.errors import UnknownAlleleError

    folder = tmp_path / "nom"
    folder.mkdir()
    for name, text in TINY_NOM.items():
        (folder / name).write_text(text)
    p = write("t.csv", TABLE)
    try:
        use_nomenclature(folder)
        assert load_table(p, strict=True).n_haplotypes == 2
        allelelist = folder / "Allelelist.txt"
        st = os.stat(allelelist)
        text = TINY_NOM["Allelelist.txt"].replace("B*07:02:01:01", "B*07:99:01:01")  # same size
        allelelist.write_text(text)
        os.utime(allelelist, ns=(st.st_atime_ns, st.st_mtime_ns))
        use_nomenclature(folder)  # a fresh Nomenclature: its parsed files come from the cache or the files
        with pytest.raises(UnknownAlleleError, match="B\\*07:02"):
            load_table(p, strict=True)
    finally:
        use_nomenclature(None)


def test_world_writable_folder_is_refused_with_one_warning(write, private_cache):
    private_cache.mkdir(mode=0o700)
    os.chmod(private_cache, 0o777)
    p = write("t.csv", TABLE)
    with pytest.warns(HlamatchWarning, match="can be written by other users") as rec:
        load_table(p)
        load_table(p)
    assert len([w for w in rec if "cache folder" in str(w.message)]) == 1
    assert list(private_cache.iterdir()) == []  # nothing written


def test_folder_of_another_user_is_refused(write, private_cache, monkeypatch):
    if not hasattr(os, "getuid"):
        pytest.skip("no user ids on this platform")
    private_cache.mkdir(mode=0o700)
    real = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real + 1)
    with pytest.warns(HlamatchWarning, match="belongs to another user"):
        t = load_table(write("t.csv", TABLE))
    assert t.n_haplotypes == 2 and list(private_cache.iterdir()) == []


def test_folder_that_is_a_file_is_refused(write, private_cache):
    private_cache.write_text("not a folder")
    with pytest.warns(HlamatchWarning, match="is not a folder"):
        assert load_table(write("t.csv", TABLE)).n_haplotypes == 2


def test_planted_pickles_never_run(write, private_cache, tmp_path):
    p = write("t.csv", TABLE)
    fresh = load_table(p)
    marker = tmp_path / "marker"
    (json_file,) = private_cache.glob("table-*.json")
    stem = json_file.name[: -len(".json")]
    for victim in private_cache.glob(f"{stem}.*.npy"):
        victim.write_bytes(pickle.dumps(Marker(marker)))  # a pickle where an array belongs
    (private_cache / "table-0123.pickle").write_bytes(pickle.dumps(Marker(marker)))  # an old-style entry
    _cache._cleaned.clear()  # as in a new process
    assert load_table(p).haplotype_strings() == fresh.haplotype_strings()
    assert not marker.exists()
    for victim in private_cache.glob(f"{stem}.*.npy"):  # an object array (its data is a pickle)
        np.save(victim, np.array([Marker(marker)], dtype=object), allow_pickle=True)
    doc = json.loads(json_file.read_text())
    for spec in doc["arrays"].values():
        spec["dtype"], spec["shape"] = "|O", [1]
    json_file.write_text(json.dumps(doc))
    assert load_table(p).haplotype_strings() == fresh.haplotype_strings()
    assert not marker.exists()
    assert not list(private_cache.glob("*.pickle"))  # old pickles are removed when an entry is written


@pytest.mark.parametrize("damage", ["json", "key", "shape", "codes", "freqs", "truncate", "meta", "said", "link"])
def test_damaged_entries_are_misses(write, private_cache, tmp_path, damage):
    p = write("t.csv", TABLE)
    fresh = load_table(p)
    (json_file,) = private_cache.glob("table-*.json")
    stem = json_file.name[: -len(".json")]
    codes, freqs = private_cache / f"{stem}.codes.npy", private_cache / f"{stem}.freqs.npy"
    doc = json.loads(json_file.read_text())
    if damage == "json":
        json_file.write_text("{not json")
    elif damage == "key":
        doc["key"] += "x"
        json_file.write_text(json.dumps(doc))
    elif damage == "shape":
        doc["arrays"]["codes"]["shape"] = [1, 2]
        json_file.write_text(json.dumps(doc))
    elif damage == "codes":
        np.save(codes, np.full((2, 2), 99, dtype=np.int32))  # out of the vocabulary
    elif damage == "freqs":
        np.save(freqs, np.array([[np.nan], [0.5]]))
    elif damage == "truncate":
        freqs.write_bytes(freqs.read_bytes()[:-3])
    elif damage == "meta":
        doc["meta"]["table"]["alleles"] = [["A*01:01"], 7]
        json_file.write_text(json.dumps(doc))
    elif damage == "said":
        doc["meta"]["said"] = [{"x": 1}]
        json_file.write_text(json.dumps(doc))
    elif damage == "link":
        target = tmp_path / "elsewhere.npy"
        target.write_bytes(codes.read_bytes())
        codes.unlink()
        codes.symlink_to(target)  # entries are never links
    again = load_table(p)
    assert again.haplotype_strings() == fresh.haplotype_strings() and (again.freqs == fresh.freqs).all()


def test_stale_temporary_files_are_removed(write, private_cache):
    private_cache.mkdir(mode=0o700)
    old, new = private_cache / "table-x.json.1.ab.tmp", private_cache / "table-y.json.2.cd.tmp"
    old.write_text("partial")
    new.write_text("being written")
    past = time.time() - 2 * _cache.STALE_TMP_SECONDS
    os.utime(old, (past, past))
    load_table(write("t.csv", TABLE))
    assert not old.exists() and new.exists()


def test_table_parts_round_trip_and_validation(write):
    t = load_table(write("t.csv", TABLE))
    meta, arrays = table_parts(t)
    back = table_from_parts(json.loads(json.dumps(meta)), dict(arrays))
    assert back.haplotype_strings() == t.haplotype_strings() and back.populations == t.populations
    bad = [
        ({**meta, "loci": "AB"}, arrays),
        ({**meta, "resolution": "nonsense"}, arrays),
        ({**meta, "scaled_by": [float("inf")]}, arrays),
        ({**meta, "population_warnings": [["NOPE", "x"]]}, arrays),
        (meta, {**arrays, "codes": arrays["codes"].astype(np.int64)}),
        (meta, {**arrays, "freqs": -arrays["freqs"]}),
        (meta, {"codes": arrays["codes"]}),
        ([], arrays),
    ]
    for m, a in bad:
        with pytest.raises(ValueError):
            table_from_parts(m, a)


def test_fingerprint_sees_in_place_edits_of_large_files(tmp_path):
    p = tmp_path / "big.bin"
    data = bytearray(b"x" * (_cache.WHOLE_HASH_BYTES + 10 * _cache.SAMPLE_BYTES))
    p.write_bytes(data)
    st = os.stat(p)
    before = _cache.fingerprint(p)
    data[len(data) // 2] = ord("y")  # inside the middle block
    p.write_bytes(data)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _cache.fingerprint(p) != before
    fifo = tmp_path / "fifo"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        with pytest.raises(ValueError):
            _cache.fingerprint(fifo)  # refused at once, never waited on


def test_fingerprint_hashes_an_unchanged_file_once_per_process(tmp_path, monkeypatch):
    p = tmp_path / "Allelelist.txt"
    p.write_bytes(b"x" * 5000)
    first = _cache.fingerprint(p)
    calls = []
    real = _cache.hashlib.sha256
    monkeypatch.setattr(_cache.hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert _cache.fingerprint(p) == first and calls == []  # unchanged: no second hash
    st = os.stat(p)
    p.write_bytes(b"y" * 5000)  # same size, mtime set back: ctime still moves, so it is hashed again
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _cache.fingerprint(p) != first and calls == [1]
