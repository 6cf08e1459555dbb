"""Robustness of the table readers: malformed input ends in one typed error naming the file.

``load_table`` either returns a valid table or raises a :class:`~hlamatch.errors.HlamatchError`
subclass whose message names the file (and the line, where there is one) and says what to do;
no other exception, no warning from polars, no hang.  Each test here is a regression test of a
case that once escaped as a traceback, hung, or gave a silently wrong table.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import hlamatch
from hlamatch.cli import cli
from hlamatch.errors import (
    AlleleNameError,
    FrequencyError,
    HlamatchError,
    HlamatchWarning,
    OptionError,
    TableFormatError,
    TableSchemaError,
    UnknownLocusError,
)
from hlamatch.hla.alleles import parse_allele
from hlamatch.io.bundled import resolve_table
from hlamatch.io.frame import table_from_frame
from hlamatch.io.load import load_table

NMDP_HEADER = "Haplo,Count,Freq\n"


def _permission_bits_apply() -> bool:
    """False where mode 000 does not stop this process reading a file (root, CAP_DAC_OVERRIDE)."""
    fd, name = tempfile.mkstemp()
    os.close(fd)
    try:
        os.chmod(name, 0)
        try:
            with open(name, "rb"):
                return False
        except PermissionError:
            return True
    finally:
        os.chmod(name, 0o600)
        os.unlink(name)


needs_permission_bits = pytest.mark.skipif(
    not _permission_bits_apply(), reason="permission bits do not stop this user (root) from reading files"
)
PERMISSION_HINT = (
    "permission denied; make the file and its folder readable (e.g. chmod u+r) or copy the table somewhere readable"
)


def error_of(exc_type: type[HlamatchError], fn, *args, **kwargs) -> str:
    """Call ``fn`` expecting exactly ``exc_type`` (no warning either); return the message."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a polars UserWarning must not escape a reader
        with pytest.raises(HlamatchError) as info:
            fn(*args, **kwargs)
    assert type(info.value) is exc_type, (type(info.value).__name__, str(info.value))
    return str(info.value)


def invoke(*args: str):
    """Run the CLI in-process; stdout and stderr kept apart (click >= 8.2 always, 8.1 with mix_stderr)."""
    try:
        runner = CliRunner(mix_stderr=False)
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, list(args), catch_exceptions=False)


def assert_one_error_line(result, expected: str) -> None:
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert out.splitlines() == [expected], out


def hfx(
    path: Path,
    csv: bytes | str,
    *,
    meta: bytes | str | None = None,
    method: int = zipfile.ZIP_DEFLATED,
    member: str = "HEGL_AFA.csv",
) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as z:
        if meta is not None:
            z.writestr("metadata.json", meta)
        z.writestr(member, csv)
    return path


