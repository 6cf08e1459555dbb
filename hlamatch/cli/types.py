"""Numeric option types of the ``hlamatch`` commands: checked at the boundary, written once.

:class:`Int` and :class:`Float` replace click's ``int``, ``float``, ``IntRange`` and ``FloatRange``
in every command, with the same help text and messages.  They take ASCII text only (click's own
types, through :class:`int` and :class:`float`, accept non-ASCII digits such as ``٣`` or full-width
``３``) and refuse what does not fit (an integer beyond int64, a float that is not finite), so a
number is refused with one usage line (exit status 2) before it reaches the library.
"""

from __future__ import annotations

import math
import re
from typing import Any

import click

__all__ = ["INT64_MAX", "Float", "Int", "ascii_count"]

#: The largest integer an option takes (the kernels count in int64).
INT64_MAX = 2**63 - 1

_INT = re.compile(r"[+-]?[0-9]+(_[0-9]+)*")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:_[0-9]+)*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Longest text a number option reads (a longer one is no number anyone means).
_MAX_CHARS = 40


def ascii_count(text: str, lo: int = 1, hi: int = INT64_MAX) -> int | None:
    """``text`` as a whole number in ``[lo, hi]`` written in ASCII digits (``_`` separators allowed),
    or None when it is not one.

    >>> [ascii_count(t) for t in ("15000", "15_000", "²", "0", "9" * 30)]
    [15000, 15000, None, None, None]
    """
    if not isinstance(text, str) or len(text) > _MAX_CHARS or not _INT.fullmatch(text) or text[0] in "+-":
        return None
    n = int(text.replace("_", ""))
    return n if lo <= n <= hi else None


class Int(click.IntRange):
    """click's ``IntRange`` (same help text and messages) that reads ASCII digits only and refuses
    what does not fit int64."""

    def __init__(
        self, min: int | None = None, max: int | None = None, min_open: bool = False, max_open: bool = False
    ) -> None:
        super().__init__(min=min, max=max, min_open=min_open, max_open=max_open)

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if not (isinstance(value, int) and not isinstance(value, bool)):
            text = str(value).strip()
            if len(text) > _MAX_CHARS or not _INT.fullmatch(text):
                self.fail(f"{_shown(value)} is not a valid {self.name}", param, ctx)
        n = super().convert(value, param, ctx)
        if not -INT64_MAX - 1 <= n <= INT64_MAX:
            self.fail(
                f"{n} is not in the range " + (f"x<={INT64_MAX}" if n > 0 else f"x>={-INT64_MAX - 1}"), param, ctx
            )
        return n


class Float(click.FloatRange):
    """click's ``FloatRange`` (same help text and messages) that reads ASCII only and refuses what
    is not finite (``nan``, ``inf``, ``1e309``)."""

    def __init__(
        self, min: float | None = None, max: float | None = None, min_open: bool = False, max_open: bool = False
    ) -> None:
        super().__init__(min=min, max=max, min_open=min_open, max_open=max_open)

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            text = str(value).strip()
            if len(text) > _MAX_CHARS or not _FLOAT.fullmatch(text):
                self.fail(f"{_shown(value)} is not a valid {self.name}", param, ctx)
        x = super().convert(value, param, ctx)
        if not math.isfinite(x):
            self.fail(f"{_shown(value)} is not a finite number", param, ctx)
        return x


def _shown(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS] + "…")
