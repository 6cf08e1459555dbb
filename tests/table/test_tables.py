"""Reading and validating haplotype frequency tables (hlamatch.table.model).

Every supported format is read from a small synthetic file written into ``tmp_path``; real
NMDP files are read in place through ``shared_path``/``hlamatchit`` (skipped when absent) and
never copied into the repository.
"""

from __future__ import annotations

import gzip
import json
import math
import tempfile
import warnings
import zipfile
from pathlib import Path

import polars as pl
import pytest
from conftest import hlamatchit, shared_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hlamatch
from hlamatch.errors import (
    AlleleNameError,
    DuplicateHaplotypeError,
    EmptyTableError,
    FrequencyError,
    HlamatchError,
    HlamatchWarning,
    OptionError,
    TableFormatError,
    TableSchemaError,
    UnknownLocusError,
)
from hlamatch.io.load import load_table
from hlamatch.table.model import HaplotypeTable

# ---------------------------------------------------------------------------- helpers


def as_dict(table: HaplotypeTable, population: str | None = None) -> dict[str, float]:
    """``{haplotype string: frequency}`` of one population (rows with positive frequency)."""
    p = table.population_index(population)
    rows = table.population_rows(population)
    return dict(zip(table.haplotype_strings(rows), (float(x) for x in table.freqs[rows, p])))


def assert_approx_dict(got: dict[str, float], want: dict[str, float]) -> None:
    assert set(got) == set(want)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-12), k


