"""The settings of hlamatch, in one place: one frozen :class:`Settings` object, read with :func:`current`.

Two layers, so that settings are safe in threads:

* **process-wide defaults**, changed under a lock by the public setters (:func:`hlamatch.use_nomenclature`,
  :func:`hlamatch.use_mac_file`, :func:`hlamatch.engine.setting.set_engine`, the CLI's compile notice)
  through :func:`set_defaults`.  Every thread sees them, threads started later too.
* **context-local overrides** for a block: :func:`using` (and the context managers built on it,
  :class:`hlamatch.use_engine` and :func:`hlamatch.compute.dispatch.kernels_only`), kept in a
  :class:`contextvars.ContextVar`.  A ``with`` block in one thread (or asyncio task) is never seen
  by another one; inside the block its values win over the defaults, and a default changed meanwhile
  shows through every field the block does not override.  (A new thread starts without the blocks
  of the thread that made it: Python gives it a fresh context.)

A few fields are process state rather than settings (a warning or notice given once per process):
they are changed process-wide only (:func:`claim`, :func:`set_defaults`), never by a block.

Imports nothing of hlamatch (the types are named for type checkers only), so every layer may read it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hlamatch.engine.setting import EngineSetting
    from hlamatch.hla.nomenclature import MacCodes, Nomenclature

__all__ = ["Settings", "PROCESS_STATE", "current", "defaults", "set_defaults", "restore_defaults", "claim", "using"]


@dataclass(frozen=True)
class Settings:
    """Every setting of the library (defaults as shown).

    Attributes
    ----------
    engine : EngineSetting or None
        Where pair ranges run (:func:`hlamatch.engine.setting.set_engine`); None: this process, the
        default :class:`~hlamatch.engine.setting.EngineSetting`.
    nomenclature : Nomenclature or None
        The WMDA nomenclature set by :func:`hlamatch.use_nomenclature` (None: the folder named by
        ``HLAMATCH_NOMENCLATURE``, or none).
    mac : MacCodes or None
        The NMDP multiple-allele codes set by :func:`hlamatch.use_mac_file`.
    small_pairs : int
        Largest number of patient pairs (after merging) computed by the NumPy twins instead of the
        numba kernels (see :mod:`hlamatch.compute.dispatch`); -1: none.
    small_rule_work : int
        Largest rule problem (class pairs × lines × phase assignments) computed by the NumPy twins.
    hash_grouping_rows : int
        Tables of at least this many rows may be merged by the numba hash pass.
    memory_budget : int or None
        Bytes a request may plan to allocate (:mod:`hlamatch.compute.budget`: estimated from its
        shape before any large allocation or long loop, refused past it); None: the
        ``HLAMATCH_MEMORY_BUDGET`` environment variable, else half the physical memory.
    time_budget : float or None
        Seconds a sampled computation (Monte Carlo) may be projected to take, from its first draws,
        before it is refused (:func:`hlamatch.compute.budget.check_seconds`); None: the
        ``HLAMATCH_TIME_BUDGET`` environment variable, else one hour.
    on_compile : callable or None
        Told once per process, with one line, that kernels are about to compile (:func:`hlamatch._hooks.on_compile`).
    compile_announced : bool
        Process state: the compile notice was given.
    kernel_cache_failed : bool
        Process state: caching compiled kernels failed once (and is off for the rest of the process).
    nomenclature_from_env : (str, Nomenclature) or None
        Process state: the folder ``HLAMATCH_NOMENCLATURE`` named when last read, opened.
    """

    engine: EngineSetting | None = None
    nomenclature: Nomenclature | None = None
    mac: MacCodes | None = None
    small_pairs: int = 200_000
    small_rule_work: int = 20_000_000
    hash_grouping_rows: int = 4096
    memory_budget: int | None = None
    time_budget: float | None = None
    on_compile: Callable[[str], None] | None = None
    compile_announced: bool = False
    kernel_cache_failed: bool = False
    nomenclature_from_env: tuple[str, Nomenclature] | None = None


#: Fields that are process state: changed process-wide only, never by :func:`using`.
PROCESS_STATE = frozenset({"compile_announced", "kernel_cache_failed", "nomenclature_from_env"})
_FIELDS = frozenset(f.name for f in fields(Settings))

_lock = threading.Lock()
_defaults = Settings()


class _Layer:
    """The overrides of a context: the changed fields, and the merged settings last computed from them."""

    __slots__ = ("changes", "memo")

    def __init__(self, changes: Mapping[str, Any]):
        self.changes = dict(changes)
        self.memo: tuple[Settings, Settings] | None = None  # (defaults, defaults with the changes)


_overrides: ContextVar[_Layer | None] = ContextVar("hlamatch_settings", default=None)


def _checked(changes: Mapping[str, Any], in_context: bool) -> Mapping[str, Any]:
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise TypeError(f"unknown hlamatch setting(s): {', '.join(unknown)} (settings: {', '.join(sorted(_FIELDS))})")
    state = sorted(set(changes) & PROCESS_STATE) if in_context else []
    if state:
        raise TypeError(f"{', '.join(state)}: process state, changed process-wide only (set_defaults), not in a block")
    return changes


def current() -> Settings:
    """The settings in force here: the process-wide defaults, with this context's overrides on top."""
    base = _defaults
    layer = _overrides.get()
    if layer is None:
        return base
    memo = layer.memo  # one read: another thread may replace it meanwhile (with an equal value)
    if memo is None or memo[0] is not base:
        memo = layer.memo = (base, replace(base, **layer.changes))
    return memo[1]


