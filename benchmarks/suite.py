"""One command for the whole benchmark report: ``RESULTS.md`` and ``RESULTS.json``.

Usage (from the repository root, with hlamatch installed)::

    python benchmarks/suite.py                       # full run (about 25 minutes on 2 cores)
    python benchmarks/suite.py --quick               # smaller synthetic tables, fewer repeats
    python benchmarks/suite.py --only rules,rank     # some workloads (names or name prefixes)
    python benchmarks/suite.py --out benchmarks/RESULTS --note "taken while other work ran"
    python benchmarks/suite.py --list                # the workloads of a mode, and exit

Every workload is timed four ways, each in processes of its own:

* **cold**: the first call in a fresh process whose numba cache (``NUMBA_CACHE_DIR``) and table
  cache (``HLAMATCH_CACHE_DIR``) are new, empty folders: JIT compilation included.  Reading the
  table in that process (the table cache empty too) is reported apart as **load**.
* **warm**: the same call repeated in that process after the cold one; the median of a few.
* **command**: the whole ``hlamatch ...`` command as a planner types it, in a new process, with
  the caches the cold run filled (start-up, imports, table load from the cache, output):
  one untimed run, then the median of a few.  Its output (JSON) must give the same figure as
  the API call (``command agrees``).
* **peak memory**: the maximum resident set size of the process of the cold and warm runs and of
  the command process (``os.wait4``: the process and the children it waited for, Dask workers
  included).

Where a NumPy reference exists (``tests/naive.py``: the brute force over every ordered patient
genotype with the match flags packed into integers, genotype or haplotype level, on the arrays
``bench_coverage.reference_arrays`` builds), it runs in a process of its own on the same table and
lines.  The reference is quadratic in the rows: above a budget of row pairs × lines it is run on
the table's first *m* rows and its time scaled by (n/m)², marked *extrapolated* (its value is then
not comparable).  The reference counts listed patient pairs only; on a table with unlisted mass
hlamatch's lower bound also counts pairs with an unlisted chromosome, so the values differ there.

Each process has a time cap; a run past it is killed (with its process group) and reported as
``> N s (not finished)``, never dropped.  Workloads reading ``../shared/data`` (real NMDP tables,
which the project may not redistribute) are reported as skipped when it is absent.  Synthetic
tables come from ``benchmarks/synth.py`` (seed 0) and are written to a scratch folder
(``--work``, default a temporary one), never into the project.

The report's header describes the machine (CPU model, cores, RAM, versions; no host name), the
hlamatch commit and a digest of ``hlamatch/``'s sources at the start; each workload records the
digest at its own start, and the report says so when it moved (someone edited or committed
``hlamatch/`` while the suite ran: the workloads then did not all run the same code).

Modes: the default (full) uses a 10^7-row synthetic table for the haplotype-level workload and a
10^6-row one for tolerance; ``--quick`` uses 10^5 and 10^4 rows and fewer repeats; ``--tiny``
(for the tests) a 10^3-row synthetic table and the bundled table in place of the real ones.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_REL = "../shared/data"
JAPI_REL = f"{SHARED_REL}/raw/HLAMatchIt/freqs_9loc_2020_trim/freqs.JAPI.csv"
KORI_REL = f"{SHARED_REL}/raw/HLAMatchIt/freqs_9loc_2020_trim/freqs.KORI.csv"
CAU_REL = f"{SHARED_REL}/benchmark/us_nmdp2011_antigen_5locus.parquet"
FIVE = ["A", "C", "B", "DRB1", "DQB1"]
SYNTH_SEED = 0

#: Per mode: synthetic rows (haplotype-level workload, tolerance workload), warm repeats and the
#: warm time after which repeating stops, command repeats, the cap of one process (seconds), and
#: the NumPy reference's budget of row pairs × lines before it is extrapolated.
MODES: dict[str, dict[str, Any]] = {
    "full": {
        "synth_haplotype": 10_000_000,
        "synth_tolerance": 1_000_000,
        "repeats": 5,
        "warm_budget": 60.0,
        "command_repeats": 3,
        "command_budget": 60.0,
        "cap": 600.0,
        "reference_pairs": 4e9,
    },
    "quick": {
        "synth_haplotype": 100_000,
        "synth_tolerance": 10_000,
        "repeats": 3,
        "warm_budget": 15.0,
        "command_repeats": 1,
        "command_budget": 15.0,
        "cap": 180.0,
        "reference_pairs": 5e8,
    },
    "tiny": {
        "synth_haplotype": 1_000,
        "synth_tolerance": 1_000,
        "repeats": 2,
        "warm_budget": 5.0,
        "command_repeats": 1,
        "command_budget": 5.0,
        "cap": 120.0,
        "reference_pairs": 1e8,
    },
}


@dataclass
class Workload:
    """One benchmark: an API call, the matching ``hlamatch`` command, and optionally a NumPy reference."""

    name: str  # short id for --only
    group: str  # the workload family
    title: str  # what it computes, in words
    kind: str  # coverage | rank | plan
    table: str  # "bundled:NAME", a path relative to the repository root, or "synth:ROWS"
    population: str | None = None
    loci: list[str] | None = None
    lines: int = 20  # coverage: the N most frequent haplotypes as lines; rank/plan: candidates
    level: str = "genotype"
    rules: dict[str, Any] = field(default_factory=dict)
    cli_rules: list[str] = field(default_factory=list)
    tolerance: float = 0.0
    n_lines: int | None = None  # plan: lines to add
    engine: str | None = None
    reference: str | None = None  # "genotype" | "haplotype": the NumPy brute force to compare with
    cap: float | None = None  # seconds per process (default: the mode's)
    needs_shared: bool = False

    def rows_hint(self) -> int | None:
        return int(self.table.split(":", 1)[1]) if self.table.startswith("synth:") else None


def _synth(rows: int) -> str:
    return f"synth:{rows}"


def workloads(mode: str) -> list[Workload]:
    """The workloads of a mode, in report order."""
    m = MODES[mode]
    tiny = mode == "tiny"
    out: list[Workload] = []
    hap_rows, tol_rows = m["synth_haplotype"], m["synth_tolerance"]

    # 1. Haplotype level on a large synthetic table.
    out.append(
        Workload(
            f"haplotype-synth{_size(hap_rows)}",
            "1 haplotype level",
            f"haplotype level, top 20 lines, synthetic table of {hap_rows:,} rows",
            "coverage",
            _synth(hap_rows),
            lines=20,
            level="haplotype",
            reference="haplotype",
            cap=1500.0 if hap_rows >= 10_000_000 else None,
        )
    )

    # 2. Exact genotype level on real tables (the bundled one in tiny mode).
    if tiny:
        real = [("bundled", "bundled:japanese", None, FIVE, (20,))]
    else:
        real = [
            ("japi", JAPI_REL, None, FIVE, (20, 100)),
            ("kori", KORI_REL, None, FIVE, (20, 100)),
            ("cau", CAU_REL, "CAU", None, (20, 100)),
        ]
    for label, path, pop, loci, tops in real:
        for top in tops:
            what = {
                "japi": "JAPI five-locus",
                "kori": "KORI five-locus",
                "cau": "CAU antigen five-locus",
                "bundled": "bundled Japanese table",
            }[label]
            out.append(
                Workload(
                    f"genotype-{label}-top{top}",
                    "2 exact genotype level",
                    f"genotype level, top {top} lines, {what}",
                    "coverage",
                    path,
                    population=pop,
                    loci=loci,
                    lines=top,
                    reference="genotype",
                    needs_shared=not tiny,
                )
            )

    # 3. Every rule family on CAU A,B,DR, 100 lines (bundled A,B,DRB1, 20 lines, in tiny mode).
    rules_table, rules_pop, rules_loci, rules_top = (
        ("bundled:japanese", None, ["A", "B", "DRB1"], 20) if tiny else (CAU_REL, "CAU", ["A", "B", "DR"], 100)
    )
    dr = rules_loci[2]
    families = [
        ("k1", "-k 1", {"max_mismatches": 1}, ["-k", "1"]),
        (
            "k1-allow-ab",
            "-k 1 --allow-mismatch A,B",
            {"max_mismatches": 1, "allow_mismatch": ["A", "B"]},
            ["-k", "1", "--allow-mismatch", "A,B"],
        ),
        ("require-dr", f"--require-match {dr}", {"require_match": [dr]}, ["--require-match", dr]),
        ("gvh", "--direction gvh", {"direction": "GvH"}, ["--direction", "gvh"]),
        (
            "bidirectional",
            "--direction bidirectional",
            {"direction": "bidirectional"},
            ["--direction", "bidirectional"],
        ),
        ("homozygous2", "--homozygous-count 2", {"homozygous_count": 2}, ["--homozygous-count", "2"]),
    ]
    where = "bundled Japanese A~B~DRB1" if tiny else "CAU antigen A~B~DR"
    for key, words, rules, cli in families:
        out.append(
            Workload(
                f"rules-{key}",
                "3 rule families",
                f"genotype level, {words}, top {rules_top} lines, {where}",
                "coverage",
                rules_table,
                population=rules_pop,
                loci=rules_loci,
                lines=rules_top,
                rules=rules,
                cli_rules=cli,
                needs_shared=not tiny,
            )
        )

    # 4. Tolerance (and exact, for the bracket) on a synthetic table.
    for key, tol in (("tolerance", 1e-6), ("exact", 0.0)):
        words = "tolerance 1e-6" if tol else "exact (tolerance 0)"
        out.append(
            Workload(
                f"{key}-synth{_size(tol_rows)}",
                "4 tolerance",
                f"genotype level, {words}, top 20 lines, synthetic table of {tol_rows:,} rows",
                "coverage",
                _synth(tol_rows),
                lines=20,
                tolerance=tol,
                reference="genotype",
            )
        )

    # 5-6. Planning on JAPI five-locus (the bundled table in tiny mode).
    plan_table, plan_label = ("bundled:japanese", "bundled Japanese table") if tiny else (JAPI_REL, "JAPI five-locus")
    n_cand = 100 if tiny else 1000
    n_plan = 10 if tiny else 100
    out.append(
        Workload(
            "rank",
            "5 rank",
            f"rank {n_cand:,} candidates, genotype level, {plan_label}",
            "rank",
            plan_table,
            loci=FIVE,
            lines=n_cand,
            needs_shared=not tiny,
        )
    )
    out.append(
        Workload(
            "plan",
            "6 plan",
            f"greedy plan of {n_plan} lines from {n_cand:,} candidates, genotype level, {plan_label}",
            "plan",
            plan_table,
            loci=FIVE,
            lines=n_cand,
            n_lines=n_plan,
            needs_shared=not tiny,
        )
    )

    # 7. Dask (a local cluster of two worker processes), equality to the local engine.
    dask_top = 20 if tiny else 100
    out.append(
        Workload(
            "dask",
            "7 Dask",
            f"genotype level, -k 1, top {dask_top} lines, {plan_label}, --engine dask (local 2-worker cluster)",
            "coverage",
            plan_table,
            loci=FIVE,
            lines=dask_top,
            rules={"max_mismatches": 1},
            cli_rules=["-k", "1"],
            engine="dask",
            needs_shared=not tiny,
        )
    )
    return out


def _size(rows: int) -> str:
    exp = round(math.log10(rows))
    return f"-1e{exp}" if 10**exp == rows else f"-{rows}"


# --------------------------------------------------------------------------------------------
# Child processes: the API run and the NumPy reference.
# --------------------------------------------------------------------------------------------


def _open_table(hlamatch, spec: dict, head: int | None = None):
    """The workload's table (one population, the chosen loci)."""
    src = spec["table_path"]
    if src.startswith("bundled:"):
        table = hlamatch.bundled_table(src.split(":", 1)[1])
    elif head is not None:  # the first rows of a synthetic table (most frequent first)
        import polars as pl

        table = hlamatch.table_from_frame(pl.read_parquet(src, n_rows=head), name=Path(src).name)
    else:
        table = hlamatch.load_table(src, population=spec.get("population"))
    if spec.get("loci"):
        table = table.select(spec["loci"])
    return table


