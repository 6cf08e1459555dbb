"""Match rules: mismatch counts (HvG, GvH, bidirectional), homozygous count, per-locus limits.

Expected values come from three independent places:

* the published single-locus consensus tables (``../shared/peer-oracles``: 2010 counts a missing
  homozygous allele once, 2016 twice), read with the csv module;
* the brute-force references of ``tests/naive.py`` (written from the definitions, no hlamatch
  code), checked against those tables first;
* hand computations (in comments) and the published JAPI anchors of matching-model.md.
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings

import conftest
import polars as pl
import pytest
from conftest import both_paths, hlamatchit
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from naive import (
    _phased_missing,
    naive_genotype_count,
    naive_is_null,
    naive_locus_count,
    naive_phased_count,
    naive_rule_coverage,
    naive_rule_histograms,
)

import hlamatch
from hlamatch.api.match import match_patients
from hlamatch.errors import HlamatchWarning, LineError, OptionError, UnknownLocusError
from hlamatch.hla.rules import MatchRules
from hlamatch.io.frame import table_from_frame
from hlamatch.kernels.rules import _absent_count, _phased_count

ATOL = 1e-12
DIRECTIONS = ("HvG", "GvH", "bidirectional")
LEVELS = ("haplotype", "genotype")
HYPOTHESIS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# ====================================================================== peer oracles


def peer_oracle(name: str):
    """Path of a file under ``../shared/peer-oracles``; skips the calling test when it is absent."""
    p = conftest.SHARED / "peer-oracles" / name
    if not p.exists():
        pytest.skip(
            f"peer oracle {name} not found in {p.parent} (consensus mismatch tables exported from the "
            "immunogenetr R package; CI provides them next to the repository, set HLAMATCH_SHARED "
            "to point elsewhere)"
        )
    return p


def read_oracle(name: str) -> list[dict]:
    """Rows of a consensus table: patient, donor (letters), and the GvH/HvG/Max counts as ints."""
    with open(peer_oracle(name), newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        low = {k.lower(): v for k, v in r.items()}
        out.append(
            {
                "patient": low["patient"],
                "donor": low["donor"],
                "GvH": int(low["#gvh"]),
                "HvG": int(low["#hvg"]),
                "Max": int(low["#max"]),
                "Total": int(low["#total"]) if "#total" in low else None,
            }
        )
    assert len(out) >= 20, f"{name}: only {len(out)} rows"
    return out


ORACLES = {"mismatch_table_2010.csv": 1, "mismatch_table_2016.csv": 2}

# Letters of the consensus tables: A, B, C, D distinct expressed alleles; N a null allele.
EXPRESSED = {"A": "A*01:01", "B": "A*02:01", "C": "A*03:01", "D": "A*11:01"}
# Nulls: the same null allele in both positions, or a different one in the second position
# (the tables say "a null allele"; neither choice may change a count).
NULLS = {"same": ("A*01:11N", "A*01:11N"), "distinct": ("A*01:11N", "A*24:09N")}


def letters_to_alleles(pair: str, nulls: tuple[str, str]) -> tuple[str, str]:
    return tuple(nulls[i] if ch == "N" else EXPRESSED[ch] for i, ch in enumerate(pair))


def test_oracle_tables_are_what_the_readme_says():
    # 2010: AA vs BB is 1/1; 2016: 2/2 (the README's own example), and every table row is a
    # distinct (patient, donor) pair.
    for name, hom in ORACLES.items():
        rows = read_oracle(name)
        aa_bb = [r for r in rows if (r["patient"], r["donor"]) == ("AA", "BB")]
        assert len(aa_bb) == 1 and (aa_bb[0]["GvH"], aa_bb[0]["HvG"]) == (hom, hom)
        assert len({(r["patient"], r["donor"]) for r in rows}) == len(rows)
        for r in rows:
            assert r["Max"] == max(r["GvH"], r["HvG"])
            if r["Total"] is not None:
                assert r["Total"] == r["GvH"] + r["HvG"]


@pytest.mark.parametrize("nulls", sorted(NULLS))
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_naive_locus_count_reproduces_consensus_tables(name, nulls):
    """The brute force (used below as the reference) agrees with the published tables."""
    hom = ORACLES[name]
    bad = []
    for r in read_oracle(name):
        p = letters_to_alleles(r["patient"], NULLS[nulls])
        d = letters_to_alleles(r["donor"], NULLS[nulls])
        got = tuple(naive_locus_count(d, p, x, hom) for x in DIRECTIONS)
        if got != (r["HvG"], r["GvH"], r["Max"]):
            bad.append((r, got))
    assert not bad, bad


@pytest.mark.parametrize("nulls", sorted(NULLS))
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_match_patients_reproduces_consensus_tables(name, nulls):
    """Per-locus HvG, GvH and bidirectional counts of ``match_patients`` on single-locus typings."""
    hom = ORACLES[name]
    bad = []
    refused = 0
    for r in read_oracle(name):
        p = letters_to_alleles(r["patient"], NULLS[nulls])
        d = letters_to_alleles(r["donor"], NULLS[nulls])
        typing = f"{p[0]}+{p[1]}"
        line = f"{d[0]}/{d[1]}"
        if "N" in r["donor"]:
            # A donor LINE is typed at the alleles it expresses: a null allele in a line is refused
            # (the kernel still counts hemizygous donors: test_absent_count_kernel_reproduces_...).
            with pytest.raises(LineError, match="null allele .* cannot be part of a line"):
                match_patients([typing], [line], homozygous_count=hom)
            refused += 1
            continue
        got = {}
        for direction in DIRECTIONS:
            results = match_patients([typing], [line], direction=direction, homozygous_count=hom)
            loci, res, rules = results.loci, results.resolution, results.rules
            assert loci == ("A",) and res == "2-field" and rules.direction == direction
            (pm,) = results
            assert pm.status == "assessed", pm
            (lm,) = pm.lines
            got[direction] = lm.per_locus["A"]
            assert lm.mismatches == lm.per_locus["A"]
            assert lm.matched == (lm.mismatches == 0)  # default k = 0
            if hom == 1 and direction != "bidirectional":
                # Counting once, the count is the number of distinct alleles named.
                assert len(lm.mismatched.get("A", [])) == lm.per_locus["A"], (r, direction, lm)
            if hom == 1 and direction == "bidirectional":
                named = lm.mismatched.get("A", [])
                assert sum(x.startswith("HvG:") for x in named) == r["HvG"], (r, lm)
                assert sum(x.startswith("GvH:") for x in named) == r["GvH"], (r, lm)
        want = {"HvG": r["HvG"], "GvH": r["GvH"], "bidirectional": r["Max"]}
        if got != want:
            bad.append((r["patient"], r["donor"], got, want))
    assert not bad, bad
    assert refused > 0  # the tables have hemizygous donors: the refusal was exercised


@pytest.mark.parametrize("nulls", sorted(NULLS))
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_absent_count_kernel_reproduces_consensus_tables(name, nulls):
    """The kernel ``_absent_count`` directly: HvG = (donor absent from patient), GvH swapped."""
    hom2 = ORACLES[name] == 2
    codes = {"A": 0, "B": 1, "C": 2, "D": 3}
    null_codes = (90, 90) if nulls == "same" else (90, 91)

    def enc(pair):
        return [(null_codes[i], True) if ch == "N" else (codes[ch], False) for i, ch in enumerate(pair)]

    bad = []
    for r in read_oracle(name):
        (pa, pna), (pb, pnb) = enc(r["patient"])
        (da, dna), (db, dnb) = enc(r["donor"])
        hv = _absent_count(da, dna, db, dnb, pa, pna, pb, pnb, hom2)
        gv = _absent_count(pa, pna, pb, pnb, da, dna, db, dnb, hom2)
        if (hv, gv, max(hv, gv)) != (r["HvG"], r["GvH"], r["Max"]):
            bad.append((r, (hv, gv)))
    assert not bad, bad


# ====================================================================== kernels == naive, exhaustive


SMALL = ["A*01:01", "A*02:01", "A*03:01", "A*01:11N", "A*24:09N"]


def _code(a: str) -> tuple[int, bool]:
    return SMALL.index(a), a.endswith("N")


@pytest.mark.parametrize("hom", [1, 2])
def test_absent_count_equals_naive_on_every_small_pair(hom):
    # Every ordered (donor, patient) single-locus typing over 3 expressed and 2 null alleles,
    # beyond the rows the consensus tables list.
    for d in itertools.product(SMALL, repeat=2):
        for p in itertools.product(SMALL, repeat=2):
            (da, dna), (db, dnb) = map(_code, d)
            (pa, pna), (pb, pnb) = map(_code, p)
            assert _absent_count(da, dna, db, dnb, pa, pna, pb, pnb, hom == 2) == naive_locus_count(d, p, "HvG", hom), (
                d,
                p,
            )
            assert _absent_count(pa, pna, pb, pnb, da, dna, db, dnb, hom == 2) == naive_locus_count(d, p, "GvH", hom), (
                d,
                p,
            )


@pytest.mark.parametrize("hom", [1, 2])
def test_phased_count_equals_naive_on_every_small_case(hom):
    # One locus: donor copies (a, b), each compared with the allele of the patient haplotype
    # that the assignment gives it.  Every fixed comparison, then the best over the 4 maps.
    for d in itertools.product(SMALL, repeat=2):
        (ca, na), (cb, nb) = map(_code, d)
        for q in itertools.product(SMALL, repeat=2):
            (qa, qna), (qb, qnb) = map(_code, q)
            got = _phased_count(ca, na, cb, nb, qa, qna, qb, qnb, hom == 2)
            assert got == _phased_missing(d, q, hom, naive_is_null), (d, q)
        for p in itertools.product(SMALL, repeat=2):
            pc = list(map(_code, p))
            kernel_best = min(
                _phased_count(ca, na, cb, nb, *pc[s0], *pc[s1], hom == 2) for s0 in (0, 1) for s1 in (0, 1)
            )
            assert kernel_best == naive_phased_count(((d[0],), (d[1],)), ((p[0],), (p[1],)), "HvG", hom), (d, p)


def test_phased_count_hand_cases():
    # Arguments: donor copies (code, null) x2, compared alleles (code, null) x2, hom2.
    # Homozygous donor X,X: both copies miss -> 1 (or 2 with hom2); one copy misses -> 1.
    assert _phased_count(0, False, 0, False, 1, False, 1, False, False) == 1
    assert _phased_count(0, False, 0, False, 1, False, 1, False, True) == 2
    assert _phased_count(0, False, 0, False, 0, False, 1, False, True) == 1
    # Heterozygous donor X,Y vs (Y, X) in that order: both copies differ from their haplotype.
    assert _phased_count(0, False, 1, False, 1, False, 0, False, False) == 2
    # Hemizygous X,N with X missing: 1, or with hom2 2 unless the null copy meets a null.
    assert _phased_count(0, False, 3, True, 1, False, 1, False, False) == 1
    assert _phased_count(0, False, 3, True, 1, False, 1, False, True) == 2
    assert _phased_count(0, False, 3, True, 1, False, 4, True, True) == 1
    assert _phased_count(0, False, 3, True, 0, False, 1, False, True) == 0
    # Both copies null: nothing is presented, nothing counts.
    assert _phased_count(3, True, 3, True, 0, False, 1, False, True) == 0


# ====================================================================== hand-computed coverage

A1, A2, A3, A1N = "A*01:01", "A*02:01", "A*03:01", "A*01:11N"
A2N = "A*02:15N"
B7, B8 = "B*07:02", "B*08:01"


def make_table(loci, haps, freqs, pop="P"):
    data = {locus: [h[l] for h in haps] for l, locus in enumerate(loci)}
    data[pop] = [float(x) for x in freqs]
    return table_from_frame(pl.DataFrame(data), name="t")


def run(table, lines, *, expect_warning=False, **kw):
    """``hlamatch.coverage``, asserting that the unknown-allele warning comes iff expected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = hlamatch.coverage(table, lines, **kw)
    ours = [w for w in caught if issubclass(w.category, HlamatchWarning)]
    others = [w for w in caught if not issubclass(w.category, HlamatchWarning)]
    assert not others, [str(w.message) for w in others]
    assert bool(ours) == expect_warning, [str(w.message) for w in ours]
    return rep


