"""The WMDA nomenclature (hlamatch.hla.nomenclature): serology, broads, G/P groups, name checks, MAC codes.

Expected values are hand-checked against the raw IPD-IMGT/HLA 3.58.0 files: the comment next to
each case quotes the line it comes from (found with grep), never hlamatch's own output.  The
official files are read in place from ``../shared/data/raw/IMGTHLA`` (their licence asks that they
are not mirrored, so they are never copied into the project); tests that need them skip with a
clear reason when they are absent.  Malformed-file and MAC tests write their own tiny synthetic
files into ``tmp_path``.

Every test starts and ends with no nomenclature and no MAC file in use and without
``HLAMATCH_NOMENCLATURE``, so neither the machine's environment nor another test leaks in.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA
from naive import naive_coverage

import hlamatch
from hlamatch.api.match import match_patients
from hlamatch.cli import cli
from hlamatch.errors import (
    AlleleNameError,
    HlamatchWarning,
    LineError,
    OptionError,
    TableSchemaError,
    UnknownAlleleError,
)
from hlamatch.hla import nomenclature
from hlamatch.hla.alleles import at_resolution, is_null, mac_alleles, parse_allele
from hlamatch.hla.nomenclature import (
    ENV,
    Nomenclature,
    NomenclatureError,
    current_nomenclature,
    read_mac_file,
    use_mac_file,
    use_nomenclature,
)
from hlamatch.io.lines import read_lines_file
from hlamatch.io.load import load_table
from hlamatch.results.matching import ERROR

IMGT = SHARED_DATA / "raw" / "IMGTHLA"
IMGT_SKIP = (
    f"IPD-IMGT/HLA nomenclature files not found in {IMGT} (their licence asks that they are not "
    "mirrored; CI provides them next to the repository, set HLAMATCH_SHARED to point elsewhere)"
)
NMDP_ANTIGEN = SHARED_DATA / "benchmark" / "us_nmdp2011_antigen_5locus.parquet"
#: Tests that read the official files (or the NMDP table) in place.
real_data = pytest.mark.real_data
RELEASE = "IPD-IMGT/HLA 3.58.0"
HOW = (
    "point hlamatch at the IPD-IMGT/HLA nomenclature files: --nomenclature DIR (a folder holding "
    "rel_dna_ser.txt, rel_ser_ser.txt, hla_nom_g.txt, hla_nom_p.txt and Allelelist.txt, as "
    "downloaded from IPD-IMGT/HLA or its IMGTHLA repository) or set HLAMATCH_NOMENCLATURE to it"
)
CIRA = "A*24:02~B*52:01~DRB1*15:02"
CIRA_ANTIGEN = "A24~B52~DR15"  # A*;24:02:01:01;24;;;  B*;52:01:01:01;52;;;  DRB1*;15:02:01:02;15;;;
ABDR = ["A", "B", "DRB1"]


def imgt_dir() -> Path:
    """The official files' folder; skips the calling test when it is absent."""
    if not (IMGT / "rel_dna_ser.txt").is_file():
        pytest.skip(IMGT_SKIP)
    return IMGT


def reset() -> None:
    use_nomenclature(None)
    use_mac_file(None)


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    """No nomenclature, no MAC file and no HLAMATCH_NOMENCLATURE, before and after every test."""
    monkeypatch.delenv(ENV, raising=False)
    reset()
    yield
    reset()


