"""Input generators for the fuzz tests (a helper module, not a test module).

Three layers, all deterministic functions of what hypothesis draws (so every failure is
reproducible from the falsifying example hypothesis prints):

(a) **valid files**: :func:`table_specs` draws a small frequency table (loci subset, allele
    names, populations, frequencies); :func:`table_files` writes it in one of the formats
    :func:`hlamatch.load_table` reads (NMDP ``Haplo,Count,Freq``, GRIMM ``.freqs``/``.freqs.gz``,
    NMDP 2007 long CSV, HFX zip bundle, PyPop TSV, wide CSV/TSV/Parquet).  :func:`lines_files`
    and :func:`patients_files` do the same for lines and patients files;
(b) **structured mutations** (:data:`GRID_OPS`, :data:`TEXT_OPS`, :data:`FRAME_OPS`,
    :data:`ZIP_OPS`): drop/duplicate/swap rows and columns, empty cells, blank lines, wrong
    separators, unicode, huge/negative/NaN/1e308 frequencies, malformed allele names, duplicated
    haplotypes, BOMs, CRLF, and for HFX bundles the metadata and the zip members;
(c) **byte-level mutations** (:data:`BYTE_OPS`): flip/insert/delete/duplicate bytes, truncate;
    for gzip and zip containers either the compressed bytes or the content inside.

A mutation is a list of ``(op_name, a, b)`` tuples applied in order; ``a`` and ``b`` are
non-negative integers each op reduces modulo what it indexes.  :func:`mutations` draws such
lists (hypothesis shrinks them towards fewer ops and index 0); :func:`seeded_mutation` makes
one from an integer seed, for use outside hypothesis.

Every generated file is a :class:`FileCase`: a file name (format detection uses it), the bytes,
and :meth:`FileCase.repro`, a short Python snippet that rewrites the file, for bug reports.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import random
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import strategies as st
from strategies import frequencies

# ====================================================================== vocabulary

#: Molecular loci in NMDP order (hlamatch.constants.MOLECULAR_LOCI, restated to keep the
#: generators independent of the code under test).
MOLECULAR = ("A", "C", "B", "DRB345", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1")
#: Antigen loci and the label prefix written for them.
ANTIGEN = {"A": "A", "C": "Cw", "B": "B", "DR": "DR", "DQ": "DQ"}
#: Population labels: no locus name, no reserved column name, distinct case-insensitively.
POPULATIONS = ("EUR", "AFA", "API", "HIS", "JPN", "KOR", "NAMER", "CAU", "POPX")
DRB345_2 = ("DRB3*01:01", "DRB3*02:02", "DRB4*01:01", "DRB4*01:03N", "DRB5*01:01", "DRBX*NNNN")
DRB345_1 = ("DRB3*01", "DRB3*02", "DRB4*01", "DRB5*01", "DRBX*NNNN")

#: Frequency cells a fuzzer should try (each must give a clean error or a valid table).
SPECIAL_NUMBERS = (
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "NaN",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "-0",
    "-0.0",
    "0",
    "1",
    "1.0000001",
    "2",
    "1e-320",
    "5e-324",
    "-1e-300",
    "0.5e",
    "1e",
    "--1",
    "+0.1",
    ".5",
    "5.",
    "0x10",
    "1_0",
    "0,5",
    " 0.1 ",
    "",
    " ",
    "NA",
    "null",
    "None",
    "true",
    "\u0661",
    "\uff10.\uff15",
    "9" * 400,
    "0." + "0" * 400 + "1",
    "1e-5\u200b",
    "0.1\x00",
)
#: Unicode (and control) characters inserted by the ``unicode`` ops.
UNICODE = (
    "\u00e9",
    "\u200b",
    "\u2028",
    "\u0085",
    "\x0c",
    "\x1c",
    "\ufeff",
    "\u200f",
    "\U0001d7d8",
    "\x00",
    "\t",
    "\r",
    '"',
    "~",
    "*",
    ":",
    "/",
    "+",
    "^",
    "\u00a0",
    "\u3000",
    "\U0001f600",
)


def _fmt_freq(x: float) -> str:
    return repr(float(x))


# ====================================================================== (a) valid tables


@dataclass(frozen=True)
class TableSpec:
    """A small frequency table, as the generators write it and as load_table must read it back.

    ``freqs[p][i]`` is the frequency of ``haplotypes[i]`` in ``populations[p]``; allele names are
    normalised (``A*24:02``, ``Cw7``, ``DRBX*NNNN``), so :meth:`expected` is what
    ``HaplotypeTable.haplotype_strings`` gives.
    """

    loci: tuple[str, ...]
    haplotypes: tuple[tuple[str, ...], ...]
    populations: tuple[str, ...]
    freqs: tuple[tuple[float, ...], ...]
    resolution: str  # "2-field", "1-field" or "antigen"

    def expected(self, population: str) -> dict[str, float]:
        """``{haplotype: frequency}`` of one population, rows of frequency 0 left out."""
        p = self.populations.index(population)
        return {"~".join(h): f for h, f in zip(self.haplotypes, self.freqs[p]) if f > 0}

    @property
    def table_resolution(self) -> str:
        """The resolution load_table reports: ``DRBX*NNNN`` has none, so a table of only such
        names is read at the default two-field resolution."""
        named = any(not a.startswith("DRBX") for h in self.haplotypes for a in h)
        return self.resolution if named else "2-field"

    def single(self) -> TableSpec:
        """The table restricted to its first population (single-population formats)."""
        return replace(self, populations=self.populations[:1], freqs=self.freqs[:1])


def _molecular_allele(locus: str, resolution: str) -> st.SearchStrategy[str]:
    if locus == "DRB345":
        return st.sampled_from(DRB345_2 if resolution == "2-field" else DRB345_1)
    group = st.integers(1, 99)
    if resolution == "1-field":
        return group.map(lambda g: f"{locus}*{g:02d}")
    protein = st.one_of(st.integers(1, 99).map(lambda x: f"{x:02d}"), st.integers(100, 450).map(str))
    suffix = st.sampled_from(["", "", "", "", "N"])
    return st.tuples(group, protein, suffix).map(lambda t: f"{locus}*{t[0]:02d}:{t[1]}{t[2]}")


def _antigen_allele(locus: str) -> st.SearchStrategy[str]:
    return st.integers(1, 99).map(lambda n: f"{ANTIGEN[locus]}{n}")


@st.composite
def table_specs(
    draw,
    *,
    max_rows: int = 8,
    max_pops: int = 3,
    resolutions: Sequence[str] = ("2-field", "1-field", "antigen"),
    loci_from: Sequence[str] | None = None,
    min_loci: int = 1,
) -> TableSpec:
    """A valid table: ``min_loci``–5 loci (in a random order), ≤ ``max_rows`` distinct haplotypes,
    1–``max_pops`` populations each summing to at most 1 (exactly 1 or clearly below)."""
    resolution = draw(st.sampled_from(list(resolutions)))
    pool = list(loci_from) if loci_from else list(ANTIGEN if resolution == "antigen" else MOLECULAR)
    loci = tuple(draw(st.lists(st.sampled_from(pool), min_size=min_loci, max_size=min(5, len(pool)), unique=True)))
    per_locus = []
    for locus in loci:
        strat = _antigen_allele(locus) if resolution == "antigen" else _molecular_allele(locus, resolution)
        per_locus.append(draw(st.lists(strat, min_size=1, max_size=4, unique=True)))
    n_max = 1
    for v in per_locus:
        n_max *= len(v)
    haps = draw(
        st.lists(
            st.tuples(*(st.sampled_from(v) for v in per_locus)), min_size=1, max_size=min(max_rows, n_max), unique=True
        )
    )
    pops = tuple(draw(st.lists(st.sampled_from(POPULATIONS), min_size=1, max_size=max_pops, unique=True)))
    freqs = tuple(tuple(draw(frequencies(len(haps)))) for _ in pops)
    return TableSpec(loci, tuple(haps), pops, freqs, resolution)


# ---------------------------------------------------------------------- grids (text tables)


@dataclass
class Grid:
    """A delimited text file as cells, with hints on which columns hold what (for mutations)."""

    header: list[str] | None
    rows: list[list[str]]
    sep: str = ","
    eol: str = "\n"
    freq_cols: tuple[int, ...] = ()
    hap_cols: tuple[int, ...] = ()  # '~'-joined haplotypes ('/'-joined pairs for lines)
    allele_cols: tuple[int, ...] = ()  # one allele (or 'a+b', or GL text) per cell
    trailing_sep: bool = False  # PyPop writes a separator at the end of data rows

    def render(self) -> str:
        lines = []
        if self.header is not None:
            lines.append(self.sep.join(self.header))
        for r in self.rows:
            lines.append(self.sep.join(r) + (self.sep if self.trailing_sep else ""))
        return "".join(line + self.eol for line in lines)


@dataclass(frozen=True)
class FileCase:
    """One input file: its name, its bytes, and (for text formats) the grid it was rendered from.

    ``container`` says how the text is wrapped: ``text``, ``gzip``, ``zip`` (HFX: ``meta`` is the
    metadata.json text, ``member`` the CSV's name) or ``parquet`` (``frame`` is a polars frame).
    """

    name: str
    data: bytes
    kind: str  # the format (nmdp, grimm, ...) or "lines"/"patients"
    spec: TableSpec | None = None
    grid: Grid | None = None
    container: str = "text"
    meta: str | None = None
    member: str = "table.csv"
    frame: object = None
    note: str = ""
    corrupt: bool = False  # byte-level mutations were applied

    @property
    def isolate(self) -> bool:
        """Read it in a separate process: Parquet files.  A corrupt one can abort a native reader;
        and pyarrow's reader leaves threads behind that take the GIL after the read returned,
        which races with tracemalloc being stopped (a CPython 3.11 crash) in the test process."""
        return self.container == "parquet"

    def write(self, folder: Path) -> Path:
        p = folder / self.name
        p.write_bytes(self.data)
        return p

    def repro(self, call: str = "hlamatch.load_table(p)") -> str:
        """A Python snippet that recreates the file and makes the failing call."""
        return (
            f"import hlamatch, hlamatch.api.match, hlamatch.hla.lines; from pathlib import Path\n"
            f"p = Path({self.name!r}); p.write_bytes({self.data!r})\n{call}"
        )


def _pack(case: FileCase, text: str) -> bytes:
    """The file bytes of ``case`` holding ``text`` (gzip/zip wrapping as the case has it)."""
    raw = text.encode("utf-8", errors="surrogatepass")
    if case.container == "gzip":
        return gzip.compress(raw, mtime=0)
    if case.container == "zip":
        return make_zip({**({"metadata.json": case.meta.encode()} if case.meta is not None else {}), case.member: raw})
    return raw


def make_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of ``members`` with fixed timestamps (reproducible bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


def hfx_metadata(population: str) -> str:
    return json.dumps({"metadata": {"cohortDescription": {"population": [{"name": population}]}}})


def _nmdp_grid(spec: TableSpec, sep: str = ",", header: Sequence[str] = ("Haplo", "Count", "Freq")) -> Grid:
    rows = [["~".join(h), str(k + 1), _fmt_freq(f)] for k, (h, f) in enumerate(zip(spec.haplotypes, spec.freqs[0]))]
    return Grid(list(header), rows, sep, freq_cols=(2,), hap_cols=(0,))


def grid_from_text(
    text: str,
    *,
    header: bool,
    freq_cols: tuple[int, ...] = (),
    hap_cols: tuple[int, ...] = (),
    allele_cols: tuple[int, ...] = (),
    max_rows: int | None = None,
) -> Grid:
    """A grid of an existing delimited text (e.g. the head of a real table), separator from line 1."""
    lines = [ln.rstrip("\r") for ln in text.lstrip("\ufeff").split("\n") if ln.strip()]
    sep = "\t" if lines and "\t" in lines[0] else ","
    cells = [ln.split(sep) for ln in lines]
    head = cells.pop(0) if header and cells else None
    rows = cells if max_rows is None else cells[:max_rows]
    return Grid(head, rows, sep, freq_cols=freq_cols, hap_cols=hap_cols, allele_cols=allele_cols)


def _case(name: str, kind: str, spec: TableSpec, grid: Grid, container: str = "text", **kw) -> FileCase:
    case = FileCase(name, b"", kind, spec, grid, container, **kw)
    return replace(case, data=_pack(case, grid.render()))


def write_nmdp(spec: TableSpec, header: str = "Haplo") -> FileCase:
    spec = spec.single()
    return _case(f"freqs.{spec.populations[0]}.csv", "nmdp", spec, _nmdp_grid(spec, header=(header, "Count", "Freq")))


def write_grimm(spec: TableSpec, gz: bool = False, header: bool = False, two_columns: bool = False) -> FileCase:
    spec = spec.single()
    g = _nmdp_grid(spec, header=("haplotype", "count", "freq"))
    if not header:
        g.header = None
    if two_columns:  # 'haplotype,freq'
        g.header = None
        g.rows = [[r[0], r[2]] for r in g.rows]
        g.freq_cols = (1,)
    name = f"{spec.populations[0]}.freqs" + (".gz" if gz else "")
    return _case(name, "grimm", spec, g, "gzip" if gz else "text")


def write_nmdp2007(spec: TableSpec, group_suffix: Sequence[bool] = ()) -> FileCase:
    rows = []
    for p, pop in enumerate(spec.populations):
        rank = 0
        for i, (h, f) in enumerate(zip(spec.haplotypes, spec.freqs[p])):
            if f <= 0:
                continue
            rank += 1
            g = [bool(group_suffix[(i + k) % len(group_suffix)]) if group_suffix else False for k in range(len(h))]
            hap = "~".join(
                f"HLA-{a}{'g' if gk and not a.endswith('N') and '*' in a and 'NNNN' not in a else ''}"
                for a, gk in zip(h, g)
            )
            rows.append([pop, hap, _fmt_freq(f), f"{rank}.0"])
    return _case("NMDP_2007_Freqs.csv", "nmdp2007", spec, Grid(None, rows, ",", freq_cols=(2,), hap_cols=(1,)))


def write_hfx(spec: TableSpec, with_meta: bool = True) -> FileCase:
    spec = spec.single()
    pop = spec.populations[0]
    meta = hfx_metadata(pop) if with_meta else None
    name = "bundle.hfx" if with_meta else f"{pop}.hfx"
    return _case(name, "hfx", spec, _nmdp_grid(spec), "zip", meta=meta, member=f"HFX_{pop}.csv")


def write_pypop(spec: TableSpec) -> FileCase:
    loci = ":".join(spec.loci)
    rows = []
    for p, pop in enumerate(spec.populations):
        for h, f in zip(spec.haplotypes, spec.freqs[p]):
            if f <= 0:
                continue
            # PyPop writes bare allele fields; DRB345 alleles need their gene, so keep the full name.
            hap = "~".join(a if locus == "DRB345" else a.split("*", 1)[1] for locus, a in zip(spec.loci, h))
            rows.append(["L", "12th Workshop SSOP", pop, loci, hap, _fmt_freq(f), "1.0"])
    header = ["labcode", "method", "popname", "loci", "haplotype", "haplotype.freq", "haplotype.count"]
    g = Grid(header, rows, "\t", freq_cols=(5,), hap_cols=(4,), trailing_sep=True)
    return _case("3-locus-haplo.tsv", "pypop", spec, g)


def _wide_cell(locus: str, allele: str, bare: bool, resolution: str) -> str:
    if not bare:
        return allele
    if resolution == "antigen":
        return allele[len(ANTIGEN[locus]) :] if locus in ("DR", "DQ") else allele
    return allele.split("*", 1)[1] if locus != "DRB345" else allele


def write_wide(
    spec: TableSpec,
    layout: str = "columns",
    sep: str = ",",
    bare: bool = False,
    locus_header: Callable[[str], str] = str,
) -> FileCase:
    """Wide CSV/TSV: ``columns`` (one frequency column per population), ``single`` (one
    ``frequency`` column, population from the file name) or ``long`` (``population`` +
    ``frequency`` columns)."""
    if layout == "single":
        spec = spec.single()
    n = len(spec.loci)
    header = [locus_header(locus) for locus in spec.loci]
    rows = []
    if layout == "long":
        header += ["population", "frequency"]
        for p, pop in enumerate(spec.populations):
            for h, f in zip(spec.haplotypes, spec.freqs[p]):
                if f > 0:
                    rows.append(
                        [_wide_cell(l, a, bare, spec.resolution) for l, a in zip(spec.loci, h)] + [pop, _fmt_freq(f)]
                    )
        freq_cols = (n + 1,)
    else:
        header += ["frequency"] if layout == "single" else list(spec.populations)
        for i, h in enumerate(spec.haplotypes):
            rows.append(
                [_wide_cell(l, a, bare, spec.resolution) for l, a in zip(spec.loci, h)]
                + [_fmt_freq(spec.freqs[p][i]) for p in range(len(spec.populations))]
            )
        freq_cols = tuple(range(n, len(header)))
    ext = "tsv" if sep == "\t" else "csv"
    name = f"freqs.{spec.populations[0]}.{ext}" if layout == "single" else f"wide.{ext}"
    return _case(name, "wide", spec, Grid(header, rows, sep, freq_cols=freq_cols, allele_cols=tuple(range(n))))


def write_parquet(spec: TableSpec, layout: str = "columns") -> FileCase:
    import polars as pl

    if layout == "single":
        spec = spec.single()
    data: dict[str, list] = {locus: [h[l] for h in spec.haplotypes] for l, locus in enumerate(spec.loci)}
    if layout == "long":
        data = {locus: [] for locus in spec.loci}
        data["population"], data["frequency"] = [], []
        for p, pop in enumerate(spec.populations):
            for h, f in zip(spec.haplotypes, spec.freqs[p]):
                if f > 0:
                    for l, locus in enumerate(spec.loci):
                        data[locus].append(h[l])
                    data["population"].append(pop)
                    data["frequency"].append(float(f))
    elif layout == "single":
        data["frequency"] = [float(x) for x in spec.freqs[0]]
    else:
        for p, pop in enumerate(spec.populations):
            data[pop] = [float(x) for x in spec.freqs[p]]
    frame = pl.DataFrame(data)
    name = f"freqs.{spec.populations[0]}.parquet" if layout == "single" else "wide.parquet"
    return FileCase(name, frame_bytes(frame), "wide", spec, None, "parquet", frame=frame)


def frame_bytes(frame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


#: Table formats the generators write; each maps to how :func:`table_files` draws one.
TABLE_KINDS = (
    "nmdp",
    "grimm",
    "grimm_gz",
    "nmdp2007",
    "hfx",
    "pypop",
    "wide_csv",
    "wide_tsv",
    "wide_long",
    "wide_parquet",
)


@st.composite
def table_files(draw, kind: str | None = None, **spec_kw) -> FileCase:
    """A valid table file of format ``kind`` (default: any of :data:`TABLE_KINDS`)."""
    kind = kind or draw(st.sampled_from(TABLE_KINDS))
    if kind in ("nmdp2007", "pypop", "grimm", "grimm_gz"):
        # Molecular only, as these formats are; NMDP 2007 rows are recognised by their '~'.
        spec_kw.setdefault("resolutions", ("2-field", "1-field"))
    if kind == "nmdp2007":
        spec_kw.setdefault("min_loci", 2)
    spec = draw(table_specs(**spec_kw))
    if kind == "nmdp":
        return write_nmdp(spec, header=draw(st.sampled_from(["Haplo", "haplo", "Haplotype"])))
    if kind == "grimm":
        return write_grimm(spec, header=draw(st.booleans()), two_columns=draw(st.booleans()))
    if kind == "grimm_gz":
        return write_grimm(spec, gz=True)
    if kind == "nmdp2007":
        return write_nmdp2007(spec, draw(st.lists(st.booleans(), min_size=1, max_size=3)))
    if kind == "hfx":
        return write_hfx(spec, with_meta=draw(st.booleans()))
    if kind == "pypop":
        return write_pypop(spec)
    if kind in ("wide_csv", "wide_tsv"):
        layout = draw(st.sampled_from(["columns", "single"]))
        header = draw(st.sampled_from([str, str.lower, lambda s: f"HLA-{s}"]))
        return write_wide(
            spec, layout, "," if kind == "wide_csv" else "\t", bare=draw(st.booleans()), locus_header=header
        )
    if kind == "wide_long":
        return write_wide(spec, "long", draw(st.sampled_from([",", "\t"])))
    if kind == "wide_parquet":
        return write_parquet(spec, draw(st.sampled_from(["columns", "single", "long"])))
    raise ValueError(kind)


# ====================================================================== (a) lines and patients


@st.composite
def lines_files(draw, parquet: bool | None = None) -> FileCase:
    """A valid lines file: ``haplotype`` (hap or hap1/hap2), ``haplotype1``/``haplotype2``, or
    headerless; optional ``name`` column; CSV, TSV or Parquet."""
    spec = draw(table_specs(max_pops=1, resolutions=("2-field", "1-field")))
    haps = ["~".join(h) for h in spec.haplotypes]
    pairs = draw(st.lists(st.tuples(st.sampled_from(haps), st.sampled_from(haps + [""])), min_size=1, max_size=5))
    layout = draw(st.sampled_from(["haplotype", "pair", "headerless"]))
    named = layout != "headerless" and draw(st.booleans())
    sep = draw(st.sampled_from([",", "\t"]))
    if layout == "pair":
        header, rows = ["haplotype1", "haplotype2"], [[a, b] for a, b in pairs]
        hap_cols = (0, 1)
    else:
        header = ["haplotype"] if layout == "haplotype" else None
        rows = [[a if not b else f"{a}/{b}"] for a, b in pairs]
        hap_cols = (0,)
    if named:
        header = ["name"] + header
        rows = [[f"line{k}"] + r for k, r in enumerate(rows)]
        hap_cols = tuple(c + 1 for c in hap_cols)
    grid = Grid(header, rows, sep, hap_cols=hap_cols)
    if parquet if parquet is not None else draw(st.integers(0, 4)) == 0:
        import polars as pl

        cols = header or ["haplotype"]
        frame = pl.DataFrame({c: [r[k] for r in rows] for k, c in enumerate(cols)})
        return FileCase("bank.parquet", frame_bytes(frame), "lines", spec, None, "parquet", frame=frame)
    return _case("bank.tsv" if sep == "\t" else "bank.csv", "lines", spec, grid)


PATIENT_LOCI = ("A", "B", "DRB1")


@st.composite
def patients_files(draw, loci: Sequence[str] = PATIENT_LOCI, parquet: bool | None = None) -> FileCase:
    """A valid patients file over ``loci``: two columns per locus (``A_1``, ``A.1``, ``A1``, ``A 1``)
    or a ``typing`` column of GL-like strings; optional ``id``; CSV, TSV or Parquet."""
    res = draw(st.sampled_from(["2-field", "1-field"]))
    alleles = {l: draw(st.lists(_molecular_allele(l, res), min_size=1, max_size=3, unique=True)) for l in loci}
    n = draw(st.integers(1, 5))
    patients = [
        {l: (draw(st.sampled_from(v)), draw(st.sampled_from(v + [""]))) for l, v in alleles.items()} for _ in range(n)
    ]
    layout = draw(st.sampled_from(["columns", "typing"]))
    sep = draw(st.sampled_from([",", "\t"]))
    with_id = draw(st.booleans())
    if layout == "typing":
        header = ["typing"]
        rows = [["^".join(a if not b else f"{a}+{b}" for a, b in pt.values())] for pt in patients]
        allele_cols = (0,)
    else:
        style = draw(st.sampled_from(["_", ".", "", " ", "-"]))
        header = [f"{l}{style}{k}" for l in loci for k in (1, 2)]
        rows = [[x for a, b in pt.values() for x in (a, b)] for pt in patients]
        allele_cols = tuple(range(len(header)))
    if with_id:
        header = ["id"] + header
        rows = [[f"P{k}"] + r for k, r in enumerate(rows)]
        allele_cols = tuple(c + 1 for c in allele_cols)
    if parquet if parquet is not None else draw(st.integers(0, 4)) == 0:
        import polars as pl

        frame = pl.DataFrame({c: [r[k] for r in rows] for k, c in enumerate(header)})
        return FileCase("patients.parquet", frame_bytes(frame), "patients", None, None, "parquet", frame=frame)
    grid = Grid(header, rows, sep, allele_cols=allele_cols)
    return _case("patients.tsv" if sep == "\t" else "patients.csv", "patients", None, grid)


# ====================================================================== (b) structured mutations

Op = tuple[str, int, int]


def _pick(seq: Sequence, k: int):
    return seq[k % len(seq)]


def malform_allele(name: str, k: int) -> str:
    """A near miss of an allele name (the ``k``-th of a fixed list of ways to break one)."""
    gene, star, rest = name.partition("*")
    ways = [
        lambda: name.replace("*", ""),
        lambda: name[:-1] + "X",
        lambda: name + ":01:01:01:01",
        lambda: name.lower(),
        lambda: "HLA-" + name,
        lambda: "hla-" + name,
        lambda: name + "g",
        lambda: name + "NN",
        lambda: f"X*{rest or '01:01'}",
        lambda: f"DRB9*{rest or '01:01'}",
        lambda: f"MICA*{rest or '001'}",
        lambda: ("B" if gene != "B" else "A") + star + rest,  # another locus's allele
        lambda: "",
        lambda: f" {name} ",
        lambda: f"{gene}* {rest}",
        lambda: f"{gene}*01234:01",
        lambda: f"{gene}*\u0660\u0661:\u0660\u0661",
        lambda: "DRBX*NNNN",
        lambda: "A24",
        lambda: "A*24:02",
        lambda: name + "~",
        lambda: name + "~" + name,
        lambda: name + "+" + name,
        lambda: name + "/" + name,
        lambda: name + "^" + name,
        lambda: name.replace(":", "::"),
        lambda: name.replace(":", ""),
        lambda: f"{gene}*:{rest}",
        lambda: "*",
        lambda: "~",
        lambda: "null",
        lambda: "NA",
        lambda: f"{gene}*{rest}\u00e9",
        lambda: f"{gene}**{rest}",
        lambda: f"{gene}*{rest}:",
        lambda: "Cw0",
        lambda: "DR00000",
    ]
    return _pick(ways, k)()


def _mutate_hap(text: str, a: int, b: int) -> str:
    """Break one allele of a '~'-joined haplotype (or drop/duplicate/swap alleles)."""
    parts = text.split("~")
    i = a % len(parts)
    op = b % 5
    if op == 0:
        parts[i] = malform_allele(parts[i], b // 5)
    elif op == 1:
        del parts[i]
    elif op == 2:
        parts.insert(i, parts[i])
    elif op == 3:
        j = (b // 5) % len(parts)
        parts[i], parts[j] = parts[j], parts[i]
    else:
        parts.insert(i, "")
    return "~".join(parts)


def _g_drop_row(g: Grid, a: int, b: int) -> None:
    if g.rows:
        del g.rows[a % len(g.rows)]


def _g_dup_row(g: Grid, a: int, b: int) -> None:
    if g.rows:
        r = g.rows[a % len(g.rows)]
        g.rows.insert(b % (len(g.rows) + 1), list(r))


def _g_swap_rows(g: Grid, a: int, b: int) -> None:
    if g.rows:
        i, j = a % len(g.rows), b % len(g.rows)
        g.rows[i], g.rows[j] = g.rows[j], g.rows[i]


def _width(g: Grid) -> int:
    return max([len(g.header or [])] + [len(r) for r in g.rows] + [1])


def _each_line(g: Grid, fn: Callable[[list[str]], None]) -> None:
    if g.header is not None:
        fn(g.header)
    for r in g.rows:
        fn(r)


def _g_drop_col(g: Grid, a: int, b: int) -> None:
    c = a % _width(g)
    _each_line(g, lambda r: r.pop(c) if c < len(r) else None)


def _g_dup_col(g: Grid, a: int, b: int) -> None:
    c = a % _width(g)
    _each_line(g, lambda r: r.insert(c, r[c]) if c < len(r) else None)


def _g_swap_cols(g: Grid, a: int, b: int) -> None:
    i, j = a % _width(g), b % _width(g)

    def swap(r: list[str]) -> None:
        if i < len(r) and j < len(r):
            r[i], r[j] = r[j], r[i]

    _each_line(g, swap)


def _cell(g: Grid, a: int, cols: Sequence[int]) -> tuple[int, int] | None:
    if not g.rows:
        return None
    r = a % len(g.rows)
    row = g.rows[r]
    if not row:
        return None
    usable = [c for c in cols if c < len(row)] or list(range(len(row)))
    return r, usable[(a // len(g.rows)) % len(usable)]


def _g_empty_cell(g: Grid, a: int, b: int) -> None:
    rc = _cell(g, a, range(_width(g)))
    if rc:
        g.rows[rc[0]][rc[1]] = ""


def _g_special_freq(g: Grid, a: int, b: int) -> None:
    rc = _cell(g, a, g.freq_cols)
    if rc:
        g.rows[rc[0]][rc[1]] = _pick(SPECIAL_NUMBERS, b)


def _g_all_freqs(g: Grid, a: int, b: int) -> None:
    """Every frequency of one column the same special value (e.g. all 1e308: overflowing sums)."""
    value = _pick(SPECIAL_NUMBERS, b)
    cols = g.freq_cols or (-1,)
    c = cols[a % len(cols)]
    for r in g.rows:
        if r and c < len(r):
            r[c] = value


def _g_bad_allele(g: Grid, a: int, b: int) -> None:
    rc = _cell(g, a, g.hap_cols + g.allele_cols)
    if not rc:
        return
    r, c = rc
    cell = g.rows[r][c]
    if c in g.hap_cols:
        halves = cell.split("/")
        h = (b // 7) % len(halves)
        halves[h] = _mutate_hap(halves[h], b, b // 3)
        g.rows[r][c] = "/".join(halves)
    else:
        parts = cell.split("^") if "^" in cell else [cell]
        i = b % len(parts)
        parts[i] = malform_allele(parts[i], b // len(parts))
        g.rows[r][c] = "^".join(parts)


def _g_dup_haplotype(g: Grid, a: int, b: int) -> None:
    """Copy the allele cells of one row onto another: the same haplotype listed twice."""
    if len(g.rows) < 2:
        _g_dup_row(g, a, b)
        return
    i, j = a % len(g.rows), b % len(g.rows)
    for c in g.hap_cols + g.allele_cols:
        if c < len(g.rows[i]) and c < len(g.rows[j]):
            g.rows[j][c] = g.rows[i][c]


def _g_unicode_cell(g: Grid, a: int, b: int) -> None:
    rc = _cell(g, a, range(_width(g)))
    if rc:
        cell = g.rows[rc[0]][rc[1]]
        pos = b % (len(cell) + 1)
        g.rows[rc[0]][rc[1]] = cell[:pos] + _pick(UNICODE, b // 7) + cell[pos:]


def _g_header(g: Grid, a: int, b: int) -> None:
    """Drop the header, add one to a headerless file, or rename / change the case of a header cell."""
    op = a % 5
    if op == 0:
        g.header = None
    elif op == 1 and g.rows:
        g.header = list(g.rows[0]) if g.header is None else g.header
        g.rows.insert(0, list(g.header))  # header repeated as a data row
    elif g.header:
        c = b % len(g.header)
        g.header[c] = [
            g.header[c].upper(),
            g.header[c].lower(),
            _pick(
                [
                    "",
                    "A",
                    "Freq",
                    "frequency",
                    "population",
                    "count",
                    "haplotype",
                    "DRB3",
                    "DPB9",
                    "X",
                    "id",
                    "typing",
                    "haplotype1",
                    "name",
                    "A_1",
                    "A_3",
                    "\u00e9",
                    "Haplo",
                    "haplotype.freq",
                    "popname",
                    "loci",
                ],
                b // 7,
            ),
        ][op - 2]


def _g_ragged(g: Grid, a: int, b: int) -> None:
    """One row with a cell too many or too few."""
    if g.rows:
        r = g.rows[a % len(g.rows)]
        if b % 2 and r:
            r.pop()
        else:
            r.append(_pick(["", "x", "0.1", "A*01:01"], b // 2))


def _g_long_cell(g: Grid, a: int, b: int) -> None:
    rc = _cell(g, a, range(_width(g)))
    if rc:
        g.rows[rc[0]][rc[1]] = _pick(
            ["A*01:01~" * 2000 + "A*01:01", "9" * 20000, "x" * 20000, "~" * 5000, ":" * 5000, "/" * 100], b
        )


def _g_sep(g: Grid, a: int, b: int) -> None:
    g.sep = _pick([";", "\t", ",", " ", "|", ", "], a)


def _g_many_rows(g: Grid, a: int, b: int) -> None:
    """Many copies of the rows (up to ~2,000): readers must stay fast on them."""
    if g.rows:
        k = 1 + a % 300
        g.rows = [list(r) for _ in range(k) for r in g.rows][:2000]


def _g_quote(g: Grid, a: int, b: int) -> None:
    rc = _cell(g, a, range(_width(g)))
    if rc:
        cell = g.rows[rc[0]][rc[1]]
        g.rows[rc[0]][rc[1]] = _pick(
            [f'"{cell}"', f'"{cell}', f'{cell}"', f'"{cell}{g.sep}x"', f"'{cell}'", f'"{cell}\n{cell}"'], b
        )


GRID_OPS: dict[str, Callable[[Grid, int, int], None]] = {
    "drop_row": _g_drop_row,
    "dup_row": _g_dup_row,
    "swap_rows": _g_swap_rows,
    "drop_col": _g_drop_col,
    "dup_col": _g_dup_col,
    "swap_cols": _g_swap_cols,
    "empty_cell": _g_empty_cell,
    "special_freq": _g_special_freq,
    "all_freqs": _g_all_freqs,
    "bad_allele": _g_bad_allele,
    "dup_haplotype": _g_dup_haplotype,
    "unicode_cell": _g_unicode_cell,
    "header": _g_header,
    "ragged": _g_ragged,
    "long_cell": _g_long_cell,
    "separator": _g_sep,
    "many_rows": _g_many_rows,
    "quote": _g_quote,
}


def _lines_of(text: str) -> list[str]:
    return text.split("\n")


def _t_blank_lines(t: str, a: int, b: int) -> str:
    lines = _lines_of(t)
    lines.insert(a % (len(lines) + 1), _pick(["", " ", "\t", ",,", "\r", ",", "#"], b))
    return "\n".join(lines)


def _t_bom(t: str, a: int, b: int) -> str:
    return _pick(["\ufeff", "\ufeff\ufeff", "\ufffe"], a) + t


def _t_crlf(t: str, a: int, b: int) -> str:
    return _pick([t.replace("\n", "\r\n"), t.replace("\n", "\r"), t.replace("\n", "\r\r\n")], a)


def _t_strip_eol(t: str, a: int, b: int) -> str:
    return t.rstrip("\n") if a % 2 else t + "\n" * (1 + b % 3)


def _t_wrong_sep_line(t: str, a: int, b: int) -> str:
    lines = _lines_of(t)
    i = a % len(lines)
    sep_from = "\t" if "\t" in t else ","
    lines[i] = lines[i].replace(sep_from, _pick([";", "\t", ",", " ", "|"], b))
    return "\n".join(lines)


def _t_unicode(t: str, a: int, b: int) -> str:
    pos = a % (len(t) + 1)
    return t[:pos] + _pick(UNICODE, b) + t[pos:]


def _t_truncate_line(t: str, a: int, b: int) -> str:
    lines = _lines_of(t)
    i = a % len(lines)
    lines[i] = lines[i][: b % (len(lines[i]) + 1)]
    return "\n".join(lines)


def _t_comment(t: str, a: int, b: int) -> str:
    return _pick(["# comment\n", "#\n", "\n", "sep=,\n", "Haplo,Count,Freq\n"], a) + t


def _t_nul(t: str, a: int, b: int) -> str:
    pos = a % (len(t) + 1)
    return t[:pos] + "\x00" * (1 + b % 3) + t[pos:]


TEXT_OPS: dict[str, Callable[[str, int, int], str]] = {
    "blank_lines": _t_blank_lines,
    "bom": _t_bom,
    "crlf": _t_crlf,
    "eol": _t_strip_eol,
    "wrong_sep_line": _t_wrong_sep_line,
    "unicode": _t_unicode,
    "truncate_line": _t_truncate_line,
    "prefix_line": _t_comment,
    "nul": _t_nul,
}


def mutate_text_case(case: FileCase, grid_ops: Sequence[Op], text_ops: Sequence[Op]) -> FileCase:
    """Apply grid ops, render, apply text ops, wrap in the case's container."""
    assert case.grid is not None
    g = copy.deepcopy(case.grid)
    for name, a, b in grid_ops:
        GRID_OPS[name](g, a, b)
    text = g.render()
    for name, a, b in text_ops:
        text = TEXT_OPS[name](text, a, b)
    note = "; ".join(f"{n}({a},{b})" for n, a, b in [*grid_ops, *text_ops])
    return replace(case, data=_pack(case, text), grid=g, note=note)


# ---------------------------------------------------------------------- parquet frames


def _f_drop_col(df, a, b):
    return df.drop(df.columns[a % df.width]) if df.width else df


def _f_dup_col(df, a, b):
    import polars as pl

    if not df.width:
        return df
    c = df.columns[a % df.width]
    new = _pick([c.lower(), c.upper(), f"{c}_copy", "frequency", "population", "haplotype", "A", "DRB1"], b)
    if new in df.columns:
        new = new + "_"
    return df.with_columns(pl.col(c).alias(new))


def _f_rename(df, a, b):
    if not df.width:
        return df
    c = df.columns[a % df.width]
    new = _pick(["", "x", "Freq", "haplotype", "A", "population", "DPB9", "\u00e9", "count", c.lower()], b)
    if new in df.columns:
        return df
    return df.rename({c: new})


def _f_cast(df, a, b):
    """Store one column with another dtype (strings, ints, bools, lists, categoricals, dates, structs)."""
    import polars as pl

    if not df.width:
        return df
    c = df.columns[a % df.width]
    s = df[c]
    casts = [
        lambda: s.cast(pl.String),
        lambda: s.cast(pl.String).cast(pl.Categorical),
        lambda: s.cast(pl.Float32, strict=False),
        lambda: s.cast(pl.Int64, strict=False),
        lambda: s.cast(pl.Boolean, strict=False),
        lambda: s.cast(pl.String).cast(pl.Binary),
        lambda: s.cast(pl.String).map_elements(lambda x: [x], return_dtype=pl.List(pl.String)),
        lambda: pl.Series(c, [None] * len(s), dtype=pl.Null),
        lambda: pl.Series(c, list(range(len(s))), dtype=pl.Date),
        lambda: s.to_frame().to_struct(c),
        lambda: s.cast(pl.Decimal(38, 20), strict=False) if s.dtype.is_numeric() else s.cast(pl.String),
    ]
    try:
        new = _pick(casts, b)().alias(c)
    except Exception:  # noqa: BLE001 - a cast polars refuses: keep the frame
        return df
    return df.with_columns(new)


def _f_values(df, a, b):
    """One cell of a numeric column NaN, inf, -1, 1e308, null; or of a text column a special text."""
    import polars as pl

    if not df.width or not df.height:
        return df
    c = df.columns[a % df.width]
    r = (a // df.width) % df.height
    s = df[c]
    if s.dtype.is_float():
        v = _pick([float("nan"), float("inf"), -float("inf"), -1.0, 1e308, None, 2.0, -0.0, 5e-324], b)
    elif s.dtype == pl.String:
        v = _pick([None, "", "A*01:0X", "0.5", "\u00e9", " ", "A*01:01~B*08:01", "NaN"], b)
    else:
        return df
    values = s.to_list()
    values[r] = v
    return df.with_columns(pl.Series(c, values, dtype=s.dtype))


def _f_all_values(df, a, b):
    import polars as pl

    floats = [c for c in df.columns if df[c].dtype.is_float()]
    if not floats:
        return df
    c = floats[a % len(floats)]
    v = _pick([1e308, float("nan"), float("inf"), 0.0, -0.5, 0.9], b)
    return df.with_columns(pl.lit(v, dtype=pl.Float64).alias(c))


def _f_rows(df, a, b):
    import polars as pl

    op = a % 4
    if op == 0:
        return df.head(0)
    if op == 1:
        return pl.concat([df, df])
    if op == 2:
        return df.reverse()
    return df.slice(b % max(1, df.height), 1)


def _f_empty(df, a, b):
    import polars as pl

    return pl.DataFrame()


FRAME_OPS = {
    "drop_col": _f_drop_col,
    "dup_col": _f_dup_col,
    "rename": _f_rename,
    "cast": _f_cast,
    "values": _f_values,
    "all_values": _f_all_values,
    "rows": _f_rows,
    "empty": _f_empty,
}


def mutate_frame_case(case: FileCase, ops: Sequence[Op]) -> FileCase:
    df = case.frame
    for name, a, b in ops:
        df = FRAME_OPS[name](df, a, b)
    note = "; ".join(f"{n}({a},{b})" for n, a, b in ops)
    return replace(case, data=frame_bytes(df), frame=df, note=note)


# ---------------------------------------------------------------------- HFX bundles

_META_VARIANTS = (
    None,
    "{",
    "[]",
    "null",
    '{"metadata": null}',
    '{"metadata": {"cohortDescription": {"population": []}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": null}]}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": 7}]}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": ""}]}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": ["EUR"]}]}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": {"x": 1}}]}}}',
    '{"metadata": {"cohortDescription": {"population": "EUR"}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": "A"}]}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": "\\u00e9 x/y"}]}}}',
    '{"metadata": {"cohortDescription": {"population": [{"name": "' + "P" * 5000 + '"}]}}}',
    '\ufeff{"metadata": {}}',
    "\xff\xfe",
    "[" * 100000 + "]" * 100000,
)


def mutate_zip_case(case: FileCase, ops: Sequence[Op], text: str | None = None) -> FileCase:
    """HFX structure: metadata variants, member names, extra/missing CSVs, compression methods."""
    text = case.grid.render() if text is None else text
    meta = case.meta
    member = case.member
    members: dict[str, bytes] = {}
    extra: dict[str, bytes] = {}
    method = zipfile.ZIP_DEFLATED
    for name, a, b in ops:
        if name == "meta":
            meta = _pick(_META_VARIANTS, a)
        elif name == "member_name":
            member = _pick(
                [
                    "data/table.csv",
                    "TABLE.CSV",
                    "table.txt",
                    "t\u00e9.csv",
                    ".csv",
                    "../x.csv",
                    "a/b/c.csv",
                    "metadata.json",
                ],
                a,
            )
        elif name == "extra_member":
            extra[_pick(["b.csv", "MANIFEST.json", "SHA256SUMS", "dir/", "x.CSV", "__MACOSX/._t.csv"], a)] = _pick(
                [b"Haplo,Count,Freq\nA*01:01~B*08:01,1,0.1\n", b"", b"\xff\xfe\x00", b"{}"], b
            )
        elif name == "method":
            method = _pick([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], a)
        elif name == "member_bytes":
            # The CSV member not UTF-8 (or with a BOM), bypassing the text layer.
            raw = text.encode("utf-8")
            members[member] = _pick(
                [
                    b"\xef\xbb\xbf" + raw,
                    raw.replace(b"*", b"\xff", 1),
                    text.encode("utf-16"),
                    raw[: len(raw) // 2],
                    gzip.compress(raw, mtime=0),
                ],
                a,
            )
    if meta is not None:
        members.setdefault("metadata.json", meta.encode("utf-8", errors="surrogatepass"))
    members.setdefault(member, text.encode("utf-8", errors="surrogatepass"))
    members.update(extra)
    note = "; ".join(f"{n}({a},{b})" for n, a, b in ops)
    return replace(case, data=make_zip(members, method), meta=meta, member=member, note=note)


ZIP_OPS = ("meta", "member_name", "extra_member", "method", "member_bytes")


# ====================================================================== (c) byte-level mutations


def _b_flip(d: bytearray, a: int, b: int) -> None:
    if d:
        d[a % len(d)] ^= 1 << (b % 8)


def _b_set(d: bytearray, a: int, b: int) -> None:
    if d:
        d[a % len(d)] = b % 256


def _b_insert(d: bytearray, a: int, b: int) -> None:
    chunk = _pick(
        [
            b"\x00",
            b"\xff",
            b"\r",
            b"\n",
            b'"',
            b"~",
            b",",
            b"\t",
            b"\xef\xbb\xbf",
            b"\xc3",
            b"\xe2\x80\xa8",
            bytes([b % 256]),
            b"\x1f\x8b",
            b"PK\x03\x04",
            b"*",
            b"\\",
        ],
        b,
    )
    d[a % (len(d) + 1) : a % (len(d) + 1)] = chunk


def _b_delete(d: bytearray, a: int, b: int) -> None:
    if d:
        i = a % len(d)
        del d[i : i + 1 + b % 16]


def _b_truncate(d: bytearray, a: int, b: int) -> None:
    del d[a % (len(d) + 1) :]


def _b_duplicate(d: bytearray, a: int, b: int) -> None:
    if d:
        i = a % len(d)
        chunk = d[i : i + 1 + b % 64]
        d[i:i] = chunk


def _b_zero_run(d: bytearray, a: int, b: int) -> None:
    if d:
        i = a % len(d)
        n = min(len(d) - i, 1 + b % 32)
        d[i : i + n] = bytes(n)


BYTE_OPS: dict[str, Callable[[bytearray, int, int], None]] = {
    "flip": _b_flip,
    "set": _b_set,
    "insert": _b_insert,
    "delete": _b_delete,
    "truncate": _b_truncate,
    "duplicate": _b_duplicate,
    "zero_run": _b_zero_run,
}


def mutate_bytes(data: bytes, ops: Sequence[Op]) -> bytes:
    d = bytearray(data)
    for name, a, b in ops:
        BYTE_OPS[name](d, a, b)
    return bytes(d)


def mutate_case_bytes(case: FileCase, ops: Sequence[Op], inside: bool = False) -> FileCase:
    """Byte ops on the file (``inside=False``: the compressed bytes of gzip/zip/parquet), or on
    the content inside its container (``inside=True``: the gzip's text, the zip's CSV member)."""
    note = ("inside: " if inside else "") + "; ".join(f"{n}({a},{b})" for n, a, b in ops)
    if not inside or case.container in ("text", "parquet"):
        return replace(case, data=mutate_bytes(case.data, ops), note=note, corrupt=True)
    raw = case.grid.render().encode("utf-8") if case.grid is not None else b""
    raw = mutate_bytes(raw, ops)
    if case.container == "gzip":
        return replace(case, data=gzip.compress(raw, mtime=0), note=note)
    members = {**({"metadata.json": case.meta.encode()} if case.meta is not None else {}), case.member: raw}
    return replace(case, data=make_zip(members), note=note)


# ====================================================================== hypothesis strategies

_INDEX = st.integers(0, 2**16)


def mutations(ops: Sequence[str], min_size: int = 1, max_size: int = 3) -> st.SearchStrategy[list[Op]]:
    """Lists of ``(op, a, b)`` over ``ops``; shrink towards fewer ops and index 0."""
    return st.lists(st.tuples(st.sampled_from(list(ops)), _INDEX, _INDEX), min_size=min_size, max_size=max_size)


def seeded_mutation(seed: int, ops: Sequence[str], n: int = 2) -> list[Op]:
    """A mutation from an integer seed (the same seed always gives the same ops)."""
    rng = random.Random(seed)
    return [(rng.choice(list(ops)), rng.randrange(2**16), rng.randrange(2**16)) for _ in range(n)]


@st.composite
def mutated_table_files(draw, kind: str | None = None, level: str = "structured") -> FileCase:
    """A table file of ``kind`` after structured (``level="structured"``) or byte-level mutations."""
    case = draw(table_files(kind))
    return draw(mutated(case, level))


@st.composite
def mutated(draw, case: FileCase, level: str = "structured") -> FileCase:
    """``case`` after structured or byte-level mutations suited to its container."""
    if level == "bytes":
        inside = case.container in ("gzip", "zip") and draw(st.booleans())
        return mutate_case_bytes(case, draw(mutations(list(BYTE_OPS))), inside=inside)
    if case.container == "parquet":
        return mutate_frame_case(case, draw(mutations(list(FRAME_OPS))))
    grid_ops = draw(mutations(list(GRID_OPS), min_size=0))
    text_ops = draw(mutations(list(TEXT_OPS), min_size=0, max_size=2))
    if not grid_ops and not text_ops:
        grid_ops = [draw(st.tuples(st.sampled_from(list(GRID_OPS)), _INDEX, _INDEX))]
    out = mutate_text_case(case, grid_ops, text_ops)
    if case.container == "zip" and draw(st.booleans()):
        text = out.grid.render()
        for name, a, b in text_ops:
            text = TEXT_OPS[name](text, a, b)
        zops = draw(mutations(ZIP_OPS))
        out = mutate_zip_case(case, zops, text)
        out = replace(out, note=f"{'; '.join(f'{n}({a},{b})' for n, a, b in [*grid_ops, *text_ops])}; {out.note}")
    return out


# ====================================================================== free text (alleles, lines, typings)

_GENES = [
    "A",
    "B",
    "C",
    "DRB1",
    "DRB3",
    "DRB4",
    "DRB5",
    "DRBX",
    "DQA1",
    "DQB1",
    "DPA1",
    "DPB1",
    "DRB345",
    "X",
    "MICA",
    "a",
    "Cw",
    "DR",
    "DQ",
    "DP",
    "HLA-A",
    "hla-B",
    "",
]


@st.composite
def allele_texts(draw) -> str:
    """Allele-like text: mostly well-formed names (every gene, 1–4 fields, suffixes, prefixes),
    then near misses (odd genes and separators, 0–6 digit fields, unicode digits), then any text."""
    kind = draw(st.integers(0, 9))
    if kind <= 4:  # well-formed, or nearly
        prefix = draw(st.sampled_from(["", "", "", "HLA-", " "]))
        gene = draw(st.sampled_from(["A", "B", "C", "DRB1", "DRB3", "DRB4", "DRB5", "DQA1", "DQB1", "DPA1", "DPB1"]))
        fields = draw(st.lists(st.integers(0, 9999).map(lambda x: f"{x:02d}"), min_size=1, max_size=4))
        suffix = draw(st.sampled_from(["", "", "", "N", "L", "S", "C", "A", "Q", "g", "G", "P", "Ng"]))
        return f"{prefix}{gene}*{':'.join(fields)}{suffix}"
    if kind == 5:  # antigens and DRBX
        return draw(
            st.one_of(
                st.tuples(
                    st.sampled_from(["A", "B", "C", "Cw", "DR", "DQ", "DP", "Bw", "cw", "dr"]), st.integers(0, 99999)
                ).map(lambda t: f"{t[0]}{t[1]}"),
                st.sampled_from(
                    [
                        "DRBX*NNNN",
                        "DRBX*NNN",
                        "DRBX*N",
                        "HLA-DRBX*NNNN",
                        "DRBX*NNNNN",
                        "DRBX*01:01",
                        "DRBX*nnnn",
                        "DRB345*01:01",
                    ]
                ),
            )
        )
    if kind <= 8:
        prefix = draw(st.sampled_from(["", "", "HLA-", "hla-", " ", "HLA"]))
        gene = draw(st.sampled_from(_GENES))
        star = draw(st.sampled_from(["*", "*", "*", "", "**", "x", ":"]))
        digits = st.text(
            alphabet=st.sampled_from("0123456789") | st.sampled_from("N\u0661\uff11a "), min_size=0, max_size=6
        )
        fields = draw(st.lists(digits, min_size=0, max_size=5))
        suffix = draw(
            st.sampled_from(["", "", "N", "L", "S", "C", "A", "Q", "g", "G", "P", "NN", "gP", "n", " ", "\u200b"])
        )
        return f"{prefix}{gene}{star}{':'.join(fields)}{suffix}"
    return draw(st.text(max_size=12))


def haplotype_texts(max_alleles: int = 4) -> st.SearchStrategy[str]:
    return st.lists(allele_texts(), min_size=0, max_size=max_alleles).map("~".join)


@st.composite
def line_texts(draw) -> str:
    """Donor-line-like text: one or more haplotypes joined by '/', often valid-looking."""
    sep = draw(st.sampled_from(["~", "~", "~~", "~ ", ","]))
    good = st.sampled_from(
        [
            "A*24:02~B*52:01~DRB1*15:02",
            "A*02:01~B*07:02~DRB1*15:01",
            "A*24:02~B*52:01",
            "DRB1*15:02~A*24:02~B*52:01",
            "A24~B52~DR15",
            "A*24~B*52",
        ]
    )
    hap = st.one_of(good, haplotype_texts(), good.map(lambda h: h.replace("~", sep)))
    text = draw(st.lists(hap, min_size=1, max_size=3).map("/".join))
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.text(max_size=30))
    return text


@st.composite
def typing_texts(draw) -> str:
    """GL-like typing text: loci joined by '^', alleles by '+', with junk."""
    locus = st.lists(
        st.one_of(allele_texts(), st.sampled_from(["A*24:02", "A*02:01", "B*52:01", "DRB1*15:02"])),
        min_size=0,
        max_size=3,
    ).map("+".join)
    text = draw(st.lists(locus, min_size=0, max_size=4).map("^".join))
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.text(max_size=30))
    return text