def test_hand_one_mismatch_genotype_and_haplotype():
    # a=A1~B8 (.5), b=A2~B8 (.25), c=A2~B7 (.25); homozygous line a; HvG, k=1.
    # Genotype HvG count = [A1 missing] + [B8 missing]:
    #   (a,*) 0; (b,b): A1 missing -> 1; (b,c): A1 -> 1; (c,c): A1, B8 -> 2.
    #   k=0: pairs holding a: 1 - .5^2 = .75; k=1 adds (b,b) .0625 + (b,c),(c,b) .125 = .9375.
    # Haplotype: (b,b): copy vs b -> A differs -> 1; (c,c): both differ -> 2; (b,c): best is b -> 1.
    #   Same figures.  distribution: {0: .75, 1: .1875, 2: .0625}.
    haps = [(A1, B8), (A2, B8), (A2, B7)]
    t = make_table(("A", "B"), haps, [0.5, 0.25, 0.25])
    rep = run(t, ["A*01:01~B*08:01"], max_mismatches=1)
    for level in LEVELS:
        r = rep.get(level)
        assert r.lower == pytest.approx(0.9375, abs=ATOL) and r.upper == pytest.approx(0.9375, abs=ATOL)
        assert r.distribution == pytest.approx(
            {"0": 0.75, "1": 0.1875, "2": 0.0625, "3": 0, "4": 0, "unmatched": 0}, abs=ATOL
        )
        assert r.rules == {
            "max_mismatches": 1,
            "direction": "HvG",
            "homozygous_count": 1,
            "require_match": [],
            "allow_mismatch": None,
        }
        assert "≤ 1" in r.rule and "HvG" in r.rule
    # DRB-style rule "B must match": (b,*) and (c,c) differ at A only for b; (c,c) misses B8.
    #   k=1, require B: .75 + (b,b) .0625 + (b,c) .125 (B8 from b) = .9375 still; allow only B:
    #   A must match -> only the k=0 patients (.75).
    rep = run(t, ["A*01:01~B*08:01"], max_mismatches=1, require_match=["B"])
    assert rep.get("genotype").lower == pytest.approx(0.9375, abs=ATOL)
    rep = run(t, ["A*01:01~B*08:01"], max_mismatches=1, allow_mismatch=["B"])
    for level in LEVELS:
        r = rep.get(level)
        assert r.lower == pytest.approx(0.75, abs=ATOL)
        assert r.distribution["unmatched"] == pytest.approx(0.25, abs=ATOL)
    # require A: the same patients as allow only B (A is the only mismatch anyone has here).
    rep = run(t, ["A*01:01~B*08:01"], max_mismatches=2, require_match=["A"])
    assert rep.get("genotype").lower == pytest.approx(0.75, abs=ATOL)


