"""Damaged and non-regular WMDA nomenclature and MAC files: one NomenclatureError naming file, line
and field, never a traceback, a hang or a runaway read; and MAC codes ending in N are codes, not nulls.

Synthetic files only (written into ``tmp_path``); every test ends with no nomenclature or MAC in use.
"""

from __future__ import annotations

import os
import time

import pytest

import hlamatch
from hlamatch.hla import nomenclature
from hlamatch.hla.alleles import is_null
from hlamatch.hla.nomenclature import (
    ENV,
    Nomenclature,
    NomenclatureError,
    read_mac_file,
    use_mac_file,
    use_nomenclature,
)

TINY = {
    "rel_dna_ser.txt": "# version: TEST 0.1\nA*;24:02:01:01;24;;;\nA*;24:03:01:01;;;;\n",
    "rel_ser_ser.txt": "A;9;23/24;\n",
    "hla_nom_g.txt": "A*;24:02:01:01/24:02:01:03;24:02:01G\n",
    "hla_nom_p.txt": "A*;24:02:01:01;24:02P\n",
    "Allelelist.txt": "AlleleID,Allele\nHLA00050,A*24:02:01:01\n",
}


@pytest.fixture(autouse=True)
def clean_state(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("HLAMATCH_CACHE_DIR", str(tmp_path / "cache"))
    use_nomenclature(None)
    use_mac_file(None)
    yield
    use_nomenclature(None)
    use_mac_file(None)


def folder(tmp_path, **replace: str) -> Nomenclature:
    d = tmp_path / "nom"
    d.mkdir(exist_ok=True)
    for name, text in {**TINY, **replace}.items():
        (d / name).write_text(text)
    return Nomenclature.open(d)


@pytest.mark.parametrize(
    "file, text, call, line, field",
    [
        ("rel_dna_ser.txt", "A*;24:02:01:01;x4;;;\n", lambda n: n.antigen("A*24:02"), 1, "3 to 6 (serology)"),
        ("rel_dna_ser.txt", "A*;24:02:01:01;24;;;\nA*;24:03;;²;;\n", lambda n: n.antigen("A*24:02"), 2, "3 to 6"),
        ("rel_dna_ser.txt", "A*;xx:02;?;;;\n", lambda n: n.antigen("A*24:02"), 1, "2 (Allele)"),
        (
            "rel_dna_ser.txt",
            "A*;24:02:01:01;24;;;\nA*;24:03;24;x/7;;\n",
            lambda n: n.antigen("A*24:02"),
            2,
            "4 (serology)",
        ),
        ("rel_ser_ser.txt", "A;nine;23/24;\n", lambda n: n.broad("A24"), 1, "2 (Broad)"),
        ("rel_ser_ser.txt", "A;9;23/2x;\n", lambda n: n.broad("A24"), 1, "3 (Splits)"),
        ("rel_ser_ser.txt", "B;16;38/39;\nA;9;;24-03\n", lambda n: n.broad("A24"), 2, "4 (Associated)"),
    ],
)
def test_non_numeric_fields_name_file_line_and_field(tmp_path, file, text, call, line, field):
    nom = folder(tmp_path, **{file: text})
    with pytest.raises(NomenclatureError) as e:
        call(nom)
    msg = str(e.value)
    assert str(nom.directory / file) in msg and f"line {line}:" in msg and f"field {field}" in msg, msg


def _non_regular(kind: str, path):
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(path)
    elif kind == "zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero on this platform")
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
@pytest.mark.parametrize(
    "file, call",
    [
        ("rel_dna_ser.txt", lambda n: n.antigen("A*24:02")),
        ("rel_ser_ser.txt", lambda n: n.broad("A24")),
        ("hla_nom_g.txt", lambda n: n.group("A*24:02", "G")),
        ("Allelelist.txt", lambda n: n.known("A*24:02")),
    ],
)
def test_non_regular_nomenclature_files_are_refused_at_once(tmp_path, kind, file, call):
    nom = folder(tmp_path)
    path = nom.directory / file
    path.unlink()
    _non_regular(kind, path)
    start = time.perf_counter()
    nom = Nomenclature.open(nom.directory)
    nom.release  # noqa: B018 - reads the first lines of a file: must not wait on a FIFO either
    with pytest.raises(NomenclatureError, match="not a regular file") as e:
        call(nom)
    assert str(path) in str(e.value)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_non_regular_mac_file_is_refused(tmp_path, kind):
    path = tmp_path / "numer.v3.txt"
    _non_regular(kind, path)
    with pytest.raises(NomenclatureError, match="not a regular file"):
        read_mac_file(path)


def test_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(nomenclature, "MAX_FILE_BYTES", 2**20)
    nom = folder(tmp_path, **{"rel_dna_ser.txt": "A*;24:02:01:01;24;;;\n" * 60000})
    with pytest.raises(NomenclatureError, match="larger than 1 MiB"):
        nom.antigen("A*24:02")


def test_mac_code_ending_in_n_is_not_a_null_allele(tmp_path):
    assert is_null("A*24:02N") and is_null("A*24:02:01:02N") and is_null("A-null") and is_null("DRBX*NNNN")
    assert not is_null("A*24:AN") and not is_null("B*15:BKN")
    table = tmp_path / "t.csv"
    table.write_text("A,B,P1\nA*24:01,B*08:01,0.3\nA*02:01,B*07:02,0.6\n")
    mac = tmp_path / "numer.v3.txt"
    mac.write_text('"LAST UPDATED: 09/30/20"\nCODE\tSUBTYPE\nAN\t01\n')
    use_mac_file(mac)
    coded = hlamatch.coverage(table, ["A*24:AN~B*08:01"])
    plain = hlamatch.coverage(table, ["A*24:01~B*08:01"])
    assert [r.lower for r in coded] == [r.lower for r in plain] and coded[0].lower > 0
