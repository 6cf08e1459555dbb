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
        with pytest.raises(OptionError, match=r"n_candidates, -n") as e:
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
        with pytest.raises(OptionError, match=r"top, --top"):
            supply("japanese", top=3, loci=LOCI)
    with using(memory_budget=need):
        assert len(supply("japanese", top=3, loci=LOCI).candidates) == 3


def test_supply_monte_carlo_refused_names_registry_sizes():
    rows = _rows()
    need = max(bitset_bytes(rows, len(LOCI), 2), bitset_bytes(rows, len(LOCI), min(50, rows)))
    with using(memory_budget=need - 1):
        with pytest.raises(OptionError, match=r"registry_sizes, -R"):
            supply("japanese", top=2, loci=LOCI, registry_sizes=[50], level="genotype", samples=2)
    with using(memory_budget=need):
        report = supply("japanese", top=2, loci=LOCI, registry_sizes=[50], level="genotype", samples=2)
        assert report.registries