def test_hemizygous_line_is_refused_but_naive_counts_stay():
    # A line with a null allele (A1~B7 / A1N~B7, hemizygous at A) is refused by the line encoder:
    # a donor line is chosen for the antigens it expresses, so coverage never sees one.  (Before,
    # hlamatch counted it: with one chromosome type h=A2~B7 (f=1), k=1, it covered everyone with
    # homozygous_count=1 and no one with 2.)  The brute-force counts of such a donor stay as
    # documented (tests/naive.py; the kernels' hemizygous counts are checked against the consensus
    # tables and naive.py in test_absent_count_* and test_phased_count_*).
    t = make_table(("A", "B"), [(A2, B7)], [1.0])
    line = f"{A1}~{B7}/{A1N}~{B7}"
    for hom in (1, 2):
        with pytest.raises(LineError) as e:
            hlamatch.coverage(t, [line], max_mismatches=1, homozygous_count=hom)
        assert str(e.value) == (
            f"line {line}: donor lines are chosen for the antigens they express: null allele {A1N} cannot be "
            "part of a line; give the expressed allele"
        )
        assert naive_genotype_count(((A1, B7), (A1N, B7)), ((A2, B7), (A2, B7)), "HvG", hom) == hom
        assert naive_phased_count(((A1, B7), (A1N, B7)), ((A2, B7), (A2, B7)), "HvG", hom) == hom
    # Patients with a null allele (A2N~B7, A2N~B7) are matched as before.  The homozygous line
    # A1~B7 misses A1, present in two expressed copies: 1 (hom 1) or 2 (hom 2), whatever the
    # patient carries, at both levels.
    t = make_table(("A", "B"), [(A2N, B7)], [1.0])
    for hom in (1, 2):
        assert naive_genotype_count(((A1, B7), (A1, B7)), ((A2N, B7), (A2N, B7)), "HvG", hom) == hom
        rep = run(t, [f"{A1}~{B7}"], expect_warning=True, max_mismatches=1, homozygous_count=hom)
        for level in LEVELS:
            assert rep.get(level).lower == pytest.approx(1.0 if hom == 1 else 0.0, abs=ATOL)
            assert rep.get(level).distribution[str(hom)] == pytest.approx(1.0, abs=ATOL)


