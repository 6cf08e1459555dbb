"""Coverage benchmarks: warm timings apart from compile time, against a plain NumPy reference.

Usage (from the repository root, with hlamatch installed)::

    python benchmarks/bench_coverage.py                  # reads ../shared/data (NMDP JAPI 2020)
    python benchmarks/bench_coverage.py --japi PATH      # or a JAPI table of your own
    python benchmarks/bench_coverage.py --repeat 20 --out benchmarks/out

Each workload is run once cold (the first call in this process: JIT compilation or a load from
numba's on-disk cache, plus the table work) and then ``--repeat`` times warm; the median warm
time is reported.  The NumPy references are ``tests/naive.py``'s vectorised brute forces over all
ordered patient genotypes (a plain broadcast one, and one with the match flags packed into
integers), run in the same process on the same arrays, so the ratios are robust to a noisy
machine.  Results go to stdout and, as JSON and Markdown, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import numba  # noqa: E402
from naive import numpy_genotype_coverage, plain_numpy_genotype_coverage  # noqa: E402

import hlamatch  # noqa: E402

DEFAULT_JAPI = REPO.parent / "shared" / "data" / "raw" / "HLAMatchIt" / "freqs_9loc_2020_trim" / "freqs.JAPI.csv"


def system_info() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "hlamatch": hlamatch.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_cache": os.environ.get("HLAMATCH_NUMBA_CACHE", "1"),
    }


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """(cold seconds, median warm seconds, result)."""
    t0 = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm), result


def reference_arrays(table, lines):
    rows = table.population_rows()
    codes = np.ascontiguousarray(table.codes[rows])
    freqs = np.ascontiguousarray(table.freqs[rows, 0])
    lookups = [{a: i for i, a in enumerate(v)} for v in table.alleles]
    lc = np.full((len(lines), 2, len(table.loci)), -1, dtype=np.int32)
    for t, text in enumerate(lines):
        for l, allele in enumerate(text.split("~")):
            lc[t, :, l] = lookups[l].get(allele, -1)
    return codes, freqs, lc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--japi", type=Path, default=DEFAULT_JAPI, help="NMDP JAPI table (Haplo,Count,Freq)")
    ap.add_argument("--repeat", type=int, default=10, help="warm repetitions per workload")
    ap.add_argument("--numpy-repeat", type=int, default=2, help="repetitions of the NumPy reference")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out", help="folder for JSON/Markdown")
    args = ap.parse_args(argv)
    if not args.japi.exists():
        print(f"JAPI table not found at {args.japi}: pass --japi PATH", file=sys.stderr)
        return 2

    info = system_info()
    t0 = time.perf_counter()
    full = hlamatch.load_table(args.japi)
    load_s = time.perf_counter() - t0
    five = full.select(["A", "C", "B", "DRB1", "DQB1"])
    abdr = full.select(["A", "B", "DRB1"])
    top20 = five.top_haplotypes(20)
    top10 = abdr.top_haplotypes(10)
    cira = ["A*24:02~B*52:01~DRB1*15:02"]

    workloads = [
        ("genotype, top-20 JAPI five-locus lines, full JAPI five-locus table", five, top20, "genotype", {}),
        ("haplotype, top-20 JAPI five-locus lines, full JAPI five-locus table", five, top20, "haplotype", {}),
        ("genotype, CiRA line, JAPI A~B~DRB1", abdr, cira, "genotype", {}),
        ("genotype, top-10 A~B~DRB1, k=0 with distribution", abdr, top10, "genotype", {"distribution": True}),
        ("haplotype, top-10 A~B~DRB1, k=0 with distribution", abdr, top10, "haplotype", {"distribution": True}),
        (
            "genotype, top-10 A~B~DRB1, k<=1, DRB1 must match",
            abdr,
            top10,
            "genotype",
            {"max_mismatches": 1, "require_match": ["DRB1"]},
        ),
        (
            "haplotype, top-10 A~B~DRB1, k<=1, DRB1 must match",
            abdr,
            top10,
            "haplotype",
            {"max_mismatches": 1, "require_match": ["DRB1"]},
        ),
        ("genotype, top-10 A~B~DRB1, GvH k=0", abdr, top10, "genotype", {"direction": "GvH"}),
    ]
    rows = []
    for name, table, lines, level, opts in workloads:
        cold, warm, report = timed(
            lambda: hlamatch.coverage(table, lines, level=level, **opts),  # noqa: B023 - called at once
            args.repeat if "GvH" not in name else 2,
        )
        rows.append(
            {
                "workload": name,
                "haplotypes": int(table.population_rows().shape[0]),
                "lines": len(lines),
                "coverage": report[0].coverage,
                "cold_s": cold,
                "warm_s": warm,
            }
        )
        print(f"{name}: coverage {report[0].coverage:.6f}  cold {cold:.3f} s  warm {warm * 1e3:.2f} ms", flush=True)

    # The headline comparison: NumPy brute force over every ordered genotype, same arrays.
    codes, freqs, lc = reference_arrays(five, top20)
    head = rows[0]
    comparison = {"workload": head["workload"], "hlamatch_warm_s": head["warm_s"], "hlamatch_cold_s": head["cold_s"]}
    for key, fn, reps in (
        ("numpy_plain", plain_numpy_genotype_coverage, 1),
        ("numpy_bitpacked", numpy_genotype_coverage, args.numpy_repeat),
    ):
        times, value = [], None
        for _ in range(reps):
            t0 = time.perf_counter()
            value = fn(codes, freqs, lc)
            times.append(time.perf_counter() - t0)
        comparison[f"{key}_s"] = statistics.median(times)
        comparison[f"{key}_speedup"] = statistics.median(times) / head["warm_s"]
        comparison[f"{key}_abs_difference"] = abs(value - head["coverage"])
        print(
            f"{key} NumPy reference: {comparison[key + '_s']:.2f} s → hlamatch is "
            f"{comparison[key + '_speedup']:.0f}× faster (|difference| {comparison[key + '_abs_difference']:.1e})"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    result = {"system": info, "table_load_s": load_s, "workloads": rows, "numpy_comparison": comparison}
    (args.out / "coverage.json").write_text(json.dumps(result, indent=2))
    md = ["# hlamatch coverage benchmark", "", "| key | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in info.items()]
    md += [
        "",
        f"Table load (JAPI 9-locus CSV): {load_s:.3f} s",
        "",
        "| workload | haplotypes | lines | coverage | cold (s) | warm (ms) |",
        "|---|---|---|---|---|---|",
    ]
    md += [
        f"| {r['workload']} | {r['haplotypes']} | {r['lines']} | {r['coverage']:.6f} | {r['cold_s']:.3f} | "
        f"{r['warm_s'] * 1e3:.2f} |"
        for r in rows
    ]
    md += [
        "",
        f"First workload, hlamatch warm {comparison['hlamatch_warm_s'] * 1e3:.2f} ms against NumPy brute force "
        "over all ordered genotypes on the same arrays:",
        "",
        f"- plain broadcast NumPy: {comparison['numpy_plain_s']:.2f} s → **{comparison['numpy_plain_speedup']:.0f}×** "
        f"(|difference| {comparison['numpy_plain_abs_difference']:.1e})",
        f"- bit-packed NumPy: {comparison['numpy_bitpacked_s']:.3f} s → **{comparison['numpy_bitpacked_speedup']:.0f}×** "
        f"(|difference| {comparison['numpy_bitpacked_abs_difference']:.1e})",
    ]
    (args.out / "coverage.md").write_text("\n".join(md) + "\n")
    print(f"wrote {args.out / 'coverage.json'} and {args.out / 'coverage.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
