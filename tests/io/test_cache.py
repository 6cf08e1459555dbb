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
    assert list(private_cache.glob("table-*.pickle"))  # the second load came from the cache
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