def test_gvh_can_exceed_hvg_at_k0():
    # GvH at k=0 is NOT always <= HvG at k=0.
    # (1) Heterozygous line a/(A2~B7), a=A1~B7 (.75), b=A2~B8 (.25).
    #   Genotype HvG=0 needs A1, A2, B7: only (a,b),(b,a): .375.
    #   Genotype GvH=0 needs the patient's alleles within {A1, A2}, {B7}: (a,a) .5625 only.
    #   Haplotype HvG=0 needs A2~B7 as a chromosome: 0.  Haplotype GvH=0: (a,a) .5625.
    haps = [(A1, B7), (A2, B8)]
    t = make_table(("A", "B"), haps, [0.75, 0.25])
    line = [f"{A1}~{B7}/{A2}~{B7}"]
    hvg = run(t, line, distribution=True)
    gvh = run(t, line, direction="GvH")
    assert hvg.get("genotype").lower == pytest.approx(0.375, abs=ATOL)
    assert hvg.get("haplotype").lower == pytest.approx(0.0, abs=ATOL)
    assert gvh.get("genotype").lower == pytest.approx(0.5625, abs=ATOL)
    assert gvh.get("haplotype").lower == pytest.approx(0.5625, abs=ATOL)
    # (2) Homozygous line a, but a null in the table: a=A1~B7 (.5), n=A1N~B7 (.5).
    #   HvG=0 needs A1: 1 - .25 = .75.  GvH=0: the patient's expressed alleles are within
    #   {A1}, {B7}: everyone, 1.0 (both levels: (n,n) has only the null at A).
    t = make_table(("A", "B"), [(A1, B7), (A1N, B7)], [0.5, 0.5])
    hvg = run(t, [f"{A1}~{B7}"], max_mismatches=0, distribution=True)
    gvh = run(t, [f"{A1}~{B7}"], direction="GvH")
    for level in LEVELS:
        assert hvg.get(level).lower == pytest.approx(0.75, abs=ATOL)
        assert gvh.get(level).lower == pytest.approx(1.0, abs=ATOL)


