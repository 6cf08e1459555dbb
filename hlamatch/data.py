"""Bundled frequency tables, found in an installed wheel and in a source checkout alike.

The tables live in the repository's top-level ``haplotypes/`` folder; the wheel carries the
same folder as ``hlamatch/_haplotypes`` (hatchling ``force-include``).  An editable install
does not see that mapping, so :func:`tables_root` falls back to the checkout's folder.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import HlamatchError, OptionError

__all__ = ["available_tables", "default_table", "table_info", "load_bundled", "tables_root"]


def tables_root() -> Path:
    """Folder holding ``tables.json`` and the bundled tables.

    Raises
    ------
    HlamatchError
        If neither the installed copy nor a checkout's ``haplotypes/`` folder exists.
    """
    installed = resources.files("hlamatch") / "_haplotypes"
    if installed.is_dir():
        return Path(str(installed))
    checkout = Path(__file__).resolve().parent.parent / "haplotypes"
    if (checkout / "tables.json").is_file():
        return checkout
    raise HlamatchError("bundled tables not found: reinstall hlamatch (pip install hlamatch)")


@lru_cache(maxsize=1)
def _index() -> dict[str, Any]:
    return json.loads((tables_root() / "tables.json").read_text(encoding="utf-8"))


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


def load_bundled(name: str | None = None):
    """Load a bundled table (default: the Japanese one) as a :class:`~hlamatch.tables.HaplotypeTable`."""
    from .tables import load_table

    info = table_info(name or default_table())
    table = load_table(info["path"], format="wide")
    return dataclasses.replace(table, source=f"bundled:{info['name']}")