def _call(hlamatch, table, spec: dict):
    """A function running the workload's API call once."""
    kind = spec["kind"]
    if kind == "coverage":
        lines = hlamatch.top_lines(table, spec["lines"])
        opts = dict(spec["rules"], level=spec["level"])
        if spec["tolerance"]:
            opts["tolerance"] = spec["tolerance"]
        if spec["engine"]:
            opts["engine"] = spec["engine"]
        return lambda: hlamatch.coverage(table, lines, **opts)
    if kind == "rank":
        return lambda: hlamatch.rank_candidates(table, n_candidates=spec["lines"], level=spec["level"], **spec["rules"])
    if kind == "plan":
        return lambda: hlamatch.plan_bank(
            table, n_candidates=spec["lines"], n_lines=spec["n_lines"], level=spec["level"], **spec["rules"]
        )
    raise ValueError(kind)


def _summary(result, kind: str) -> dict:
    """The figures a run computed (what the report shows and the command must agree with)."""
    if kind == "coverage":
        r = result[0]
        out = {"coverage": r.coverage, "lower": r.lower, "upper": r.upper}
        dist = getattr(r, "distribution", None)
        if dist:
            out["distribution"] = {str(k): v for k, v in dict(dist).items()}
        return out
    if kind == "rank":
        return {
            "best_line": result[0].line,
            "best_gain": result[0].gain,
            "gain_sum": math.fsum(c.gain for c in result),
            "candidates": len(result),
        }
    last = result.steps[-1]
    return {"coverage": last.coverage, "upper": last.upper, "lines_added": len(result.steps) - 1}


