"""Japanese coverage of the top 1/10/30/50 lines at two-field, one-field, antigen and broad level.

Usage (from the repository root)::

    python benchmarks/resolution_figures.py                       # reads ../shared/data
    python benchmarks/resolution_figures.py --japi PATH --nomenclature DIR

On the NMDP 2020 JAPI table at loci A, B, DRB1, haplotype and genotype level (lower bound), two
banks per resolution:

* ``same bank``: the N most frequent two-field haplotypes as homozygous lines, evaluated at each
  resolution (how the figure moves with the matching level for one bank);
* ``own top``: the N most frequent haplotypes *at that resolution* (antigen-level haplotypes at
  antigen level), as a planner working at that level would bank them.

Published figures for Japan at A, B, DR (Nakatsuji et al. 2008, Nat Biotechnol 26:739; quoted in
the matching model): first line about 17%, 30 lines 82.2%, 50 lines 90.7%.  The script prints a
Markdown table and writes ``benchmarks/out/resolution_figures.json``; it also reports how long
loading the nomenclature mapping took in this process.
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
from hlamatch.hla.nomenclature import use_nomenclature  # noqa: E402

DEFAULT_NOMENCLATURE = REPO.parent / "shared" / "data" / "raw" / "IMGTHLA"
RESOLUTIONS = ("2-field", "1-field", "antigen", "broad")
SIZES = (1, 10, 30, 50)
PUBLISHED = {1: 0.17, 30: 0.822, 50: 0.907}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--japi", type=Path, default=DEFAULT_JAPI)
    ap.add_argument("--nomenclature", type=Path, default=DEFAULT_NOMENCLATURE)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)
    for what, p in (("JAPI table", args.japi), ("nomenclature folder", args.nomenclature)):
        if not p.exists():
            print(f"{what} not found at {p}: pass it explicitly (see --help)", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    nom = use_nomenclature(args.nomenclature)
    nom.antigen("A*24:02"), nom.broad("A24"), nom.known("A*24:02")  # load what antigen/broad need
    load_s = time.perf_counter() - t0
    table = hlamatch.load_table(args.japi).select(["A", "B", "DRB1"])
    same = hlamatch.top_lines(table, max(SIZES))
    rows = []
    for res in RESOLUTIONS:
        own = hlamatch.top_lines(table, max(SIZES), resolution=res)
        for bank_kind, bank in (("same bank", same), ("own top", own)):
            for n in SIZES:
                report = hlamatch.coverage(table, bank[:n], resolution=res)
                for r in report:
                    rows.append(
                        {
                            "resolution": res,
                            "bank": bank_kind,
                            "lines": n,
                            "level": r.level,
                            "coverage": r.coverage,
                            "upper": r.upper,
                            "nomenclature": r.nomenclature,
                        }
                    )
    print(f"JAPI A~B~DRB1, lower bound; nomenclature {nom.release} (mapping loaded in {load_s:.3f} s)\n")
    print("| resolution | bank | level | " + " | ".join(f"top {n}" for n in SIZES) + " |")
    print("|---|---|---|" + "---|" * len(SIZES))
    for res in RESOLUTIONS:
        for bank_kind in ("same bank", "own top"):
            for level in ("haplotype", "genotype"):
                cells = [
                    next(
                        r["coverage"]
                        for r in rows
                        if (r["resolution"], r["bank"], r["level"], r["lines"]) == (res, bank_kind, level, n)
                    )
                    for n in SIZES
                ]
                print(f"| {res} | {bank_kind} | {level} | " + " | ".join(f"{c * 100:.1f}%" for c in cells) + " |")
    print(
        "| published (Nakatsuji 2008, antigen A/B/DR) | | | "
        + " | ".join(f"{PUBLISHED[n] * 100:.1f}%" if n in PUBLISHED else "–" for n in SIZES)
        + " |"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "resolution_figures.json").write_text(
        json.dumps(
            {
                "table": str(args.japi.name),
                "loci": ["A", "B", "DRB1"],
                "nomenclature": nom.release,
                "mapping_load_s": load_s,
                "published": PUBLISHED,
                "rows": rows,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
