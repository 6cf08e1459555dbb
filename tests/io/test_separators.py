"""One separator rule for every CSV/TSV file a user gives: frequency tables (NMDP, GRIMM, NMDP 2007,
HFX members, wide tables), lines, patients and weights files all detect comma, semicolon or tab
from their first line (:func:`hlamatch.io.text.detect_separator`).  The same content written with
each separator reads the same; a bad value is still named with its file, line and value."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hlamatch.errors import HlamatchError
from hlamatch.io.lines import read_lines_file
from hlamatch.io.load import load_table
from hlamatch.io.patients import read_patients
from hlamatch.io.text import detect_separator

SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t"}

#: Tables by format, written with "," between fields; the test swaps in the other separators.
TABLES = {
    "nmdp": (
        "Haplo,Count,Freq\n"
        "A*24:02~C*12:02~B*52:01~DRB1*15:02,10,0.25\n"
        "A*33:03~C*14:03~B*44:03~DRB1*13:02,5,0.125\n"
        "\n"
        "A*24:02~C*07:02~B*07:02~DRB1*01:01,1,0.0625\n"
    ),
    "grimm": ("A*01:01~C*07:01~B*08:01~DRB1*03:01,1,0.25\nA*02:01~C*07:02~B*07:02~DRB1*15:01,1,0.125\n"),
    "grimm-header": "haplotype,count,freq\nA*01:01~B*08:01,1,0.5\nA*02:01~B*07:02,1,0.25\n",
    "nmdp2007": (
        "EUR,HLA-A*01:01g~HLA-C*07:01g~HLA-B*08:01g~HLA-DRB1*03:01,0.3,1\n"
        "EUR,HLA-A*02:01g~HLA-C*07:02g~HLA-B*07:02g~HLA-DRB1*15:01,0.2,2\n"
        "AFA,HLA-A*30:01g~HLA-C*17:01g~HLA-B*42:01~HLA-DRB1*03:02,0.1,1\n"
    ),
    "wide": ("A,C,B,P1,P2\nA*01:01,C*07:01,B*08:01,0.3,0.1\nA*02:01,C*07:02,B*07:02,0.2,0\n24:02,12:02,52:01,0,0.4\n"),
}


def _fields(table):
    """Everything a table holds but its source (the file's path)."""
    return (
        table.loci,
        table.alleles,
        table.codes.tolist(),
        table.freqs.tolist(),
        table.populations,
        table.resolution,
        table.scaled_by,
    )


def _write(folder: Path, name: str, text: str, sep: str) -> Path:
    folder.mkdir(exist_ok=True)
    p = folder / name
    p.write_text(text.replace(",", sep), encoding="utf-8")
    return p


@pytest.mark.parametrize("fmt", list(TABLES))
def test_a_table_reads_the_same_with_any_separator(tmp_path, fmt):
    tables = {}
    for label, sep in SEPARATORS.items():
        # the same file name in its own folder: populations named from the name come out the same
        p = _write(tmp_path / label, "TBL.csv", TABLES[fmt], sep)
        tables[label] = load_table(p)
        # the format, when named, reads it too
        named = {"grimm-header": "grimm"}.get(fmt, fmt)
        assert _fields(load_table(p, format=named)) == _fields(tables[label])
    assert _fields(tables["semicolon"]) == _fields(tables["comma"])
    assert _fields(tables["tab"]) == _fields(tables["comma"])
    assert tables["comma"].n_haplotypes >= 2 and np.all(tables["comma"].freqs >= 0)


def test_an_hfx_member_reads_the_same_with_any_separator(tmp_path):
    got = []
    for label, sep in SEPARATORS.items():
        p = tmp_path / f"{label}.hfx"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("HEGL_AFA.csv", TABLES["nmdp"].replace(",", sep))
        got.append(_fields(load_table(p, population="AFA")))
    assert got[0] == got[1] == got[2]


@pytest.mark.parametrize("label", ["semicolon", "tab"])
def test_a_bad_value_in_a_table_names_the_file_line_and_value(tmp_path, label):
    text = TABLES["nmdp"].replace("0.125", "abc")
    p = _write(tmp_path, "bad.csv", text, SEPARATORS[label])
    with pytest.raises(HlamatchError) as e:
        load_table(p)
    assert str(e.value) == (
        f"{p} line 3: frequency in column 'Freq' is non-numeric ('abc'); every frequency "
        "must be a number between 0 and 1"
    )


def test_an_extra_field_in_a_semicolon_table_names_the_line(tmp_path):
    p = _write(tmp_path, "extra.csv", TABLES["nmdp"].replace(",0.125", ",0.125,7"), ";")
    with pytest.raises(HlamatchError) as e:
        load_table(p)
    assert (
        str(e.value)
        == f"{p} line 3: 4 fields, line 1 has 3; every row must have the same fields (remove the extra ';')"
    )


def test_a_bom_and_crlf_semicolon_table(tmp_path):
    comma = _write(tmp_path, "a.csv", TABLES["nmdp"], ",")
    semi = tmp_path / "b" / "a.csv"
    semi.parent.mkdir()
    semi.write_bytes(b"\xef\xbb\xbf" + TABLES["nmdp"].replace(",", ";").replace("\n", "\r\n").encode())
    assert _fields(load_table(semi)) == _fields(load_table(comma))


LINES = (
    "name,haplotype1,haplotype2\n"
    "L1,A*24:02~B*52:01~DRB1*15:02,\n"
    "\n"
    "L2,A*33:03~B*44:03~DRB1*13:02,A*24:02~B*52:01~DRB1*15:02\n"
)


def test_a_lines_file_reads_the_same_with_any_separator(tmp_path):
    got = {
        label: read_lines_file(_write(tmp_path / label, "bank.csv", LINES, sep)) for label, sep in SEPARATORS.items()
    }
    assert [(ln.name, ln.text()) for ln in got["comma"]] == [
        ("L1", "A*24:02~B*52:01~DRB1*15:02"),
        ("L2", "A*33:03~B*44:03~DRB1*13:02/A*24:02~B*52:01~DRB1*15:02"),
    ]
    assert got["semicolon"] == got["comma"] and got["tab"] == got["comma"]


def test_a_patients_file_reads_the_same_with_any_separator(tmp_path):
    text = "id,A_1,A_2,B_1,B_2\np1,A*24:02,A*02:01,B*52:01,\np2,A*33:03,A*24:02,B*44:03,B*52:01\n"
    got = [
        [(t.id, t.alleles) for t in read_patients(_write(tmp_path / label, "p.csv", text, sep))]
        for label, sep in SEPARATORS.items()
    ]
    assert got[0] == got[1] == got[2] and len(got[0]) == 2


def test_one_rule_for_tables_and_small_files():
    assert detect_separator("Haplo;Count;Freq") == ";"
    assert detect_separator("Haplo\tCount\tFreq") == "\t"
    assert detect_separator("Haplo,Count,Freq") == ","
    assert detect_separator('"a;b",c') == ","  # a separator inside quotes does not count
    assert detect_separator("A*01:01~B*08:01") == ","