def child_api(spec: dict, out: Path) -> None:
    rec: dict[str, Any] = {}

    def save() -> None:
        rec["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out.write_text(json.dumps(rec))

    t0 = time.perf_counter()
    import hlamatch

    rec["import_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = _open_table(hlamatch, spec)
    rec["load_s"] = time.perf_counter() - t0
    rec["rows"] = int(table.population_rows().shape[0])
    rec["unlisted_mass"] = float(table.unlisted_mass())
    save()
    call = _call(hlamatch, table, spec)
    t0 = time.perf_counter()
    result = call()
    rec["cold_s"] = time.perf_counter() - t0
    rec["result"] = _summary(result, spec["kind"])
    save()
    warm: list[float] = []
    for _ in range(spec["repeats"]):
        t0 = time.perf_counter()
        again = call()
        warm.append(time.perf_counter() - t0)
        rec["warm_runs"], rec["warm_s"] = len(warm), statistics.median(warm)
        rec["repeat_identical"] = rec.get("repeat_identical", True) and _summary(again, spec["kind"]) == rec["result"]
        save()
        if sum(warm) > spec["warm_budget"]:
            break
    if spec["engine"]:
        local_call = _call(hlamatch, table, dict(spec, engine=None))
        local_call()  # this process has not compiled (or loaded) the kernel yet: the workers ran it
        t0 = time.perf_counter()
        local = local_call()
        rec["local_warm_s"] = time.perf_counter() - t0
        rec["local_result"] = _summary(local, spec["kind"])
        rec["equal_to_local"] = rec["local_result"] == rec["result"]
        from hlamatch.engine.dask import close_clusters

        close_clusters()
    save()


def child_reference(spec: dict, out: Path) -> None:
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "benchmarks")]
    from bench_coverage import reference_arrays
    from naive import numpy_genotype_coverage, numpy_haplotype_coverage

    import hlamatch

    fn = numpy_genotype_coverage if spec["reference"] == "genotype" else numpy_haplotype_coverage
    budget = spec["reference_pairs"]
    rows_hint = spec.get("rows_hint")
    head = None
    if rows_hint and rows_hint * rows_hint * spec["lines"] > budget:  # a large synthetic table: read its head only
        head = max(spec["lines"], int(math.sqrt(budget / spec["lines"])))
    table = _open_table(hlamatch, spec, head=head)
    lines = [line.text() for line in hlamatch.top_lines(table, spec["lines"])]
    codes, freqs, lc = reference_arrays(table, lines)
    n = rows_hint or codes.shape[0]
    rec: dict[str, Any] = {"rows": n, "function": f"tests/naive.py:{fn.__name__}"}
    m = codes.shape[0]
    if m * m * len(lines) > budget:
        m = max(len(lines), int(math.sqrt(budget / len(lines))))
    codes, freqs = codes[:m], freqs[:m]
    rec["rows_run"] = m
    rec["extrapolated"] = m < n
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        value = fn(codes, freqs, lc)
        times.append(time.perf_counter() - t0)
        if sum(times) > 2.0:
            break
    rec["run_s"] = statistics.median(times)
    rec["seconds"] = rec["run_s"] * (n / m) ** 2
    rec["value"] = None if rec["extrapolated"] else value
    out.write_text(json.dumps(rec))


