"""Requests too large for the memory budget end in one OptionError naming the option, up front;
a request just under the budget runs (small budgets through the ``memory_budget`` setting)."""

from __future__ import annotations

import pytest

from hlamatch._settings import using
from hlamatch.api.planning import rank_candidates
from hlamatch.api.supply import supply
from hlamatch.compute.budget import bitset_bytes
from hlamatch.errors import OptionError
from hlamatch.io.bundled import resolve_table

LOCI = ["A", "B", "DRB1"]


def _rows() -> int:
    return int(resolve_table("japanese").codes.shape[0])


def test_rank_refused_names_n_candidates_and_just_under_runs():
    need = bitset_bytes(_rows(), len(LOCI), 5)
    with using(memory_budget=need - 1):
        with pytest.raises(OptionError, match=r"fewer candidates \(n_candidates\)") as e:
            rank_candidates("japanese", n_candidates=5, loci=LOCI, level="haplotype")
        assert "memory budget" in str(e.value)
    with using(memory_budget=need):
        assert len(rank_candidates("japanese", n_candidates=5, loci=LOCI, level="haplotype").candidates) == 5


def test_rank_given_candidates_refused():
    with using(memory_budget=1):
        with pytest.raises(OptionError, match="fewer candidate lines"):
            rank_candidates("japanese", candidates=["A*24:02~B*52:01~DRB1*15:02"], loci=LOCI, level="haplotype")


def test_supply_top_refused_names_top_and_just_under_runs():
    need = bitset_bytes(_rows(), len(LOCI), 3)
    with using(memory_budget=need - 1):
        with pytest.raises(OptionError, match=r"fewer candidates \(n_candidates\)"):
            supply("japanese", n_candidates=3, loci=LOCI)
    with using(memory_budget=need):
        assert len(supply("japanese", n_candidates=3, loci=LOCI).candidates) == 3


def test_supply_monte_carlo_refused_names_registry_sizes():
    rows = _rows()
    need = max(bitset_bytes(rows, len(LOCI), 2), bitset_bytes(rows, len(LOCI), min(50, rows)))
    with using(memory_budget=need - 1):
        with pytest.raises(OptionError, match=r"smaller registry sizes \(registry_sizes\)"):
            supply("japanese", n_candidates=2, loci=LOCI, registry_sizes=[50], level="genotype", samples=2)
    with using(memory_budget=need):
        report = supply("japanese", n_candidates=2, loci=LOCI, registry_sizes=[50], level="genotype", samples=2)
        assert report.registries


def test_monte_carlo_projected_past_the_time_budget_is_refused_naming_samples(monkeypatch):
    # The projection comes from the first draws; a clock that says each draw takes a minute makes any
    # run of 100 samples an hour and a half, past a one-hour budget.
    from hlamatch.compute import registry

    ticks = iter(range(0, 10**9, 60))
    monkeypatch.setattr(registry.time, "perf_counter", lambda: float(next(ticks)))
    with using(time_budget=3600.0):
        with pytest.raises(OptionError, match=r"fewer draws \(samples\)") as e:
            supply("japanese", n_candidates=1, loci=LOCI, registry_sizes=[50], level="genotype", samples=100)
    assert "time budget 1 h, the time_budget setting" in str(e.value)
    with using(time_budget=10**6):  # the same run within a larger budget goes on
        assert supply(
            "japanese", n_candidates=1, loci=LOCI, registry_sizes=[50], level="genotype", samples=100
        ).registries


@pytest.mark.parametrize("value", ["0", "-5", "nan", "1h", "inf"])
def test_time_budget_variable_must_be_seconds(monkeypatch, value):
    from hlamatch.compute.budget import TIME_ENV, time_budget

    monkeypatch.setenv(TIME_ENV, value)
    with pytest.raises(OptionError, match=TIME_ENV):
        time_budget()


def test_bitsets_of_many_lines_are_refused_before_allocating():
    # allele_classes checks the class bitsets and the rows' bitsets before building either.
    import numpy as np

    from hlamatch.compute.encode import allele_classes, merged_bitsets

    lines = np.arange(1000, dtype=np.int32).reshape(500, 2, 1)
    with using(memory_budget=10_000):
        with pytest.raises(OptionError, match=r"fewer lines or candidates \(n_candidates\)"):
            allele_classes(lines, [1000], rows=1000)
        with pytest.raises(OptionError, match=r"the bitsets of 500 lines"):
            merged_bitsets(np.arange(1000, dtype=np.int32).reshape(-1, 1), np.full(1000, 1e-3), lines, [1000])
    classes, slot1, slot2, _ = allele_classes(lines, [1000], rows=1000)
    # the class of allele 2t (slot 1 of line t) has bit t set in slot 1 only
    assert all(int(slot1[0][classes[0][2 * t]][t // 64]) >> (t % 64) & 1 for t in range(500))
    assert not any(int(slot2[0][classes[0][2 * t]][t // 64]) >> (t % 64) & 1 for t in range(500))


def test_coverage_top_too_many_is_refused_before_building_lines():
    from click.testing import CliRunner

    from hlamatch.cli import cli

    with using(memory_budget=500):  # the top 50 need at least 2 × 51 × 8 bytes
        out = CliRunner().invoke(cli, ["coverage", "--top", "50"])
    assert out.exit_code == 1 and out.output.startswith("Error: the bitsets of the 50 most frequent haplotypes"), (
        out.output
    )
    assert "fewer lines (--top), or --level 'haplotype'" in out.output


def test_exact_plan_too_large_is_refused_before_the_greedy_plan(monkeypatch):
    from hlamatch.api import planning
    from hlamatch.api.planning import plan_bank
    from hlamatch.compute import bank

    monkeypatch.setattr(bank, "MAX_PAIRS", 10)
    monkeypatch.setattr(bank.BankState.check_exact_size, "__defaults__", (10,))

    def no_greedy(*a, **k):
        raise AssertionError("the greedy plan ran before the size check")

    monkeypatch.setattr(planning, "_greedy", no_greedy)
    with pytest.raises(OptionError, match="patient pairs to model"):
        plan_bank("japanese", n_candidates=30, max_lines=2, exact=True)
