"""Reading the small tabular files users give (lines, patients, weights): CSV, TSV or Parquet; and
the one separator rule of every CSV/TSV file a user gives (these and frequency tables).

Text files are read here row by row with Python's :mod:`csv` module, not by a bulk parser, so
that one bad row is an error for that row only and the rest of the file is still read.  The
separator is detected from the first line (:func:`detect_separator`, which the frequency-table
readers of :mod:`hlamatch.io.formats` use too): tab, comma or semicolon (the semicolon-separated
CSV that spreadsheets write in many locales), whichever splits it into the most fields.

* a row with more (non-empty) fields than the header has columns, a quote that does not close on
  its row, or a byte that is not UTF-8 gives a :class:`Row` with ``problem`` set, naming what is
  wrong; the caller reports it with the file and row (patients: one error per row, the batch goes
  on; lines and weights: the first bad row stops the read);
* a row with fewer fields is padded with empty cells (spreadsheets drop trailing empty cells);
* blank rows (only whitespace, or only empty fields) are not data and are skipped, wherever they
  are; row numbers are the file's line numbers, so messages point at the line to fix;
* a quoted field cannot span lines: allele names, haplotypes and weights never hold a newline;
* the header's column names must be distinct (a repeated name would hide one column's values).

Problems concerning the whole file (missing, a folder, empty, UTF-16, binary, unreadable header,
repeated column names, a Parquet file that is not Parquet) raise the caller's error class.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hlamatch.errors import HlamatchError
from hlamatch.io.files import without_bom

__all__ = ["Row", "TextTable", "read_rows", "detect_separator", "SEPARATORS"]

_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Row:
    """One data row of a file.

    Attributes
    ----------
    number : int
        The row's line number in a text file (the header is line 1); in a Parquet file, the data
        row's number counted from 1.
    cells : tuple of (str or None)
        One stripped value per column (None for an empty cell).  For an unreadable row, a best
        guess (to name it, e.g. by its id column; never use it as data).
    problem : str or None
        Why the row cannot be read; None for a good row.
    """

    number: int
    cells: tuple[str | None, ...]
    problem: str | None = None


@dataclass(frozen=True)
class TextTable:
    """The columns and data rows of a file (see :func:`read_rows`)."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    def index(self, names: Sequence[str]) -> int | None:
        """Position of the first column whose name (case-insensitive, stripped) is in ``names``."""
        wanted = [n.lower() for n in names]
        low = [c.lower().strip() for c in self.columns]
        for n in wanted:
            if n in low:
                return low.index(n)
        return None


#: Field separators a text file may use, in the order that breaks a tie.
SEPARATORS = ("\t", ",", ";")


def detect_separator(text: str) -> str:
    """The separator of a CSV/TSV file whose first (non-blank) line is ``text``: of tab, comma and
    semicolon (spreadsheet exports in many locales), the one that splits it into the most fields,
    quotes respected (ties: that order); a comma when none splits it.  The one rule of every
    user file: lines, patients, weights and frequency tables.

    >>> detect_separator("Haplo;Count;Freq"), detect_separator('"A,B";C'), detect_separator("haplotype")
    (';', ';', ',')
    """
    best, most = ",", 1
    for sep in SEPARATORS:
        if sep in text:
            fields, _ = _split(text, sep)
            if fields is not None and len(fields) > most:
                best, most = sep, len(fields)
    return best


_separator = detect_separator  # the name tests and older code use


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return None, (
            f"byte 0x{raw[e.start]:02x} (byte {e.start + 1} of the row) is not UTF-8 text; save the file as UTF-8"
        )


def _split(text: str, sep: str) -> tuple[list[str] | None, str | None]:
    if '"' not in text:  # what csv would do, without its cost
        return text.split(sep), None
    try:
        return next(csv.reader([text], delimiter=sep, strict=True)), None
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            return None, "a quote opens a field that does not close on this row; close the quote or remove it"
        return None, f'malformed quoting ({e}); quote whole fields only, e.g. "A*24:02"'
    except StopIteration:  # pragma: no cover - csv yields one record for any line
        return [], None


def _cells(fields: Sequence[str | None], n: int) -> tuple[tuple[str | None, ...], str | None]:
    """The row's ``n`` cells (stripped, empty → None), and the problem when it has more fields."""
    values = [(f or "").strip() or None for f in fields]
    problem = None
    if len(values) > n and any(v is not None for v in values[n:]):
        problem = (
            f"the row has {len(values)} fields but the header has {n} column{'s' if n != 1 else ''}; "
            "remove the extra field(s), or quote a value that holds the separator"
        )
    return tuple(values[:n] + [None] * (n - len(values))), problem


def _guess(text: str, sep: str, n: int) -> tuple[str | None, ...]:
    """Cells of an unreadable row, split leniently: only to name the row (e.g. by its id)."""
    try:
        fields = next(csv.reader([text], delimiter=sep))
    except (csv.Error, StopIteration):
        fields = text.split(sep)
    cells = _cells(fields, n)[0]
    return tuple(None if c is None or sep in c or '"' in c else c for c in cells)


