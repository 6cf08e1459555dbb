"""A small on-disk cache for parsed files (nomenclature files, frequency tables).

Entries live under ``HLAMATCH_CACHE_DIR`` (default: the user's cache folder, e.g.
``~/.cache/hlamatch``).  The cache is a speed-up, never a condition: a missing, unreadable or
invalid entry, or a folder that cannot be used, means building again.

Safety: nothing in an entry can execute.  An entry is a JSON document (``NAME.json``: the key,
the metadata and the dtype and shape of each array) and zero or more NumPy ``.npy`` files of plain
numbers (``NAME.ARRAY.npy``), read without pickles; the caller's ``load`` checks every value's
type and size before use, and anything unexpected is a miss.  The folder is created private
(mode 0700); a folder owned by another user, or writable by group or others, is not used at all
(one :class:`~hlamatch.errors.HlamatchWarning` per process says so).  Entries are written with
mode 0600 to a temporary file that replaces the entry in one step; temporary files left by a
writer that died are removed after :data:`STALE_TMP_SECONDS`.

Staleness: entries are keyed by the caller's parts, usually :func:`fingerprint` of each input file
(size, modification time, inode and a hash of its content, whole or sampled), by the hlamatch
version and by :data:`FORMAT`.  A file edited in place, even to the same size and time, gets a
new entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import secrets
import stat
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

__all__ = [
    "cached",
    "cache_dir",
    "fingerprint",
    "identity",
    "open_regular",
    "read_limited",
    "json_str_dict",
    "json_str_list",
    "FORMAT",
    "STALE_TMP_SECONDS",
]

#: Bumped whenever a cached form changes, so old entries are ignored.
FORMAT = 6
#: A temporary file older than this (seconds) belongs to a writer that died: it is removed.
STALE_TMP_SECONDS = 3600
#: Files up to this size are hashed whole by :func:`fingerprint`; larger ones in three blocks.
WHOLE_HASH_BYTES = 4 * 2**20
#: The size of each block hashed of a larger file (first, middle, last).
SAMPLE_BYTES = 64 * 2**10
#: The largest JSON document of an entry that is read.
MAX_JSON_BYTES = 512 * 2**20
#: The deepest nesting of brackets read in an entry's JSON document (entries nest 4 deep).
MAX_JSON_DEPTH = 64
#: Array dtypes an entry may hold (plain numbers; never objects).
_DTYPES = ("<i4", "<i8", "<f8", "|b1")

_refused: set[str] = set()
_cleaned: set[str] = set()
_version: list[str] = []


def cache_dir() -> Path:
    """Where entries live: ``HLAMATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/hlamatch`` or ``~/.cache/hlamatch``."""
    env = os.environ.get("HLAMATCH_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "hlamatch"


def open_regular(path: str | Path, follow: bool = True) -> io.BufferedReader:
    """``path`` opened for binary reading, if it is a regular file.

    The file is opened non-blocking (a FIFO neither hangs the open nor is read) and checked with
    ``fstat`` on the open descriptor, so what is read is what was checked.  ``follow=False``: a
    symbolic link is refused too.

    Raises
    ------
    OSError
        The file cannot be opened.
    ValueError
        It is not a regular file (a FIFO, a device such as ``/dev/zero``, a folder, ...).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(fh: IO[bytes], limit: int) -> bytes | None:
    """All of an open regular file, or None if it holds more than ``limit`` bytes; the buffer is
    sized by the file (``read(n)`` would allocate ``n`` bytes whatever the file holds)."""
    size = os.fstat(fh.fileno()).st_size
    if size > limit:
        return None
    data = fh.read(size + 1)
    if len(data) > size:  # it grew since (or a size-0 special file of /proc): read on, to the limit
        data += fh.read(limit + 1 - len(data))
    return None if len(data) > limit else data


#: Fingerprints computed in this process, by the file's status (device, inode, size, mtime, ctime).
_FINGERPRINTS: dict[tuple[int, ...], str] = {}
_FINGERPRINTS_LOCK = threading.Lock()