def patch_member_header(path: Path, member: str, *, flag: int = 0, method: int | None = None) -> None:
    """Set general-purpose flag bits and/or the compression method of ``member`` in both zip headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for sig, flag_at, method_at, name_at in ((b"PK\x03\x04", 6, 8, 30), (b"PK\x01\x02", 8, 10, 46)):
        i = data.find(sig)
        while i >= 0:
            if data[i + name_at : i + name_at + len(name)] == name:
                data[i + flag_at] |= flag
                if method is not None:
                    data[i + method_at : i + method_at + 2] = method.to_bytes(2, "little")
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))


# ============================================================================ 1. missing population labels

NULLPOP = "A,B,DRB1,population,frequency\nA*24:02,B*52:01,DRB1*15:02,,0.1\nA*02:01,B*07:02,DRB1*15:01,JPN,0.2\n"


@pytest.mark.parametrize("label", ["", "   "], ids=["empty", "spaces"])
def test_missing_population_label_in_long_wide_table(write, label):
    p = write("nullpop.csv", NULLPOP.replace(",,0.1", f",{label},0.1"))
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 2: missing population label (column 'population'); give every row a population label"
    )


def test_missing_population_label_in_pop_column_after_a_blank_line(write):
    p = write("pop.csv", "A,B,pop,frequency\nA*01:01,B*08:01,JPN,0.1\n\nA*02:01,B*08:01,,0.2\n")
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 4: missing population label (column 'pop'); give every row a population label"
    )


def test_missing_population_label_in_a_frame():
    frame = pl.DataFrame({"A": ["A*01:01", "A*02:01"], "population": ["JPN", None], "frequency": [0.1, 0.2]})
    assert error_of(TableSchemaError, table_from_frame, frame, name="f") == (
        "f line 3: missing population label (column 'population'); give every row a population label"
    )


@pytest.mark.parametrize("label", ["", "  "], ids=["empty", "spaces"])
def test_missing_population_label_in_nmdp2007(write, label):
    p = write("n07.csv", f"EUR,HLA-A*01:01g~HLA-B*08:01g,0.3,1\n\n{label},HLA-A*02:01g~HLA-B*07:02,0.2,2\n")
    assert error_of(TableSchemaError, load_table, p, format="nmdp2007") == (
        f"{p} line 3: missing population label (column 1); give every row a population label"
    )


def test_missing_population_label_in_pypop(write):
    text = (
        "labcode\tmethod\tpopname\tloci\thaplotype\thaplotype.freq\n"
        "L\tm\tPopA\tA:B\t02:10~13:01\t0.125\n"
        "L\tm\t\tA:B\t25:01~13:01\t0.0625\n"
    )
    p = write("2-locus-haplo.tsv", text)
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 3: missing population label (column 'popname'); give every row a population label"
    )


def test_missing_population_label_cli_line(write):
    p = write("nullpop.csv", NULLPOP)
    assert_one_error_line(
        invoke("tables", str(p)),
        f"Error: {p} line 2: missing population label (column 'population'); give every row a population label",
    )


def test_missing_population_label_cli_finishes(tmp_path):
    """This input once ran until killed (unbounded memory): run the real CLI with a time limit."""
    p = tmp_path / "nullpop.csv"
    p.write_text(NULLPOP)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "hlamatch", "tables", str(p)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("hlamatch tables on a table with an empty population label did not finish in 120 s")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.splitlines()[-1] == (
        f"Error: {p} line 2: missing population label (column 'population'); give every row a population label"
    )
    assert "Traceback" not in r.stderr


# ============================================================================ 2. one clean error instead of a traceback


def test_frequency_far_above_one_is_named_with_its_line(write):
    p = write("big.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01,1,1e308\n")
    assert error_of(FrequencyError, load_table, p) == (
        f"{p} line 3: frequency 1e+308 in column 'Freq' is above 1; frequencies must lie in [0, 1]"
    )


def test_a_single_frequency_above_one_is_invalid_whatever_the_tolerance(write):
    p = write("one.csv", "A,B,JAPI\nA*01:01,B*08:01,1.5\n")
    assert error_of(FrequencyError, load_table, p, sum_tolerance=10.0) == (
        f"{p} line 2: frequency 1.5 in column 'JAPI' is above 1; frequencies must lie in [0, 1]"
    )


def test_frequency_above_one_cli_line(write):
    p = write("big.csv", NMDP_HEADER + "A*01:01~B*08:01,1,1e308\n")
    assert_one_error_line(
        invoke("tables", str(p)),
        f"Error: {p} line 2: frequency 1e+308 in column 'Freq' is above 1; frequencies must lie in [0, 1]",
    )


def _gzip_with_bad_deflate(text: bytes) -> bytes:
    data = bytearray(gzip.compress(text, mtime=0))
    data[10] = 0xFF  # first deflate byte: block type 3, which does not exist
    return bytes(data)


def test_corrupted_gzip_table(tmp_path):
    p = tmp_path / "CAU.freqs.gz"
    p.write_bytes(_gzip_with_bad_deflate(b"A*01:01~B*08:01,1,0.25\n"))
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read {p}: its gzip data is corrupt or truncated (Error -3 while decompressing data: "
        "invalid block type); re-download or re-compress the file"
    )


def test_truncated_gzip_table(tmp_path):
    p = tmp_path / "CAU.freqs.gz"
    p.write_bytes(gzip.compress(b"A*01:01~B*08:01,1,0.25\n" * 20, mtime=0)[:-12])
    msg = error_of(TableFormatError, load_table, p)
    assert msg.startswith(f"cannot read {p}: its gzip data is corrupt or truncated (")
    assert msg.endswith("); re-download or re-compress the file")


def test_gzip_with_one_flipped_byte_anywhere_is_a_format_error(tmp_path):
    good = gzip.compress(b"A*01:01~B*08:01,1,0.25\nA*02:01~B*08:01,1,0.125\n", mtime=0)
    for i in range(2, len(good)):
        data = bytearray(good)
        data[i] ^= 0x5A
        p = tmp_path / f"F{i}.freqs.gz"
        p.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", HlamatchWarning)
            try:
                load_table(p)
            except HlamatchError as e:
                assert str(p) in str(e), str(e)


def test_hfx_with_corrupted_deflate_data(tmp_path):
    p = hfx(tmp_path / "b.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("HEGL_AFA.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start] = 0xFF  # invalid deflate block type
    p.write_bytes(bytes(data))
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read HFX bundle {p}: member 'HEGL_AFA.csv' is corrupt (Error -3 while decompressing data: "
        "invalid block type); re-download the bundle"
    )


def test_hfx_with_an_encrypted_member(tmp_path):
    p = hfx(tmp_path / "b.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    patch_member_header(p, "HEGL_AFA.csv", flag=0x1)
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read HFX bundle {p}: member 'HEGL_AFA.csv' is encrypted; give hlamatch an unencrypted bundle"
    )


def test_hfx_with_an_unknown_compression_method(tmp_path):
    p = hfx(tmp_path / "b.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n", method=zipfile.ZIP_STORED)
    patch_member_header(p, "HEGL_AFA.csv", method=99)
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read HFX bundle {p}: member 'HEGL_AFA.csv' uses a compression method hlamatch cannot read; "
        "re-pack the bundle with ordinary zip (deflate) compression"
    )


def test_hfx_member_that_is_not_utf8(tmp_path):
    csv = (NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n").encode() + b"A*02:01~B*08:01,1,0.\xff\n"
    p = hfx(tmp_path / "b.hfx", csv)
    offset = csv.index(b"\xff")
    assert error_of(TableFormatError, load_table, p) == (
        f"{p}:HEGL_AFA.csv line 3: not UTF-8 text (byte 0xff at offset {offset}); save the table as UTF-8 text"
    )


def test_hfx_metadata_that_is_not_json(tmp_path):
    p = hfx(tmp_path / "b.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n", meta="{not json")
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read HFX bundle {p}: metadata.json is not valid JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)); fix or remove metadata.json"
    )


@pytest.mark.parametrize("name", [None, "", 3, {"a": 1}], ids=["null", "empty", "number", "object"])
def test_hfx_metadata_population_that_is_not_a_name_falls_back_to_the_file_name(tmp_path, name):
    meta = json.dumps({"metadata": {"cohortDescription": {"population": [{"name": name}]}}})
    p = hfx(tmp_path / "ZZZ.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n", meta=meta)
    assert load_table(p).populations == ("ZZZ",)


def test_hfx_member_corrupt_on_read(tmp_path, monkeypatch):
    """A corrupted local header can make zipfile seek to a negative offset (OSError EINVAL)."""
    p = hfx(tmp_path / "b.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")

    def bad_read(self, name, pwd=None):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(zipfile.ZipFile, "read", bad_read)
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read HFX bundle {p}: member 'HEGL_AFA.csv' is corrupt ([Errno 22] Invalid argument); "
        "re-download the bundle"
    )


# ---------------------------------------------------------------------------- unreadable files and folders


def _deny(*args, **kwargs):
    raise PermissionError(13, "Permission denied")


def test_unreadable_table_file(write, monkeypatch):
    p = write("freqs.JAPI.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    monkeypatch.setattr(Path, "read_bytes", _deny)
    assert error_of(TableFormatError, load_table, p) == f"cannot read {p}: {PERMISSION_HINT}"


def test_unreadable_table_file_cli_line(write, monkeypatch):
    p = write("freqs.JAPI.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    monkeypatch.setattr(Path, "read_bytes", _deny)
    assert_one_error_line(invoke("tables", str(p)), f"Error: cannot read {p}: {PERMISSION_HINT}")


def test_table_in_an_unsearchable_folder(write, monkeypatch):
    """``Path.is_file`` and ``Path.exists`` raise PermissionError when a folder on the way may not be searched."""
    p = write("freqs.JAPI.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    monkeypatch.setattr(Path, "is_file", _deny)
    assert error_of(TableFormatError, load_table, p) == f"cannot read {p}: {PERMISSION_HINT}"
    monkeypatch.setattr(Path, "exists", _deny)
    assert error_of(TableFormatError, resolve_table, str(p)) == f"cannot read {p}: {PERMISSION_HINT}"


def test_unreadable_hfx_bundle(tmp_path, monkeypatch):
    p = hfx(tmp_path / "b.hfx", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    monkeypatch.setattr(zipfile, "ZipFile", _deny)
    assert error_of(TableFormatError, load_table, p) == f"cannot read {p}: {PERMISSION_HINT}"


def test_unreadable_parquet_table(tmp_path, monkeypatch):
    p = tmp_path / "w.parquet"
    pl.DataFrame({"A": ["A*01:01"], "JPN": [0.5]}).write_parquet(p)
    monkeypatch.setattr(Path, "read_bytes", _deny)
    assert error_of(TableFormatError, load_table, p) == f"cannot read {p}: {PERMISSION_HINT}"


@needs_permission_bits
def test_unreadable_table_file_chmod(write):
    p = write("freqs.JAPI.csv", NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    p.chmod(0)
    try:
        assert error_of(TableFormatError, load_table, p) == f"cannot read {p}: {PERMISSION_HINT}"
    finally:
        p.chmod(0o644)


@needs_permission_bits
def test_table_in_unreadable_folder_chmod(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    p = folder / "freqs.JAPI.csv"
    p.write_text(NMDP_HEADER + "A*01:01~B*08:01,1,0.5\n")
    folder.chmod(0)
    try:
        assert error_of(TableFormatError, load_table, p) == f"cannot read {p}: {PERMISSION_HINT}"
        assert error_of(TableFormatError, resolve_table, str(p)) == f"cannot read {p}: {PERMISSION_HINT}"
        r = invoke("tables", str(p))
        assert_one_error_line(r, f"Error: cannot read {p}: {PERMISSION_HINT}")
    finally:
        folder.chmod(0o755)


def test_folder_given_as_table(tmp_path):
    assert error_of(TableFormatError, load_table, tmp_path) == (
        f"table file {str(tmp_path)!r} is not a file but a folder; give the path of a table file"
    )


def test_reader_panic_is_a_format_error(tmp_path, monkeypatch):
    """A polars panic (PanicException is a BaseException) on a corrupt file is one clean error."""
    p = tmp_path / "w.arrow"
    pl.DataFrame({"A": ["A*01:01"], "JPN": [0.5]}).write_ipc(p)

    def panic(*args, **kwargs):
        raise pl.exceptions.PanicException("range end index 72057594037928912 out of range for slice of length 1316")

    monkeypatch.setattr(pl, "from_arrow", panic)
    assert error_of(TableFormatError, load_table, p) == (
        f"cannot read {p}: not a valid Arrow IPC file (range end index 72057594037928912 out of range for slice "
        "of length 1316); re-export the table"
    )


# One process flips bits in the first bytes of a Parquet and an Arrow file (page headers, schema)
# and loads each: the polars readers aborted the whole process on some of them ("memory allocation
# of 2305843009213693952 bytes failed") or panicked on text that is not UTF-8.
_SWEEP = """
import io, sys, warnings
from pathlib import Path
import polars as pl
from hlamatch.errors import HlamatchError, HlamatchWarning
from hlamatch.io.load import load_table