def test_hand_gvh_and_bidirectional_with_unlisted_mass():
    # a=A1~B7 (.5), U=.5; homozygous line a.
    # Lower (novel unlisted): (a,a) 0 both ways; (a,u): HvG 0, GvH 2 (u's A and B are foreign);
    #   (u,u): HvG 2 (A1, B7 missing), GvH 4 (two novel alleles per locus, all foreign).
    # Upper (wildcard = a's alleles): every pair 0.
    # GvH k=0: lower .25, upper 1.  HvG k=0: lower .25 + 2*.25 = .75, upper 1.
    # Bidirectional distribution (lower): {0: .25, 2: .5, 4: .25}.
    t = make_table(("A", "B"), [(A1, B7)], [0.5])
    for level in LEVELS:
        g = run(t, [f"{A1}~{B7}"], direction="GvH", level=level).get(level)
        assert (g.lower, g.upper) == pytest.approx((0.25, 1.0), abs=ATOL)
        h = run(t, [f"{A1}~{B7}"], distribution=True, level=level).get(level)
        assert (h.lower, h.upper) == pytest.approx((0.75, 1.0), abs=ATOL)
        b = run(t, [f"{A1}~{B7}"], direction="bidirectional", max_mismatches=3, level=level).get(level)
        assert b.distribution == pytest.approx(
            {"0": 0.25, "1": 0, "2": 0.5, "3": 0, "4": 0.25, "unmatched": 0}, abs=ATOL
        )
        assert b.distribution_upper["0"] == pytest.approx(1.0, abs=ATOL)
        assert (b.lower, b.upper) == pytest.approx((0.75, 1.0), abs=ATOL)


def test_naive_rule_coverage_hand_values():
    # The brute force on the hand example above (no library involved).
    haps, f = [(A1, B7)], [0.5]
    line = [((A1, B7), (A1, B7))]
    for level in LEVELS:
        assert naive_rule_coverage(haps, f, line, level, 0, "GvH", 1, None, 0.5)[:2] == pytest.approx((0.25, 1.0))
        lo, hi, dist = naive_rule_coverage(haps, f, line, level, 3, "bidirectional", 1, None, 0.5)
        assert (lo, hi) == pytest.approx((0.75, 1.0))
        assert dist == pytest.approx({"0": 0.25, "1": 0, "2": 0.5, "3": 0, "4": 0.25, "unmatched": 0})


# ====================================================================== MatchRules