def fingerprint(path: str | Path) -> str:
    """The identity of a regular file's current content: size, modification time (ns), device and
    inode, and a hash of its bytes (the whole file up to :data:`WHOLE_HASH_BYTES`, else its first,
    middle and last :data:`SAMPLE_BYTES`).

    Raises
    ------
    OSError, ValueError
        The file cannot be read, or is not a regular file.
    """
    with open_regular(path) as fh:
        st = os.fstat(fh.fileno())
        # Hashed once per process while the file's status is unchanged: any write changes its
        # ctime, which no caller can set back (so an in-place edit with the old mtime is seen).
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        with _FINGERPRINTS_LOCK:
            known = _FINGERPRINTS.get(key)
        if known is not None:
            return known
        h = hashlib.sha256()
        if st.st_size <= WHOLE_HASH_BYTES:
            for block in iter(lambda: fh.read(2**20), b""):
                h.update(block)
        else:
            for offset in (0, st.st_size // 2 - SAMPLE_BYTES // 2, st.st_size - SAMPLE_BYTES):
                fh.seek(offset)
                h.update(fh.read(SAMPLE_BYTES))
    found = f"{st.st_size}:{st.st_mtime_ns}:{st.st_dev}:{st.st_ino}:{h.hexdigest()[:32]}"
    with _FINGERPRINTS_LOCK:
        if len(_FINGERPRINTS) >= 1024:
            _FINGERPRINTS.clear()
        _FINGERPRINTS[key] = found
    return found


def identity(path: str | Path) -> str | None:
    """:func:`fingerprint`, or None when the file cannot be fingerprinted (then nothing is cached)."""
    try:
        return fingerprint(path)
    except (OSError, ValueError):
        return None


def json_str_dict(value: Any) -> dict[str, str]:
    """``value`` if it is a dict of str to str (as read from JSON); else ValueError."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("not a dict of str to str")
    return value


def json_str_list(value: Any) -> list[str]:
    """``value`` if it is a list of str (as read from JSON); else ValueError."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of str")
    return value


def _hlamatch_version() -> str:
    if not _version:
        from hlamatch._version import installed_version

        _version.append(installed_version())
    return _version[0]


def _refuse(folder: Path, problem: str) -> None:
    if str(folder) in _refused:
        return
    _refused.add(str(folder))
    from hlamatch.errors import HlamatchWarning

    warnings.warn(
        f"the hlamatch cache folder {folder} {problem}, so it is not used (nothing is read from or written "
        f"to it; work is done again each run): make it a folder of your own that only you can write "
        f"(chmod 700), or set HLAMATCH_CACHE_DIR to one",
        HlamatchWarning,
        stacklevel=4,
    )


def _usable_dir() -> Path | None:
    """The cache folder, created private (0700) if missing; None (after one warning) if it is not
    a folder, belongs to another user, or can be written by group or others."""
    folder = cache_dir()
    try:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except FileExistsError:  # a file: refused below
            pass
        st = os.stat(folder)
    except (OSError, ValueError):  # cannot be made or seen: no cache, silently (e.g. a read-only home)
        return None
    if not stat.S_ISDIR(st.st_mode):
        _refuse(folder, "is not a folder")
        return None
    getuid = getattr(os, "getuid", None)
    if getuid is not None:  # POSIX; elsewhere ownership is not checked
        if st.st_uid != getuid():
            _refuse(folder, "belongs to another user")
            return None
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            _refuse(folder, f"can be written by other users (mode {stat.S_IMODE(st.st_mode):o})")
            return None
    return folder


def _clean(folder: Path) -> None:
    """Remove, once per process, temporary files of writers that died and entries of old versions
    (pickles: never read)."""
    if str(folder) in _cleaned:
        return
    _cleaned.add(str(folder))
    now = time.time()
    try:
        with os.scandir(folder) as it:
            for e in it:
                try:
                    if e.name.endswith(".pickle") or (
                        e.name.endswith(".tmp") and now - e.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS
                    ):
                        os.unlink(e.path)
                except OSError:
                    continue
    except OSError:
        pass


def _read_json(path: Path) -> Any:
    with open_regular(path, follow=False) as fh:
        data = read_limited(fh, MAX_JSON_BYTES)
    if data is None:
        raise ValueError("entry too large")
    if _nesting(data) > MAX_JSON_DEPTH:  # json's C parser recurses once per level
        raise ValueError("entry nested too deeply")
    return json.loads(data.decode("utf-8"))


