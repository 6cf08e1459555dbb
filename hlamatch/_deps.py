"""Optional and heavy imports, loaded on first use (polars).
"""

from __future__ import annotations

from typing import Any


class _LazyPolars:
    """``polars``, imported on first use: a table loaded from the cache (:mod:`hlamatch._cache`)
    needs no polars, and importing it costs a quarter of a second of a command's start-up."""

    def __getattr__(self, name: str) -> Any:
        import polars

        globals()["pl"] = polars
        return getattr(polars, name)


pl: Any = _LazyPolars()