def test_match_rules_validation_and_limits():
    with pytest.raises(OptionError):
        MatchRules(max_mismatches=-1)
    with pytest.raises(OptionError):
        MatchRules(direction="both")
    with pytest.raises(OptionError):
        MatchRules(homozygous_count=3)
    assert MatchRules(direction="gvh").direction == "GvH"
    loci = ("A", "B", "DRB1")
    assert MatchRules(require_match=["drb1"]).locus_limits(loci)[2] == 0
    assert list(MatchRules(require_match=["DRB1"]).locus_limits(loci) > 2) == [True, True, False]
    assert list(MatchRules(allow_mismatch=["A", "B"]).locus_limits(loci) == 0) == [False, False, True]
    assert list(MatchRules(allow_mismatch=[]).locus_limits(loci)) == [0, 0, 0]
    with pytest.raises(UnknownLocusError, match="C"):
        MatchRules(require_match=["C"]).locus_limits(loci)
    with pytest.raises(UnknownLocusError, match="DQB1"):
        MatchRules(allow_mismatch=["A", "DQB1"]).locus_limits(loci)


def test_coverage_rejects_unknown_rule_locus():
    t = make_table(("A", "B"), [(A1, B7)], [1.0])
    with pytest.raises(UnknownLocusError):
        hlamatch.coverage(t, [f"{A1}~{B7}"], max_mismatches=1, require_match=["DRB1"])


# ====================================================================== random problems vs naive

from strategies import LOCI as LOCI  # noqa: E402
from strategies import limits_of, rule_problems, rules


def unlisted_of(freqs) -> float:
    return max(0.0, 1.0 - math.fsum(freqs))


def has_unknown_allele(lines, haps) -> bool:
    vocab = [{h[l] for h in haps} for l in range(len(haps[0]))]
    return any(a not in vocab[l] for line in lines for hap in line for l, a in enumerate(hap))


def line_text(line) -> str:
    h1, h2 = line
    return "~".join(h1) if h1 == h2 else "~".join(h1) + "/" + "~".join(h2)


def cover(p, **kw):
    loci, haps, freqs, lines = p
    return run(
        make_table(loci, haps, freqs),
        [line_text(x) for x in lines],
        expect_warning=has_unknown_allele(lines, haps),
        **kw,
    )


@both_paths
@settings(max_examples=120, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems())
def test_rule_coverage_matches_naive(data, p):
    """Both levels, all directions and homozygous counts, random per-locus rules: lower, upper
    and both distributions equal the brute force."""
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    rep = cover(p, distribution=True, **rule)
    U = unlisted_of(freqs)
    for level in LEVELS:
        r = rep.get(level)
        lo, hi = naive_rule_histograms(
            haps, freqs, lines, level, rule["direction"], rule["homozygous_count"], limits_of(loci, rule), U
        )
        lower, upper, dist = naive_rule_coverage(
            haps,
            freqs,
            lines,
            level,
            rule["max_mismatches"],
            rule["direction"],
            rule["homozygous_count"],
            limits_of(loci, rule),
            U,
        )
        assert dist == lo
        assert r.unlisted_mass == pytest.approx(U, abs=ATOL)
        assert r.lower == pytest.approx(lower, abs=ATOL), level
        assert r.upper == pytest.approx(upper, abs=ATOL), level
        assert r.coverage == r.lower
        assert set(r.distribution) == set(lo), (r.distribution, lo)
        for key in lo:
            assert r.distribution[key] == pytest.approx(lo[key], abs=ATOL), (level, key)
            assert r.distribution_upper[key] == pytest.approx(hi[key], abs=ATOL), (level, key)
        assert r.rules["max_mismatches"] == rule["max_mismatches"]
        assert r.rules["direction"] == rule["direction"]
        assert r.rules["homozygous_count"] == rule["homozygous_count"]


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems())
def test_coverage_monotone_in_k_and_limits_only_lower_it(data, p):
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    free = dict(rule, require_match=[], allow_mismatch=None)
    prev = None
    for k in range(4):
        limited = cover(p, **dict(rule, max_mismatches=k))
        unlimited = cover(p, **dict(free, max_mismatches=k))
        for level in LEVELS:
            a, b = limited.get(level), unlimited.get(level)
            assert a.lower <= b.lower + ATOL and a.upper <= b.upper + ATOL
            assert a.lower <= a.upper + ATOL
            if prev is not None:
                assert a.lower >= prev[level][0] - ATOL and a.upper >= prev[level][1] - ATOL
        prev = {level: (limited.get(level).lower, limited.get(level).upper) for level in LEVELS}