# --------------------------------------------------------------------------------------------
# The parent: processes, caps, memory.
# --------------------------------------------------------------------------------------------


def run_process(cmd: list[str], env: dict, cap: float, scratch: Path, tag: str) -> dict:
    """Run ``cmd`` in its own process group; wall time, exit status, peak RSS; killed past ``cap``."""
    out_path, err_path = scratch / f"{tag}.out", scratch / f"{tag}.err"
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fo, stderr=fe, start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > cap:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if not timed_out:  # Dask workers and the like: nothing of the group may outlive the run
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return {
        "rc": proc.returncode,
        "wall_s": wall,
        "timed_out": timed_out,
        "maxrss_kib": usage.ru_maxrss,
        "stdout": out_path.read_text(errors="replace"),
        "stderr": err_path.read_text(errors="replace"),
    }


def _hlamatch_command() -> list[str]:
    script = Path(sys.executable).with_name("hlamatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hlamatch"]


def cli_args(w: Workload, table_path: str) -> list[str]:
    """The ``hlamatch`` command doing what the API call does (JSON output, no progress display)."""
    table = table_path.split(":", 1)[1] if table_path.startswith("bundled:") else table_path
    args = [w.kind, "-t", table]
    if w.population:
        args += ["-p", w.population]
    if w.loci:
        args += ["--loci", ",".join(w.loci)]
    if w.kind == "coverage":
        args += ["--top", str(w.lines), "--level", w.level]
        if w.tolerance:
            args += ["--tolerance", repr(w.tolerance)]
        if w.engine:
            args += ["--engine", w.engine]
    else:
        args += ["-n", str(w.lines), "--level", w.level]
        if w.n_lines:
            args += ["--lines", str(w.n_lines)]
    return args + list(w.cli_rules) + ["--format", "json", "-q"]


def cli_summary(stdout: str, w: Workload) -> dict:
    rows = json.loads(stdout)
    if w.kind == "coverage":
        r = next(r for r in rows if r["level"] == w.level)
        out = {"coverage": r["coverage"], "lower": r["lower"], "upper": r["upper"]}
        if r.get("distribution"):
            out["distribution"] = r["distribution"]
        return out
    if w.kind == "rank":
        return {
            "best_line": rows[0]["line"],
            "best_gain": rows[0]["gain"],
            "gain_sum": math.fsum(r["gain"] for r in rows),
            "candidates": len(rows),
        }
    return {"coverage": rows[-1]["coverage"], "upper": rows[-1]["upper"], "lines_added": rows[-1]["step"]}


def _differences(a: dict, b: dict) -> float:
    """The largest absolute difference between the numbers of two summaries (inf: other fields differ)."""
    worst = 0.0
    for key in set(a) | set(b):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            worst = max(worst, _differences(x, y))
        elif isinstance(x, (int, float)) and isinstance(y, (int, float)):
            worst = max(worst, abs(x - y))
        elif x != y:
            return math.inf
    return worst


def _tail(text: str, scrub: list[tuple[str, str]], n: int = 400) -> str:
    text = text.strip()[-n:]
    for old, new in scrub:
        text = text.replace(old, new)
    return text


