"""Renamed keyword parameters of the public API: the old spelling keeps working for one minor version.

:func:`renamed` wraps a function so that an old keyword is passed on under its new name with a
:class:`DeprecationWarning` naming both and the version that removes the old one; giving both is
an :class:`~hlamatch.errors.OptionError`.  The wrapped function keeps its signature (new names only)
and its docstring.  This module imports nothing from hlamatch but the errors.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from hlamatch.errors import OptionError

__all__ = ["renamed", "renamed_keywords"]

P = ParamSpec("P")
R = TypeVar("R")


def renamed_keywords(
    function: str, kwargs: dict[str, Any], names: dict[str, str], since: str, removal: str, stacklevel: int = 3
) -> None:
    """Move each old keyword of ``kwargs`` (``names``: old → new) to its new name, in place, with a warning.

    Raises
    ------
    OptionError
        An old keyword given together with its new one.
    """
    for old, new in names.items():
        if old not in kwargs:
            continue
        if new in kwargs:
            raise OptionError(
                f"{function}() got both {new}= and {old}= (the old name of {new}, deprecated since {since}): give {new}"
            )
        warnings.warn(
            f"{function}(): {old}= is deprecated since {since}, use {new}= (removal in {removal})",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        kwargs[new] = kwargs.pop(old)


def renamed(*, since: str, removal: str, **names: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A decorator accepting each old keyword of ``names`` (``old="new"``) as its new one, with a
    :class:`DeprecationWarning` until version ``removal``.

    >>> @renamed(top="n_candidates", since="0.2.0", removal="0.3.0")
    ... def f(*, n_candidates: int = 1) -> int:
    ...     return n_candidates
    >>> f(n_candidates=3)
    3
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if names.keys() & kwargs.keys():
                renamed_keywords(fn.__name__, kwargs, names, since, removal)
            return fn(*args, **kwargs)

        wrapper.__renamed__ = dict(names)  # type: ignore[attr-defined]
        return wrapper

    return decorate