def defaults() -> Settings:
    """The process-wide defaults (without this context's overrides)."""
    return _defaults


def set_defaults(**changes: Any) -> Settings:
    """Change process-wide defaults, under a lock; every thread sees them (except for the fields a
    ``with using(...)`` block it is in overrides).  Returns the previous defaults.

    Raises
    ------
    TypeError
        A name that is not a field of :class:`Settings`.
    """
    global _defaults
    _checked(changes, in_context=False)
    with _lock:
        previous = _defaults
        _defaults = replace(previous, **changes)
    return previous


def restore_defaults(saved: Settings) -> None:
    """Put back defaults returned by :func:`set_defaults` or :func:`defaults`, every field (for tests)."""
    global _defaults
    with _lock:
        _defaults = saved


def claim(flag: str) -> bool:
    """Set the process-state flag ``flag`` (a boolean field of :data:`PROCESS_STATE`); True for the
    one call that changed it from False, so that something happens once per process, whatever the threads."""
    global _defaults
    if flag not in PROCESS_STATE or not isinstance(getattr(_defaults, flag), bool):
        raise TypeError(f"{flag} is not a process-state flag")
    change: dict[str, Any] = {flag: True}
    with _lock:
        if getattr(_defaults, flag):
            return False
        _defaults = replace(_defaults, **change)
    return True


class using:
    """Context manager: ``with using(small_pairs=-1): ...`` runs the block with these settings, in this
    thread (or asyncio task) only, then restores the ones before.

    Blocks nest (the inner one wins); one instance may be entered again, and in several threads at
    once.  The names are checked when the manager is made.  ``__enter__`` returns the manager.

    >>> from hlamatch._settings import current, using
    >>> with using(small_pairs=10):
    ...     current().small_pairs
    10
    """

    def __init__(self, **changes: Any):
        self.changes = dict(_checked(changes, in_context=True))
        self._tokens = threading.local()

    def __enter__(self) -> using:
        outer = _overrides.get()
        layer = _Layer({**outer.changes, **self.changes} if outer is not None else self.changes)
        token: Token[_Layer | None] = _overrides.set(layer)
        self._tokens.__dict__.setdefault("stack", []).append(token)
        return self

    def __exit__(self, *exc: object) -> None:
        _overrides.reset(self._tokens.stack.pop())