class Suite:
    def __init__(self, mode: str, work: Path, shared: Path, cap: float | None, scrub: list[tuple[str, str]]):
        self.mode, self.m, self.work, self.shared, self.cap_override = mode, MODES[mode], work, shared, cap
        self.scrub = scrub
        self.synth: dict[int, dict] = {}

    def table_path(self, w: Workload) -> str:
        if w.table.startswith("synth:"):
            rows = int(w.table.split(":", 1)[1])
            return str(self.synth_table(rows))
        if w.table.startswith("bundled:"):
            return w.table
        return (
            os.path.relpath(self.shared / Path(w.table).relative_to(SHARED_REL), REPO)
            if w.table.startswith(SHARED_REL)
            else w.table
        )

    def synth_table(self, rows: int) -> Path:
        path = self.work / f"synth_{rows}_seed{SYNTH_SEED}.parquet"
        if rows not in self.synth:
            info = {"rows": rows, "seed": SYNTH_SEED, "file": path.name}
            if path.exists():
                info["generated_s"] = None
                info["note"] = "reused from the scratch folder"
            else:
                t0 = time.perf_counter()
                subprocess.run(
                    [
                        sys.executable,
                        str(REPO / "benchmarks" / "synth.py"),
                        "--haplotypes",
                        str(rows),
                        "--seed",
                        str(SYNTH_SEED),
                        "--out",
                        str(path),
                        "--quiet",
                    ],
                    check=True,
                    cwd=REPO,
                    capture_output=True,
                )
                info["generated_s"] = time.perf_counter() - t0
            self.synth[rows] = info
        return path

    def run(self, w: Workload) -> dict:
        cap = self.cap_override or w.cap or self.m["cap"]
        rec: dict[str, Any] = {
            "name": w.name,
            "group": w.group,
            "title": w.title,
            "kind": w.kind,
            "table": w.table
            if not w.table.startswith("synth:")
            else f"synthetic, {w.rows_hint():,} rows, seed {SYNTH_SEED}",
            "population": w.population,
            "loci": w.loci,
            "lines": w.lines,
            "level": w.level,
            "rules": w.rules,
            "tolerance": w.tolerance,
            "engine": w.engine,
            "cap_s": cap,
            "notes": [],
            "hlamatch_source": source_state()["source_digest"],
        }
        if w.needs_shared and not self.shared.exists():
            rec.update(status="skipped", result=None)
            rec["notes"].append(f"skipped: {SHARED_REL} is absent (real NMDP tables are not in the project)")
            return rec
        table_path = self.table_path(w)
        scratch = self.work / w.name
        if scratch.exists():
            shutil.rmtree(scratch)
        (scratch / "numba").mkdir(parents=True)
        (scratch / "tables").mkdir()
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=str(scratch / "numba"),
            HLAMATCH_CACHE_DIR=str(scratch / "tables"),
            HLAMATCH_NUMBA_CACHE="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        spec = dict(
            asdict(w),
            table_path=table_path,
            repeats=self.m["repeats"],
            warm_budget=self.m["warm_budget"],
            reference_pairs=self.m["reference_pairs"],
            rows_hint=w.rows_hint(),
        )
        (scratch / "spec.json").write_text(json.dumps(spec))
        me = [sys.executable, str(Path(__file__).resolve())]
        rec["command"] = "hlamatch " + " ".join(_quote(a) for a in cli_args(w, self.display_path(table_path)))

        # API: cold and warm, one fresh process.
        api = run_process(
            me + ["--child", "api", str(scratch / "spec.json"), str(scratch / "api.json")], env, cap, scratch, "api"
        )
        got = json.loads((scratch / "api.json").read_text()) if (scratch / "api.json").exists() else {}
        rec["rows"] = got.get("rows", w.rows_hint())
        rec["unlisted_mass"] = got.get("unlisted_mass")
        rec["load_s"], rec["cold_s"], rec["warm_s"] = got.get("load_s"), got.get("cold_s"), got.get("warm_s")
        rec["import_s"] = got.get("import_s")
        rec["warm_runs"] = got.get("warm_runs", 0)
        rec["result"] = got.get("result")
        rec["api_process_s"] = api["wall_s"]
        rec["peak_rss_mib"] = api["maxrss_kib"] / 1024
        if "repeat_identical" in got:
            rec["repeat_identical"] = got["repeat_identical"]
        if w.engine:
            rec["equal_to_local"] = got.get("equal_to_local")
            rec["local_warm_s"] = got.get("local_warm_s")
            rec["local_result"] = got.get("local_result")
        if api["timed_out"]:
            rec["status"] = "not finished"
            stage = (
                "the table load"
                if rec["load_s"] is None
                else "the cold run"
                if rec["cold_s"] is None
                else "the warm runs"
            )
            rec["notes"].append(f"the API process passed its cap of {cap:.0f} s during {stage}")
        elif api["rc"] != 0:
            rec["status"] = "failed"
            rec["notes"].append(f"API process failed (exit {api['rc']}): {_tail(api['stderr'], self.scrub)}")
        else:
            rec["status"] = "ok"

        # The whole command, warm caches.
        if rec["status"] == "ok":
            self.run_command(w, table_path, env, cap, scratch, rec)
        else:
            rec["command_s"] = None
            rec["notes"].append("command not run (the API run did not complete)")

        # The NumPy reference.
        if w.reference and rec["status"] == "ok":
            ref = run_process(
                me + ["--child", "reference", str(scratch / "spec.json"), str(scratch / "ref.json")],
                env,
                cap,
                scratch,
                "ref",
            )
            if ref["timed_out"]:
                rec["reference"] = {"status": "not finished", "cap_s": cap}
            elif ref["rc"] != 0:
                rec["reference"] = {"status": "failed", "error": _tail(ref["stderr"], self.scrub)}
            else:
                r = json.loads((scratch / "ref.json").read_text())
                r["status"] = "ok"
                r["ratio"] = r["seconds"] / rec["warm_s"] if rec.get("warm_s") else None
                if r["value"] is not None and rec["result"]:
                    r["abs_difference"] = abs(r["value"] - rec["result"]["coverage"])
                rec["reference"] = r
        if not os.environ.get("HLAMATCH_SUITE_KEEP"):
            shutil.rmtree(scratch, ignore_errors=True)
        return rec

    def run_command(self, w: Workload, table_path: str, env: dict, cap: float, scratch: Path, rec: dict) -> None:
        cmd = _hlamatch_command() + cli_args(w, table_path)
        times, rss, first = [], [], None
        for i in range(1 + self.m["command_repeats"]):
            res = run_process(cmd, env, cap, scratch, f"cli{i}")
            if res["timed_out"]:
                rec["command_s"] = None
                rec["command_status"] = "not finished"
                rec["notes"].append(f"command passed its cap of {cap:.0f} s")
                return
            if res["rc"] != 0:
                rec["command_s"] = None
                rec["command_status"] = "failed"
                rec["notes"].append(f"command failed (exit {res['rc']}): {_tail(res['stderr'], self.scrub)}")
                return
            if i == 0:
                first = res["wall_s"]
                got = cli_summary(res["stdout"], w)
                diff = _differences(got, rec["result"] or {})
                rec["command_max_abs_difference"] = diff if math.isfinite(diff) else None
                rec["command_agrees"] = diff <= 1e-12
                if not rec["command_agrees"]:
                    rec["notes"].append(
                        f"the command's figures differ from the API call's (max |difference| {diff:.1e})"
                    )
                if first > self.m["command_budget"]:  # a long command: its first run is the figure
                    times.append(first)
                    rss.append(res["maxrss_kib"])
                    rec["notes"].append("command timed once (its untimed first run exceeded the command budget)")
                    break
                continue
            times.append(res["wall_s"])
            rss.append(res["maxrss_kib"])
            if sum(times) > self.m["command_budget"]:
                break
        rec["command_status"] = "ok"
        rec["command_first_s"] = first
        rec["command_s"] = statistics.median(times)
        rec["command_runs"] = len(times)
        rec["command_peak_rss_mib"] = max(rss) / 1024

    def display_path(self, path: str) -> str:
        if path.startswith(str(self.work)):
            return "<work>/" + Path(path).name
        return path


