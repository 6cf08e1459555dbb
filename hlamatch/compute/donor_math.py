"""Donor-supply formulas: P(donor), people to type, registry probabilities, expected distinct lines."""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np

from hlamatch.errors import OptionError

__all__ = ["donor_probability", "people_per_donor", "registry_probability", "expected_distinct"]

# ====================================================================== pure functions


def check_inbreeding(inbreeding: float) -> float:
    try:
        F = float(inbreeding)
    except (TypeError, ValueError):
        raise OptionError(f"the inbreeding coefficient must be a number in [0, 1], got {inbreeding!r}") from None
    if isinstance(inbreeding, bool) or not (0.0 <= F <= 1.0):
        raise OptionError(f"the inbreeding coefficient must be a number in [0, 1], got {inbreeding!r}")
    return F


def check_registry_size(registry_size: int) -> int:
    if isinstance(registry_size, bool) or not isinstance(registry_size, (int, np.integer)) or registry_size < 1:
        raise OptionError(f"registry sizes must be whole numbers ≥ 1, got {registry_size!r}")
    if registry_size > 2**63 - 1:
        raise OptionError(f"registry sizes must be at most {2**63 - 1} (int64), got {registry_size!r}")
    return int(registry_size)


def _as_probabilities(p, what: str) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise OptionError(f"{what} must lie in [0, 1], got {p!r}")
    return arr


def _scalar(arr: np.ndarray):
    """A 0-d result as a NumPy float scalar, any other as the array."""
    return arr[()] if arr.ndim == 0 else arr


def donor_probability(f1, f2=None, inbreeding: float = 0.0):
    """Probability that a random person has a line's genotype, under HWE with inbreeding.

    Parameters
    ----------
    f1 : float or array_like of float
        Frequency of the line's (first) haplotype, in [0, 1]; arrays broadcast.
    f2 : float or array_like of float, optional
        Frequency of the second haplotype of a heterozygous line; None: homozygous line.
    inbreeding : float
        Inbreeding coefficient F in [0, 1] (excess homozygosity); 0 is plain HWE.

    Returns
    -------
    float or numpy.ndarray of float64
        Homozygous: ``(1 − F)·f1² + F·f1``; heterozygous: ``2·(1 − F)·f1·f2``.  Shape of the
        broadcast inputs (a NumPy scalar for scalar inputs).

    Raises
    ------
    OptionError
        F outside [0, 1], or a frequency outside [0, 1].

    Examples
    --------
    >>> float(donor_probability(0.5)), float(donor_probability(0.5, 0.25)), float(donor_probability(0.5, inbreeding=1))
    (0.25, 0.25, 0.5)
    """
    F = check_inbreeding(inbreeding)
    a = _as_probabilities(f1, "haplotype frequencies")
    if f2 is None:
        return _scalar((1.0 - F) * a * a + F * a)
    b = _as_probabilities(f2, "haplotype frequencies")
    return _scalar(2.0 * (1.0 - F) * a * b)


def people_per_donor(p: Any) -> Any:
    """Expected people to type per donor found: ``1 / p`` (``inf`` where p = 0).

    Parameters
    ----------
    p : float or array_like of float
        Probability that one person is a suitable donor, in [0, 1].

    Returns
    -------
    float or numpy.ndarray of float64
        Same shape as ``p``.

    Raises
    ------
    OptionError
        A probability outside [0, 1].
    """
    arr = _as_probabilities(p, "donor probabilities")
    with np.errstate(divide="ignore", over="ignore"):  # p = 0 (or subnormal): infinitely many
        return _scalar(1.0 / arr)


def registry_probability(p, registry_size: int):
    """Probability that a registry of R typed people holds at least one donor: ``1 − (1 − p)^R``.

    Computed as ``−expm1(R·log1p(−p))``, accurate for tiny p and large R.

    Parameters
    ----------
    p : float or array_like of float
        Per-person donor probability, in [0, 1].
    registry_size : int
        R ≥ 1.

    Returns
    -------
    float or numpy.ndarray of float64
        Same shape as ``p``.

    Raises
    ------
    OptionError
        R not a whole number ≥ 1, or a probability outside [0, 1].

    Examples
    --------
    >>> round(float(registry_probability(0.25, 2)), 12)
    0.4375
    """
    R = check_registry_size(registry_size)
    arr = _as_probabilities(p, "donor probabilities")
    return _scalar(-np.expm1(R * _log1m(arr)))


def expected_distinct(p_all, registry_size: int) -> float:
    """Expected number of distinct homozygous haplotypes in a registry of R: ``Σ_h [1 − (1 − p_h)^R]``.

    Parameters
    ----------
    p_all : array_like of float
        Shape (n_haplotypes,): the homozygosity probability p_h of every listed haplotype
        (:func:`donor_probability`).  Haplotypes left out count nothing, so over a table's listed
        haplotypes the result is a lower bound.
    registry_size : int
        R ≥ 1.

    Returns
    -------
    float
        Summed exactly (``math.fsum``).

    Raises
    ------
    OptionError
        R not a whole number ≥ 1, or a probability outside [0, 1].
    """
    terms = np.atleast_1d(registry_probability(p_all, registry_size))
    return math.fsum(terms.tolist())


@overload
def _log1m(x: np.ndarray) -> np.ndarray: ...
@overload
def _log1m(x: np.floating[Any]) -> np.floating[Any]: ...
def _log1m(x: np.ndarray | np.floating[Any]) -> np.ndarray | np.floating[Any]:
    """``log(1 − x)`` for x in [0, 1] (values above 1 read as 1: ``-inf``), without warnings."""
    with np.errstate(divide="ignore"):
        return np.log1p(-np.minimum(x, 1.0))
