"""Contradictory and empty locus rules are refused, never read as another rule."""

from __future__ import annotations

import pytest

from hlamatch.errors import OptionError
from hlamatch.hla.rules import MatchRules


@pytest.mark.parametrize("require, allow", [(["A"], ["A"]), (["drb1"], ["B", "DRB1"]), ("A,B", "B")])
def test_a_locus_required_and_allowed_is_refused(require, allow):
    # Before: -k 1 --require-match A --allow-mismatch A printed "≤ 1 mismatch" and computed -k 0.
    with pytest.raises(OptionError, match="contradictory rules: locus .* both in require_match .* allow_mismatch"):
        MatchRules(max_mismatches=1, require_match=require, allow_mismatch=allow)


@pytest.mark.parametrize(
    "kw", [{"require_match": ","}, {"allow_mismatch": ""}, {"allow_mismatch": [" "]}, {"require_match": ["", ""]}]
)
def test_lists_naming_no_locus_are_refused(kw):
    with pytest.raises(OptionError, match="names no locus"):
        MatchRules(max_mismatches=1, **kw)


def test_explicit_empty_allow_list_still_means_no_locus():
    assert list(MatchRules(allow_mismatch=[]).locus_limits(["A", "B"])) == [0, 0]
    assert MatchRules(max_mismatches=1, require_match=["A"], allow_mismatch=["B"]).locus_limits(["A", "B"])[0] == 0


def test_a_rule_no_locus_may_mismatch_under_says_it_is_the_zero_rule():
    # -k 1 with every locus of the computation required computes the -k 0 result: the rule's text says so
    # (in every output that prints it) instead of "≤ 1".
    loci = ["A", "B", "DRB1"]
    for rules in (MatchRules(max_mismatches=1, require_match=loci), MatchRules(max_mismatches=2, allow_mismatch=[])):
        text = rules.describe(loci)
        assert text.startswith("HvG mismatches = 0 (≤ "), text
        assert "may mismatch" in text
    # One locus left free: the rule is what it says.
    assert MatchRules(max_mismatches=1, require_match=["A", "B"]).describe(loci).startswith("HvG mismatches ≤ 1;")
