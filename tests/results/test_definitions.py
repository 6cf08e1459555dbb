"""Every result names its definition by a :class:`~hlamatch.results.definitions.Definition`: the key,
from which the text (JSON, text output) and the short name (CSV, flat tables) come, never a
search of the text."""

from __future__ import annotations

import json

import pytest

import hlamatch
from hlamatch.results.definitions import (
    DEFINITION_NAMES,
    DEFINITIONS,
    WEIGHTED_DEFINITION,
    Definition,
    definition_name,
)
from hlamatch.results.flat import flat_rows

LINE = "A*24:02~B*52:01~DRB1*15:02"


def test_members_are_their_texts():
    for d in Definition:
        assert d == d.text and str(d) == d.text and f"{d}" == d.text and repr(d) == repr(d.text)
        assert json.dumps(d) == json.dumps(d.text)
        assert Definition[d.key] is d and definition_name(d.text) == d.short_name
    assert len({d.short_name for d in Definition}) == len(Definition)
    assert DEFINITIONS == {"haplotype": Definition.HAPLOTYPE, "genotype": Definition.GENOTYPE}
    assert DEFINITION_NAMES == {"haplotype": "hwe-haplotype", "genotype": "hwe-genotype"}
    assert Definition.GENOTYPE_WEIGHTED == DEFINITIONS["genotype"] + WEIGHTED_DEFINITION
    assert definition_name("something else") == "something else"


@pytest.mark.parametrize("level", ["haplotype", "genotype"])
def test_composed_definitions(level):
    plain = Definition.of(level)
    assert plain.short_name == f"hwe-{level}" and plain.level == level
    assert plain.mixed().short_name == f"hwe-{level}-weighted" and plain.mixed().weighted
    gain = Definition.of(level, gain=True)
    assert gain.short_name == f"gain-hwe-{level}" and gain.gain and gain.text.endswith(plain.text)
    assert gain.mixed() is Definition.of(level, gain=True, weighted=True)


def test_results_carry_their_definition():
    report = hlamatch.coverage(None, [LINE], level="both", populations={"JAPI": 1.0})
    for r in report:
        assert isinstance(r.definition, Definition) and r.definition.level == r.level
        assert r.definition.weighted == (r.population == "weighted")
    rows = report.to_dicts()
    assert [row["definition"] for row in flat_rows(rows)] == [r.definition.short_name for r in report]
    # a row read back from JSON (plain text) flattens to the same short name
    back = json.loads(json.dumps(rows))
    assert [row["definition"] for row in flat_rows(back)] == [r.definition.short_name for r in report]
    ranked = hlamatch.rank_candidates(None, [LINE, "A*33:03~B*44:03~DRB1*13:02"], level="genotype")
    assert ranked.definition is Definition.GAIN_GENOTYPE
