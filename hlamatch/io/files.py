"""Reading the bytes and text of a file the user names, with errors that name the file."""

from __future__ import annotations

import codecs
import zlib
from pathlib import Path

from hlamatch.errors import TableFormatError


def _os_error_message(p: str | Path, e: OSError) -> str:
    """The message for a file that cannot be opened or read (shared with :mod:`hlamatch.io.bundled`)."""
    if isinstance(e, PermissionError):
        return (
            f"cannot read {p}: permission denied; make the file and its folder readable "
            "(e.g. chmod u+r) or copy the table somewhere readable"
        )
    if isinstance(e, IsADirectoryError):
        return f"cannot read {p}: it is a folder, not a table file; give the path of the table file"
    return f"cannot read {p}: {e.strerror or e}; check that the file exists and is readable"


def _read_bytes(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except OSError as e:
        raise TableFormatError(_os_error_message(p, e)) from e


def without_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark (spreadsheets write one): every text file a
    user gives, tables and small files alike, is read past it."""
    return data.removeprefix(codecs.BOM_UTF8)


def _decode(data: bytes, where: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); a decoding error names the line and byte."""
    data = without_bom(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise TableFormatError(
            f"{where} line {line}: not UTF-8 text (byte {data[e.start]:#04x} at offset {e.start}); "
            "save the table as UTF-8 text"
        ) from e


def _open_text(p: Path) -> str:
    data = _read_bytes(p)
    if data[:2] == b"\x1f\x8b":
        import gzip  # here, not at the top: a command that hits the table cache never needs it

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise TableFormatError(
                f"cannot read {p}: its gzip data is corrupt or truncated ({e}); re-download or re-compress the file"
            ) from e
    return _decode(data, str(p))
