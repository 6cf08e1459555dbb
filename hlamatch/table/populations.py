"""The populations of a table: names, comma lists and weighted mixes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from hlamatch.errors import OptionError
from hlamatch.table.model import HaplotypeTable

__all__ = ["resolve_populations", "Populations"]

#: Populations as the API takes them: names, or names with weights for a weighted mix.
Populations = Sequence[str] | Mapping[str, float] | str | None


def resolve_populations(
    table: HaplotypeTable, populations: Populations
) -> tuple[tuple[str, ...], tuple[float, ...] | None]:
    """Population names of ``table`` and, for a weighted mix, their weights (normalised to sum 1).

    Parameters
    ----------
    table : HaplotypeTable
    populations : None, str, sequence of str, or mapping of str to float
        None: every population of the table.  A string may be a comma list (``"EUR,AFA"``).  A
        mapping gives weights (``{"JAPI": 0.8, "KORI": 0.2}``); weights must be positive and
        finite, and are normalised to sum to 1 (the results show the weights used).

    Raises
    ------
    OptionError
        Unknown or repeated population, or a weight that is not a positive number.
    """
    if populations is None:
        return table.populations, None
    if isinstance(populations, str):
        populations = [populations]
    items: list[tuple[str, float | None]]
    if isinstance(populations, Mapping):
        items = list(populations.items())
    else:
        items = [(p, None) for raw in populations for p in str(raw).split(",") if p.strip()]
    if not items:
        raise OptionError(f"no population given: choose among {', '.join(table.populations)}")
    names: list[str] = []
    weights: list[float] = []
    for raw, w in items:
        name = table.populations[table.population_index(str(raw))]
        if name in names:
            raise OptionError(f"population {name!r} is given twice")
        names.append(name)
        if w is not None:
            try:
                wf = float(w)
            except (TypeError, ValueError):
                raise OptionError(f"weight {w!r} of population {name!r} is not a number") from None
            if not math.isfinite(wf) or wf <= 0:
                raise OptionError(f"weight {w!r} of population {name!r} must be a positive number")
            weights.append(wf)
    if not weights:
        return tuple(names), None
    # Scaled by the largest first, so that weights near the float limit (1e308) cannot overflow the sum.
    top = max(weights)
    scaled = [w / top for w in weights]
    total = math.fsum(scaled)
    return tuple(names), tuple(w / total for w in scaled)