def _json_default(value: Any) -> Any:
    return float(value)


def _quote(arg: str) -> str:
    return arg if all(c.isalnum() or c in "-_./:,<>*=" for c in arg) else f'"{arg}"'


# --------------------------------------------------------------------------------------------
# Machine description and the report.
# --------------------------------------------------------------------------------------------


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    cpu, ram = None, None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return {
        "cpu": cpu or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "ram_gib": ram,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "numba": _version("numba"),
        "numpy": _version("numpy"),
        "polars": _version("polars"),
        "dask": _version("dask"),
        "distributed": _version("distributed"),
        "hlamatch": _version("hlamatch"),
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS") or "default (all cores)",
    }


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def source_state() -> dict:
    """The hlamatch commit, whether ``hlamatch/`` has uncommitted changes, and a digest of its sources.

    Taken at the start, at each workload and at the end: on a machine where others edit the tree,
    a digest that moves says the workloads did not all run the same code.
    """
    digest = hashlib.sha256()
    for path in sorted((REPO / "hlamatch").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return {
        "commit": _git("rev-parse", "--short=12", "HEAD") or None,
        "uncommitted_changes_in_hlamatch": bool(_git("status", "--porcelain", "--", "hlamatch")),
        "source_digest": digest.hexdigest()[:12],
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 100:
        return f"{seconds:.3g} s"
    return f"{seconds:.0f} s" if seconds < 3600 else f"{seconds / 3600:,.1f} h"


def _ratio(x: float) -> str:
    return f"{x:,.0f}×" if x >= 10 else f"{x:.2g}×"


def _result_text(rec: dict) -> str:
    r = rec.get("result")
    if not r:
        return "—"
    if rec["kind"] == "coverage":
        digits = 9 if rec["group"].startswith("4") else 6  # tolerance: show the bracket's width
        text = f"{r['coverage']:.{digits}f}"
        if rec.get("tolerance") or abs(r["upper"] - r["lower"]) > 0.5 * 10**-digits:
            text += f" [{r['lower']:.{digits}f}, {r['upper']:.{digits}f}]"
        return text
    if rec["kind"] == "rank":
        return f"best gain {r['best_gain']:.6f}"
    return f"{r['coverage']:.6f} ({r['lines_added']} lines)"


def _cell(rec: dict, key: str) -> str:
    if rec["status"] == "skipped":
        return "skipped"
    value = rec.get(key)
    if value is None and rec["status"] == "not finished":
        return f"> {rec['cap_s']:.0f} s (not finished)"
    if key == "command_s" and rec.get("command_status") == "not finished":
        return f"> {rec['cap_s']:.0f} s (not finished)"
    return _t(value)


def markdown(report: dict) -> str:
    mc, suite = report["machine"], report["suite"]
    md = [
        "# hlamatch benchmark report",
        "",
        f"Written by `{suite['command']}` on {suite['date']} ({suite['mode']} mode; "
        f"{suite['elapsed_s'] / 60:.1f} minutes).",
        "",
    ]
    if suite.get("note"):
        md += [f"**Note.** {suite['note']}", ""]
    start, end = suite["source_start"], suite["source_end"]
    if start != end:
        sources = f", sources {start['source_digest']} → {end['source_digest']}" if start["source_digest"] else ""
        md += [
            f"**hlamatch changed during the run** (commit {start['commit']} → {end['commit']}{sources}): "
            "another process edited or committed "
            "`hlamatch/` while the suite ran, so the workloads did not all run the same code"
            + (" (each workload's source digest at its start is in RESULTS.json)." if sources else "."),
            "",
        ]
    md += [
        "| machine | |",
        "|---|---|",
        f"| CPU | {mc['cpu']} |",
        f"| cores | {mc['cores']} |",
        f"| RAM | {mc['ram_gib']} GiB |",
        f"| OS | {mc['os']} |",
        f"| Python / numba / NumPy / polars | {mc['python']} / {mc['numba']} / {mc['numpy']} / {mc['polars']} |",
        f"| dask / distributed | {mc['dask']} / {mc['distributed']} |",
        f"| hlamatch | {mc['hlamatch']}, commit {mc['commit']}"
        + (f", sources {suite['source_start']['source_digest']}" if suite["source_start"]["source_digest"] else "")
        + f"{' (with uncommitted changes in hlamatch/)' if mc['uncommitted_changes_in_hlamatch'] else ''} |",
        f"| numba threads | {mc['numba_threads']} |",
        f"| load average (1, 5, 15 min) at start / end | {suite['loadavg_start']} / {suite['loadavg_end']} |",
        "",
    ]
    md += [
        "*load*: reading the table in a fresh process, table cache empty; *cold*: the first call after it, "
        "numba cache empty (compilation included); *warm*: median of the repeats in that process; "
        "*command*: the whole `hlamatch` command in a new process, caches warm (median); *peak RSS*: "
        "maximum resident memory of the API process / of the command; *NumPy*: the brute-force reference "
        "(`tests/naive.py`, match flags bit-packed) on the same table and lines, † extrapolated from the "
        "first rows (quadratic); *× NumPy*: NumPy time / warm time.",
        "",
    ]
    md += [
        "| workload | rows | lines | result (coverage) | load | cold | warm | command | peak RSS (MiB) | NumPy | × NumPy |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rec in report["workloads"]:
        ref = rec.get("reference") or {}
        if ref.get("status") == "ok":
            numpy_s = ("≈ " if ref["extrapolated"] else "") + _t(ref["seconds"]) + (" †" if ref["extrapolated"] else "")
            ratio = f"{'≈ ' if ref['extrapolated'] else ''}{_ratio(ref['ratio'])}" if ref.get("ratio") else "—"
        elif ref.get("status") == "not finished":
            numpy_s, ratio = f"> {ref['cap_s']:.0f} s (not finished)", "—"
        else:
            numpy_s, ratio = "—", "—"
        rss = "—"
        if rec.get("peak_rss_mib") is not None and rec["status"] != "skipped":
            rss = f"{rec['peak_rss_mib']:,.0f}"
            if rec.get("command_peak_rss_mib") is not None:
                rss += f" / {rec['command_peak_rss_mib']:,.0f}"
        rows = f"{rec['rows']:,}" if rec.get("rows") else "—"
        md.append(
            f"| `{rec['name']}`: {rec['title']} | {rows} | {rec['lines']:,} | {_result_text(rec)} | "
            f"{_cell(rec, 'load_s')} | {_cell(rec, 'cold_s')} | {_cell(rec, 'warm_s')} | "
            f"{_cell(rec, 'command_s')} | {rss} | {numpy_s} | {ratio} |"
        )
    md += ["", "## Checks and notes", ""]
    first = suite["source_start"]["source_digest"]
    for rec in report["workloads"]:
        items = []
        if rec.get("hlamatch_source", first) != first:
            items.append(f"hlamatch sources {rec['hlamatch_source']} at its start (changed since the suite started)")
        if rec["status"] == "ok":
            if rec.get("command_agrees") is not None:
                items.append(
                    "command output agrees with the API call"
                    if rec["command_agrees"]
                    else "command output DIFFERS from the API call's"
                )
            if rec.get("engine"):
                items.append(
                    f"Dask result identical to the local engine (local engine warm: {_t(rec.get('local_warm_s'))})"
                    if rec.get("equal_to_local")
                    else f"Dask result DIFFERS from the local engine: {rec.get('local_result')}"
                )
            ref = rec.get("reference") or {}
            if ref.get("status") == "ok":
                if ref["extrapolated"]:
                    items.append(
                        f"NumPy reference run on the first {ref['rows_run']:,} rows in {_t(ref['run_s'])}, "
                        "scaled by (rows / those rows)²"
                    )
                elif ref.get("abs_difference") is not None:
                    items.append(
                        f"NumPy reference |difference| {ref['abs_difference']:.1e}"
                        + (" (it ignores the unlisted mass)" if (rec.get("unlisted_mass") or 0) > 1e-12 else "")
                    )
            elif ref.get("status") == "failed":
                items.append(f"NumPy reference failed: {ref['error']}")
            if rec.get("warm_runs"):
                items.append(f"{rec['warm_runs']} warm run(s)")
        items += rec["notes"]
        if items:
            md.append(f"- `{rec['name']}`: " + "; ".join(items) + ".")
    if report.get("synthetic"):
        md += [
            "",
            "Synthetic tables (`benchmarks/synth.py`, in the scratch folder, outside the project): "
            + "; ".join(
                f"{s['rows']:,} rows, seed {s['seed']}"
                + (f", generated in {_t(s['generated_s'])}" if s.get("generated_s") else "")
                for s in report["synthetic"]
            )
            + ".",
        ]
    return "\n".join(md) + "\n"


def _select(all_workloads: list[Workload], only: str | None) -> list[Workload]:
    if not only:
        return all_workloads
    wanted = [x.strip() for x in only.split(",") if x.strip()]
    chosen = [
        w
        for w in all_workloads
        if any(w.name == x or w.name.startswith(x + "-") or w.name.startswith(x) for x in wanted)
    ]
    unknown = [x for x in wanted if not any(w.name.startswith(x) for w in all_workloads)]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)} (--list shows them)")
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small synthetic tables, fewer repeats")
    size.add_argument("--tiny", action="store_true", help="a 10^3-row synthetic table and the bundled table (tests)")
    ap.add_argument("--only", metavar="NAME,...", help="workloads to run: names or prefixes (--list shows them)")
    ap.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/RESULTS"),
        help="output stem: writes STEM.md and STEM.json (default benchmarks/RESULTS)",
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=None,
        help="scratch folder for synthetic tables and caches (kept; default: a temporary one, removed)",
    )
    ap.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("HLAMATCH_SHARED", REPO.parent / "shared")) / "data",
        help=f"the shared data folder (default {SHARED_REL} from the repository root, or "
        "$HLAMATCH_SHARED/data as for the tests)",
    )
    ap.add_argument(
        "--cap", type=float, default=None, help="seconds per process for every workload (default: per mode)"
    )
    ap.add_argument("--note", default=None, help="a note for the report's header (e.g. what else ran)")
    ap.add_argument("--list", action="store_true", help="list the workloads of the mode and exit")
    ap.add_argument("--child", nargs=3, metavar=("ROLE", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        role, spec, out = args.child
        spec = json.loads(Path(spec).read_text())
        (child_api if role == "api" else child_reference)(spec, Path(out))
        return 0

    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    chosen = _select(workloads(mode), args.only)
    if args.list:
        for w in chosen:
            print(f"{w.name:28s} {w.title}")
        return 0

    started = time.perf_counter()
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    temp = None
    if args.work is None:
        temp = tempfile.mkdtemp(prefix="hlamatch-suite-")
        work = Path(temp)
    else:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
    scrub = [(str(work), "<work>"), (str(REPO), "."), (str(Path.home()), "~")]
    shared = args.shared if args.shared.is_absolute() else (Path.cwd() / args.shared)
    suite = Suite(mode, work, shared.resolve(), args.cap, scrub)
    loadavg_start = _loadavg()
    source_start = source_state()
    results = []
    try:
        for w in chosen:
            print(f"[{time.perf_counter() - started:6.0f} s] {w.name}: {w.title} …", flush=True)
            rec = suite.run(w)
            results.append(rec)
            print(
                f"         {rec['status']}; result {_result_text(rec)}; load {_cell(rec, 'load_s')}, cold "
                f"{_cell(rec, 'cold_s')}, warm {_cell(rec, 'warm_s')}, command {_cell(rec, 'command_s')}"
                + (f"; {'; '.join(rec['notes'])}" if rec["notes"] else ""),
                flush=True,
            )
    finally:
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    argv_shown = ["python", "benchmarks/suite.py"] + [a for a in (argv if argv is not None else sys.argv[1:])]
    for i, a in enumerate(argv_shown):  # no absolute path of this machine in the report
        if os.path.isabs(a):
            argv_shown[i] = (
                "<work>"
                if Path(a).resolve() == work
                else (
                    os.path.relpath(a, Path.cwd())
                    if Path(a).resolve().is_relative_to(REPO)
                    else f"<abs>/{Path(a).name}"
                )
            )
    shown = " ".join(_quote(a) for a in argv_shown)
    report = {
        "suite": {
            "command": shown,
            "mode": mode,
            "date": date,
            "elapsed_s": time.perf_counter() - started,
            "settings": MODES[mode],
            "note": args.note,
            "shared_data": SHARED_REL if shared.exists() else f"{SHARED_REL} (absent)",
            "loadavg_start": loadavg_start,
            "loadavg_end": _loadavg(),
            "source_start": source_start,
            "source_end": source_state(),
        },
        "machine": dict(
            machine(),
            commit=source_start["commit"],
            uncommitted_changes_in_hlamatch=source_start["uncommitted_changes_in_hlamatch"],
        ),
        "synthetic": list(suite.synth.values()),
        "workloads": results,
    }
    stem = str(args.out)
    for suffix in (".md", ".json"):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    md_path, json_path = Path(stem + ".md"), Path(stem + ".json")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, default=_json_default, allow_nan=False) + "\n")
    md_path.write_text(markdown(report))
    print(f"wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
