"""One way to read a list argument of texts or parsed objects (lines, typings) from a caller."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from hlamatch.errors import HlamatchError

T = TypeVar("T")


def parsed_items(
    value: Any,
    kind: type[T],
    parse: Callable[[str, int], T],
    error: type[HlamatchError],
    what: str,
    example: str,
    also: str,
) -> list[T]:
    """``value`` as a list of ``kind``: strings go through ``parse(text, index)``, ``kind`` objects pass.

    A single string or ``kind`` object is one item.  ``what`` names the argument, ``example`` shows
    one text, ``also`` names the objects accepted besides texts (e.g. ``"hlamatch.Line objects"``).

    Raises
    ------
    error
        ``value`` is None or not iterable, or holds something that is neither a string nor a ``kind``.
    """
    if isinstance(value, (str, kind)):
        value = [value]
    if value is None or not isinstance(value, Iterable):
        got = "None" if value is None else f"{type(value).__name__} {value!r}"
        raise error(f"{what} must be a list of texts like [{example!r}] (or {also}), got {got}")
    out: list[T] = []
    for k, item in enumerate(value):
        if isinstance(item, kind):
            out.append(item)
        elif isinstance(item, str):
            out.append(parse(item, k))
        else:
            raise error(
                f"{what}[{k}] is {type(item).__name__} {item!r}: each item is a text like {example!r}, or one of {also}"
            )
    return out