def _nesting(data: bytes) -> int:
    """An upper bound of the nesting depth of a JSON document (brackets inside strings count too)."""
    b = np.frombuffer(data, dtype=np.uint8)
    step = (b == ord("[")).astype(np.int64) + (b == ord("{")) - (b == ord("]")) - (b == ord("}"))
    return int(np.cumsum(step).max(initial=0))


def _read_npy(path: Path, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """An array of exactly ``dtype`` and ``shape`` from a ``.npy`` file, read without pickles."""
    fmt = np.lib.format
    with open_regular(path, follow=False) as fh:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            got_shape, fortran, got_dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            got_shape, fortran, got_dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if got_dtype.hasobject or got_dtype != np.dtype(dtype) or fortran or tuple(got_shape) != shape:
            raise ValueError("array header does not match the entry")
        n = math.prod(shape) * got_dtype.itemsize
        if os.fstat(fh.fileno()).st_size - fh.tell() != n:
            raise ValueError("array data has the wrong size")
        buf = bytearray(n)
        if fh.readinto(buf) != n:
            raise ValueError("array data is truncated")
    return np.frombuffer(buf, dtype=got_dtype).reshape(shape)


def _read_entry(folder: Path, stem: str, key: str, load: Callable[[Any, dict[str, np.ndarray]], Any]) -> Any:
    doc = _read_json(folder / f"{stem}.json")
    if not isinstance(doc, dict) or doc.get("key") != key or not isinstance(doc.get("arrays"), dict):
        raise ValueError("not this entry")
    arrays = {}
    for name, spec in doc["arrays"].items():
        if not (
            isinstance(name, str)
            and name.isidentifier()
            and isinstance(spec, dict)
            and spec.get("dtype") in _DTYPES
            and isinstance(spec.get("shape"), list)
            and all(type(s) is int and 0 <= s < 2**40 for s in spec["shape"])
        ):
            raise ValueError("bad array description")
        arrays[name] = _read_npy(folder / f"{stem}.{name}.npy", spec["dtype"], tuple(spec["shape"]))
    return load(doc.get("meta"), arrays)


def _write_file(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` (mode 0600) through a temporary file that replaces it in one step."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _write_entry(folder: Path, stem: str, key: str, meta: Any, arrays: Mapping[str, np.ndarray]) -> None:
    _clean(folder)
    specs = {}
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.str not in _DTYPES or not name.isidentifier():
            raise ValueError(f"array {name} of dtype {arr.dtype} cannot be cached")
        specs[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape)}

        def write_array(fh: IO[bytes], a: np.ndarray = arr) -> None:
            np.lib.format.write_array(fh, a, allow_pickle=False)

        _write_file(folder / f"{stem}.{name}.npy", write_array)
    text = json.dumps({"key": key, "arrays": specs, "meta": meta}, allow_nan=True)
    _write_file(folder / f"{stem}.json", lambda fh: fh.write(text.encode("ascii")))  # last: the entry is whole


_MISS = object()

_T = TypeVar("_T")


def cached(
    kind: str,
    key_parts: Sequence[str | None] | None,
    build: Callable[[], _T],
    dump: Callable[[_T], tuple[Any, Mapping[str, np.ndarray]]],
    load: Callable[[Any, dict[str, np.ndarray]], _T],
) -> _T:
    """``build()``, cached under ``kind`` and ``key_parts`` (plus :data:`FORMAT` and the hlamatch version).

    ``dump(value)`` gives (JSON-able metadata, arrays by name); ``load(metadata, arrays)`` rebuilds
    the value, raising any exception if the metadata or arrays are not exactly what it expects
    (that is a miss).  ``key_parts`` None, or holding a None (an input that cannot be
    fingerprinted), means no caching.
    """
    if key_parts is None or any(k is None for k in key_parts):
        return build()
    folder = _usable_dir()
    if folder is None:
        return build()
    key = "|".join([str(FORMAT), kind, _hlamatch_version(), *[str(k) for k in key_parts]])
    stem = f"{kind}-{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"
    try:
        value = _read_entry(folder, stem, key, load)
    except Exception:  # missing, unreadable or invalid: build again
        value = _MISS
    if value is not _MISS:
        return value
    value = build()
    try:
        meta, arrays = dump(value)
        _write_entry(folder, stem, key, meta, arrays)
    except Exception:
        pass
    return value
