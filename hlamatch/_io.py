"""Reading the small tabular files users give (lines, patients): CSV, TSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import polars as pl

from .errors import HlamatchError


def read_frame(
    path: str | Path, what: str, error: type[HlamatchError], headerless: Callable[[str], bool] | None = None
) -> tuple[pl.DataFrame, int]:
    """Read a CSV/TSV (separator from the first line) or Parquet file, every column as text.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for messages ("lines file").
    error : type
        The HlamatchError subclass to raise.
    headerless : callable, optional
        Given the first line, says whether the file has no header row.

    Returns
    -------
    (polars.DataFrame, int)
        The frame and the file line number of its first data row.

    Raises
    ------
    HlamatchError
        ``error`` when the file is missing or unreadable.
    """
    p = Path(path)
    if not p.is_file():
        raise error(f"{what} {str(p)!r} does not exist or is not a file")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pl.read_parquet(p), 1
        first = p.read_text(encoding="utf-8-sig").lstrip().split("\n", 1)[0]
        header = not (headerless and headerless(first))
        df = pl.read_csv(p, separator="\t" if "\t" in first else ",", has_header=header, infer_schema=False)
        return df, 2 if header else 1
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as e:
        raise error(f"cannot read {what} {p}: {str(e).splitlines()[0]}") from e