def error_of(exc_type: type[HlamatchError], fn, *args, **kwargs) -> str:
    """Call ``fn`` expecting ``exc_type``; return the message (checked free of NumPy reprs)."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    # A message is for people: values must be shown as 'A*01:0X' / -0.2, not as NumPy reprs.
    assert "np.str_" not in msg and "np.float64" not in msg, msg
    return msg


NMDP_HEADER = "Haplo,Count,Freq\n"

# A 3-locus table whose projections and reductions are computed by hand below.
# Listed mass 0.55, unlisted 0.45.
HAND_TABLE = (
    NMDP_HEADER
    + "A*01:01~B*08:01~DRB1*03:01,10,0.20\n"
    + "A*01:01~B*08:01~DRB1*04:01,5,0.10\n"
    + "A*02:01~B*08:01~DRB1*03:01,7,0.15\n"
    + "A*02:01~B*07:02~DRB1*15:01,2,0.05\n"
    + "A*01:02~B*08:01~DRB1*03:01,2,0.05\n"
)


# ============================================================================ formats


def test_nmdp_csv(write):
    p = write(
        "freqs.JAPI.csv",
        NMDP_HEADER
        + "A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01,10,0.08\n"
        + "A*33:03~C*14:03~B*44:03~DRB1*13:02~DQB1*06:04,5,0.04\n",
    )
    t = load_table(p)
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    assert t.populations == ("JAPI",)  # from the file name freqs.<POP>.csv
    assert t.resolution == "2-field"
    assert t.source == str(p)
    assert_approx_dict(
        as_dict(t),
        {
            "A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01": 0.08,
            "A*33:03~C*14:03~B*44:03~DRB1*13:02~DQB1*06:04": 0.04,
        },
    )
    assert t.listed_mass() == pytest.approx(0.12)
    assert t.unlisted_mass() == pytest.approx(0.88)
    assert t.codes.dtype.name == "int32" and t.freqs.dtype.name == "float64"
    assert not t.codes.flags.writeable and not t.freqs.flags.writeable


def test_nmdp_population_override_and_9_locus_drb345(write):
    p = write(
        "nine.csv",
        NMDP_HEADER
        + "A*01:01~C*01:02~B*27:05~DRB4*01:01~DRB1*04:05~DQA1*03:01~DQB1*04:01~DPA1*02:02~DPB1*05:01,1,0.25\n"
        + "A*01:01~C*01:02~B*27:05~DRBX*NNNN~DRB1*01:01~DQA1*01:01~DQB1*05:01~DPA1*01:03~DPB1*02:01,1,0.5\n",
    )
    t = load_table(p, population="X")
    assert t.populations == ("X",)
    assert t.loci == ("A", "C", "B", "DRB345", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1")
    assert set(t.alleles[3]) == {"DRB4*01:01", "DRBX*NNNN"}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_grimm_without_header(tmp_path, gz):
    text = (
        "A*01:01~C*07:01~B*08:01~DRB1*03:01~DQB1*02:01,1,0.25\nA*02:01~C*07:02~B*07:02~DRB1*15:01~DQB1*06:02,1,0.125\n"
    )
    if gz:
        p = tmp_path / "CAU.freqs.gz"
        p.write_bytes(gzip.compress(text.encode()))
    else:
        p = tmp_path / "CAU.freqs"
        p.write_text(text)
    t = load_table(p)
    assert t.populations == ("CAU",)
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    assert_approx_dict(
        as_dict(t),
        {
            "A*01:01~C*07:01~B*08:01~DRB1*03:01~DQB1*02:01": 0.25,
            "A*02:01~C*07:02~B*07:02~DRB1*15:01~DQB1*06:02": 0.125,
        },
    )
    assert t.unlisted_mass() == pytest.approx(0.625)
    # The explicit format gives the same table.
    assert as_dict(load_table(p, format="grimm")) == as_dict(t)


def test_grimm_with_header(write):
    p = write("EUR.freqs", "haplotype,count,freq\nA*01:01~B*08:01,1,0.5\n")
    t = load_table(p)
    assert t.populations == ("EUR",)
    assert as_dict(t) == {"A*01:01~B*08:01": 0.5}


NMDP2007 = (
    "EUR,HLA-A*01:01g~HLA-C*07:01g~HLA-B*08:01g~HLA-DRB1*03:01~HLA-DQB1*02:01g,0.3,1\n"
    "EUR,HLA-A*02:01g~HLA-C*07:02g~HLA-B*07:02g~HLA-DRB1*15:01~HLA-DQB1*06:02,0.2,2\n"
    "AFA,HLA-A*30:01g~HLA-C*17:01g~HLA-B*42:01~HLA-DRB1*03:02~HLA-DQB1*04:02,0.1,1\n"
    "AFA,HLA-A*01:01g~HLA-C*07:01g~HLA-B*08:01g~HLA-DRB1*03:01~HLA-DQB1*02:01g,0.05,2\n"
)


def test_nmdp2007_long_two_populations(write):
    p = write("NMDP_2007_FiveLocus_Freqs.csv", NMDP2007)
    t = load_table(p)
    assert t.populations == ("EUR", "AFA")
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    # HLA- prefix and allele-group g suffix are dropped: HLA-A*01:01g -> A*01:01.
    assert "A*01:01" in t.alleles[0]
    assert all("HLA-" not in a and not a.endswith("g") for names in t.alleles for a in names)
    shared = "A*01:01~C*07:01~B*08:01~DRB1*03:01~DQB1*02:01"
    assert_approx_dict(as_dict(t, "EUR"), {shared: 0.3, "A*02:01~C*07:02~B*07:02~DRB1*15:01~DQB1*06:02": 0.2})
    assert_approx_dict(as_dict(t, "AFA"), {shared: 0.05, "A*30:01~C*17:01~B*42:01~DRB1*03:02~DQB1*04:02": 0.1})
    # One row per distinct haplotype over all populations; 0 where a population lacks it.
    assert t.n_haplotypes == 3
    assert t.unlisted_mass("EUR") == pytest.approx(0.5)
    assert t.unlisted_mass("afa") == pytest.approx(0.85)  # population names are case-insensitive


def test_nmdp2007_population_option_keeps_one(write):
    p = write("n07.csv", NMDP2007)
    t = load_table(p, population="afa")
    assert t.populations == ("AFA",)
    msg = error_of(OptionError, load_table, p, population="API")
    assert "'API'" in msg and str(p) in msg and "EUR, AFA" in msg


def _hfx(path: Path, csv_text: str, population: str | None = "AFA", csv_name: str = "HEGL_AFA.csv") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        if population is not None:
            meta = {"metadata": {"cohortDescription": {"population": [{"name": population}]}}}
            z.writestr("metadata.json", json.dumps(meta))
        z.writestr(csv_name, csv_text)
    return path


def test_hfx_population_from_metadata(tmp_path):
    p = _hfx(
        tmp_path / "bundle.hfx",
        NMDP_HEADER + "A*30:01~C*17:01~B*42:01~DRB1*03:02~DQB1*04:02,3,0.1\n"
        "A*68:01~C*03:04~B*15:10~DRB1*03:02~DQB1*04:02,1,0.05\n",
    )
    t = load_table(p)
    assert t.populations == ("AFA",)  # from metadata.json, not from the file name "bundle"
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    assert_approx_dict(
        as_dict(t),
        {
            "A*30:01~C*17:01~B*42:01~DRB1*03:02~DQB1*04:02": 0.1,
            "A*68:01~C*03:04~B*15:10~DRB1*03:02~DQB1*04:02": 0.05,
        },
    )


def test_hfx_without_metadata_uses_file_name(tmp_path):
    p = _hfx(tmp_path / "ZZZ.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n", population=None)
    assert load_table(p).populations == ("ZZZ",)


def test_wide_csv_one_column_per_population(write):
    p = write(
        "wide.csv",
        "A,C,B,P1,P2\nA*01:01,C*07:01,B*08:01,0.3,0.1\nA*02:01,C*07:02,B*07:02,0.2,0\nA*24:02,C*12:02,B*52:01,0,0.4\n",
    )
    t = load_table(p)
    assert t.loci == ("A", "C", "B")
    assert t.populations == ("P1", "P2")
    assert_approx_dict(as_dict(t, "P1"), {"A*01:01~C*07:01~B*08:01": 0.3, "A*02:01~C*07:02~B*07:02": 0.2})
    assert_approx_dict(as_dict(t, "P2"), {"A*01:01~C*07:01~B*08:01": 0.1, "A*24:02~C*12:02~B*52:01": 0.4})
    assert t.unlisted_mass("P1") == pytest.approx(0.5)
    assert t.unlisted_mass("P2") == pytest.approx(0.5)


def test_wide_tsv_and_bare_allele_numbers(write):
    # A bare number under a locus column is an allele of that locus (24:02 under A is A*24:02).
    p = write("w.tsv", "A\tB\tJAPI\n24:02\t52:01\t0.25\nA*33:03\tB*44:03\t0.125\n")
    t = load_table(p)
    assert t.populations == ("JAPI",)
    assert_approx_dict(as_dict(t), {"A*24:02~B*52:01": 0.25, "A*33:03~B*44:03": 0.125})


def test_wide_parquet(tmp_path):
    p = tmp_path / "wide.parquet"
    pl.DataFrame(
        {
            "A": ["A*01:01", "A*02:01", "A*24:02"],
            "B": ["B*08:01", "B*07:02", "B*52:01"],
            "DRB1": ["DRB1*03:01", "DRB1*15:01", "DRB1*15:02"],
            "EUR": [0.3, 0.2, 0.0],
            "JPN": [0.0, 0.1, 0.4],
        }
    ).write_parquet(p)
    t = load_table(p)
    assert t.loci == ("A", "B", "DRB1")
    assert t.populations == ("EUR", "JPN")
    assert_approx_dict(as_dict(t, "EUR"), {"A*01:01~B*08:01~DRB1*03:01": 0.3, "A*02:01~B*07:02~DRB1*15:01": 0.2})
    assert_approx_dict(as_dict(t, "JPN"), {"A*02:01~B*07:02~DRB1*15:01": 0.1, "A*24:02~B*52:01~DRB1*15:02": 0.4})


def test_wide_antigen_table(write):
    p = write("ag.csv", "A,C,B,DR,DQ,CAU\nA24,Cw7,B52,DR15,DQ6,0.1\nA2,Cw7,B7,DR15,DQ6,0.2\n")
    t = load_table(p)
    assert t.loci == ("A", "C", "B", "DR", "DQ")
    assert t.resolution == "antigen"
    assert_approx_dict(as_dict(t), {"A24~Cw7~B52~DR15~DQ6": 0.1, "A2~Cw7~B7~DR15~DQ6": 0.2})


def test_allele_names_are_normalised(write):
    p = write("n.csv", "EUR,HLA-A*01:01g~HLA-B*08:01G~HLA-DRB1*03:01,0.3,1\n")
    t = load_table(p)
    assert t.haplotype_strings() == ["A*01:01~B*08:01~DRB1*03:01"]
    assert hlamatch.parse_line("HLA-A*01:01g~B*08:01").text() == "A*01:01~B*08:01"


def test_three_and_four_field_names_are_truncated_at_load(write):
    """Documented in tables._build: fields beyond two are truncated, frequencies summed."""
    p = write(
        "long.csv",
        "A,B,DRB1,P1\nA*01:01:01,B*08:01,DRB1*03:01:01:01,0.3\nA*01:01:02,B*08:01,DRB1*03:01:02,0.2\n",
    )
    with pytest.warns(
        HlamatchWarning, match=r"names alleles with three or four fields \(e\.g\. DRB1\*03:01:01:01\); read at 2-field"
    ):
        t = load_table(p)
    assert t.resolution == "2-field"
    assert t.alleles == (("A*01:01",), ("B*08:01",), ("DRB1*03:01",))
    assert_approx_dict(as_dict(t), {"A*01:01~B*08:01~DRB1*03:01": 0.5})


def test_mixed_one_and_two_field_table_is_one_field_throughout(write):
    """A table labelled 1-field must not keep 2-field names (they would never match a 1-field line)."""
    p = write("mixed.csv", "A,B,P1\nA*01,B*08:01,0.3\nA*02,B*08:02,0.2\n")
    with pytest.warns(HlamatchWarning, match="mixes one-field and two-field allele names"):
        t = load_table(p)
    assert t.resolution == "1-field"
    assert t.alleles == (("A*01", "A*02"), ("B*08",))
    assert_approx_dict(as_dict(t), {"A*01~B*08": 0.3, "A*02~B*08": 0.2})


# ============================================================================ projection, reduction


def test_projection_sums_frequencies(write):
    t = load_table(write("hand.csv", HAND_TABLE))
    ab = t.select(["A", "B"])
    assert ab.loci == ("A", "B")
    assert_approx_dict(
        as_dict(ab),
        {"A*01:01~B*08:01": 0.30, "A*02:01~B*08:01": 0.15, "A*02:01~B*07:02": 0.05, "A*01:02~B*08:01": 0.05},
    )
    drb1 = t.select(["drb1"])  # case-insensitive
    assert drb1.loci == ("DRB1",)
    assert_approx_dict(as_dict(drb1), {"DRB1*03:01": 0.40, "DRB1*04:01": 0.10, "DRB1*15:01": 0.05})
    # Order of the loci asked for is kept.
    ba = t.select(["B", "A"])
    assert ba.loci == ("B", "A")
    assert as_dict(ba)["B*08:01~A*01:01"] == pytest.approx(0.30)
    # The load_table shortcut gives the same.
    assert as_dict(load_table(write("hand2.csv", HAND_TABLE), loci=["A", "B"])) == pytest.approx(as_dict(ab))
    # Unlisted mass is kept, never renormalised away.
    for sel in (t, ab, drb1, ba):
        assert sel.listed_mass() == pytest.approx(0.55)
        assert sel.unlisted_mass() == pytest.approx(0.45)


def test_one_field_reduction_sums_frequencies(write):
    t = load_table(write("hand.csv", HAND_TABLE))
    one = t.select(["A", "B"], "1-field")
    assert one.resolution == "1-field"
    assert_approx_dict(as_dict(one), {"A*01~B*08": 0.35, "A*02~B*08": 0.15, "A*02~B*07": 0.05})
    full = t.select(resolution="1-field")
    assert full.loci == t.loci
    assert_approx_dict(
        as_dict(full),
        {"A*01~B*08~DRB1*03": 0.25, "A*01~B*08~DRB1*04": 0.10, "A*02~B*08~DRB1*03": 0.15, "A*02~B*07~DRB1*15": 0.05},
    )
    assert one.unlisted_mass() == pytest.approx(0.45)


def test_one_field_reduction_keeps_null_suffix_and_no_gene(write):
    p = write(
        "n.csv",
        NMDP_HEADER
        + "A*01:01~DRBX*NNNN~DRB1*01:01,1,0.3\n"
        + "A*01:02~DRBX*NNNN~DRB1*01:02,1,0.2\n"
        + "A*01:01N~DRB4*01:03~DRB1*04:01,1,0.1\n",
    )
    one = load_table(p).select(resolution="1-field")
    assert_approx_dict(as_dict(one), {"A*01~DRBX*NNNN~DRB1*01": 0.5, "A*01N~DRB4*01~DRB1*04": 0.1})


def test_select_identity_and_finer_resolution(write):
    t = load_table(write("hand.csv", HAND_TABLE))
    assert t.select() is t
    one = t.select(resolution="1-field")
    msg = error_of(OptionError, one.select, resolution="2-field")
    assert "1-field" in msg and "--resolution" in msg
    msg = error_of(OptionError, t.select, ["A", "a"])
    assert "'A'" in msg and "twice" in msg
    msg = error_of(OptionError, t.select, [])
    assert "--loci" in msg


def test_antigen_table_cannot_be_reduced(write):
    t = load_table(write("ag.csv", "A,B,DR,CAU\nA24,B52,DR15,0.1\n"))
    msg = error_of(OptionError, t.select, resolution="1-field")
    assert "antigen" in msg and str(t.source) in msg


# ============================================================================ frequency sums


def test_sum_below_one_is_unlisted_mass(write):
    t = load_table(write("u.csv", "A,B,P\nA*01:01,B*08:01,0.4\nA*02:01,B*07:02,0.35\n"))
    assert t.scaled_by == (1.0,)
    assert t.listed_mass() == pytest.approx(0.75)
    assert t.unlisted_mass() == pytest.approx(0.25)
    assert float(t.freqs.sum()) == pytest.approx(0.75)  # not renormalised


def test_sum_within_tolerance_is_scaled_with_warning(write):
    p = write("s.csv", "A,B,JAPI\nA*01:01,B*08:01,0.604\nA*02:01,B*08:01,0.4\n")
    t = load_table(p)  # the warning is shown when the population is first used
    with pytest.warns(HlamatchWarning, match=r"sum to 1\.004; scaled down by 0\.398% to sum to 1") as rec:
        t.population_index("JAPI")
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert str(p) in msg and "'JAPI'" in msg
    assert t.listed_mass() == pytest.approx(1.0)
    assert t.unlisted_mass() == 0.0
    assert t.scaled_by == (pytest.approx(1 / 1.004),)
    assert as_dict(t)["A*01:01~B*08:01"] == pytest.approx(0.604 / 1.004)


def test_sum_above_tolerance_is_an_error(write):
    p = write("high.csv", "A,B,JAPI\nA*01:01,B*08:01,0.6\nA*02:01,B*08:01,0.5\n")
    msg = error_of(FrequencyError, load_table, p)
    assert msg == (
        f"frequencies for population 'JAPI' in {p} sum to 1.1, above 1 by more than the tolerance 0.01; "
        "fix the table or raise --sum-tolerance"
    )


def test_sum_tolerance_is_an_option(write):
    p = write("s.csv", "A,B,JAPI\nA*01:01,B*08:01,0.605\nA*02:01,B*08:01,0.4\n")  # sums to 1.005
    with pytest.warns(HlamatchWarning, match=r"sum to 1\.005"):
        load_table(p).listed_mass()  # default tolerance 0.01
    msg = error_of(FrequencyError, load_table, p, sum_tolerance=0.001)
    assert "tolerance 0.001" in msg and "1.005" in msg
    with pytest.warns(HlamatchWarning, match=r"within tolerance 0\.02"):
        load_table(p, sum_tolerance=0.02).listed_mass()
    # 1.1 passes with a large enough tolerance.
    high = write("high.csv", "A,B,JAPI\nA*01:01,B*08:01,0.6\nA*02:01,B*08:01,0.5\n")
    with pytest.warns(HlamatchWarning, match=r"scaled down by 9\.09%"):
        assert load_table(high, sum_tolerance=0.2).listed_mass() == pytest.approx(1.0)
    error_of(OptionError, load_table, p, sum_tolerance=-0.1)


def test_sum_above_one_by_float_noise_is_silent(write):
    # Real NMDP files (e.g. HLAMatchIt CARIBI, FILII, HAWI) sum to 1 + ~1e-13: float noise from
    # how they were written, not rounding excess worth a warning ("sum to 1; scaled down by
    # 1.11e-11%" contradicts itself).  pytest turns any warning into an error here.
    t = load_table(write("noise.csv", "A,B,P\nA*01:01,B*08:01,0.5000000000001\nA*02:01,B*08:01,0.5\n"))
    assert t.listed_mass() == pytest.approx(1.0)
    assert t.unlisted_mass() == 0.0
    # A sum that is 1 in floating point (ten rows of 0.1) is silent too.
    rows = "".join(f"A*{k + 1:02d}:01,B*08:01,0.1\n" for k in range(10))
    assert load_table(write("ten.csv", "A,B,P\n" + rows)).unlisted_mass() == 0.0


# ============================================================================ bad input


def test_malformed_allele_name(write):
    p = write("m.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.3\nA*01:0X~B*08:01,1,0.2\n")
    msg = error_of(AlleleNameError, load_table, p)
    assert msg == (
        f"{p} line 3: malformed allele name 'A*01:0X': expected a name like 'A*24:02' (two-field), "
        "'A*24' (one-field) or an antigen label like 'A24'"
    )


@pytest.mark.parametrize(
    "name,text,line,value",
    [
        ("grimm.freqs", "A*01:01~B*08:01,1,0.3\nA*01:01~B*0X:01,1,0.3\n", 2, "B*0X:01"),
        ("n07.csv", "EUR,HLA-A*01:01g~HLA-B*08:01,0.3,1\nEUR,HLA-A*01:01g~HLA-B*8:01-,0.3,2\n", 2, "HLA-B*8:01-"),
        ("wide.csv", "A,B,P\nA*01:01,B*08:01,0.3\nA*01:01,B*08:01x,0.2\n", 3, "B*08:01x"),
        ("empty_allele.csv", NMDP_HEADER + "A*01:01~~B*08:01,1,0.3\n", 2, ""),
    ],
)
def test_malformed_allele_name_every_format(write, name, text, line, value):
    p = write(name, text)
    msg = error_of(AlleleNameError, load_table, p)
    assert msg.startswith(f"{p} line {line}: ")
    assert repr(value) in msg
    assert "expected a name like" in msg


def test_allele_of_another_locus_in_a_column(write):
    p = write("w.csv", "A,B,P\nA*01:01,B*08:01,0.3\nA*01:01,DRB1*08:01,0.3\n")
    msg = error_of(AlleleNameError, load_table, p)
    assert msg.startswith(f"{p} line 3: ")
    assert "'DRB1*08:01'" in msg and "'B'" in msg and "'DRB1'" in msg


def test_loci_in_different_order(write):
    p = write("o.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.3\nB*08:01~A*01:01,1,0.2\n")
    msg = error_of(TableSchemaError, load_table, p)
    assert msg.startswith(f"{p} line 3: ")
    assert "'B*08:01'" in msg and "one order" in msg


def test_negative_frequency(write):
    p = write("neg.csv", "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,-0.2\n")
    msg = error_of(FrequencyError, load_table, p)
    assert msg == f"{p} line 3: frequency -0.2 in column 'JAPI' is negative; frequencies must lie in [0, 1]"


@pytest.mark.parametrize("value,what", [("nan", "not finite"), ("inf", "not finite"), ("-1e-3", "negative")])
def test_non_finite_or_negative_frequency(write, value, what):
    p = write("bad.csv", f"A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,{value}\n")
    msg = error_of(FrequencyError, load_table, p)
    assert msg.startswith(f"{p} line 3: frequency ")
    assert what in msg and "[0, 1]" in msg


def test_non_numeric_frequency(write):
    p = write("nn.csv", "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,abc\n")
    msg = error_of(FrequencyError, load_table, p)
    assert msg == (
        f"{p} line 3: frequency in column 'JAPI' is non-numeric ('abc'); "
        "every frequency must be a number between 0 and 1"
    )


def test_missing_frequency(write):
    p = write("miss.csv", "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,\n")
    msg = error_of(FrequencyError, load_table, p)
    assert msg == (
        f"{p} line 3: frequency in column 'JAPI' is missing; every frequency must be a number between 0 and 1"
    )


def test_missing_frequency_in_parquet(tmp_path):
    p = tmp_path / "m.parquet"
    pl.DataFrame({"A": ["A*01:01", "A*02:01"], "JAPI": [0.3, None]}).write_parquet(p)
    msg = error_of(FrequencyError, load_table, p)
    assert msg.startswith(f"{p} line 3: ") and "missing" in msg


@pytest.mark.parametrize(
    "text,problem",
    [
        ("A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01,1,-0.2\n", "negative"),
        ("A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01,1,abc\n", "non-numeric"),
        ("A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01,1,\n", "missing"),
    ],
)
def test_frequency_error_names_the_column_of_the_file(write, text, problem):
    """In an NMDP file the frequency column is 'Freq'; naming a column the file does not have
    (the population label taken from the file name) sends the reader looking for it."""
    p = write("freqs.JAPI.csv", NMDP_HEADER + text)
    msg = error_of(FrequencyError, load_table, p)
    assert msg.startswith(f"{p} line 3: ")
    assert problem in msg
    assert "column 'Freq'" in msg, msg


def test_duplicate_haplotype(write):
    p = write("dup.csv", "A,B,JAPI\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,0.1\nA*01:01,B*08:01,0.2\n")
    msg = error_of(DuplicateHaplotypeError, load_table, p)
    assert msg == (
        f"{p}: haplotype A*01:01~B*08:01 is listed twice for population 'JAPI' (lines 2 and 4); "
        "merge the rows (sum their frequencies) or remove one"
    )


def test_duplicate_haplotype_after_normalisation_in_long_format(write):
    # HLA-A*01:01g and A*01:01 are the same allele once normalised.
    p = write(
        "n07.csv",
        "EUR,HLA-A*01:01g~HLA-B*08:01,0.3,1\nAFA,HLA-A*01:01~HLA-B*08:01,0.1,1\nEUR,HLA-A*01:01~HLA-B*08:01g,0.2,2\n",
    )
    msg = error_of(DuplicateHaplotypeError, load_table, p)
    assert msg.startswith(f"{p}: haplotype A*01:01~B*08:01 is listed twice for population 'EUR' (lines 1 and 3)")


def test_unknown_locus_in_select(write):
    t = load_table(write("hand.csv", HAND_TABLE))
    msg = error_of(UnknownLocusError, t.select, ["A", "DPB1"])
    assert msg == f"locus 'DPB1' is not in table {t.source} (its loci: A, B, DRB1); choose --loci among these"
    error_of(UnknownLocusError, load_table, t.source, loci=["XYZ"])


def test_unknown_gene_in_haplotype(write):
    p = write("g.csv", NMDP_HEADER + "A*01:01~ZZZ1*01:01,1,0.3\n")
    # Either class is defensible (the name is well-formed but its gene is unknown); the message
    # must name file, line, the allele and the loci hlamatch knows.
    with pytest.raises((AlleleNameError, UnknownLocusError)) as info:
        load_table(p)
    msg = str(info.value)
    assert "np.str_" not in msg, msg
    assert msg.startswith(f"{p} line 2: ")
    assert "'ZZZ1*01:01'" in msg and "known: A, C, B, DRB345, DRB1, DQA1, DQB1, DPA1, DPB1" in msg


def test_unknown_locus_column_in_wide_table(write):
    """A wide column named after an unknown gene is not silently taken for a population:
    the error must say the column is not a known locus, not that its 'frequency' is non-numeric."""
    p = write("w.csv", "A,DPB9,JAPI\nA*01:01,DPB9*01:01,0.3\n")
    with pytest.raises(HlamatchError) as info:
        load_table(p)
    msg = str(info.value)
    assert isinstance(info.value, (UnknownLocusError, TableSchemaError)), (type(info.value).__name__, msg)
    assert str(p) in msg and "'DPB9'" in msg and "locus" in msg


def test_empty_table_header_only(write):
    p = write("h.csv", NMDP_HEADER)
    msg = error_of(EmptyTableError, load_table, p)
    assert str(p) in msg and "no haplotype rows" in msg
    p = write("w.csv", "A,B,JAPI\n")
    assert "no haplotype rows" in error_of(EmptyTableError, load_table, p)


@pytest.mark.parametrize("text", ["", "\n\n  \n"], ids=["empty", "blank-lines"])
def test_empty_file(write, text):
    p = write("e.csv", text)
    msg = error_of(EmptyTableError, load_table, p)
    assert msg == f"table file {p} is empty: expected a header or haplotype rows"


def test_empty_gzip(tmp_path):
    p = tmp_path / "E.freqs.gz"
    p.write_bytes(gzip.compress(b""))
    error_of(EmptyTableError, load_table, p)


def test_rows_with_different_numbers_of_loci(write):
    p = write("r.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01~DRB1*03:01,1,0.2\n")
    msg = error_of(TableSchemaError, load_table, p)
    assert msg == (
        f"{p} line 3: haplotype 'A*02:01~B*08:01~DRB1*03:01' has 3 loci, the first row has 2; "
        "every row must list the same loci"
    )


def test_population_with_all_zero_frequencies(write):
    p = write("z.csv", "A,B,P1,P2\nA*01:01,B*08:01,0.5,0\nA*02:01,B*08:01,0.5,0\n")
    msg = error_of(EmptyTableError, load_table, p)
    assert msg == f"population 'P2' of {p} has no haplotype with positive frequency"


def test_nonexistent_file(tmp_path):
    p = tmp_path / "nothere.csv"
    msg = error_of(TableFormatError, load_table, p)
    assert msg == f"table file {str(p)!r} does not exist or is not a file"
    # A folder is not a table either.
    assert "is not a file" in error_of(TableFormatError, load_table, tmp_path)


def test_unreadable_format(write):
    p = write("g.txt", "hello world\nfoo\n")
    msg = error_of(TableFormatError, load_table, p)
    assert msg.startswith(f"cannot tell the format of {p}: its first line is 'hello world'")
    # The hint must name an option that chooses the *table* format: in the CLI, --format is the
    # output format (text/json/csv); the table format is --table-format (format= in load_table).
    assert "--table-format" in msg or "format=" in msg, msg


@pytest.mark.parametrize(
    "name,content",
    [
        ("bin.csv", b"\x00\xff\xfe" * 10),
        ("bad.parquet", b"not parquet at all"),
        ("bad.hfx", b"not a zip file"),
        ("bad.freqs.gz", b"\x1f\x8bjunkjunk"),
    ],
)
def test_unreadable_files_are_table_format_errors(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    msg = error_of(TableFormatError, load_table, p)
    assert str(p) in msg


def test_hfx_bundle_with_two_csvs(tmp_path):
    p = tmp_path / "two.hfx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.3\n")
        z.writestr("b.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.3\n")
    msg = error_of(TableFormatError, load_table, p)
    assert str(p) in msg and "exactly one frequency CSV" in msg


def test_wrong_explicit_format(write):
    p = write("w.csv", "A,B,P1\nA*01:01,B*08:01,0.3\n")
    assert "Haplo" in error_of(TableSchemaError, load_table, p, format="nmdp")
    error_of(TableFormatError, load_table, p, format="hfx")
    msg = error_of(OptionError, load_table, p, format="xlsx")
    assert "'xlsx'" in msg and "wide" in msg


def test_missing_columns(write):
    msg = error_of(TableSchemaError, load_table, write("n.csv", "A,B\nA*01:01,B*08:01\n"))
    assert "no frequency column" in msg
    msg = error_of(TableSchemaError, load_table, write("d.csv", "A,a,JAPI\nA*01:01,A*01:01,0.1\n"))
    assert "'A'" in msg and "two columns" in msg


def test_mixed_antigen_and_molecular(write):
    p = write("mix.csv", "A,B,JAPI\nA24,B*52:01,0.1\n")
    msg = error_of(TableSchemaError, load_table, p)
    assert str(p) in msg and "antigen" in msg


def test_population_lookup_errors(write):
    t = load_table(write("w.csv", "A,B,P1,P2\nA*01:01,B*08:01,0.3,0.1\n"))
    msg = error_of(OptionError, t.listed_mass)
    assert "P1, P2" in msg and "--population" in msg
    msg = error_of(OptionError, t.unlisted_mass, "P3")
    assert msg == f"population 'P3' is not in table {t.source} (it has P1, P2)"


def test_every_error_is_a_hlamatch_error():
    from hlamatch import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if name != "HlamatchWarning":
            assert issubclass(cls, HlamatchError), name
    assert issubclass(errors.HlamatchWarning, UserWarning)


# ============================================================================ hypothesis round trip

_LOCI = ["A", "C", "B", "DRB1", "DQB1", "DPB1"]


@st.composite
def random_tables(draw):
    loci = draw(st.permutations(_LOCI).map(list))[: draw(st.integers(1, 4))]
    allele = {
        locus: st.tuples(st.integers(1, 120), st.integers(1, 400)).map(lambda t, l=locus: f"{l}*{t[0]:02d}:{t[1]:02d}")
        for locus in loci
    }
    haps = draw(st.lists(st.tuples(*(allele[l] for l in loci)), min_size=1, max_size=25, unique=True))
    n = len(haps)
    n_pops = draw(st.integers(1, 3))
    pops = [f"POP{k}" for k in range(n_pops)]
    freqs = {}
    for k, pop in enumerate(pops):
        weights = draw(st.lists(st.integers(0 if k else 1, 10**6), min_size=n, max_size=n))
        if sum(weights) == 0:
            weights[0] = 1
        scale = draw(st.sampled_from([1e6, 3e6, 7.5e7, 1e9]))
        freqs[pop] = [w / (n * scale) for w in weights]  # each population sums to at most 1
    return loci, haps, pops, freqs


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_wide_csv_and_parquet_round_trip(spec):
    loci, haps, pops, freqs = spec
    data = {locus: [h[i] for h in haps] for i, locus in enumerate(loci)} | freqs
    frame = pl.DataFrame(data)
    want = {pop: {"~".join(h): f for h, f in zip(haps, freqs[pop]) if f > 0} for pop in pops}
    with tempfile.TemporaryDirectory() as d:
        csv_path = Path(d) / "table.csv"
        pq_path = Path(d) / "table.parquet"
        frame.write_csv(csv_path)
        frame.write_parquet(pq_path)
        for path in (csv_path, pq_path):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                t = load_table(path)
            assert t.loci == tuple(loci)
            assert t.populations == tuple(pops)
            assert t.resolution == "2-field"
            assert t.n_haplotypes == len(haps)
            for pop in pops:
                assert as_dict(t, pop) == want[pop], path.suffix
                assert t.listed_mass(pop) == pytest.approx(math.fsum(freqs[pop]), abs=1e-15)


# ============================================================================ bundled tables


def test_bundled_tables():
    names = hlamatch.available_tables()
    assert "japanese" in names and "korean" in names
    # Published listed masses of the top-100 lists (shared/reference/top-haplotypes-japanese-korean.md).
    published = {"japanese": ("JAPI", 0.48608), "korean": ("KORI", 0.45365)}
    for name, (pop, listed) in published.items():
        t = hlamatch.bundled_table(name)
        assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
        assert t.populations == (pop,)
        assert t.resolution == "2-field"
        assert t.source == f"bundled:{name}"
        assert t.n_haplotypes == 100
        assert t.listed_mass() == pytest.approx(listed, abs=1e-4)
        assert t.unlisted_mass() == pytest.approx(1 - listed, abs=1e-4)
        assert t.scaled_by == (1.0,)


def test_bundled_default_and_unknown():
    from hlamatch.io.bundled import default_table, table_info

    assert default_table() == "japanese"
    assert hlamatch.bundled_table().populations == ("JAPI",)
    info = table_info("korean")
    assert info["population"] == "KORI" and info["citation"]
    msg = error_of(OptionError, hlamatch.bundled_table, "martian")
    assert "'martian'" in msg and "japanese" in msg and "korean" in msg


def test_bundled_top_haplotypes():
    t = hlamatch.bundled_table("japanese")
    assert t.top_haplotypes(1) == ["A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01"]
    assert as_dict(t)["A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01"] == pytest.approx(0.079207)
    assert hlamatch.bundled_table("korean").top_haplotypes(1) == ["A*33:03~C*14:03~B*44:03~DRB1*13:02~DQB1*06:04"]


# ============================================================================ real data

HLAMATCHIT_POPS = ["JAPI", "KORI", "VIET", "FILII", "CARIBI", "AMIND", "AISC", "HAWI", "SCAMB", "ALANAM"]
NINE_LOCI = ("A", "C", "B", "DRB345", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1")


@pytest.mark.real_data
@pytest.mark.parametrize("pop", HLAMATCHIT_POPS)
def test_real_hlamatchit_files_load(pop):
    # These files sum to 1 up to float rounding (~1e-13): loading them must not warn (any
    # warning is an error under pytest's filterwarnings = error).
    t = load_table(hlamatchit(pop))
    assert t.loci == NINE_LOCI
    assert t.populations == (pop,)
    assert t.resolution == "2-field"
    assert t.listed_mass() == pytest.approx(1.0, abs=1e-9)
    assert t.unlisted_mass() == 0.0


@pytest.mark.real_data
def test_real_japi_sums_to_one_and_projects():
    t = load_table(hlamatchit("JAPI"))
    assert t.n_haplotypes == 10947
    assert t.listed_mass() == pytest.approx(1.0, abs=1e-9)
    five = t.select(["A", "C", "B", "DRB1", "DQB1"])
    assert five.n_haplotypes == 6043  # PROVENANCE.md: distinct A~C~B~DRB1~DQB1
    assert t.select(["A", "B", "DRB1"]).n_haplotypes == 4334
    top = five.top_haplotypes(1)[0]
    assert top == "A*24:02~C*12:02~B*52:01~DRB1*15:02~DQB1*06:01"
    assert as_dict(five)[top] == pytest.approx(0.0792, abs=5e-5)
    # top-100 cumulative mass 0.486 (PROVENANCE.md), the bundled table's listed mass.
    rows = five.population_rows()[:100]
    assert float(five.freqs[rows, 0].sum()) == pytest.approx(0.486, abs=5e-4)


NMDP2007_FILE = "raw/ImmunogeneticDataTools/std/NMDP_2007_FiveLocus_Freqs.csv"


@pytest.mark.real_data
def test_real_nmdp2007_five_locus():
    p = shared_path(NMDP2007_FILE)
    with pytest.warns(HlamatchWarning) as rec:
        t = load_table(p)
        t.describe()  # uses every population: the warnings of AFA and HIS are shown
    messages = sorted(str(w.message) for w in rec)
    assert len(messages) == 2, messages
    assert "population 'AFA'" in messages[0] and "sum to 1.00389" in messages[0] and "scaled down by" in messages[0]
    assert "population 'HIS'" in messages[1] and "sum to 1.00394" in messages[1] and "scaled down by" in messages[1]
    assert set(t.populations) == {"EUR", "AFA", "API", "HIS"}
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    counts = {p: int((t.freqs[:, i] > 0).sum()) for i, p in enumerate(t.populations)}
    assert counts == {"EUR": 3380, "AFA": 2012, "HIS": 1821, "API": 1629}
    assert t.listed_mass("EUR") == pytest.approx(0.99669, abs=1e-9)
    assert t.unlisted_mass("EUR") == pytest.approx(0.00331, abs=1e-9)
    for pop in ("AFA", "HIS"):
        assert t.listed_mass(pop) == pytest.approx(1.0, abs=1e-12)
        assert t.unlisted_mass(pop) == 0.0
        assert t.scaled_by[t.population_index(pop)] < 1
    assert t.scaled_by[t.population_index("EUR")] == 1.0
    assert all("HLA-" not in a and not a.endswith("g") for names in t.alleles for a in names)


@pytest.mark.real_data
def test_real_grimm_cau():
    t = load_table(shared_path("raw/py-graph-imputation/CAU.freqs.gz"))
    assert t.populations == ("CAU",)
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    assert t.n_haplotypes == 3380
    assert t.unlisted_mass() == pytest.approx(0.00331, abs=1e-9)


@pytest.mark.real_data
def test_real_grimm_cau_is_nmdp2007_eur():
    grimm = load_table(shared_path("raw/py-graph-imputation/CAU.freqs.gz"))
    n07 = load_table(shared_path(NMDP2007_FILE))  # no warning: only EUR (not scaled) is used
    eur = as_dict(n07, "EUR")
    cau = as_dict(grimm)
    assert set(eur) == set(cau)
    assert max(abs(eur[k] - cau[k]) for k in eur) < 1e-12
    # Selecting only EUR at load gives the same, without any warning.
    assert as_dict(load_table(shared_path(NMDP2007_FILE), population="EUR")) == eur


@pytest.mark.real_data
def test_real_hfx():
    p = shared_path("raw/phycus/HEGL_AFA.hfx")
    with pytest.warns(HlamatchWarning, match=r"population 'AFA'.*sum to 1\.00389"):
        t = load_table(p)
        t.population_index("AFA")
    assert t.populations == ("AFA",)
    assert t.loci == ("A", "C", "B", "DRB1", "DQB1")
    assert t.n_haplotypes == 2013
    assert t.listed_mass() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.real_data
def test_real_antigen_parquet():
    t = load_table(shared_path("benchmark/us_nmdp2011_antigen_5locus.parquet"))
    assert t.loci == ("A", "C", "B", "DR", "DQ")
    assert t.resolution == "antigen"
    assert t.populations == ("CAU", "AFA", "HIS", "API")
    assert t.n_haplotypes == 146246
    counts = {p: int((t.freqs[:, i] > 0).sum()) for i, p in enumerate(t.populations)}
    assert counts == {"CAU": 80029, "AFA": 56902, "HIS": 58407, "API": 45928}
    for pop in t.populations:
        assert t.listed_mass(pop) == pytest.approx(1.0, abs=1e-4)
    assert t.top_haplotypes(1, "CAU")[0].startswith("A1~Cw7~B8~DR")
    assert all(a.startswith("Cw") for a in t.alleles[1])


# ============================================================================ PyPop haplotype TSV

PYPOP = (
    "labcode\tmethod\tpopname\tloci\thaplotype\thaplotype.freq\thaplotype.count\n"
    "L\t12th Workshop SSOP\tPopA\tA:C:B\t02:10~01:02~13:01\t0.12500\t2.0\t\n"
    "L\t12th Workshop SSOP\tPopA\tA:C:B\t25:01~03:07~13:01\t0.06250\t1.0\t\n"
    "L\t12th Workshop SSOP\tPopB\tA:C:B\t25:01~03:07~13:01\t0.50000\t8.0\t\n"
)


def test_pypop_haplotype_tsv_reads_populations_and_prefixes_alleles(write):
    t = load_table(write("3-locus-haplo.tsv", PYPOP))
    assert t.loci == ("A", "C", "B")
    assert t.populations == ("PopA", "PopB")
    assert t.top_haplotypes(1, "PopA") == ["A*02:10~C*01:02~B*13:01"]
    assert t.listed_mass("PopA") == pytest.approx(0.1875)
    assert t.unlisted_mass("PopB") == pytest.approx(0.5)
    assert t.freqs[:, 1].tolist().count(0.0) == 1  # PopB lacks the first haplotype


def test_pypop_with_two_locus_sets_is_rejected(write):
    text = PYPOP + "L\tm\tPopA\tA:B:DRB1\t02:10~13:01~15:01\t0.1\t1.0\t\n"
    p = write("mixed-haplo.tsv", text)
    with pytest.raises(TableSchemaError, match=r"several locus sets \(A:C:B, A:B:DRB1\)"):
        load_table(p)


def test_unique_rows_is_numpy_unique_by_rows():
    """The int64-key grouping gives np.unique(axis=0)'s rows, order and inverse, including the
    fallbacks (codes past their radix, too many combinations for one key)."""
    import numpy as np

    from hlamatch.table.rows import unique_rows

    rng = np.random.default_rng(4)
    for n, sizes in ((0, [3, 4]), (1, [1]), (50, [3, 4, 2]), (500, [7, 1, 9, 5]), (40, [2**40, 2**40])):
        codes = np.stack([rng.integers(0, min(s, 50), n) for s in sizes], axis=1).astype(np.int32)
        for radix in (sizes, [1] * len(sizes)):  # the second: codes past the radix, NumPy's way
            uniq, inverse = unique_rows(codes, radix)
            want, want_inv = np.unique(codes, axis=0, return_inverse=True)
            assert np.array_equal(uniq, want) and np.array_equal(inverse, want_inv.reshape(-1))


@pytest.mark.parametrize("path", ["numpy", "polars"])
def test_frequency_order_is_decreasing_score_then_codes(path, monkeypatch):
    import numpy as np

    from hlamatch.table import rows as tables

    monkeypatch.setattr(tables, "POLARS_SORT_ROWS", 0 if path == "polars" else 10**12)
    rng = np.random.default_rng(9)
    codes = rng.integers(0, 6, size=(400, 3)).astype(np.int32)
    score = rng.integers(1, 5, 400) / 7.0  # many ties
    got = tables.frequency_order(codes, [6, 6, 6], score)
    want = sorted(range(400), key=lambda i: (-score[i], tuple(codes[i])))
    assert got.tolist() == want
    assert tables.frequency_order(codes, [2**40, 2**40, 2**40], score).tolist() == want  # no single key