@both_paths
@settings(max_examples=60, **HYPOTHESIS)
@given(p=rule_problems())
# Null alleles in the table, unlisted mass, and a line allele the table lacks.  (A line with no
# expressed allele at all, once found by this test, can now only be DRBX*NNNN: see
# test_line_without_expressed_allele_matches_every_patient_at_k0; null alleles in lines are refused.)
@example(
    p=(
        ("A", "B"),
        [("A*01:01", "B*01:01"), ("A*02:11N", "B*02:11N")],
        [0.25, 0.5],
        [(("A*01:01", "B*08:01"), ("A*01:01", "B*08:01"))],
    )
)
def test_k0_hvg_general_kernel_equals_foundation_fast_path(p):
    """Zero HvG mismatches through the general mismatch-count kernel (``distribution=True``) equal
    the foundation bitset path, heterozygous lines and null alleles included."""
    fast = cover(p)
    general = cover(p, distribution=True)
    for level in LEVELS:
        f, g = fast.get(level), general.get(level)
        assert g.lower == pytest.approx(f.lower, abs=ATOL) and g.upper == pytest.approx(f.upper, abs=ATOL)
        assert g.distribution["0"] == pytest.approx(g.lower, abs=ATOL)
        assert g.distribution_upper["0"] == pytest.approx(g.upper, abs=ATOL)


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems())
def test_distributions_sum_to_one_and_bidirectional_never_above_hvg(data, p):
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    rep = cover(p, **rule)
    for level in LEVELS:
        r = rep.get(level)
        assert r.distribution is not None or (rule["max_mismatches"] == 0 and rule["direction"] == "HvG")
        if r.distribution is not None:
            assert math.fsum(r.distribution.values()) == pytest.approx(1.0, abs=1e-12)
            assert math.fsum(r.distribution_upper.values()) == pytest.approx(1.0, abs=1e-12)
            assert all(v >= 0 for v in r.distribution.values())
    # Bidirectional counts are per-locus max(HvG, GvH) >= HvG for every line, assignment and
    # wildcard choice, so bidirectional coverage <= HvG coverage at every k, both bounds.
    bi = cover(p, **dict(rule, direction="bidirectional"))
    hv = cover(p, **dict(rule, direction="HvG"))
    for level in LEVELS:
        assert bi.get(level).lower <= hv.get(level).lower + ATOL
        assert bi.get(level).upper <= hv.get(level).upper + ATOL


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(p=rule_problems(homozygous_only=True, nulls=False))
def test_gvh_k0_at_most_hvg_k0_for_homozygous_banks_without_nulls(p):
    # GvH = 0 against a homozygous line d means every expressed patient allele is d[l]; without
    # null alleles the patient is then d[l]/d[l] at every locus, so HvG = 0 too (novel unlisted
    # alleles are foreign to GvH; wildcards take d's alleles).  Not true in general: see
    # test_gvh_can_exceed_hvg_at_k0 (heterozygous line; null allele in the table).
    gvh, hvg = cover(p, direction="GvH"), cover(p)
    for level in LEVELS:
        assert gvh.get(level).lower <= hvg.get(level).lower + ATOL
        assert gvh.get(level).upper <= hvg.get(level).upper + ATOL


@both_paths
@settings(max_examples=40, **HYPOTHESIS)
@given(data=st.data(), p=rule_problems())
def test_genotype_level_at_least_haplotype_level_hvg(data, p):
    # Per locus and for any assignment sigma, the unphased HvG count is <= the phased one
    # (hemizygous line loci included: both count a missing X twice with homozygous_count=2
    # unless a null in the patient pairs with the line's null), so genotype >= haplotype level.
    loci, haps, freqs, lines = p
    rule = data.draw(rules(loci))
    rep = cover(p, **dict(rule, direction="HvG"))
    gen, hap = rep.get("genotype"), rep.get("haplotype")
    assert gen.lower >= hap.lower - ATOL
    assert gen.upper >= hap.upper - ATOL


def test_naive_locus_count_rejects_unknown_direction():
    with pytest.raises(ValueError):
        naive_locus_count((A1, A1), (A1, A1), "both", 1)


# ====================================================================== real data (JAPI)


@pytest.fixture(scope="module")
def japi_abdr():
    return hlamatch.load_table(hlamatchit("JAPI"), loci=["A", "B", "DRB1"])