warnings.simplefilter("error")
warnings.simplefilter("ignore", HlamatchWarning)  # rounding excess scaled away: a valid table
out = Path(sys.argv[1])
frame = pl.DataFrame({
    "A": ["A*01:01", "A*02:01", "A*24:02"], "C": ["C*07:01", "C*07:02", "C*12:02"],
    "B": ["B*08:01", "B*07:02", "B*52:01"], "P1": [0.3, 0.2, 0.0], "P2": [0.1, 0.0, 0.4],
})
n = 0
for suffix, write in ((".parquet", frame.write_parquet), (".arrow", frame.write_ipc)):
    bio = io.BytesIO()
    write(bio)
    good = bio.getvalue()
    for i in range(4, min(len(good), 200)):
        for bit in (0x01, 0x80):
            data = bytearray(good)
            data[i] ^= bit
            p = out / f"{i}-{bit}{suffix}"
            p.write_bytes(bytes(data))
            try:
                load_table(p)
            except HlamatchError as e:
                assert str(p) in str(e), str(e)
            n += 1
print("loaded", n)
"""


def test_corrupt_parquet_and_arrow_never_crash_the_process(tmp_path):
    r = subprocess.run(
        [sys.executable, "-c", _SWEEP, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("loaded "), r.stdout


def test_corrupted_arrow_and_parquet_files_are_format_errors(tmp_path):
    frame = pl.DataFrame({"A": ["A*01:01", "A*02:01"], "B": ["B*08:01", "B*07:02"], "JPN": [0.3, 0.2]})
    for name, write in (("w.arrow", frame.write_ipc), ("w.parquet", frame.write_parquet)):
        good = tmp_path / f"good-{name}"
        write(good)
        data = good.read_bytes()
        for cut in (len(data) // 2, len(data) - 8):
            p = tmp_path / f"cut{cut}-{name}"
            p.write_bytes(data[:cut])
            msg = error_of(TableFormatError, load_table, p)
            assert msg.startswith(f"cannot read {p}: not a valid ") and msg.endswith("; re-export the table")


# ---------------------------------------------------------------------------- table_from_frame


@pytest.mark.parametrize(
    "frame,message",
    [
        (
            pl.DataFrame({"A": [["A*01:01"]], "JPN": [0.1]}),
            "f: locus column 'A' has type List(String); expected text (allele names such as 'A*24:02'): "
            "convert the column to strings",
        ),
        (
            pl.DataFrame({"A": ["A*01:01"], "JPN": [[0.1]]}),
            "f: frequency column 'JPN' has type List(Float64); expected numbers (Float64) or numeric text: "
            "convert the column",
        ),
        (
            pl.DataFrame({"A": ["A*01:01"], "JPN": [True]}),
            "f: frequency column 'JPN' has type Boolean; expected numbers (Float64) or numeric text: "
            "convert the column",
        ),
        (
            pl.DataFrame({"Haplo": [b"A*01:01"], "Freq": [0.1]}),
            "f: haplotype column 'Haplo' has type Binary; expected text (haplotypes such as 'A*24:02~B*52:01'): "
            "convert the column to strings",
        ),
        (
            pl.DataFrame({"A": ["A*01:01"], "population": [{"x": 1}], "frequency": [0.1]}),
            "f: population column 'population' has type Struct({'x': Int64}); expected text labels: "
            "convert the column to strings",
        ),
    ],
    ids=["list-locus", "list-frequency", "boolean-frequency", "binary-haplotype", "struct-population"],
)
def test_table_from_frame_column_of_the_wrong_type(frame, message):
    assert error_of(TableSchemaError, table_from_frame, frame, name="f") == message


@pytest.mark.parametrize(
    "frame,message",
    [
        (
            {"A": ["A*01:01"], "JPN": [0.1]},
            "table_from_frame needs a polars DataFrame, got dict: build one with polars.DataFrame(data), "
            "or polars.from_pandas(df) for a pandas frame",
        ),
        (
            pl.DataFrame({"A": ["A*01:01"], "JPN": [0.1]}).lazy(),
            "table_from_frame needs a polars DataFrame, got LazyFrame (collect it first: frame.collect())",
        ),
    ],
    ids=["dict", "lazy"],
)
def test_table_from_frame_given_something_else(frame, message):
    assert error_of(OptionError, table_from_frame, frame) == message


def test_load_table_argument_errors(write):
    p = write("w.csv", "A,JPN\nA*01:01,0.1\n")
    assert error_of(OptionError, load_table, 3) == (
        "a table path must be a str or pathlib.Path, got int: give the file's path"
    )
    assert error_of(OptionError, load_table, p, population=3) == "population must be a name (str), got int 3"
    assert error_of(OptionError, load_table, p, sum_tolerance="0.1") == (
        "sum tolerance must be a non-negative number, got '0.1'"
    )


# ============================================================================ 3. silent wrong answers


@pytest.mark.parametrize(
    "text,name",
    [
        ("A*2:01", "A*02:01"),
        ("DRB1*4:5", "DRB1*04:05"),
        ("HLA-B*7:2g", "B*07:02"),
        ("A*1", "A*01"),
        ("A*02:01:1", "A*02:01:01"),
        ("B*15:101", "B*15:101"),
        ("DPB1*104:01", "DPB1*104:01"),
        ("C*1:2N", "C*01:02N"),
    ],
)
def test_allele_fields_are_padded_to_two_digits(text, name):
    assert parse_allele(text).name == name


def test_padded_and_unpadded_spellings_give_identical_coverage(write):
    padded = write("padded.csv", "A,B,DRB1,JPN\nA*02:01,B*07:02,DRB1*04:05,0.3\nA*24:02,B*52:01,DRB1*15:02,0.2\n")
    short = write("short.csv", "A,B,DRB1,JPN\nA*2:01,B*7:02,DRB1*4:5,0.3\nA*24:02,B*52:01,DRB1*15:02,0.2\n")
    t_padded, t_short = load_table(padded), load_table(short)
    assert t_short.alleles == t_padded.alleles
    for line in ("A*02:01~B*07:02~DRB1*04:05", "A*2:01~B*7:2~DRB1*4:05"):
        a = hlamatch.coverage(t_padded, [line], level="haplotype")[0]
        b = hlamatch.coverage(t_short, [line], level="haplotype")[0]
        assert (a.lower, a.upper) == (b.lower, b.upper)
        assert a.lower > 0


def test_numeric_column_named_pop_is_a_population_frequency_column(write):
    p = write("pop.csv", "A,B,POP\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,0.2\n")
    t = load_table(p)
    assert t.populations == ("POP",)
    assert t.listed_mass() == pytest.approx(0.5)
    frame = pl.DataFrame({"A": ["A*01:01", "A*02:01"], "Pop": [0.3, 0.2], "JPN": [0.1, 0.1]})
    assert table_from_frame(frame).populations == ("Pop", "JPN")


def test_population_option_selects_a_population_of_a_wide_table(write):
    """As in NMDP 2007 and PyPop files: the population asked for, or an error (never another one)."""
    p = write("w.csv", "A,EUR,JPN\nA*01:01,0.3,0.1\nA*02:01,0.2,0.4\n")
    t = load_table(p, population="jpn")
    assert t.populations == ("JPN",)
    assert t.listed_mass() == pytest.approx(0.5)
    assert error_of(OptionError, load_table, p, population="ZZZ") == (
        f"population 'ZZZ' is not in {p} (it has EUR, JPN)"
    )
    long = write("long.csv", "A,population,frequency\nA*01:01,EUR,0.3\nA*02:01,JPN,0.2\n")
    assert load_table(long, population="EUR").populations == ("EUR",)
    assert error_of(OptionError, load_table, long, population="ZZZ") == (
        f"population 'ZZZ' is not in {long} (it has EUR, JPN)"
    )
    # A single 'frequency' column has no population name in the file: the option names it.
    single = write("single.csv", "A,frequency\nA*01:01,0.3\n")
    assert load_table(single, population="ZZZ").populations == ("ZZZ",)


def test_text_column_named_pop_holds_population_labels(write):
    p = write("pop.csv", "A,B,Pop,frequency\nA*01:01,B*08:01,JPN,0.3\nA*02:01,B*08:01,KOR,0.2\n")
    t = load_table(p)
    assert t.populations == ("JPN", "KOR")
    assert t.listed_mass("JPN") == pytest.approx(0.3)
    assert t.listed_mass("KOR") == pytest.approx(0.2)


def test_populations_differing_only_in_case(write):
    p = write("case.csv", "A,P1,p1\nA*01:01,0.3,0.2\n")
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p}: populations 'P1' and 'p1' differ only in case or surrounding spaces (population names are "
        "matched ignoring case); rename one or merge them"
    )


def test_pypop_locus_named_twice_is_an_error_not_a_dropped_column(write):
    text = "popname\tloci\thaplotype\thaplotype.freq\nPopA\tA:A:B\t02:10~03:01~13:01\t0.1\n"
    p = write("3-locus-haplo.tsv", text)
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 2: loci 'A:A:B' name locus 'A' twice; list each locus once"
    )


def test_pypop_unknown_locus_and_missing_haplotype(write):
    p = write("x-haplo.tsv", "popname\tloci\thaplotype\thaplotype.freq\nPopA\tA:X\t02:10~03:01\t0.1\n")
    msg = error_of(UnknownLocusError, load_table, p)
    assert msg.startswith(f"{p} line 2: locus 'X' in loci 'A:X' is not a locus hlamatch knows (known: A, C, B")
    p = write(
        "m-haplo.tsv", "popname\tloci\thaplotype\thaplotype.freq\nPopA\tA:B\t02:10~03:01\t0.1\nPopA\tA:B\t\t0.1\n"
    )
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 3: missing haplotype (column 'haplotype'); fill it in or drop the row"
    )


# ============================================================================ 4. blank lines, line numbers

ROWS_NMDP = NMDP_HEADER + "A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01,1,0.2\n"
ROWS_GRIMM = "A*01:01~B*08:01,1,0.3\nA*02:01~B*08:01,1,0.2\n"
ROWS_N07 = "EUR,HLA-A*01:01g~HLA-B*08:01,0.3,1\nEUR,HLA-A*02:01~HLA-B*08:01,0.2,2\n"
ROWS_WIDE = "A,B,EUR\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,0.2\n"
ROWS_TSV = "A\tB\tEUR\nA*01:01\tB*08:01\t0.3\nA*02:01\tB*08:01\t0.2\n"
ROWS_PYPOP = "popname\tloci\thaplotype\thaplotype.freq\nEUR\tA:B\t01:01~08:01\t0.3\t\nEUR\tA:B\t02:01~08:01\t0.2\t\n"
WANT = {"A*01:01~B*08:01": 0.3, "A*02:01~B*08:01": 0.2}


def _as_dict(t) -> dict[str, float]:
    rows = t.population_rows(t.populations[0])
    return dict(zip(t.haplotype_strings(rows), (float(x) for x in t.freqs[rows, 0])))


@pytest.mark.parametrize(
    "name,rows",
    [
        ("freqs.EUR.csv", ROWS_NMDP),
        ("EUR.freqs", ROWS_GRIMM),
        ("n07.csv", ROWS_N07),
        ("wide.csv", ROWS_WIDE),
        ("wide.tsv", ROWS_TSV),
        ("2-locus-haplo.tsv", ROWS_PYPOP),
    ],
    ids=["nmdp", "grimm", "nmdp2007", "wide-csv", "wide-tsv", "pypop"],
)
@pytest.mark.parametrize("blank", ["\n", "\n\n\n", "\r\n"], ids=["one", "several", "crlf"])
def test_trailing_and_inner_blank_lines_are_not_data(write, name, rows, blank):
    head, *rest = rows.splitlines(keepends=True)
    text = head + blank + "".join(r + blank for r in rest) + blank
    t = load_table(write(name, text))
    assert _as_dict(t) == pytest.approx(WANT)


def test_trailing_blank_lines_in_gzip_and_hfx(tmp_path):
    p = tmp_path / "EUR.freqs.gz"
    p.write_bytes(gzip.compress((ROWS_GRIMM + "\n\n").encode()))
    assert _as_dict(load_table(p)) == pytest.approx(WANT)
    p = hfx(tmp_path / "b.hfx", ROWS_NMDP + "\n\n")
    assert _as_dict(load_table(p)) == pytest.approx(WANT)


def test_line_of_spaces_is_data_and_named_by_its_line(write):
    p = write("w.csv", "A,B,EUR\nA*01:01,B*08:01,0.3\n\n   \n")
    assert error_of(AlleleNameError, load_table, p) == (
        f"{p} line 4: malformed allele name '': expected a name like 'A*24:02' (two-field), 'A*24' (one-field) "
        "or an antigen label like 'A24'"
    )


def test_duplicated_locus_names_its_own_line(write):
    p = write(
        "dup.csv",
        NMDP_HEADER
        + "A*01:01~B*08:01~DRB1*03:01,1,0.1\n"
        + "A*01:01~A*02:01~B*08:01,1,0.1\n"
        + "A*03:01~B*07:02~DRB1*15:01,1,0.1\n",
    )
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 3: haplotype 'A*01:01~A*02:01~B*08:01' names locus 'A' twice; "
        "list each locus once, in the order of the other rows"
    )


def test_duplicated_locus_line_counts_blank_lines(write):
    p = write(
        "dup.csv",
        "\n"
        + NMDP_HEADER
        + "\n"
        + "A*01:01~B*08:01~DRB1*03:01,1,0.1\n\n"
        + "A*01:01~A*02:01~B*08:01,1,0.1\n"
        + "A*03:01~B*07:02~DRB1*15:01,1,0.1\n\n",
    )
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 6: haplotype 'A*01:01~A*02:01~B*08:01' names locus 'A' twice; "
        "list each locus once, in the order of the other rows"
    )


def test_duplicated_locus_in_the_first_row_names_the_first_row(write):
    p = write(
        "dup.freqs",
        "A*01:01~A*02:01~B*08:01,1,0.1\nA*01:01~B*08:01~DRB1*03:01,1,0.1\nA*03:01~B*07:02~DRB1*15:01,1,0.1\n",
    )
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 1: haplotype 'A*01:01~A*02:01~B*08:01' names locus 'A' twice; "
        "list each locus once, in the order of the other rows"
    )


def test_duplicated_locus_in_every_row(write):
    p = write("dup.freqs", "A*01:01~A*02:01,1,0.1\nA*01:01~A*03:01,1,0.1\n")
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 1: haplotype 'A*01:01~A*02:01' names locus 'A' twice (as does every row); list each locus once"
    )


def test_loci_out_of_order_names_the_odd_row(write):
    p = write(
        "o.csv",
        NMDP_HEADER + "B*08:01~A*01:01,1,0.1\nA*01:01~B*08:01,1,0.1\nA*02:01~B*07:02,1,0.1\n",
    )
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 2: allele 'B*08:01' in position 1 of the haplotype belongs to locus 'B', other rows have "
        "'A' there; every row must list loci in one order"
    )


# ============================================================================ 5. other escapes found by fuzzing


def test_not_utf8_text_names_the_line(tmp_path):
    p = tmp_path / "w.csv"
    data = b"A,B,EUR\nA*01:01,B*08:01,0.3\nA*02:01,B*08:01,0.\xe92\n"
    p.write_bytes(data)
    offset = data.index(b"\xe9")
    assert error_of(TableFormatError, load_table, p) == (
        f"{p} line 3: not UTF-8 text (byte 0xe9 at offset {offset}); save the table as UTF-8 text"
    )


def test_row_with_extra_fields_names_the_line(write):
    p = write("w.csv", "A,B,EUR\nA*01:01,B*08:01,0.3\n\nA*02:01,B*08:01,0.2,9\n")
    assert error_of(TableFormatError, load_table, p) == (
        f"{p} line 4: 4 fields, line 1 has 3; every row must have the same fields (remove the extra ',')"
    )


def test_unclosed_quote_names_the_line(write):
    p = write("w.csv", 'A,B,EUR\nA*01:01,B*08:01,0.3\n"A*02:01,B*08:01,0.2\nA*03:01,B*08:01,0.2\n')
    msg = error_of(TableFormatError, load_table, p)
    assert msg.startswith(f"{p} line 3: ") or msg.startswith(f"cannot parse {p} as delimited text: "), msg


def test_column_named_twice_in_the_header(write):
    p = write("w.csv", "A,B,EUR,EUR\nA*01:01,B*08:01,0.3,0.3\n")
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p} line 1: column 'EUR' appears twice in the header; rename or drop one"
    )


def test_column_without_a_name(write):
    p = write("w.csv", ",A,B,EUR\n0,A*01:01,B*08:01,0.3\n")
    assert error_of(TableSchemaError, load_table, p) == (
        f"{p}: a column has no name in the header; name it or drop it (a pandas index column? "
        "write the CSV with index=False)"
    )


def test_bytes_flipped_in_small_files_give_typed_errors(tmp_path):
    """A short deterministic sweep of the fuzz loop: every single-byte change of small files of
    each text format ends in a table or a HlamatchError naming the file, and no warning."""
    seeds = {
        "freqs.EUR.csv": ROWS_NMDP,
        "EUR.freqs": ROWS_GRIMM,
        "n07.csv": ROWS_N07,
        "wide.csv": ROWS_WIDE,
        "2-locus-haplo.tsv": ROWS_PYPOP,
        "long.csv": NULLPOP,
    }
    replacements = [b"", b",", b"~", b"\n", b'"', b"\t", b"\xff", b" ", b"*"]
    for name, text in seeds.items():
        data = text.encode()
        for i in range(0, len(data), 3):
            for k, rep in enumerate(replacements):
                p = tmp_path / f"{i}-{k}-{name}"
                p.write_bytes(data[:i] + rep + data[i + 1 :])
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    warnings.simplefilter("ignore", HlamatchWarning)  # rounding excess scaled away: fine
                    try:
                        load_table(p)
                    except HlamatchError as e:
                        assert str(p) in str(e), str(e)
