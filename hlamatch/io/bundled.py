"""Bundled frequency tables, found in an installed wheel and in a source checkout alike.

The tables live in the repository's top-level ``haplotypes/`` folder; the wheel carries the
same folder as ``hlamatch/_haplotypes`` (hatchling ``force-include``).  An editable install
does not see that mapping, so :func:`tables_root` falls back to the checkout's folder.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hlamatch.errors import HlamatchError, OptionError, TableFormatError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from os import PathLike

    from hlamatch.table.model import HaplotypeTable

__all__ = [
    "available_tables",
    "default_table",
    "table_info",
    "bundled_overview",
    "load_bundled",
    "tables_root",
    "resolve_table",
]


def tables_root() -> Path:
    """Folder holding ``tables.json`` and the bundled tables.

    Raises
    ------
    HlamatchError
        If neither the installed copy nor a checkout's ``haplotypes/`` folder exists.
    """
    here = Path(__file__).resolve().parents[1]  # the package (importlib.resources would cost start-up time)
    installed = here / "_haplotypes"
    if installed.is_dir():
        return installed
    checkout = here.parent / "haplotypes"
    if (checkout / "tables.json").is_file():
        return checkout
    raise HlamatchError("bundled tables not found: reinstall hlamatch (pip install hlamatch)")


@lru_cache(maxsize=1)
def _index() -> dict[str, Any]:
    index: dict[str, Any] = json.loads((tables_root() / "tables.json").read_text(encoding="utf-8"))
    return index


def available_tables() -> list[str]:
    """Names of the bundled tables."""
    return list(_index()["tables"])


def default_table() -> str:
    """Name of the default bundled table (the Japanese one)."""
    return str(_index()["default"])


def table_info(name: str) -> dict[str, Any]:
    """Provenance of a bundled table: source, citation, loci, resolution, listed/unlisted mass.

    Raises
    ------
    OptionError
        If there is no bundled table of that name.
    """
    tables = _index()["tables"]
    if name not in tables:
        raise OptionError(f"no bundled table {name!r} (bundled: {', '.join(tables)})")
    return {"name": name, **tables[name], "path": str(tables_root() / tables[name]["file"])}


def bundled_overview() -> list[dict[str, Any]]:
    """One row per bundled table: name, whether it is the default, population, loci, resolution,
    unlisted mass and description (what ``hlamatch tables`` lists)."""
    rows = []
    for name in available_tables():
        info = table_info(name)
        rows.append(
            {
                "name": name,
                "default": name == default_table(),
                "population": info["population"],
                "loci": info["loci"],
                "resolution": info["resolution"],
                "unlisted_mass": info["unlisted_mass"],
                "description": info["description"],
            }
        )
    return rows


def load_bundled(name: str | None = None, *, strict: bool = False) -> HaplotypeTable:
    """Load a bundled table (default: the Japanese one) as a :class:`~hlamatch.table.model.HaplotypeTable`."""
    from hlamatch.io.load import load_table

    info = table_info(name or default_table())
    table = load_table(info["path"], format="wide", strict=strict)
    return dataclasses.replace(table, source=f"bundled:{info['name']}")


def resolve_table(
    table: HaplotypeTable | str | PathLike[str] | Sequence[HaplotypeTable | str | PathLike[str]] | None = None,
    *,
    format: str = "auto",
    sum_tolerance: float | None = None,
    strict: bool = False,
) -> HaplotypeTable:
    """A table object from a table, a bundled table's name, or a file path (None: the default table).

    A list or tuple of these is combined into one table holding all their populations
    (:func:`~hlamatch.table.model.combine_tables`), e.g. ``["japanese", "korean"]``.

    ``format``, ``sum_tolerance`` and ``strict`` are passed to :func:`~hlamatch.io.load.load_table`.

    Raises
    ------
    OptionError
        ``table`` is neither a table, a bundled name nor an existing file.
    TableFormatError
        The file cannot be read (e.g. permission denied), or any error of
        :func:`~hlamatch.io.load.load_table`.
    """
    from hlamatch.io.files import _os_error_message
    from hlamatch.io.load import load_table
    from hlamatch.table.model import HaplotypeTable, combine_tables

    if isinstance(table, HaplotypeTable):
        return table
    if isinstance(table, (list, tuple)):
        return combine_tables(
            [resolve_table(t, format=format, sum_tolerance=sum_tolerance, strict=strict) for t in table]
        )
    from hlamatch.constants import DEFAULT_SUM_TOLERANCE

    text = default_table() if table is None else str(table)
    if text in available_tables():
        return load_bundled(text, strict=strict)
    try:
        exists = Path(text).exists()
    except OSError as e:  # e.g. a folder on the way that may not be searched
        raise TableFormatError(_os_error_message(text, e)) from e
    except ValueError:  # a NUL character: no such file
        exists = False
    if exists:
        tol = DEFAULT_SUM_TOLERANCE if sum_tolerance is None else sum_tolerance
        return load_table(text, format=format, sum_tolerance=tol, strict=strict)
    raise OptionError(
        f"table {text!r} is neither a bundled table ({', '.join(available_tables())}) nor an existing file"
    )