@pytest.fixture
def nom(clean_state, monkeypatch):
    """The official 3.58.0 files in use (``use_nomenclature(path)``); reset afterwards."""
    monkeypatch.delenv(ENV, raising=False)
    used = use_nomenclature(imgt_dir())
    yield used
    use_nomenclature(None)
    use_mac_file(None)


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """Parsed synthetic files are cached in this test's own folder."""
    monkeypatch.setenv("HLAMATCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


#: A small file in the NMDP ``numer.v3.txt`` format (codes made up for the tests).
MAC_TEXT = (
    '"LAST UPDATED: 09/30/20"\n'
    "CODE\tSUBTYPE\n"
    "\n"
    "AB\t01/02\n"  # A*24:AB = A*24:01/A*24:02 (A*24:01 is no allele of 3.58.0)
    "AC\t02/04\n"  # A*24:AC = A*24:02/A*24:04: both A24
    "AD\t02/03\n"  # A*24:AD = A*24:02/A*24:03: A24 and A2403, both A9
    "*AE\t01/02/03\n"  # a leading '*' marks a changed code; it is ignored
    "XY\t01:01/02:01\n"  # whole names: A*xx:XY = A*01:01/A*02:01
)


@pytest.fixture
def mac_file(tmp_path):
    p = tmp_path / "numer.v3.txt"
    p.write_text(MAC_TEXT)
    return p


# ============================================================================ allele → antigen (split level)

ANTIGEN_CASES = [
    # --- Unambiguous
    ("A*24:02", "A24"),  # A*;24:02:01:01;24;;;
    ("A*01:01", "A1"),  # A*;01:01:01:01;1;;;
    ("A*02:01", "A2"),  # A*;02:01:01:01;2;;;
    ("A*02:07", "A2"),  # A*;02:07:01:01;2;;;
    ("A*33:03", "A33"),  # A*;33:03:01:01;33;;;
    ("B*52:01", "B52"),  # B*;52:01:01:01;52;;;
    ("B*44:03", "B44"),  # B*;44:03:01:01;44;;;
    ("B*15:01", "B62"),  # B*;15:01:01:01;62;;;
    ("B*15:02", "B75"),  # B*;15:02:01:01;75;;;
    ("B*40:02", "B61"),  # B*;40:02:01:01;61;;;
    ("B*40:05", "B4005"),  # B*;40:05:01:01;4005;;;40  (Unambiguous before Expert)
    ("DRB1*15:02", "DR15"),  # DRB1*;15:02:01:02;15;;;  (the first 15:02 allele in the file)
    ("DRB1*03:01", "DR17"),  # DRB1*;03:01:01:01;17;;;
    ("DRB1*04:05", "DR4"),  # DRB1*;04:05:01:01;4;;;
    ("DRB1*09:01", "DR9"),  # DRB1*;09:01:02:01;9;;;
    ("DQB1*06:01", "DQ6"),  # DQB1*;06:01:01:01;6;;;
    ("DQB1*03:01", "DQ7"),  # DQB1*;03:01:01:01;7;;;
    ("DQB1*03:02", "DQ8"),  # DQB1*;03:02:01:01;8;;;
    ("DQB1*03:03", "DQ9"),  # DQB1*;03:03:02:01;9;;;
    ("DQB1*02:01", "DQ2"),  # DQB1*;02:01:01:01;2;;;
    ("C*07:01", "Cw7"),  # C*;07:01:01:01;7;;;
    ("C*07:02", "Cw7"),  # C*;07:02:01:01;7;;;
    ("C*03:03", "Cw9"),  # C*;03:03:01:01;9;;;
    ("C*03:04", "Cw10"),  # C*;03:04:01:01;10;;;
    ("C*01:02", "Cw1"),  # C*;01:02:01:01;1;;;
    # --- associated antigens stay distinct
    ("A*24:03", "A2403"),  # A*;24:03:01:01;2403;;;
    ("A*02:03", "A203"),  # A*;02:03:01:01;203;;;
    ("A*02:10", "A210"),  # A*;02:10;210;;;
    ("B*39:01", "B3901"),  # B*;39:01:01:01;3901;;;
    ("B*39:02", "B3902"),  # B*;39:02:01:01;3902;;;
    ("B*51:02", "B5102"),  # B*;51:02:01:01;5102;;;
    ("B*07:03", "B703"),  # B*;07:03;703;;;
    ("B*27:08", "B2708"),  # B*;27:08;2708;;;7
    ("DRB1*14:03", "DR1403"),  # DRB1*;14:03:01;1403;;;
    ("DRB1*14:04", "DR1404"),  # DRB1*;14:04:01:01;1404;;;
    ("DRB1*01:03", "DR103"),  # DRB1*;01:03:01:01;103;;;
    # --- '?' with nothing else: locus prefix and first field
    ("C*12:02", "Cw12"),  # C*;12:02:01;?;;;
    ("C*12:03", "Cw12"),  # C*;12:03:01:01;?;;;
    # --- '?' with an Expert antigen: the Expert antigen
    ("C*14:02", "Cw1"),  # C*;14:02:01:01;?;;;1
    ("C*12:14", "Cw7"),  # C*;12:14:01;?;;;7
    # --- Possible naming one antigen
    ("A*01:343", "A1"),  # A*;01:343;;1;;
    ("B*14:53", "B14"),  # B*;14:53;;14;;
    ("C*07:842", "Cw7"),  # C*;07:842;;7;;
    ("B*51:42", "B44"),  # B*;51:42;;44;;51  (one Possible before Expert)
    # --- Possible naming two, no Assumed or Expert: the first Possible
    ("A*02:65", "A2"),  # A*;02:65;;2/19;;
    ("A*24:18", "A24"),  # A*;24:18;;24/3;;
    ("B*07:31", "B7"),  # B*;07:31:01;;7/42;;
    ("B*35:76", "B35"),  # B*;35:76;;35/22;;
    ("DRB1*11:16", "DR11"),  # DRB1*;11:16:01:01;;11/13;;
    # --- Possible naming two and an Expert: the Expert
    ("B*13:04", "B13"),  # B*;13:04;;15/21;;13
    ("B*15:23", "B70"),  # B*;15:23;;15/5;;70
    # --- Assumed only / Assumed before Expert / multi-valued Assumed (its first)
    ("A*02:650", "A2"),  # A*;02:650;;;2;
    ("A*02:55", "A2"),  # A*;02:55;;;2;28
    ("C*04:03", "Cw4"),  # C*;04:03:01:01;;;4;6
    ("DRB1*13:21", "DR13"),  # DRB1*;13:21:01:01;;;13;11
    ("B*15:49", "B15"),  # B*;15:49;;;15/70;
    # --- null: serology 0
    ("A*01:11N", "A-null"),  # A*;01:11N;0;;;
    ("A*24:09N", "A-null"),  # A*;24:09N;0;;;
    ("C*01:37N", "Cw-null"),  # C*;01:37N;0;;;
    ("DRB1*01:33N", "DR-null"),  # DRB1*;01:33N;0;;;
    ("DQB1*02:18N", "DQ-null"),  # DQB1*;02:18N;0;;;
    ("B*44:02", "B44"),  # B*;44:02:01:01;44;;;
    ("B*44:02S", "B-null"),  # B*;44:02:01:02S;0;;;44  (same suffix only; Unambiguous 0 wins)
    # In a multi-valued field 0 (null) is not an antigen: L and Q alleles take the antigen named.
    ("A*24:02:01:02L", "A24"),  # A*;24:02:01:02L;;0/24;;
    ("A*01:147Q", "A1"),  # A*;01:147Q;;;0/1;
    # --- three and four fields
    ("A*24:02:01", "A24"),  # A*;24:02:01:01;24;;;
    ("A*24:02:01:01", "A24"),  # A*;24:02:01:01;24;;;
    ("B*39:01:01:01", "B3901"),  # B*;39:01:01:01;3901;;;
    ("DRB1*14:03:01", "DR1403"),  # DRB1*;14:03:01;1403;;;
    ("C*12:02:02:01", "Cw12"),  # C*;12:02:02:01;?;;;
    ("B*40:05:01:01", "B4005"),  # B*;40:05:01:01;4005;;;40
]


@real_data
@pytest.mark.parametrize("name, label", ANTIGEN_CASES, ids=[c[0] for c in ANTIGEN_CASES])
def test_allele_to_antigen(nom, name, label):
    assert at_resolution(name, "antigen") == (label, None)
    assert nom.antigen(name) == label


@real_data
@pytest.mark.parametrize(
    "name, why",
    [
        # one field does not determine an antigen
        ("B*15", "B*15: one-field names do not determine a serologic antigen; type at two fields"),
        ("A*24", "A*24: one-field names do not determine a serologic antigen; type at two fields"),
        # loci without serology
        ("DPB1*04:01", "DPB1*04:01: locus DPB1 has no serologic antigens (antigen-level loci: A, C, B, DRB1, DQB1)"),
        ("DQA1*01:02", "DQA1*01:02: locus DQA1 has no serologic antigens (antigen-level loci: A, C, B, DRB1, DQB1)"),
        ("DRB4*01:03", "DRB4*01:03: locus DRB345 has no serologic antigens (antigen-level loci: A, C, B, DRB1, DQB1)"),
        ("DRBX*NNNN", "DRBX*NNNN: locus DRB345 has no serologic antigens (antigen-level loci: A, C, B, DRB1, DQB1)"),
        # not in rel_dna_ser.txt
        ("A*99:99", f"A*99:99 has no serologic equivalent in {RELEASE} (rel_dna_ser.txt)"),
    ],
)
def test_names_without_antigen_are_refused(nom, name, why):
    assert at_resolution(name, "antigen") == (None, why)
    assert at_resolution(name, "broad") == (None, why)


def test_null_label():
    assert nomenclature.is_null_label("A-null") and nomenclature.is_null_label("DR-null")
    assert not nomenclature.is_null_label("A24")
    assert is_null("A-null") and is_null("Cw-null")
    assert parse_allele("A-null").name == "A-null" and parse_allele("Cw-null").locus == "C"


@real_data
def test_null_at_antigen_level_is_never_a_match_nor_a_mismatch(nom):
    # A*;24:09N;0;;; → A-null, not A24: a patient A*24:09N+A*02:01 lacks A24 (HvG mismatch), and
    # a patient A*24:02+A*24:09N presents A24 only: no GvH mismatch from the null allele.
    def best(typing, direction):
        report = match_patients([typing], [CIRA], resolution="antigen", direction=direction)
        [r], res = report, report.resolution
        assert r.status == "assessed" and res == "antigen"
        return r.lines[0].mismatches

    rest = "^B*52:01+B*52:01^DRB1*15:02+DRB1*15:02"
    assert best("A*24:02+A*24:09N" + rest, "GvH") == 0
    assert best("A*24:02+A*02:01" + rest, "GvH") == 1  # A*;02:01:01:01;2;;; is a real mismatch
    assert best("A*24:09N+A*02:01" + rest, "HvG") == 1  # the null never matches the line's A24
    assert best("A*24:09N+A*24:02" + rest, "HvG") == 0


def test_antigen_labels_need_no_files_at_antigen_level():
    # An antigen table stays at antigen level without the files; any other use needs them.
    assert at_resolution("A24", "antigen") == ("A24", None)
    with pytest.raises(NomenclatureError) as e:
        at_resolution("A24", "broad")
    assert str(e.value) == f"resolution broad needs the WMDA nomenclature files: {HOW}"
    with pytest.raises(NomenclatureError) as e:
        at_resolution("A*24:02", "antigen")
    assert str(e.value) == f"resolution antigen needs the WMDA nomenclature files: {HOW}"


@real_data
@pytest.mark.parametrize(
    "name, resolution, expected",
    [
        ("A24", "2-field", (None, "A24 is an antigen, not at 2-field level")),
        ("A24", "G", (None, "A24: antigen labels cannot be brought to G (an antigen covers many alleles)")),
        ("A24", "P", (None, "A24: antigen labels cannot be brought to P (an antigen covers many alleles)")),
        ("A*24", "2-field", (None, "A*24 is 1-field, coarser than 2-field")),
        ("A*24", "G", (None, "A*24: one-field names do not determine a G group; type at two fields")),
        ("A*24", "P", (None, "A*24: one-field names do not determine a P group; type at two fields")),
        (
            "A*24:02:01G",
            "2-field",
            (None, "A*24:02:01G: G group names can be brought only to antigen or broad level, not 2-field"),
        ),
        (
            "A*24:02:01G",
            "1-field",
            (None, "A*24:02:01G: G group names can be brought only to antigen or broad level, not 1-field"),
        ),
        ("A*24:02P", "G", (None, "A*24:02P: P group names can be brought only to antigen or broad level, not G")),
        ("A*24:02:01G", "P", (None, "A*24:02:01G: G group names can be brought only to antigen or broad level, not P")),
    ],
)
def test_unreachable_resolutions(nom, name, resolution, expected):
    assert at_resolution(name, resolution) == expected


def test_unknown_resolution_and_malformed_group_names():
    with pytest.raises(AlleleNameError) as e:
        at_resolution("A*24:02", "3-field")
    assert str(e.value) == "unknown resolution '3-field'"
    with pytest.raises(AlleleNameError) as e:
        parse_allele("A*24:02:01NG")
    assert str(e.value) == "malformed allele name 'A*24:02:01NG': a G group name has no expression suffix"
    with pytest.raises(AlleleNameError) as e:
        parse_allele("A*24:02NP")
    assert str(e.value) == "malformed allele name 'A*24:02NP': a P group name has no expression suffix"


# ============================================================================ broad antigens (rel_ser_ser.txt)


def read_rel_ser_ser(path: Path) -> list[tuple[str, str, list[str], list[str]]]:
    """(prefix, broad, splits, associated) per serologic line; Dw (cellular) lines left out."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        locus, broad, splits, assoc = line.split(";")[:4]
        if locus == "Dw":
            continue
        out.append((locus, broad, [s for s in splits.split("/") if s], [a for a in assoc.split("/") if a]))
    return out


def expected_broads(path: Path) -> dict[str, str]:
    """Every split and associated antigen of rel_ser_ser.txt → its broad (an associated antigen
    folds into its parent, then the parent into its broad when the parent is itself a split)."""
    rows = read_rel_ser_ser(path)
    split_of = {f"{p}{s}": f"{p}{b}" for p, b, splits, _ in rows for s in splits}
    out = dict(split_of)
    for p, b, _, assoc in rows:
        for a in assoc:
            out[f"{p}{a}"] = split_of.get(f"{p}{b}", f"{p}{b}")
    return out


@real_data
def test_rel_ser_ser_reference_parser_sees_every_line():
    rows = read_rel_ser_ser(imgt_dir() / "rel_ser_ser.txt")
    # Counted by hand in the 3.58.0 file: 21 broads with splits (A 4, B 10, Cw 1, DQ 2, DR 4)
    # holding 53 splits, and 13 associated antigens (A 3, B 7, DR 3).
    assert sum(1 for _, _, splits, _ in rows if splits) == 21
    assert sum(len(splits) for _, _, splits, _ in rows) == 53
    assert sum(len(assoc) for _, _, _, assoc in rows) == 13
    assert {p for p, *_ in rows} == {"A", "B", "Cw", "DQ", "DR"}


@real_data
def test_every_split_and_associated_antigen_of_rel_ser_ser(nom):
    expected = expected_broads(imgt_dir() / "rel_ser_ser.txt")
    assert len(expected) == 53 + 13
    for label, broad in expected.items():
        assert nom.broad(label) == broad, label
        assert at_resolution(label, "broad") == (broad, None), label  # an antigen label as input
        assert nom.known(label), label
    for broad in set(expected.values()):
        assert nom.broad(broad) == broad  # a broad is its own broad


@real_data
@pytest.mark.parametrize(
    "label, broad",
    [
        ("B3901", "B16"),  # B;39;;3901/3902  and  B;16;38/39;
        ("A24", "A9"),  # A;9;23/24;
        ("A2403", "A9"),  # A;24;;2403  and  A;9;23/24;
        ("A203", "A2"),  # A;2;;203/210
        ("DR17", "DR3"),  # DR;3;17/18;
        ("DR1403", "DR6"),  # DR;14;;1403/1404  and  DR;6;13/14;
        ("DR103", "DR1"),  # DR;1;;103
        ("B4005", "B21"),  # B;21;49/50;4005
        ("B5102", "B5"),  # B;51;;5102/5103  and  B;5;51/52;
        ("B2708", "B27"),  # B;27;;2708
        ("Cw10", "Cw3"),  # Cw;3;9/10;
        ("DQ8", "DQ3"),  # DQ;3;7/8/9;
        ("DR18", "DR3"),  # DR;3;17/18;  (Dw;6;18/19; is cellular and ignored)
        ("DR11", "DR5"),  # DR;5;11/12;  (Dw;7;11/17; is ignored)
        ("B70", "B70"),  # B;70;71/72;  a broad stays itself
        ("DR4", "DR4"),  # neither a split nor associated
        ("Cw7", "Cw7"),  # neither a split nor associated
    ],
)
def test_broads_by_hand(nom, label, broad):
    assert nom.broad(label) == broad
    assert at_resolution(label, "broad") == (broad, None)


@real_data
@pytest.mark.parametrize(
    "name, broad",
    [
        ("B*39:01", "B16"),  # B*;39:01:01:01;3901;;;  B;39;;3901/3902  B;16;38/39;
        ("A*24:02", "A9"),  # A*;24:02:01:01;24;;;  A;9;23/24;
        ("A*24:03", "A9"),  # A*;24:03:01:01;2403;;;  A;24;;2403
        ("A*02:03", "A2"),  # A*;02:03:01:01;203;;;  A;2;;203/210
        ("DRB1*03:01", "DR3"),  # DRB1*;03:01:01:01;17;;;  DR;3;17/18;
        ("DRB1*14:03", "DR6"),  # DRB1*;14:03:01;1403;;;  DR;14;;1403/1404  DR;6;13/14;
        ("DRB1*15:02", "DR2"),  # DRB1*;15:02:01:02;15;;;  DR;2;15/16;
        ("DRB1*01:03", "DR1"),  # DRB1*;01:03:01:01;103;;;  DR;1;;103
        ("DRB1*04:05", "DR4"),  # DRB1*;04:05:01:01;4;;;
        ("B*40:05", "B21"),  # B*;40:05:01:01;4005;;;40  B;21;49/50;4005
        ("B*15:01", "B15"),  # B*;15:01:01:01;62;;;  B;15;62/63/75/76/77;
        ("B*51:02", "B5"),  # B*;51:02:01:01;5102;;;  B;51;;5102/5103  B;5;51/52;
        ("B*52:01", "B5"),  # B*;52:01:01:01;52;;;  B;5;51/52;
        ("B*15:23", "B70"),  # B*;15:23;;15/5;;70  B;70;71/72;
        ("C*03:03", "Cw3"),  # C*;03:03:01:01;9;;;  Cw;3;9/10;
        ("C*12:02", "Cw12"),  # C*;12:02:01;?;;;
        ("DQB1*06:01", "DQ1"),  # DQB1*;06:01:01:01;6;;;  DQ;1;5/6;
        ("DQB1*03:01", "DQ3"),  # DQB1*;03:01:01:01;7;;;  DQ;3;7/8/9;
        ("A*24:09N", "A-null"),  # A*;24:09N;0;;;  nulls stay null
        ("A*24:02:01G", "A9"),  # G group → its first allele A*24:02:01:01 → A24 → A9
    ],
)
def test_alleles_to_broad(nom, name, broad):
    assert at_resolution(name, "broad") == (broad, None)


# ============================================================================ G and P groups

GROUP_CASES = [
    # name, G, P
    ("A*24:02", "A*24:02:01G", "A*24:02P"),
    # hla_nom_g: A*;24:02:01:01/24:02:01:02L/...;24:02:01G   hla_nom_p: A*;24:02:01:01/...;24:02P
    ("A*24:02:01:01", "A*24:02:01G", "A*24:02P"),
    ("B*52:01", "B*52:01:01G", "B*52:01P"),
    # hla_nom_g: B*;52:01:01:01/...;52:01:01G   hla_nom_p: B*;52:01:01:01/...;52:01P
    ("DRB1*15:02", "DRB1*15:02:01G", "DRB1*15:02P"),
    # hla_nom_g: DRB1*;15:02:01:02/15:02:01:03/...;15:02:01G   hla_nom_p: ...;15:02P
    ("A*02:140", "A*02:01:01G", "A*02:01P"),
    # the first allele carrying 02:140 is 02:140:01, in the A*;02:01:01:01/...;02:01:01G row;
    # hla_nom_p lists 02:140:01 and 02:140:02 in the A*;02:01:01:01/...;02:01P row
    ("A*02:140:02", "A*02:140:02", "A*02:01P"),
    # hla_nom_g: A*;02:140:02;  (no group: itself)
    ("A*01:06", "A*01:06", "A*01:06"),
    # hla_nom_g: A*;01:06;   hla_nom_p: A*;01:06;   (a two-field name outside any group)
    ("A*01:02:02", "A*01:02:02", "A*01:02P"),
    # hla_nom_g: A*;01:02:02;   hla_nom_p: A*;01:02:01:01/01:02:01:02/01:02:01:03/01:02:02/01:412;01:02P
    ("DRB4*01:03", "DRB4*01:01:01G", "DRB4*01:01P"),
    # hla_nom_g: DRB4*;01:01:01:01/01:01:01:03/.../01:03:01:01/...;01:01:01G
    # hla_nom_p: DRB4*;01:01:01:01/.../01:03:01:01/...;01:01P   (groups exist at loci without serology)
    # nulls stay their own two-field name
    ("A*24:09N", "A*24:09N", "A*24:09N"),
    # hla_nom_g lists 24:09N in the 24:02:01G row; rel_dna_ser: A*;24:09N;0;;;
    ("A*01:01:01:02N", "A*01:01N", "A*01:01N"),
    # hla_nom_g lists 01:01:01:02N in the 01:01:01G row; rel_dna_ser: A*;01:01:01:02N;0;;;
]


@real_data
@pytest.mark.parametrize("name, g, p", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_g_and_p_groups(nom, name, g, p):
    assert at_resolution(name, "G") == (g, None)
    assert at_resolution(name, "P") == (p, None)
    assert at_resolution(g, "G") == (g, None) and at_resolution(p, "P") == (p, None)


@real_data
def test_g_and_p_of_unknown_names(nom):
    assert at_resolution("A*99:99", "G") == (None, f"A*99:99 is not in the G groups of {RELEASE}")
    assert at_resolution("A*99:99", "P") == (None, f"A*99:99 is not in the P groups of {RELEASE}")
    assert at_resolution("A*24", "G") == (None, "A*24: one-field names do not determine a G group; type at two fields")


@real_data
@pytest.mark.parametrize(
    "group, label",
    [
        ("A*24:02:01G", "A24"),  # first allele A*24:02:01:01 → A*;24:02:01:01;24;;;
        ("A*24:02P", "A24"),  # first allele A*24:02:01:01 → A24
        ("A*02:01:01G", "A2"),  # first allele A*02:01:01:01 → A*;02:01:01:01;2;;;
        ("B*39:01P", "B3901"),  # hla_nom_p: B*;39:01:01:01/...;39:01P → B*;39:01:01:01;3901;;;
        ("DRB1*15:02:01G", "DR15"),  # first allele DRB1*15:02:01:02 → DRB1*;15:02:01:02;15;;;
    ],
)
def test_groups_to_antigen(nom, group, label):
    assert at_resolution(group, "antigen") == (label, None)


@real_data
def test_lines_at_g_level(nom):
    report = hlamatch.coverage("japanese", [CIRA], resolution="G")
    assert report[0].lines == ("A*24:02:01G~B*52:01:01G~DRB1*15:02:01G",)
    assert report[0].resolution == "G" and report[0].nomenclature == RELEASE
    two = hlamatch.coverage("japanese", [CIRA])
    # No two A, B or DRB1 names of the bundled table share a G group (checked in hla_nom_g.txt), so
    # G coverage equals two-field coverage.
    assert [r.coverage for r in report] == pytest.approx([r.coverage for r in two], abs=1e-12)


# ============================================================================ validation of names


@real_data
@pytest.mark.parametrize(
    "name, known",
    [
        ("A*24:02", True),  # Allelelist: HLA00050,A*24:02:01:01
        ("A*24:02:01:01", True),  # HLA00050,A*24:02:01:01
        ("A*24", True),  # a one-field prefix of it
        ("DRB4*01:03", True),  # HLA00908,DRB4*01:03:01:01
        ("A*24:02:01:777", False),  # 144 A*24:02:01:xx alleles, none 777
        ("A*99:99", False),  # no A*99: allele at all
        ("A*24:01", False),  # never named
        ("A*24:02:01G", True),  # hla_nom_g: ...;24:02:01G
        ("A*24:99:01G", False),  # hla_nom_g: A*;24:99;  (no 24:99:01G group)
        ("A*24:02P", True),  # hla_nom_p: ...;24:02P
        ("A24", True),
        ("A9", True),
        ("B3901", True),
        ("Cw3", True),
        ("A-null", True),
        ("A6601", False),  # rel_dna_ser only names A66 (A*;66:01:01:01;66;;;26/34)
        ("DRBX*NNNN", True),
    ],
)
def test_known_names(nom, name, known):
    assert nom.known(name) is known


@real_data
def test_unknown_allele_in_a_line(nom):
    with pytest.raises(UnknownAlleleError) as e:
        hlamatch.coverage("japanese", ["A*99:99~B*52:01~DRB1*15:02"])
    assert str(e.value) == (
        f"line A*99:99~B*52:01~DRB1*15:02: allele A*99:99 is not in {RELEASE}; "
        "check the name against the nomenclature files"
    )


@real_data
def test_unknown_allele_in_a_lines_file_names_the_row(nom, write):
    p = write("bank.csv", f"name,haplotype\nok,{CIRA}\nbad,A*99:99~B*52:01~DRB1*15:02\n")
    with pytest.raises(UnknownAlleleError) as e:
        hlamatch.coverage("japanese", read_lines_file(p))
    assert str(e.value) == (
        f"lines file {p} row 3 (line bad): allele A*99:99 is not in {RELEASE}; "
        "check the name against the nomenclature files"
    )


@real_data
def test_unknown_allele_in_a_patient_typing(nom):
    typing = "A*99:99+A*24:02^B*52:01+B*52:01^DRB1*15:02+DRB1*15:02"
    good = "A*24:02+A*24:02^B*52:01+B*52:01^DRB1*15:02+DRB1*15:02"
    results = match_patients([typing, good], [CIRA])
    assert results[0].status == ERROR
    assert results[0].reason == f"typing '{typing}' (patient 1): allele A*99:99 is not in {RELEASE}; check the name"
    assert results[1].status == "assessed" and results[1].best == 0


def test_names_are_not_checked_without_nomenclature(write):
    p = write("t.csv", "A,B,P1\nA*99:99,B*52:01,0.3\n")
    assert load_table(p).alleles[0] == ("A*99:99",)  # no warning (filterwarnings=error)


UNKNOWN_TABLE = (
    "A,B,DRB1,P1\nA*24:02,B*52:01,DRB1*15:02,0.3\nA*99:99,B*52:01,DRB1*15:02,0.2\nA*24:02,B*99:98,DRB1*15:01,0.1\n"
)


@real_data
def test_unknown_alleles_in_a_table_warn_once_with_their_frequency(nom, write):
    p = write("t.csv", UNKNOWN_TABLE)
    what = (
        f"{p}: 2 allele name(s) are not in {RELEASE} (A*99:99, B*99:98); haplotypes carrying them "
        "have total frequency P1 0.3"
    )
    with pytest.warns(HlamatchWarning) as rec:
        t = load_table(p)
    assert [str(w.message) for w in rec] == [f"{what}; they are kept (--strict makes this an error)"]
    assert t.alleles[0] == ("A*24:02", "A*99:99")  # kept
    with pytest.raises(UnknownAlleleError) as e:
        load_table(p, strict=True)
    assert str(e.value) == f"{what}; correct the names, or leave out --strict to keep them with a warning"


@real_data
def test_table_names_are_checked_as_written(nom, write):
    # A*24:02:01:777 is no allele (A*24:02 is): checked before the extra fields are dropped.
    p = write("t.csv", "A,B,P1\nA*24:02:01:777,B*52:01:01:01,0.3\nA*24:02:01:01,B*52:01:01:02,0.2\n")
    with pytest.warns(HlamatchWarning) as rec:
        t = load_table(p)
    assert [str(w.message) for w in rec] == [
        f"{p} names alleles with three or four fields (e.g. A*24:02:01:01); read at 2-field resolution "
        "(extra fields dropped, frequencies of haplotypes that became identical summed)",
        f"{p}: 1 allele name(s) are not in {RELEASE} (A*24:02:01:777); haplotypes carrying them have total "
        "frequency P1 0.3; they are kept (--strict makes this an error)",
    ]
    assert t.alleles == (("A*24:02",), ("B*52:01",)) and t.freqs[:, 0].tolist() == pytest.approx([0.5])


@real_data
def test_unknown_group_name_in_a_table(nom, write):
    p = write("g.csv", "A,B,P1\nA*24:02:01G,B*52:01:01G,0.3\nA*24:99:01G,B*52:01:01G,0.2\n")
    with pytest.warns(HlamatchWarning) as rec:
        t = load_table(p, resolution="antigen")
    assert [str(w.message) for w in rec] == [
        f"{p}: 1 allele name(s) are not in {RELEASE} (A*24:99:01G); haplotypes carrying them have total "
        "frequency P1 0.2; they are kept (--strict makes this an error)",
        f"table {p}: 1 allele name(s) have no antigen equivalent in {RELEASE} (A*24:99:01G; total frequency "
        "P1 0.2); they keep their own names and match only themselves",
    ]
    assert t.alleles == (("A*24:99:01G", "A24"), ("B52",))  # hla_nom_g ...;52:01:01G → B*52:01:01:01 → B52


@real_data
def test_three_or_four_field_names_in_lines_warn(nom):
    long = "A*24:02:01:01~B*52:01:01:01~DRB1*15:02:01:02"
    with pytest.warns(HlamatchWarning) as rec:
        report = hlamatch.coverage("japanese", [long], loci=ABDR, resolution="antigen")
    assert [str(w.message) for w in rec] == [
        "the lines name alleles with three or four fields (A*24:02:01:01, B*52:01:01:01, DRB1*15:02:01:02); "
        "compared at antigen resolution"
    ]
    short = hlamatch.coverage("japanese", [CIRA], loci=ABDR, resolution="antigen")
    assert [(r.lower, r.upper) for r in report] == [(r.lower, r.upper) for r in short]
    assert report[0].lines == (CIRA_ANTIGEN,)


# ============================================================================ table.select at G/P/antigen/broad


@real_data
def test_select_errors(nom, write):
    g = write("g.csv", "A,B,P1\nA*24:02:01G,B*52:01:01G,0.3\n")
    with pytest.raises(OptionError) as e:
        load_table(g, resolution="2-field")
    assert str(e.value) == (
        f"table {g} is at G resolution and cannot give 2-field results: G group names can "
        "be brought only to antigen or broad level, not 2-field (choose --resolution G or a "
        "coarser one)"
    )
    with pytest.raises(OptionError) as e:
        load_table(g, resolution="P")
    assert str(e.value) == (
        f"table {g} is at G resolution and cannot give P results: G group names can be "
        "brought only to antigen or broad level, not P"
    )
    ag = write("ag.csv", "A,B,P1\nA24,B52,0.3\n")
    with pytest.raises(OptionError) as e:
        load_table(ag, resolution="G")
    assert str(e.value) == (
        f"table {ag} is at antigen resolution and cannot give G results: antigen labels "
        "cannot be brought to G (an antigen covers many alleles)"
    )
    one = write("one.csv", "A,B,P1\nA*24,B*52,0.3\n")
    with pytest.raises(OptionError) as e:
        load_table(one, resolution="antigen")
    assert str(e.value) == (
        f"table {one} is at 1-field resolution and cannot give antigen results: one-field "
        "names do not determine a serologic antigen; type at two fields"
    )
    dp = write("dp.csv", "A,DPB1,P1\nA*24:02,DPB1*04:01,0.3\n")
    with pytest.raises(OptionError) as e:
        load_table(dp, resolution="antigen")
    assert str(e.value) == (
        f"table {dp}: DPB1*04:01: locus DPB1 has no serologic antigens (antigen-level loci: "
        "A, C, B, DRB1, DQB1); leave locus DPB1 out with --loci"
    )
    with pytest.raises(OptionError) as e:
        load_table(dp, resolution="bogus")
    assert str(e.value) == "unknown resolution 'bogus': choose among 2-field, 1-field, G, P, antigen, broad"
    mixed = write("gp.csv", "A,B,P1\nA*24:02:01G,B*52:01P,0.3\n")
    with pytest.raises(TableSchemaError) as e:
        load_table(mixed)
    assert str(e.value) == f"{mixed}: mixes G group and P group names; use one kind throughout"


@real_data
def test_select_renames_drb1_and_sums_frequencies(nom, write):
    # A*;24:02:01:01;24;;;  A*;24:04;24;;;  B*;52:01:01:01;52;;;  DRB1*;15:02:01:02;15;;;
    # DQB1*;06:01:01:01;6;;;  rel_ser_ser: A;9;23/24;  B;5;51/52;  DR;2;15/16;  DQ;1;5/6;
    p = write(
        "t.csv",
        "A,B,DRB1,DQB1,P1\nA*24:02,B*52:01,DRB1*15:02,DQB1*06:01,0.3\n"
        "A*24:04,B*52:01,DRB1*15:02,DQB1*06:01,0.2\nA*24:03,B*52:01,DRB1*15:02,DQB1*06:01,0.1\n",
    )
    ag = load_table(p, resolution="antigen")
    assert ag.loci == ("A", "B", "DR", "DQ") and ag.resolution == "antigen"
    assert dict(zip(ag.haplotype_strings(range(ag.n_haplotypes)), ag.freqs[:, 0].tolist())) == pytest.approx(
        {"A24~B52~DR15~DQ6": 0.5, "A2403~B52~DR15~DQ6": 0.1}
    )
    br = load_table(p, resolution="broad")
    assert br.haplotype_strings(range(br.n_haplotypes)) == ["A9~B5~DR2~DQ1"]
    assert br.freqs[:, 0].tolist() == pytest.approx([0.6])
    assert load_table(p, loci=["A", "DR"], resolution="antigen").loci == ("A", "DR")


# ============================================================================ multiple-allele codes


def test_mac_file_expansion(mac_file):
    codes = read_mac_file(mac_file)
    assert codes.expand("A*24:AB") == ["A*24:01", "A*24:02"]
    assert codes.expand("HLA-A*24:AC") == ["A*24:02", "A*24:04"]
    assert codes.expand("B*15:XY") == ["B*01:01", "B*02:01"]  # whole names ignore the first field
    assert codes.expand("A*24:AE") == ["A*24:01", "A*24:02", "A*24:03"]  # '*AE' read as AE
    assert codes.expand("A*24:02") is None
    use_mac_file(mac_file)
    assert mac_alleles("A*24:AB") == ["A*24:01", "A*24:02"]
    assert mac_alleles("A*24:02") is None


def test_mac_without_nomenclature_at_field_resolutions(mac_file):
    use_mac_file(mac_file)
    assert at_resolution("A*24:AC", "1-field") == ("A*24", None)
    assert at_resolution("A*24:AC", "2-field") == (
        None,
        "A*24:AC stands for A*24:02/A*24:04, which differ at 2-field level (A*24:02, A*24:04); it cannot "
        "be used without guessing",
    )


@real_data
def test_mac_at_antigen_and_broad(nom, mac_file):
    use_mac_file(mac_file)
    # A*;24:02:01:01;24;;;  A*;24:04;24;;;  A*;24:03:01:01;2403;;;  A;24;;2403  A;9;23/24;
    assert at_resolution("A*24:AC", "antigen") == ("A24", None)
    assert at_resolution("A*24:AD", "antigen") == (
        None,
        "A*24:AD stands for A*24:02/A*24:03, which differ at antigen level (A24, A2403); it cannot be used "
        "without guessing",
    )
    assert at_resolution("A*24:AD", "broad") == ("A9", None)
    assert at_resolution("A*24:AB", "antigen") == (
        None,
        f"A*24:AB (= A*24:01/A*24:02): A*24:01 has no serologic equivalent in {RELEASE} (rel_dna_ser.txt)",
    )


@real_data
def test_mac_in_a_line(nom, mac_file):
    use_mac_file(mac_file)
    rest = "~B*52:01~DRB1*15:02"
    coded = hlamatch.coverage("japanese", ["A*24:AC" + rest], resolution="antigen")
    plain = hlamatch.coverage("japanese", [CIRA], resolution="antigen")
    assert [(r.lower, r.upper) for r in coded] == [(r.lower, r.upper) for r in plain]
    assert coded[0].lines == (CIRA_ANTIGEN,)
    broad = hlamatch.coverage("japanese", ["A*24:AD" + rest], resolution="broad")
    assert [r.lower for r in broad] == [r.lower for r in hlamatch.coverage("japanese", [CIRA], resolution="broad")]
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", ["A*24:AD" + rest], resolution="antigen")
    assert str(e.value) == (
        f"line A*24:AD{rest}: A*24:AD stands for A*24:02/A*24:03, which differ at antigen level (A24, A2403); "
        "it cannot be used without guessing; type the line at the computation's antigen resolution, or pass "
        "a coarser --resolution"
    )
    with pytest.raises(UnknownAlleleError) as e:
        hlamatch.coverage("japanese", ["A*24:AB" + rest], resolution="antigen")
    assert str(e.value) == (
        f"line A*24:AB{rest}: allele A*24:01 is not in {RELEASE} (from A*24:AB); check the "
        "name against the nomenclature files"
    )
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", ["A*24:ZZ" + rest], resolution="antigen")
    assert str(e.value) == f"line A*24:ZZ{rest}: multiple-allele code 'ZZ' of 'A*24:ZZ' is not in MAC file {mac_file}"


MAC_NEEDED = (
    "A*24:AC is an NMDP multiple-allele code: give the NMDP code list to expand it with --mac FILE "
    "(the numer.v3.txt file, or hlamatch.use_mac_file in Python), or write the alleles out"
)


@real_data
def test_mac_without_mac_file(nom):
    with pytest.raises(NomenclatureError) as e:
        nomenclature.current_mac("A*24:AC")
    assert str(e.value) == MAC_NEEDED
    with pytest.raises(LineError) as e:
        hlamatch.coverage("japanese", ["A*24:AC~B*52:01~DRB1*15:02"], resolution="antigen")
    assert str(e.value) == f"line A*24:AC~B*52:01~DRB1*15:02: {MAC_NEEDED}"


@real_data
def test_mac_in_a_patient_typing(nom, mac_file):
    typing = "A*24:AC+A*02:01^B*52:01+B*52:01^DRB1*15:02+DRB1*15:02"
    [r] = match_patients([typing], [CIRA], resolution="antigen")
    assert r.status == ERROR and r.reason == f"typing '{typing}' (patient 1): {MAC_NEEDED}"
    use_mac_file(mac_file)
    [r] = match_patients([typing], [CIRA], resolution="antigen")
    assert r.status == "assessed" and r.best == 0  # A*24:AC is A24 at antigen level


def test_mac_in_a_frequency_table_is_an_error(write, mac_file):
    use_mac_file(mac_file)
    p = write("t.csv", "A,B,P1\nA*24:02,B*52:01,0.3\nA*24:AC,B*52:01,0.2\n")
    with pytest.raises(AlleleNameError) as e:
        load_table(p)
    assert str(e.value) == (
        f"{p} line 3: A*24:AC in column 'A' is an NMDP multiple-allele code; a frequency "
        "table lists single alleles (expand the code, each allele with its own frequency)"
    )


def test_malformed_mac_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text('"LAST UPDATED: 09/30/20"\nCODE\tSUBTYPE\n\nAB\t01/02\nAB 01 02\n')
    with pytest.raises(NomenclatureError) as e:
        read_mac_file(bad)
    assert str(e.value) == (
        f"MAC file {bad} line 5: 'AB 01 02' is not 'CODE<TAB>SUBTYPES' (e.g. 'AB<TAB>01/02'), "
        "the NMDP numer.v3.txt format"
    )
    lower = tmp_path / "lower.txt"
    lower.write_text("CODE\tSUBTYPE\nab\t01/02\n")
    with pytest.raises(NomenclatureError) as e:
        read_mac_file(lower)  # codes are capital letters; the line is shown as repr() shows it
    assert str(e.value).startswith(f"MAC file {lower} line 2: {'ab' + chr(9) + '01/02'!r} is not 'CODE<TAB>SUBTYPES'")
    empty = tmp_path / "empty.txt"
    empty.write_text('"LAST UPDATED: 09/30/20"\nCODE\tSUBTYPE\n\n')
    with pytest.raises(NomenclatureError) as e:
        use_mac_file(empty)
    assert str(e.value) == f"MAC file {empty} holds no codes (expected the NMDP numer.v3.txt format)"
    missing = tmp_path / "missing.txt"
    with pytest.raises(NomenclatureError) as e:
        read_mac_file(missing)
    assert str(e.value) == f"cannot read MAC file {missing}: [Errno 2] No such file or directory: '{missing}'"


# ============================================================================ coverage across resolutions


def wmda_antigen(path: Path, names: set[str]) -> dict[str, str]:
    """Antigen label of two-field names, straight from rel_dna_ser.txt by the documented rule
    (written for the tests, sharing nothing with hlamatch): the first allele carrying the two
    fields and suffix; Unambiguous, else a single Possible, else Assumed, else Expert, else the
    first Possible; 0 → null; '?' alone → prefix and first field."""
    prefix = {"A": "A", "B": "B", "C": "Cw", "DRB1": "DR", "DQB1": "DQ"}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        locus, allele, unamb, possible, assumed, expert = line.split(";")[:6]
        gene = locus.rstrip("*")
        if gene not in prefix:
            continue
        suffix = allele[-1] if allele[-1].isalpha() else ""
        fields = (allele[:-1] if suffix else allele).split(":")
        key = f"{gene}*{fields[0]}:{fields[1]}{suffix}"
        if key not in names or key in out:
            continue
        if unamb and unamb != "?":
            value = unamb.split("/")[0]
        elif possible and "/" not in possible:
            value = possible
        elif assumed or expert:
            value = (assumed or expert).split("/")[0]
        elif possible:
            value = possible.split("/")[0]
        else:
            value = "?"
        p = prefix[gene]
        out[key] = f"{p}-null" if value == "0" else f"{p}{int(fields[0])}" if value == "?" else f"{p}{int(value)}"
    assert set(out) == names, names - set(out)
    return out


def wmda_broad(path: Path, label: str) -> str:
    return label if label.endswith("-null") else expected_broads(path).get(label, label)


JAPANESE_BANKS = [
    [CIRA],
    ["A*33:03~B*44:03~DRB1*13:02"],
    ["A*24:02~B*07:02~DRB1*01:01/A*02:07~B*46:01~DRB1*08:03"],
    [CIRA, "A*02:10~B*40:06~DRB1*09:01", "A*24:02~B*54:01~DRB1*04:05"],
]


@real_data
@pytest.mark.parametrize("bank", JAPANESE_BANKS, ids=["cira", "a33", "heterozygous", "three-lines"])
@pytest.mark.parametrize("resolution", ["antigen", "broad"])
def test_bundled_table_against_naive_reference(nom, bank, resolution):
    """Coverage at antigen/broad level equals brute force on a table mapped by the test's own parser."""
    files = imgt_dir()
    table = hlamatch.bundled_table("japanese").select(ABDR)
    rows = [h.split("~") for h in table.haplotype_strings(range(table.n_haplotypes))]
    line_haps = [[h.split("~") for h in (ln.split("/") if "/" in ln else [ln, ln])] for ln in bank]
    names = {a for h in rows for a in h} | {a for ln in line_haps for h in ln for a in h}
    label = wmda_antigen(files / "rel_dna_ser.txt", names)
    if resolution == "broad":
        label = {a: wmda_broad(files / "rel_ser_ser.txt", x) for a, x in label.items()}

    mapped: dict[tuple, float] = defaultdict(float)
    for h, f in zip(rows, table.freqs[:, 0]):
        mapped[tuple(label[a] for a in h)] += float(f)
    selected = table.select(ABDR, resolution)
    assert selected.loci == ("A", "B", "DR")
    got = {
        tuple(h.split("~")): f
        for h, f in zip(selected.haplotype_strings(range(selected.n_haplotypes)), selected.freqs[:, 0].tolist())
    }
    assert got == pytest.approx(dict(mapped), abs=1e-15)

    haps, freqs = list(mapped), list(mapped.values())
    lines = [tuple(tuple(label[a] for a in h) for h in ln) for ln in line_haps]
    unlisted = table.unlisted_mass("JAPI")
    report = hlamatch.coverage(table, bank, loci=ABDR, resolution=resolution)
    for level in ("haplotype", "genotype"):
        lower, upper = naive_coverage(haps, freqs, lines, level, unlisted)
        r = report.get(level)
        assert (r.lower, r.upper) == pytest.approx((lower, upper), abs=1e-12), level


@real_data
@pytest.mark.parametrize(
    "bank",
    [
        ["A24~B52~DR15"],
        ["A24~B52~DR15", "A33~B44~DR13"],  # A*;33:03:01:01;33;;;  B*;44:03:01:01;44;;;  DRB1*;13:02:01:01;13;;;
    ],
)
def test_antigen_lines_on_a_two_field_table_equal_their_alleles(nom, bank):
    two_field = {"A24~B52~DR15": CIRA, "A33~B44~DR13": "A*33:03~B*44:03~DRB1*13:02"}
    for loci in (["A", "B", "DR"], ABDR):
        a = hlamatch.coverage("japanese", bank, loci=loci, resolution="antigen")
        b = hlamatch.coverage("japanese", [two_field[x] for x in bank], loci=loci, resolution="antigen")
        assert [(r.level, r.lower, r.upper) for r in a] == [(r.level, r.lower, r.upper) for r in b]
        assert a[0].lines == tuple(bank) and a[0].loci == ("A", "B", "DR")


def monotone_banks() -> list[list[str]]:
    """Top-N banks and seeded random banks (homozygous and heterozygous) of the bundled table."""
    table = hlamatch.bundled_table("japanese").select(ABDR)
    order = np.argsort(-table.freqs[:, 0], kind="stable")
    haps = table.haplotype_strings(order)
    banks = [haps[:n] for n in (1, 3, 10, 30)]
    rng = np.random.default_rng(20240930)
    for _ in range(6):
        picks = rng.choice(len(haps), size=int(rng.integers(1, 5)), replace=False)
        bank = [haps[i] for i in picks]
        if len(bank) > 1:
            bank[0] = f"{bank[0]}/{bank[1]}"  # one heterozygous line
        banks.append(bank)
    return banks


@real_data
def test_coarser_resolution_never_covers_less(nom):
    """2-field ≤ antigen ≤ broad, for lower and upper bounds at both levels (coarsening a name map)."""
    table = hlamatch.bundled_table("japanese")
    for bank in monotone_banks():
        report = hlamatch.coverage(table, bank, loci=ABDR, resolution="2-field,antigen,broad")
        got = {(r.resolution, r.level): (r.lower, r.upper) for r in report}
        assert len(got) == 6
        for level in ("haplotype", "genotype"):
            chain = [got[(res, level)] for res in ("2-field", "antigen", "broad")]
            for finer, coarser in zip(chain, chain[1:]):
                assert finer[0] <= coarser[0] + 1e-12, (bank, level, chain)
                assert finer[1] <= coarser[1] + 1e-12, (bank, level, chain)
            assert all(lo <= hi + 1e-12 for lo, hi in chain)


# --- the NMDP 2011 antigen table (US, CAU), read in place

# None of these seven labels occurs in rel_dna_ser.txt or rel_ser_ser.txt (grep for 6601, 6602, 1304,
# 3905, 7801, 804, 8201 as a serology value finds nothing); the CAU rows carrying them sum to 0.004764
# (summed with polars straight from the parquet file).
NMDP_WARNING = (
    "{p}: 7 allele name(s) are not in IPD-IMGT/HLA 3.58.0 (A6601, A6602, B1304, B3905, B7801, B804, B8201); "
    "haplotypes carrying them have total frequency CAU 0.00476; they are kept (--strict makes this an error)"
)

#: Two-field lines and their antigen labels, each checked by hand in rel_dna_ser.txt.
NMDP_BANK = [
    (CIRA, CIRA_ANTIGEN),
    ("A*01:01~B*08:01~DRB1*03:01", "A1~B8~DR17"),
    # A*;01:01:01:01;1;;;  B*;08:01:01:01;8;;;  DRB1*;03:01:01:01;17;;;
    ("A*03:01~B*07:02~DRB1*15:01", "A3~B7~DR15"),
    # A*;03:01:01:01;3;;;  B*;07:02:01:01;7;;;  DRB1*;15:01:01:01;15;;;
    ("A*29:02~B*44:03~DRB1*07:01/A*02:01~B*44:02~DRB1*04:01", "A29~B44~DR7/A2~B44~DR4"),
    # A*;29:02:01:01;29;;;  B*;44:03:01:01;44;;;  DRB1*;07:01:01:01;7;;;  A*;02:01:01:01;2;;;
    # B*;44:02:01:01;44;;;  DRB1*;04:01:01:01;4;;;
    ("A*24:03~B*39:01~DRB1*14:03", "A2403~B3901~DR1403"),
    # A*;24:03:01:01;2403;;;  B*;39:01:01:01;3901;;;  DRB1*;14:03:01;1403;;;
]


@pytest.fixture(scope="module")
def nmdp_cau():
    """The NMDP 2011 antigen table, CAU, loaded with the nomenclature in use (its warning expected)."""
    files = imgt_dir()
    if not NMDP_ANTIGEN.is_file():
        pytest.skip(f"real NMDP antigen table not found at {NMDP_ANTIGEN} (not redistributable)")
    use_nomenclature(files)
    try:
        with pytest.warns(HlamatchWarning) as rec:
            table = load_table(NMDP_ANTIGEN, population="CAU")
    finally:
        reset()
    assert [str(w.message) for w in rec] == [NMDP_WARNING.format(p=NMDP_ANTIGEN)]
    return table


@real_data
def test_nmdp_table_loads_at_antigen_level(nmdp_cau):
    assert nmdp_cau.resolution == "antigen" and nmdp_cau.loci == ("A", "C", "B", "DR", "DQ")
    assert nmdp_cau.populations == ("CAU",)


@real_data
@pytest.mark.parametrize("loci", [["A", "B", "DR"], ["A", "B", "DRB1"]], ids=["DR", "DRB1"])
def test_nmdp_two_field_lines_equal_their_antigens(nom, nmdp_cau, loci):
    for pairs in (NMDP_BANK[:1], NMDP_BANK):  # CIRA alone, then the whole bank
        two = [t for t, _ in pairs]
        antigen = [a for _, a in pairs]
        for resolution in ("antigen", "broad"):
            a = hlamatch.coverage(nmdp_cau, two, loci=loci, resolution=resolution)
            b = hlamatch.coverage(nmdp_cau, antigen, loci=loci, resolution=resolution)
            assert [(r.level, r.lower, r.upper) for r in a] == [(r.level, r.lower, r.upper) for r in b]
            assert a[0].loci == ("A", "B", "DR") and a[0].nomenclature == RELEASE
            if resolution == "antigen":
                assert a[0].lines == tuple(antigen) and a[0].coverage > 0


@real_data
def test_nmdp_strict_refuses_unknown_labels(nom):
    if not NMDP_ANTIGEN.is_file():
        pytest.skip(f"real NMDP antigen table not found at {NMDP_ANTIGEN} (not redistributable)")
    with pytest.raises(UnknownAlleleError) as e:
        load_table(NMDP_ANTIGEN, population="CAU", strict=True)
    assert str(e.value) == NMDP_WARNING.format(p=NMDP_ANTIGEN).replace(
        "they are kept (--strict makes this an error)",
        "correct the names, or leave out --strict to keep them with a warning",
    )


# ============================================================================ coverage API: resolution lists


@pytest.mark.parametrize(
    "resolution, message",
    [
        (5, "resolution must be a name like '2-field' or a list of them, got 5"),
        ("", "resolution is empty: give one, e.g. '2-field', or a list like '2-field,antigen'"),
        ([], "resolution is empty: give one, e.g. '2-field', or a list like '2-field,antigen'"),
        (["antigen", "antigen"], "resolution ['antigen', 'antigen'] names a resolution twice"),
        ("2-field, 2-field", "resolution '2-field, 2-field' names a resolution twice"),
    ],
)
def test_coverage_resolution_argument_errors(resolution, message):
    with pytest.raises(OptionError) as e:
        hlamatch.coverage("japanese", [CIRA], resolution=resolution)
    assert str(e.value) == message


@real_data
def test_coverage_over_a_list_of_resolutions(nom):
    report = hlamatch.coverage("japanese", [CIRA], resolution=["2-field", "antigen"])
    assert [(r.resolution, r.level) for r in report] == [
        ("2-field", "haplotype"),
        ("2-field", "genotype"),
        ("antigen", "haplotype"),
        ("antigen", "genotype"),
    ]
    assert [r.lines for r in report] == [(CIRA,)] * 2 + [(CIRA_ANTIGEN,)] * 2
    assert [r.loci for r in report] == [("A", "B", "DRB1")] * 2 + [("A", "B", "DR")] * 2
    assert {r.nomenclature for r in report} == {RELEASE}
    assert hlamatch.coverage("japanese", [CIRA])[0].nomenclature == RELEASE
    use_nomenclature(None)
    assert hlamatch.coverage("japanese", [CIRA])[0].nomenclature is None


# ============================================================================ the nomenclature folder and files


@real_data
def test_release_and_files(nom):
    assert nom.release == RELEASE
    assert nom.path("serology") == IMGT / "rel_dna_ser.txt"
    assert current_nomenclature() is nom and current_nomenclature("resolution antigen") is nom


def test_no_nomenclature():
    assert current_nomenclature() is None
    with pytest.raises(NomenclatureError) as e:
        current_nomenclature("resolution G")
    assert str(e.value) == f"resolution G needs the WMDA nomenclature files: {HOW}"


@real_data
def test_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(imgt_dir()))
    assert current_nomenclature().release == RELEASE
    assert at_resolution("A*24:02", "antigen") == ("A24", None)  # A*;24:02:01:01;24;;;
    monkeypatch.setenv(ENV, str(tmp_path / "nope"))
    with pytest.raises(NomenclatureError) as e:
        current_nomenclature()
    assert str(e.value) == (
        f"nomenclature folder {tmp_path / 'nope'} (from HLAMATCH_NOMENCLATURE) is not a folder; {HOW}"
    )