@pytest.mark.real_data
def test_japi_top10_rules_reproduce_anchors(japi_abdr):
    top10 = japi_abdr.top_haplotypes(10)
    k0 = hlamatch.coverage(japi_abdr, top10, max_mismatches=0, distribution=True)
    hap, gen = k0.get("haplotype"), k0.get("genotype")
    # Published anchors (matching-model.md): top 10 JAPI lines 43.6% / 47.2%.
    assert round(hap.coverage, 3) == 0.436
    assert round(gen.coverage, 3) == 0.472
    assert hap.distribution is not None and hap.rules["max_mismatches"] == 0
    # The general kernel equals the foundation (bitset) path.
    fast = hlamatch.coverage(japi_abdr, top10)
    for level in LEVELS:
        assert k0.get(level).lower == pytest.approx(fast.get(level).lower, abs=ATOL)
        assert k0.get(level).upper == pytest.approx(fast.get(level).upper, abs=ATOL)
    k1 = hlamatch.coverage(japi_abdr, top10, max_mismatches=1, require_match=["DRB1"])
    for level in LEVELS:
        a, b = k1.get(level), k0.get(level)
        assert a.coverage >= b.coverage
        assert a.distribution["0"] == pytest.approx(b.coverage, abs=ATOL)
        assert a.coverage == pytest.approx(a.distribution["0"] + a.distribution["1"], abs=ATOL)
        assert math.fsum(a.distribution.values()) == pytest.approx(1.0, abs=1e-9)
        assert "DRB1" in a.rule and a.rules["require_match"] == ["DRB1"]
    assert k1.get("genotype").coverage >= k1.get("haplotype").coverage
    # Requiring DRB1 can only lose patients compared with k=1 without it.
    free = hlamatch.coverage(japi_abdr, top10, max_mismatches=1, level="genotype")
    assert free.get("genotype").coverage >= k1.get("genotype").coverage


def test_line_without_expressed_allele_matches_every_patient_at_k0():
    # A line with no DRB3/4/5 gene (DRBX*NNNN, not expressed) compared at DRB345 only carries
    # no HvG antigen there: zero HvG mismatches against EVERY patient, two unlisted chromosomes
    # included.  Table: x=A*24:02~DRBX*NNNN (.5), y=A*02:01~DRB4*01:01 (.25), U=.25.
    # So lower = upper = 1 at genotype level, by the default (bitset) path and the general one.
    # (The bitset path's lower bound left out the (unlisted, unlisted) pair: 1 - U^2 = .9375.)
    haps = [("A*24:02", "DRBX*NNNN"), ("A*02:01", "DRB4*01:01")]
    t = make_table(("A", "DRB345"), haps, [0.5, 0.25])
    assert naive_rule_coverage(
        [("DRBX*NNNN",), ("DRB4*01:01",)],
        [0.5, 0.25],
        [(("DRBX*NNNN",), ("DRBX*NNNN",))],
        "genotype",
        0,
        "HvG",
        1,
        None,
        0.25,
    )[:2] == pytest.approx((1.0, 1.0))
    for dist in (True, False):
        r = run(t, ["DRBX*NNNN"], loci=["DRB345"], level="genotype", distribution=dist).get("genotype")
        assert r.unlisted_mass == pytest.approx(0.25, abs=ATOL)
        assert (r.lower, r.upper) == pytest.approx((1.0, 1.0), abs=ATOL), f"distribution={dist}"


def test_gvh_other_alleles_same_or_different_hand_computed():
    # Line A1~B7 (homozygous).  Table: A2~B7 (.25), A3~B7 (.25), A1~B7 (.5); A2 and A3 are carried
    # by no line, so hlamatch may merge them when that is exact.  GvH at A for patients:
    #   (A2,A2) or (A3,A3): one foreign allele, homozygous -> 1 (hom 1) or 2 (hom 2)
    #   (A2,A3), (A3,A2): two foreign alleles -> 2 either way
    #   (A1,x), x foreign: 1;  (A1,A1): 0.
    # k=1, hom 1: covered = all but (A2,A3),(A3,A2) = 1 - 2*.25*.25 = .875
    # k=1, hom 2: covered = pairs with an A1 = 1 - .5*.5 = .75
    t = make_table(("A", "B"), [(A1, B7), (A2, B7), (A3, B7)], [0.5, 0.25, 0.25])
    for hom, expected in ((1, 0.875), (2, 0.75)):
        rep = run(t, [f"{A1}~{B7}"], direction="GvH", max_mismatches=1, homozygous_count=hom)
        assert rep.get("genotype").lower == pytest.approx(expected, abs=ATOL)
        assert rep.get("haplotype").lower == pytest.approx(expected, abs=ATOL)
