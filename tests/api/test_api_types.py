"""API misuse ends in a TypeError or a HlamatchError naming the parameter, never in an internal
AttributeError, KeyError or IndexError; numbers at the edges (weights near the float limit,
registry sizes past int64, Monte Carlo samples past memory) are refused or handled before any work."""

from __future__ import annotations

import inspect

import pytest

import hlamatch
from hlamatch.errors import HlamatchError, OptionError

L1 = "A*24:02~B*52:01~DRB1*15:02"
BAD = [None, 1, 1.5, "x", [1], {}, object(), -1, float("nan"), 10**30]


@pytest.fixture(scope="module")
def table():
    return hlamatch.bundled_table("japanese")


def public_functions():
    skip = {"warmup", "use_engine", "use_nomenclature", "use_mac_file"}  # process settings: tested elsewhere
    return [n for n in hlamatch.__all__ if inspect.isfunction(getattr(hlamatch, n)) and n not in skip]


def misuse_calls(name, table):
    """Keyword calls of ``name`` with one argument replaced by each of :data:`BAD`."""
    fn = getattr(hlamatch, name)
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    base = {}
    for q in params:
        if q.default is q.empty:
            base[q.name] = (
                [table, table]
                if q.name == "tables"
                else table
                if q.name == "table"
                else ([L1] if q.name in ("lines", "bank") else L1)
            )
    for p in params:
        for bad in BAD:
            yield p.name, bad, {**base, p.name: bad}


@pytest.mark.parametrize("name", public_functions())
def test_public_functions_misused(name, table):
    fn = getattr(hlamatch, name)
    bugs = []
    for param, bad, kwargs in misuse_calls(name, table):
        try:
            fn(**kwargs)
        except (TypeError, HlamatchError):
            pass
        except Exception as e:  # noqa: BLE001 - what this test looks for
            bugs.append(f"{name}({param}={bad!r:.30}): {type(e).__name__}: {e}")
    assert not bugs, "\n".join(bugs)


def test_combine_tables_type_checks(table):
    # Before: combine_tables({"x": 1}) returned 'x'.
    for bad in ({"x": 1}, "x", table, 1, None):
        with pytest.raises(TypeError, match="tables must be a sequence of HaplotypeTable"):
            hlamatch.combine_tables(bad)
    with pytest.raises(TypeError, match=r"tables\[1\] must be a HaplotypeTable"):
        hlamatch.combine_tables([table, "x"])


def test_loci_text_is_a_list_not_letters(table):
    # Before: load_table(loci="ABC") read loci A, B, C.
    from hlamatch.errors import UnknownLocusError

    with pytest.raises(UnknownLocusError, match="'ABC'"):
        table.select("ABC")
    assert table.select("A,B,DRB1").loci == table.select(["A", "B", "DRB1"]).loci == table.select("A~B~DRB1").loci
    with pytest.raises(TypeError, match="loci must hold locus names"):
        table.select([1])
    with pytest.raises(TypeError, match="loci must be a list of locus names"):
        table.select({"A": 1})


def test_cohort_coverage_type_checks():
    for bad in ("x", [1], {}, 1):
        with pytest.raises(TypeError, match="results"):
            hlamatch.cohort_coverage(bad)


def test_rules_must_be_match_rules(table):
    for bad in (1, "x", {}, [1]):
        with pytest.raises((TypeError, OptionError), match="rules must be a hlamatch.MatchRules"):
            hlamatch.prepare(table, [L1], rules=bad)
        with pytest.raises((TypeError, OptionError), match="rules must be a hlamatch.MatchRules"):
            hlamatch.supply(table, rules=bad, loci="A,B,DRB1")


def test_weights_near_the_float_limit(table):
    from hlamatch.table.populations import resolve_populations

    two = hlamatch.combine_tables([hlamatch.bundled_table("japanese"), hlamatch.bundled_table("korean")])
    _names, weights = resolve_populations(two, {"JAPI": 1e308, "KORI": 1e308})
    assert weights == (0.5, 0.5)
    _names, weights = resolve_populations(two, {"JAPI": 1.7e308, "KORI": 5e-324})
    assert weights[0] == 1.0 and weights[1] >= 0 and sum(weights) == pytest.approx(1.0)


def test_registry_sizes_past_int64(table):
    with pytest.raises(OptionError, match="registry sizes must be at most"):
        hlamatch.supply(table, registry_sizes=[10**30], loci="A,B,DRB1")


def test_samples_bounded_by_memory(table):
    with pytest.raises(OptionError, match=r"samples 1000000000000 would need .* GiB .*limit 1 GiB.*samples ≤"):
        hlamatch.supply(table, registry_sizes=[100], samples=10**12, level="genotype", loci="A,B,DRB1")
    with pytest.raises(OptionError, match="samples must be a whole number ≥ 1 and ≤"):
        hlamatch.supply(table, registry_sizes=[100], samples=2**64, loci="A,B,DRB1")


def test_supply_threads_checked_without_registry(table):
    with pytest.raises(HlamatchError, match="threads"):
        hlamatch.supply(table, threads="x", loci="A,B,DRB1")