def test_bad_folders(tmp_path):
    with pytest.raises(NomenclatureError) as e:
        use_nomenclature(tmp_path / "nope")
    assert str(e.value) == f"nomenclature folder {tmp_path / 'nope'} (from use_nomenclature) is not a folder; {HOW}"
    with pytest.raises(NomenclatureError) as e:
        use_nomenclature(tmp_path)
    assert str(e.value) == (
        f"nomenclature folder {tmp_path} (from use_nomenclature) holds neither rel_dna_ser.txt "
        f"nor Allelelist.txt; {HOW}"
    )
    assert current_nomenclature() is None


#: Synthetic one-line files (not copies of the official ones).
TINY = {
    "rel_dna_ser.txt": "# version: TEST 0.1\nA*;24:02:01:01;24;;;\n",
    "rel_ser_ser.txt": "A;9;23/24;\n",
    "hla_nom_g.txt": "A*;24:02:01:01/24:02:01:03;24:02:01G\n",
    "hla_nom_p.txt": "A*;24:02:01:01;24:02P\n",
    "Allelelist.txt": "AlleleID,Allele\nHLA00050,A*24:02:01:01\n",
}


def tiny_folder(root: Path, wmda: bool = False, **replace: str | bytes | None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in {**TINY, **replace}.items():
        if text is None:
            continue
        where = root / "wmda" if wmda and name != "Allelelist.txt" else root
        where.mkdir(exist_ok=True)
        (where / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def test_tiny_folder_and_wmda_subfolder(tmp_path, private_cache):
    for folder in (tiny_folder(tmp_path / "flat"), tiny_folder(tmp_path / "repo", wmda=True)):
        use_nomenclature(folder)
        assert current_nomenclature().release == "TEST 0.1"
        assert [at_resolution("A*24:02", r) for r in ("antigen", "broad", "G", "P")] == [
            ("A24", None),
            ("A9", None),
            ("A*24:02:01G", None),
            ("A*24:02P", None),
        ]
        assert current_nomenclature().known("A*24:02:01:01") and not current_nomenclature().known("A*24:02:01:02")
    assert current_nomenclature().path("G") == tmp_path / "repo" / "wmda" / "hla_nom_g.txt"
    unversioned = tiny_folder(tmp_path / "plain", **{"rel_dna_ser.txt": "A*;24:02:01:01;24;;;\n"})
    assert Nomenclature.open(unversioned).release == "unknown release (plain)"


def test_changed_files_are_read_again(tmp_path, private_cache):
    folder = tiny_folder(tmp_path / "n")
    assert Nomenclature.open(folder).antigen("A*24:02") == "A24"
    assert list(private_cache.glob("nomenclature-*.json"))  # cached, as JSON
    assert not list(private_cache.glob("*.pickle"))
    (folder / "rel_dna_ser.txt").write_text("A*;24:02:01:01;2403;;;\n")  # another size: another key
    assert Nomenclature.open(folder).antigen("A*24:02") == "A2403"
    for cached in private_cache.glob("nomenclature-*.json"):
        cached.write_bytes(b"not JSON")  # a corrupt cache is rebuilt
    assert Nomenclature.open(folder).antigen("A*24:02") == "A2403"


@pytest.mark.parametrize(
    "file, text, call, message",
    [
        (
            "rel_dna_ser.txt",
            None,
            lambda n: n.antigen("A*24:02"),
            "nomenclature file {d}/rel_dna_ser.txt is missing (allele → serology); " + HOW,
        ),
        (
            "rel_ser_ser.txt",
            None,
            lambda n: n.broad("A24"),
            "nomenclature file {d}/rel_ser_ser.txt is missing (broad and split antigens); " + HOW,
        ),
        (
            "hla_nom_g.txt",
            None,
            lambda n: n.group("A*24:02", "G"),
            "nomenclature file {d}/hla_nom_g.txt is missing (G groups); " + HOW,
        ),
        (
            "Allelelist.txt",
            None,
            lambda n: n.known("A*24:02"),
            "nomenclature file {d}/Allelelist.txt is missing (the list of named alleles); " + HOW,
        ),
        (
            "rel_dna_ser.txt",
            "# version: TEST\n\n",
            lambda n: n.antigen("A*24:02"),
            "nomenclature file {d}/rel_dna_ser.txt holds no entries (allele → serology); " + HOW,
        ),
        (
            "rel_dna_ser.txt",
            "A*;24:02;24\n",
            lambda n: n.antigen("A*24:02"),
            "nomenclature file {d}/rel_dna_ser.txt line 1: 'A*;24:02;24' has 3 fields, expected "
            "'Locus*;Allele;Unambiguous;Possible;Assumed;Expert'",
        ),
        (
            "rel_ser_ser.txt",
            "A;9\n",
            lambda n: n.broad("A24"),
            "nomenclature file {d}/rel_ser_ser.txt line 1: 'A;9' has 2 fields, expected 'Locus;Broad;Splits;Associated'",
        ),
        (
            "hla_nom_p.txt",
            "A*\n",
            lambda n: n.group("A*24:02", "P"),
            "nomenclature file {d}/hla_nom_p.txt line 1: 'A*' has 1 fields, expected 'Locus*;Alleles;P group'",
        ),
        (
            "Allelelist.txt",
            "AlleleID,Allele\ngarbage\n",
            lambda n: n.known("A*24:02"),
            "nomenclature file {d}/Allelelist.txt line 2: 'garbage' is not 'AlleleID,Allele'",
        ),
    ],
    ids=[
        "no-serology",
        "no-broads",
        "no-G",
        "no-Allelelist",
        "empty",
        "short-serology",
        "short-broads",
        "short-P",
        "bad-Allelelist",
    ],
)
def test_bad_nomenclature_files(tmp_path, private_cache, file, text, call, message):
    folder = tiny_folder(tmp_path / "n", **{file: text})
    with pytest.raises(NomenclatureError) as e:
        call(Nomenclature.open(folder))
    assert str(e.value) == message.format(d=folder)


def test_undecodable_nomenclature_file(tmp_path, private_cache):
    folder = tiny_folder(tmp_path / "n", **{"rel_dna_ser.txt": b"A*;24:02:01:01;\xff;;;\n"})
    expected = f"cannot read nomenclature file {folder / 'rel_dna_ser.txt'}: line 1 is not UTF-8 text; {HOW}"
    with pytest.raises(NomenclatureError) as e:
        Nomenclature.open(folder).antigen("A*24:02")
    assert str(e.value) == expected


# ============================================================================ command line


def invoke(*args: str):
    """Run the CLI; stdout and stderr kept apart (click >= 8.2 always, 8.1 with mix_stderr=False)."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2
        runner = CliRunner()
    return runner.invoke(cli, list(args), catch_exceptions=False)


def assert_one_error_line(result, expected: str, exit_code: int = 1) -> None:
    out = result.stdout + result.stderr
    assert result.exit_code == exit_code, out
    assert out.splitlines() == [expected], out


@real_data
def test_cli_coverage_over_four_resolutions():
    files = str(imgt_dir())
    args = [
        "coverage",
        "--resolution",
        "2-field,1-field,antigen,broad",
        "--top",
        "5",
        "--loci",
        "A,B,DRB1",
        "--nomenclature",
        files,
    ]
    r = invoke(*args)
    assert r.exit_code == 0 and r.stderr == "", r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[1] == (
        "loci A~B~DRB1 · resolutions 2-field, 1-field, antigen, broad · rule: HvG mismatches = 0 · 5 line(s)"
    )
    assert lines[2] == f"nomenclature {RELEASE}"
    rows = [ln.split() for ln in lines if ln.startswith("JAPI ")]
    assert [(row[1], row[2]) for row in rows] == [
        (level, res) for level in ("haplotype", "genotype") for res in ("2-field", "1-field", "antigen", "broad")
    ]

    data = json.loads(invoke(*args, "--format", "json").stdout)
    assert [(d["resolution"], d["level"]) for d in data] == [
        (res, level) for res in ("2-field", "1-field", "antigen", "broad") for level in ("haplotype", "genotype")
    ]
    assert {d["nomenclature"] for d in data} == {RELEASE}
    antigen = [d for d in data if d["resolution"] == "antigen"]
    assert antigen[0]["lines"][0] == CIRA_ANTIGEN and antigen[0]["loci"] == ["A", "B", "DR"]
    # The same figures as the library with the same lines.
    use_nomenclature(files)
    bank = hlamatch.top_lines("japanese", 5, loci=ABDR)
    api = hlamatch.coverage("japanese", bank, loci=ABDR, resolution="2-field,1-field,antigen,broad")
    assert [d[k] for d in data for k in ("lower", "upper")] == pytest.approx(
        [getattr(x, k) for x in api for k in ("lower", "upper")], abs=1e-15
    )


def test_cli_resolution_needs_nomenclature():
    assert_one_error_line(
        invoke("coverage", "--line", CIRA, "--resolution", "antigen"),
        f"Error: resolution antigen needs the WMDA nomenclature files: {HOW}",
    )


@real_data
def test_cli_environment_variable_gives_the_nomenclature(monkeypatch):
    monkeypatch.setenv(ENV, str(imgt_dir()))
    r = invoke("coverage", "--line", CIRA, "--resolution", "antigen", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)[0]["lines"] == [CIRA_ANTIGEN]


def test_cli_bad_nomenclature_folder(monkeypatch, tmp_path):
    assert_one_error_line(
        invoke("coverage", "--line", CIRA, "--resolution", "antigen", "--nomenclature", "/nonexistent"),
        f"Error: nomenclature folder /nonexistent (from --nomenclature) is not a folder; {HOW}",
    )
    monkeypatch.setenv(ENV, str(tmp_path / "nope"))
    assert_one_error_line(
        invoke("coverage", "--line", CIRA, "--resolution", "antigen"),
        f"Error: nomenclature folder {tmp_path / 'nope'} (from HLAMATCH_NOMENCLATURE) is not a folder; {HOW}",
    )


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["rank", "--resolution", "2-field,antigen"],
            "Error: Invalid value for '--resolution': give one resolution ('2-field,antigen' names 2); only 'coverage' "
            "takes a list (see 'hlamatch rank --help')",
        ),
        (
            ["coverage", "--line", CIRA, "--resolution", "bogus"],
            "Error: Invalid value for '--resolution': 'bogus' is not one of 2-field, 1-field, G, P, antigen, broad "
            "(see 'hlamatch coverage --help')",
        ),
        (
            ["coverage", "--line", CIRA, "--resolution", "antigen,antigen"],
            "Error: Invalid value for '--resolution': 'antigen,antigen' names a resolution twice "
            "(see 'hlamatch coverage --help')",
        ),
    ],
    ids=["rank-list", "bogus", "twice"],
)
def test_cli_resolution_usage_errors(args, expected):
    assert_one_error_line(invoke(*args), expected, exit_code=2)


def test_cli_cohort_takes_one_resolution(write):
    p = write("cohort.csv", "id,typing\n1,A*24:02+A*24:02^B*52:01+B*52:01^DRB1*15:02+DRB1*15:02\n")
    assert_one_error_line(
        invoke("coverage", "--cohort", str(p), "--line", CIRA, "--resolution", "2-field,antigen"),
        "Error: --cohort takes one --resolution (a cohort is compared at one resolution)",
    )


@real_data
def test_cli_strict_and_unknown_names(write):
    files = str(imgt_dir())
    p = write("t.csv", UNKNOWN_TABLE)
    what = (
        f"{p}: 2 allele name(s) are not in {RELEASE} (A*99:99, B*99:98); haplotypes carrying them have total "
        "frequency P1 0.3"
    )
    assert_one_error_line(
        invoke("coverage", "-t", str(p), "--line", CIRA, "--nomenclature", files, "--strict"),
        f"Error: {what}; correct the names, or leave out --strict to keep them with a warning",
    )
    r = invoke("coverage", "-t", str(p), "--line", CIRA, "--nomenclature", files)
    assert r.exit_code == 0
    assert r.stderr.splitlines() == [f"Warning: {what}; they are kept (--strict makes this an error)"]
    reset()
    assert invoke("coverage", "-t", str(p), "--line", CIRA, "--strict").exit_code == 0  # no files: no check


@real_data
def test_cli_unknown_allele_in_a_line_and_a_patient():
    files = str(imgt_dir())
    bad = "A*99:99~B*52:01~DRB1*15:02"
    assert_one_error_line(
        invoke("coverage", "--line", bad, "--nomenclature", files),
        f"Error: line {bad}: allele A*99:99 is not in {RELEASE}; check the name against the nomenclature files",
    )
    r = invoke(
        "match",
        "--patient",
        "A*99:99+A*24:02^B*52:01+B*52:01^DRB1*15:02+DRB1*15:02",
        "--line",
        CIRA,
        "--nomenclature",
        files,
    )
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        f"Error: --patient 1 (patient 1): allele A*99:99 is not in {RELEASE}; check the name"
    ]


@real_data
def test_cli_mac(mac_file, tmp_path):
    files = str(imgt_dir())
    line = "A*24:AC~B*52:01~DRB1*15:02"
    r = invoke(
        "coverage",
        "--line",
        line,
        "--resolution",
        "antigen",
        "--nomenclature",
        files,
        "--mac",
        str(mac_file),
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)[0]["lines"] == [CIRA_ANTIGEN]
    reset()
    assert_one_error_line(
        invoke("coverage", "--line", line, "--resolution", "antigen", "--nomenclature", files),
        f"Error: line {line}: {MAC_NEEDED}",
    )
    bad = tmp_path / "bad.txt"
    bad.write_text('"LAST UPDATED: 09/30/20"\nCODE\tSUBTYPE\n\nAB\t01/02\nAB 01 02\n')
    assert_one_error_line(
        invoke("coverage", "--line", line, "--mac", str(bad)),
        f"Error: MAC file {bad} line 5: 'AB 01 02' is not 'CODE<TAB>SUBTYPES' (e.g. 'AB<TAB>01/02'), "
        "the NMDP numer.v3.txt format",
    )
