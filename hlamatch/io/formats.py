"""One reader per haplotype frequency table format (NMDP, GRIMM, NMDP 2007, HFX, PyPop, wide/Parquet)."""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hlamatch._deps import pl
from hlamatch.constants import KNOWN_LOCI
from hlamatch.errors import EmptyTableError, TableFormatError, TableSchemaError, UnknownLocusError
from hlamatch.hla.alleles import canonical_locus
from hlamatch.io.files import _decode, _open_text, _os_error_message, _read_bytes
from hlamatch.io.frame import (
    _FREQ_NAMES,
    _is_locus_name,
    _keep_population,
    _missing_text,
    _population_rows,
    _raw_from_frame,
)
from hlamatch.io.text import detect_separator
from hlamatch.table.build import RawTable


def _population_from_name(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".freqs", ".parquet", ".hfx"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    for prefix in ("freqs.", "freqs_"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
    return name or p.name


def _detect_format(p: Path) -> str:
    import zipfile

    name = p.name.lower()
    if name.endswith(".hfx") or (zipfile.is_zipfile(p) and not name.endswith(".parquet")):
        return "hfx"
    if name.endswith((".parquet", ".pq", ".arrow", ".feather", ".ipc")):
        return "wide"
    text = _open_text(p)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise EmptyTableError(f"table file {p} is empty: expected a header or haplotype rows")
    cells = [c.strip().strip('"') for c in first.split(detect_separator(first))]
    low = [c.lower() for c in cells]
    if "haplotype.freq" in low:
        return "pypop"
    if low and low[0] in ("haplo", "haplotype", "haplotypes"):
        return "nmdp"
    if len(cells) == 4 and "~" in cells[1] and "~" not in cells[0]:
        return "nmdp2007"
    if len(cells) in (2, 3) and ("~" in cells[0] or "*" in cells[0]):
        return "grimm"
    if any(_is_locus_name(c) for c in cells):
        return "wide"
    raise TableFormatError(
        f"cannot tell the format of {p}: its first line is {first[:80]!r}; expected an NMDP "
        "'Haplo,Count,Freq' header, GRIMM 'haplotype,count,freq' rows, NMDP 2007 "
        "'pop,haplotype,freq,rank' rows or a wide header with locus columns (give the format: --table-format in the CLI, format= in Python)"
    )


def _csv(
    text: str, where: str, has_header: bool, sep: str | None = None, ragged: bool = False
) -> tuple[pl.DataFrame, np.ndarray]:
    """Parse delimited text; return the frame and the file line (1-based) of each of its rows.

    The separator, unless given, is that of every user file (:func:`hlamatch.io.text.detect_separator`
    of the first line: tab, comma or semicolon).  Blank lines are not data: they are dropped
    before parsing, and the line numbers returned count them, so that messages name the line a
    person sees in an editor.
    """
    lines = text.split("\n")
    keep = [i for i, ln in enumerate(lines) if ln not in ("", "\r")]
    if not keep:
        raise EmptyTableError(f"table file {where} is empty: expected a header or haplotype rows")
    first = lines[keep[0]]
    if sep is None:
        sep = detect_separator(first)
    try:
        df = pl.read_csv(
            io.StringIO("\n".join(lines[i] for i in keep) + "\n"),
            has_header=has_header,
            separator=sep,
            infer_schema=False,
            truncate_ragged_lines=ragged,
        )
    except pl.exceptions.PolarsError as e:
        width = first.count(sep)
        long = next((i for i in keep if lines[i].count(sep) > width), None)
        if long is not None and not ragged:
            raise TableFormatError(
                f"{where} line {long + 1}: {lines[long].count(sep) + 1} fields, line {keep[0] + 1} has "
                f"{width + 1}; every row must have the same fields (remove the extra {sep!r})"
            ) from e
        raise TableFormatError(f"cannot parse {where} as delimited text: {str(e).splitlines()[0]}") from e
    numbers = np.array(keep[1:] if has_header else keep, dtype=np.int64) + 1
    if df.height != numbers.size:  # a quoted field ran over a line break: rows are no longer lines
        odd = next((i for i in keep if lines[i].count('"') % 2), keep[0])
        raise TableFormatError(
            f"{where} line {odd + 1}: a quoted field is not closed on its line; close the quote or remove "
            "the stray '\"'"
        )
    for c in df.columns:
        base, dup, _ = c.rpartition("_duplicated_")
        if dup and base in df.columns:
            raise TableSchemaError(
                f"{where} line {keep[0] + 1}: column {base!r} appears twice in the header; rename or drop one"
            )
    return df, numbers


def _read_nmdp(p: Path, population: str | None) -> RawTable:
    return _raw_from_text(_open_text(p), str(p), population or _population_from_name(p))


def _raw_from_text(text: str, where: str, population: str) -> RawTable:
    df, lines = _csv(text, where, has_header=True)
    low = {c.lower().strip(): c for c in df.columns}
    hap = next((low[k] for k in ("haplo", "haplotype", "haplotypes") if k in low), None)
    freq = next((low[k] for k in _FREQ_NAMES if k in low), None)
    if hap is None or freq is None:
        raise TableSchemaError(
            f"{where}: expected columns 'Haplo' and 'Freq' (NMDP format), found {', '.join(df.columns)}"
        )
    return RawTable(where, df[hap], None, {population: df[freq]}, lines, freq_column=freq)


def _read_grimm(p: Path, population: str | None) -> RawTable:
    text = _open_text(p)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first.split(detect_separator(first))[0].strip().lower() in ("haplo", "haplotype"):
        return _raw_from_text(text, str(p), population or _population_from_name(p))
    df, lines = _csv(text, str(p), has_header=False)
    if df.width not in (2, 3):
        raise TableSchemaError(
            f"{p}: GRIMM rows need 'haplotype,count,freq' (or 'haplotype,freq'); found {df.width} columns"
        )
    pop = population or _population_from_name(p)
    return RawTable(str(p), df[:, 0], None, {pop: df[:, df.width - 1]}, lines, freq_column=f"column {df.width} (freq)")


def _read_nmdp2007(p: Path, population: str | None) -> RawTable:
    df, lines = _csv(_open_text(p), str(p), has_header=False)
    if df.width < 3:
        raise TableSchemaError(f"{p}: NMDP 2007 rows need 'pop,haplotype,freq[,rank]'; found {df.width} columns")
    pop_rows = _keep_population(_population_rows(df[:, 0], str(p), "1", lines), population, str(p))
    return RawTable(str(p), df[:, 1], None, {"__long__": df[:, 2]}, lines, pop_rows, freq_column="column 3 (freq)")


def _read_hfx(p: Path, population: str | None) -> RawTable:
    import lzma
    import zipfile

    member: str | None = None  # the member being read, for messages
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
            csvs = [n for n in names if n.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise TableFormatError(
                    f"{p}: an HFX bundle must hold exactly one frequency CSV, found {csvs or 'none'}"
                )
            member = "metadata.json"
            meta_bytes = z.read(member) if member in names else None
            member = csvs[0]
            data = z.read(member)
    except zipfile.BadZipFile as e:
        raise TableFormatError(
            f"cannot read HFX bundle {p}: it is not a valid zip archive ({e}); re-download the bundle"
        ) from e
    # zipfile: "That compression method is not supported"; a RuntimeError, so caught before those.
    except NotImplementedError as e:
        raise TableFormatError(
            f"cannot read HFX bundle {p}: member {member!r} uses a compression method hlamatch cannot read; "
            "re-pack the bundle with ordinary zip (deflate) compression"
        ) from e
    except RuntimeError as e:  # zipfile's "File ... is encrypted, password required for extraction"
        if "encrypted" not in str(e):
            raise
        raise TableFormatError(
            f"cannot read HFX bundle {p}: member {member!r} is encrypted; give hlamatch an unencrypted bundle"
        ) from e
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
        if member is None and isinstance(e, OSError):
            raise TableFormatError(_os_error_message(p, e)) from e
        raise TableFormatError(
            f"cannot read HFX bundle {p}: member {member!r} is corrupt ({e}); re-download the bundle"
        ) from e
    meta: Any = {}
    if meta_bytes is not None:
        try:
            meta = json.loads(_decode(meta_bytes, f"{p}:metadata.json"))
        except (json.JSONDecodeError, RecursionError) as e:
            raise TableFormatError(
                f"cannot read HFX bundle {p}: metadata.json is not valid JSON ({e}); fix or remove metadata.json"
            ) from e
    if population is None:
        try:
            population = meta["metadata"]["cohortDescription"]["population"][0]["name"]
        except (KeyError, IndexError, TypeError):
            population = None
        if not isinstance(population, str) or not population.strip():
            population = _population_from_name(p)
    where = f"{p}:{member}"
    return _raw_from_text(_decode(data, where), where, population.strip())


def _read_pypop(p: Path, population: str | None) -> RawTable:
    where = str(p)
    df, lines = _csv(_open_text(p), where, has_header=True, sep="\t", ragged=True)
    missing = [c for c in ("popname", "loci", "haplotype", "haplotype.freq") if c not in df.columns]
    if missing:
        raise TableSchemaError(f"{p}: a PyPop haplotype TSV needs columns {', '.join(missing)}")
    if df.height == 0:
        raise EmptyTableError(f"table {p} has no haplotype rows: add rows below the header, or check the file")
    for column in ("loci", "haplotype"):
        gap = _missing_text(df[column])
        if gap.any():
            i = gap.arg_max() or 0  # (None only for an empty series)
            raise TableSchemaError(
                f"{p} line {lines[i]}: missing {column} (column {column!r}); fill it in or drop the row"
            )
    loci_text = df["loci"].str.strip_chars()
    locus_sets = loci_text.unique(maintain_order=True).to_list()
    if len(locus_sets) != 1:
        raise TableSchemaError(
            f"{p} holds haplotypes of several locus sets ({', '.join(map(str, locus_sets))}); "
            "give hlamatch one file per locus set"
        )
    loci = []
    for raw_locus in locus_sets[0].split(":"):
        try:
            locus = canonical_locus(raw_locus, KNOWN_LOCI)
        except UnknownLocusError:
            raise UnknownLocusError(
                f"{p} line {lines[0]}: locus {raw_locus!r} in loci {locus_sets[0]!r} is not a locus hlamatch knows "
                f"(known: {', '.join(KNOWN_LOCI)}); fix the 'loci' column"
            ) from None
        if locus in loci:
            raise TableSchemaError(
                f"{p} line {lines[0]}: loci {locus_sets[0]!r} name locus {locus!r} twice; list each locus once"
            )
        loci.append(locus)
    haps = df["haplotype"].str.strip_chars()
    parts = haps.str.split("~")
    lengths = parts.list.len().to_numpy()
    off = np.flatnonzero(lengths != len(loci))
    if off.size:
        i = int(off[0])
        raise TableSchemaError(
            f"{p} line {lines[i]}: haplotype {haps[i]!r} has {lengths[i]} alleles for loci {locus_sets[0]}"
        )
    columns = {}
    for k, name in enumerate(loci):
        values = parts.list.get(k).str.strip_chars()
        # PyPop writes alleles without the locus prefix: "02:10" under A is A*02:10.
        prefixed = pl.DataFrame({"v": values}).select(
            pl.when(pl.col("v").str.contains("*", literal=True))
            .then(pl.col("v"))
            .otherwise(pl.lit(f"{name}*") + pl.col("v"))
        )
        columns[name] = prefixed.to_series()
    pop_rows = _keep_population(_population_rows(df["popname"], where, "'popname'", lines), population, where)
    return RawTable(
        where, None, columns, {"__long__": df["haplotype.freq"]}, lines, pop_rows, freq_column="haplotype.freq"
    )


def _read_wide(p: Path, population: str | None) -> RawTable:
    name = p.name.lower()
    kind = (
        "Parquet"
        if name.endswith((".parquet", ".pq"))
        else ("Arrow IPC" if name.endswith((".arrow", ".feather", ".ipc")) else None)
    )
    if kind is None:
        df, lines = _csv(_open_text(p), str(p), has_header=True)
        return _raw_from_frame(df, str(p), population, lines, default_name=_population_from_name(p))
    df = _read_arrow_file(p, kind)
    lines = np.arange(df.height, dtype=np.int64) + 2  # row 1 is the header, as in a CSV export
    return _raw_from_frame(df, str(p), population, lines, default_name=_population_from_name(p))


def _read_arrow_file(p: Path, kind: str) -> pl.DataFrame:
    """A Parquet or Arrow IPC (Feather) file as a polars DataFrame, read by pyarrow.

    pyarrow, not polars, parses the file: on a corrupt file the polars readers can panic, or
    abort the whole process on a huge allocation, where pyarrow raises an exception.  The bytes
    are read first, so that an I/O error keeps its own message.
    """
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    data = _read_bytes(p)
    try:
        # Copy into memory Arrow owns: over the Python bytes object itself (zero-copy), pyarrow
        # threads release it after the read returns, which crashed the process when tracemalloc
        # was stopped meanwhile (as the fuzz tests' per-case bounds do).
        sink = pa.BufferOutputStream()
        sink.write(data)
        source = pa.BufferReader(sink.getvalue())
        table = pq.read_table(source) if kind == "Parquet" else feather.read_table(source)
        table.validate(full=True)  # e.g. text that is not UTF-8, which polars would take on trust
        frame = pl.from_arrow(table)
    except (
        pa.ArrowException,
        OSError,
        ValueError,
        MemoryError,
        IndexError,
        pl.exceptions.PolarsError,
        pl.exceptions.PanicException,
    ) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise TableFormatError(f"cannot read {p}: not a valid {kind} file ({reason}); re-export the table") from e
    return frame  # type: ignore[return-value]  # from_arrow gives a DataFrame for a Table