def _check_header(p: Path, what: str, error: type[HlamatchError], columns: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        key = c.strip().lower()
        if not key:
            continue
        if key in seen:
            raise error(
                f"{what} {p}: column {c.strip()!r} appears twice in the header (columns {seen[key] + 1} and "
                f"{i + 1}); every column needs its own name"
            )
        seen[key] = i


def read_rows(
    path: str | Path,
    what: str,
    error: type[HlamatchError],
    headerless: Callable[[str], Sequence[str] | None] | None = None,
) -> TextTable:
    """Read a CSV/TSV or Parquet file as text.

    The separator of a text file is detected from its first line (the header, or the first row of
    a headerless file): tab, comma or semicolon, whichever splits it into the most fields.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for messages ("lines file").
    error : type
        The HlamatchError subclass to raise for problems of the whole file.
    headerless : callable, optional
        Given the first non-blank line, returns the column names to use when that line is data
        (the file has no header), or None when it is the header.

    Returns
    -------
    TextTable
        Columns and data rows; unreadable rows have ``problem`` set (see the module docstring).

    Raises
    ------
    HlamatchError
        ``error`` when the file is missing, a folder, empty, not UTF-8/CSV/Parquet, its header is
        unreadable, or a column name appears twice.
    """
    p = Path(path)
    if p.is_dir():
        raise error(f"{what} {p} is a folder; give a CSV/TSV or Parquet file")
    if not p.is_file():
        raise error(f"{what} {str(p)!r} does not exist or is not a file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise error(f"cannot read {what} {p}: {e.strerror or e}") from e
    if data.startswith(_PARQUET_MAGIC) or p.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(p, what, error)
    if data.startswith(_ZIP_MAGIC):
        raise error(f"{what} {p} is a ZIP archive or a spreadsheet workbook, not text; save it as CSV (UTF-8)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error(f"{what} {p} is UTF-16 text; save it as UTF-8 (e.g. 'CSV UTF-8' in a spreadsheet)")
    if b"\x00" in data[:65536]:
        raise error(f"{what} {p} is not a text file (it holds NUL bytes); give a CSV/TSV text file or a Parquet file")
    data = without_bom(data)
    raw_lines = data.splitlines()  # \n, \r\n and a lone \r all end a line
    columns: tuple[str, ...] | None = None
    sep = ","
    rows: list[Row] = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        text, problem = _decode(raw)
        if columns is None:
            if problem:
                raise error(f"{what} {p} line {number}: cannot read the header: {problem}")
            assert text is not None
            names = headerless(text.strip()) if headerless is not None else None
            sep = detect_separator(text)
            if names is None:
                fields, problem = _split(text, sep)
                if problem:
                    raise error(f"{what} {p} line {number}: cannot read the header: {problem}")
                assert fields is not None
                if not any(f.strip() for f in fields):
                    continue  # only separators: a blank row
                columns = tuple(f.strip() for f in fields)
                _check_header(p, what, error, columns)
                continue
            columns = tuple(names)
        if problem is None:
            assert text is not None
            fields, problem = _split(text, sep)
            if problem is None:
                assert fields is not None
                cells, problem = _cells(fields, len(columns))
                if problem is None and all(c is None for c in cells):
                    continue  # only empty fields: a blank row
                rows.append(Row(number, cells, problem))
                continue
        rows.append(Row(number, _guess(text or raw.decode("utf-8", "replace"), sep, len(columns)), problem))
    if columns is None:
        raise error(f"{what} {p} is empty: expected a header row and one row per entry")
    return TextTable(p, columns, tuple(rows))


def _parquet_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _read_parquet(p: Path, what: str, error: type[HlamatchError]) -> TextTable:
    # pyarrow, not polars: on a corrupt file (e.g. a page claiming a huge size) polars' reader can
    # panic or abort the process, while pyarrow raises an exception that becomes one error line.
    # One thread, no pre-buffering: these files are small, and no thread pool is started (threads
    # cost address space, and can fail to start in a process whose address space is capped).
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(p, pre_buffer=False).read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError, MemoryError, IndexError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise error(
            f"cannot read {what} {p} as Parquet ({first}); give a Parquet file, or a CSV/TSV file with a .csv/.tsv name"
        ) from e
    nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
    if nested:
        raise error(
            f"{what} {p}: column(s) {', '.join(nested)} hold lists or structs; every column must hold text or numbers"
        )
    columns = tuple(str(name) for name in table.column_names)
    _check_header(p, what, error, columns)
    try:
        values = [[_parquet_text(v) for v in col.to_pylist()] for col in table.columns]
    except (pa.ArrowException, UnicodeDecodeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise error(
            f"cannot read {what} {p} as Parquet: its data is damaged ({first}); give a valid "
            "Parquet file, or a CSV/TSV file"
        ) from e
    rows = []
    for k, row in enumerate(zip(*values), start=1):
        cells, _ = _cells(row, len(columns))
        if any(c is not None for c in cells):
            rows.append(Row(k, cells))
    return TextTable(p, columns, tuple(rows))
