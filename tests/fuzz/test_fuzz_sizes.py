"""Fuzz of request sizes against a small memory budget: rows, candidates, top, samples and registry
sizes drawn at random, the budget (the ``memory_budget`` setting) small; every case ends in one
clear error (an OptionError naming the option to change, for a refusal) or succeeds, within the
time and memory bounds of ``fuzzing.bounded``.

Tables: the bundled ``japanese`` table and seeded synthetic ones (``benchmarks/synth.py``) of a few
hundred to 20,000 rows, written once per session.  Each test has a ``slow`` twin with more examples.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from conftest import REPO
from fuzzing import run_case, twins
from hypothesis import strategies as st

from hlamatch._settings import using
from hlamatch.api.planning import plan_bank, rank_candidates
from hlamatch.api.supply import supply
from hlamatch.errors import HlamatchError, OptionError
from hlamatch.io.bundled import resolve_table
from hlamatch.io.load import load_table

ROWS = (0, 500, 3000, 20_000)  # 0: the bundled table (100 rows)
LOCI = (None, ("A", "B", "DRB1"), ("A", "B"))
#: Seconds a Monte Carlo run may be projected to take (the case's limit is 10 s).
TIME_BUDGET = 3.0
BUDGETS = st.sampled_from([2**10, 2**14, 2**17, 2**20, 2**22, 2**24, 2**26])

#: Words a refusal for size names (the option to change), by the request's kind.
OPTIONS = {
    "rank": ("(n_candidates)", "fewer candidate lines", "max_pairs"),
    "plan": ("(n_candidates)", "fewer candidate lines", "max_pairs"),
    "supply": ("(n_candidates)", "(registry_sizes)", "samples", "(loci)"),
}


@cache
def _table(rows: int):
    if rows == 0:
        return resolve_table("japanese")
    out = Path(tempfile.mkdtemp(prefix="hlamatch-sizes-")) / f"synth{rows}.csv"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "synth.py"),
            "--haplotypes",
            str(rows),
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
    )
    return load_table(out)


def _check(kind: str, value, repro: str) -> None:
    if isinstance(value, OptionError) and any(
        w in str(value) for w in ("memory budget", "time budget", "patient pairs")
    ):
        assert any(o in str(value) for o in OPTIONS[kind]), f"refusal names no option: {value}\n{repro}"
    assert not isinstance(value, HlamatchError) or "\n" not in str(value).strip(), f"not one line: {value}\n{repro}"


requests = st.fixed_dictionaries(
    {
        "rows": st.sampled_from(ROWS),
        "loci": st.sampled_from(LOCI),
        "budget": BUDGETS,
        "n": st.one_of(st.integers(1, 40), st.integers(1, 10**7)),
    }
)


def _rank_body(r):
    tab = _table(r["rows"])
    repro = f"with using(memory_budget={r['budget']}): rank_candidates(<{r['rows']} rows>, n_candidates={r['n']}, loci={r['loci']})"
    with using(memory_budget=r["budget"]):
        value = run_case(rank_candidates, tab, n_candidates=r["n"], loci=r["loci"], level="haplotype", repro=repro)
    _check("rank", value, repro)


test_rank_sizes, test_rank_sizes_slow = twins(25, 400, requests)(_rank_body)


plans = st.fixed_dictionaries(
    {
        "rows": st.sampled_from(ROWS[:3]),
        "loci": st.sampled_from(LOCI),
        "budget": BUDGETS,
        "n": st.one_of(st.integers(1, 30), st.integers(1, 10**7)),
        "lines": st.integers(1, 4),
        # The exact plan is left out: HiGHS may run past the case's time limit (time_limit is not
        # always honoured within seconds), which is solver time, not a request size.
        "exact": st.just(False),
    }
)


def _plan_body(r):
    tab = _table(r["rows"])
    repro = (
        f"with using(memory_budget={r['budget']}): plan_bank(<{r['rows']} rows>, n_candidates={r['n']}, "
        f"max_lines={r['lines']}, loci={r['loci']}, exact={r['exact']}, time_limit=2.0 if exact else None)"
    )
    with using(memory_budget=r["budget"]):
        value = run_case(
            plan_bank,
            tab,
            n_candidates=r["n"],
            max_lines=r["lines"],
            loci=r["loci"],
            level="haplotype",
            exact=r["exact"],
            time_limit=2.0 if r["exact"] else None,
            repro=repro,
        )
    _check("plan", value, repro)


test_plan_sizes, test_plan_sizes_slow = twins(15, 300, plans)(_plan_body)


supplies = st.fixed_dictionaries(
    {
        "rows": st.sampled_from(ROWS),
        "loci": st.sampled_from(LOCI),
        "budget": BUDGETS,
        "top": st.one_of(st.integers(1, 30), st.integers(1, 10**7)),
        "sizes": st.lists(st.one_of(st.integers(1, 200), st.integers(1, 10**9)), max_size=2, unique=True),
        "level": st.sampled_from(["haplotype", "genotype", "both"]),
        "samples": st.one_of(st.integers(1, 8), st.integers(1, 10**12)),
    }
)


def _supply_body(r):
    tab = _table(r["rows"])
    # Monte Carlo cost grows with samples × draws' banks: keep it within the case's time on big tables.
    samples = r["samples"] if r["rows"] <= 500 or r["level"] == "haplotype" else min(r["samples"], 2)
    repro = (
        f"with using(memory_budget={r['budget']}, time_budget={TIME_BUDGET}): supply(<{r['rows']} rows>, n_candidates={r['top']}, "
        f"registry_sizes={r['sizes']}, level={r['level']!r}, samples={samples}, loci={r['loci']})"
    )
    with using(memory_budget=r["budget"], time_budget=TIME_BUDGET):
        value = run_case(
            supply,
            tab,
            n_candidates=r["top"],
            registry_sizes=r["sizes"],
            level=r["level"],
            samples=samples,
            loci=r["loci"],
            repro=repro,
        )
    _check("supply", value, repro)


test_supply_sizes, test_supply_sizes_slow = twins(25, 400, supplies)(_supply_body)
