"""Bank-planning benchmarks: rank 1,000 candidates and a 100-line greedy plan on the full JAPI table.

Usage (from the repository root, with hlamatch installed)::

    python benchmarks/bench_bank.py                      # reads ../shared/data (NMDP JAPI 2020)
    python benchmarks/bench_bank.py --japi PATH --candidates 1000 --lines 100 --repeat 3

Workloads, on the JAPI five-locus table (A~C~B~DRB1~DQB1, 6,043 haplotypes), genotype level:

* ``rank``: the marginal gain of each of the N most frequent haplotypes as homozygous lines, from
  one pass over patient genotypes (``hlamatch.rank_candidates``), cold (first call in this
  process: compile or cache load) and warm (median of ``--repeat``);
* the same figures by calling ``hlamatch.coverage`` once per candidate (what a researcher had to
  script before), in the same run, on the same table: the ratio is the speed-up; the gains of the
  two methods are compared too;
* ``plan``: a greedy plan of ``--lines`` lines from those candidates;
* whole commands as a planner runs them (``hlamatch rank`` / ``hlamatch plan``, start-up included),
  on the bundled table and, when the table file is given, on it.

Results go to stdout and, as JSON and Markdown, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_coverage import DEFAULT_JAPI, system_info, timed  # noqa: E402

import hlamatch  # noqa: E402


def command_time(args: list[str], repeat: int) -> float:
    """Median wall time of a whole ``hlamatch`` command (new process each time)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hlamatch", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--japi", type=Path, default=DEFAULT_JAPI, help="NMDP JAPI table (Haplo,Count,Freq)")
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=100, help="lines of the greedy plan")
    ap.add_argument("--repeat", type=int, default=3, help="warm repetitions")
    ap.add_argument(
        "--per-candidate",
        type=int,
        default=None,
        help="coverage runs for the one-call-per-candidate comparison (default: all candidates)",
    )
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)
    if not args.japi.exists():
        print(f"JAPI table not found at {args.japi}: pass --japi PATH", file=sys.stderr)
        return 2
    info = system_info()
    five = hlamatch.load_table(args.japi).select(["A", "C", "B", "DRB1", "DQB1"])
    n_rows = int(five.population_rows().shape[0])
    cands = hlamatch.top_lines(five, args.candidates, expressed_only=True)
    result: dict = {"system": info, "table": str(args.japi.name), "haplotypes": n_rows, "candidates": len(cands)}

    cold, warm, rank = timed(lambda: hlamatch.rank_candidates(five, cands, level="genotype"), args.repeat)
    result["rank"] = {"cold_s": cold, "warm_s": warm, "best": rank[0].line, "best_gain": rank[0].gain}
    print(
        f"rank {len(cands)} candidates, genotype level, {n_rows} haplotypes: cold {cold:.2f} s, "
        f"warm {warm:.2f} s; best {rank[0].line} gain {rank[0].gain:.6f}",
        flush=True,
    )

    # The same gains by one coverage call per candidate.
    k = len(cands) if args.per_candidate is None else min(args.per_candidate, len(cands))
    hlamatch.coverage(five, [cands[0]], level="genotype")  # compiled already; keep it fair
    gains = {c.line: c.gain for c in rank}
    t0 = time.perf_counter()
    diffs = []
    for c in cands[:k]:
        cov = hlamatch.coverage(five, [c], level="genotype")[0].lower
        diffs.append(abs(cov - gains[c.text()]))
    per_call = (time.perf_counter() - t0) / k
    loop_s = per_call * len(cands)
    result["per_candidate_coverage"] = {
        "calls_timed": k,
        "seconds_per_call": per_call,
        "seconds_for_all": loop_s,
        "extrapolated": k < len(cands),
        "speedup_of_rank": loop_s / warm,
        "max_abs_difference": max(diffs),
    }
    print(
        f"coverage once per candidate: {per_call * 1e3:.1f} ms per call, {loop_s:.1f} s for {len(cands)}"
        f"{' (extrapolated from ' + str(k) + ')' if k < len(cands) else ''} → rank is "
        f"{loop_s / warm:.0f}× faster; max |gain difference| {max(diffs):.1e}",
        flush=True,
    )

    cold, warm, plan = timed(lambda: hlamatch.plan_bank(five, cands, n_lines=args.lines, level="genotype"), args.repeat)
    result["plan"] = {"cold_s": cold, "warm_s": warm, "lines": args.lines, "coverage": plan.steps[-1].coverage}
    print(
        f"greedy plan of {args.lines} lines from {len(cands)} candidates: cold {cold:.2f} s, warm {warm:.2f} s; "
        f"coverage {plan.steps[-1].coverage:.4f}",
        flush=True,
    )

    commands = {
        "rank, bundled table, 100 candidates": ["rank", "--n-candidates", "100", "--format", "json"],
        "plan, bundled table, 30 lines": ["plan", "--lines", "30", "--format", "json"],
        f"rank, {args.japi.name} five loci, {len(cands)} candidates": [
            "rank",
            "-t",
            str(args.japi),
            "--loci",
            "A,C,B,DRB1,DQB1",
            "--n-candidates",
            str(len(cands)),
            "--format",
            "json",
            "-q",
        ],
        f"plan, {args.japi.name} five loci, {args.lines} lines from {len(cands)}": [
            "plan",
            "-t",
            str(args.japi),
            "--loci",
            "A,C,B,DRB1,DQB1",
            "--n-candidates",
            str(len(cands)),
            "--lines",
            str(args.lines),
            "--format",
            "json",
            "-q",
        ],
    }
    result["commands"] = {}
    for name, cmd in commands.items():
        try:
            s = command_time(cmd, max(1, args.repeat))
        except subprocess.CalledProcessError as e:
            print(f"command {name} failed: {e.stderr.decode()[-300:]}", file=sys.stderr)
            continue
        result["commands"][name] = s
        print(f"whole command, {name}: {s:.2f} s", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bank.json").write_text(json.dumps(result, indent=2, default=float))
    md = ["# hlamatch bank-planning benchmark", "", "| key | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in info.items()]
    pc = result["per_candidate_coverage"]
    md += [
        "",
        f"JAPI five-locus table, {n_rows} haplotypes, {len(cands)} candidates, genotype level.",
        "",
        "| workload | cold (s) | warm (s) |",
        "|---|---|---|",
        f"| rank | {result['rank']['cold_s']:.2f} | {result['rank']['warm_s']:.2f} |",
        f"| greedy plan, {args.lines} lines | {result['plan']['cold_s']:.2f} | {result['plan']['warm_s']:.2f} |",
        "",
        f"One coverage call per candidate: {pc['seconds_per_call'] * 1e3:.1f} ms each, "
        f"{pc['seconds_for_all']:.1f} s for all → rank is **{pc['speedup_of_rank']:.0f}×** faster "
        f"(max |gain difference| {pc['max_abs_difference']:.1e}).",
        "",
        "| whole command | seconds |",
        "|---|---|",
    ]
    md += [f"| {k} | {v:.2f} |" for k, v in result["commands"].items()]
    (args.out / "bank.md").write_text("\n".join(md) + "\n")
    print(f"wrote {args.out / 'bank.json'} and {args.out / 'bank.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
