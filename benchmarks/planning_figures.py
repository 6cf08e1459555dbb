"""Japanese planning figures: lines greedy needs for 50/80/90% coverage, and donor supply.

Usage (from the repository root)::

    python benchmarks/planning_figures.py                # reads ../shared/data (NMDP JAPI 2020)
    python benchmarks/planning_figures.py --japi PATH

On JAPI at loci A, B, DRB1, two-field and one-field resolution, haplotype and genotype level:
the number of lines the greedy plan (candidates: the 2,000 most frequent haplotypes as homozygous
lines) needs to reach 50%, 80% and 90% coverage (lower bound), and the donor supply for registries
of 15,000, 24,000 and 160,000 typed people (expected distinct homozygous lines and the expected
coverage of the bank they give).  Compare with the published figures quoted in the matching model
(Nakatsuji et al. 2008: 50 lines ≈ 90%, antigen level; CiRA: 75 lines ≈ 80%).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_coverage import DEFAULT_JAPI  # noqa: E402

import hlamatch  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--japi", type=Path, default=DEFAULT_JAPI)
    ap.add_argument("--candidates", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)
    if not args.japi.exists():
        print(f"JAPI table not found at {args.japi}: pass --japi PATH", file=sys.stderr)
        return 2
    table = hlamatch.load_table(args.japi).select(["A", "B", "DRB1"])
    out = {"plans": [], "supply": []}
    for resolution in ("2-field", "1-field"):
        tab = table.select(None, resolution)
        for level in ("haplotype", "genotype"):
            t0 = time.perf_counter()
            plan = hlamatch.plan_bank(tab, n_candidates=args.candidates, target=0.9, level=level)
            need = {f"{int(c * 100)}%": plan.lines_for(c) for c in (0.5, 0.8, 0.9)}
            row = {
                "resolution": resolution,
                "level": level,
                **need,
                "coverage_10": plan.steps[min(10, len(plan.steps) - 1)].coverage,
                "coverage_50": plan.steps[min(50, len(plan.steps) - 1)].coverage,
                "coverage_75": plan.steps[min(75, len(plan.steps) - 1)].coverage,
                "seconds": time.perf_counter() - t0,
                "stop": plan.stop_reason,
            }
            out["plans"].append(row)
            print(json.dumps(row), flush=True)
        rep = hlamatch.supply(tab, loci=None, registry_sizes=[15000, 24000, 160000], level="both")
        for r in rep.to_dicts("registry"):
            row = {
                "resolution": resolution,
                **{
                    k: r[k]
                    for k in (
                        "registry_size",
                        "expected_distinct_lines",
                        "level",
                        "expected_coverage",
                        "ci_low",
                        "ci_high",
                        "method",
                    )
                },
            }
            out["supply"].append(row)
            print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "planning_figures.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
