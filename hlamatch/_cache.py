"""A small on-disk cache for parsed files (nomenclature files, frequency tables).

Entries are pickles under ``HLAMATCH_CACHE_DIR`` (default: the user's cache folder, e.g.
``~/.cache/hlamatch``), keyed by the file's absolute path, size and modification time plus a
``role`` string naming what was built and with which options.  The cache is a speed-up, never a
condition: a missing, unreadable or corrupt entry, or a folder that cannot be written, means
building again.  A changed file (size or time) gets a new entry.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any, Callable

__all__ = ["cached", "cache_dir"]

#: Bumped whenever a cached form changes, so old entries are ignored.
FORMAT = 5


def cache_dir() -> Path:
    """Where entries live: ``HLAMATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/hlamatch`` or ``~/.cache/hlamatch``."""
    env = os.environ.get("HLAMATCH_CACHE_DIR", "").strip()
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "hlamatch"


def cached(path: Path, role: str, build: Callable[[], Any]) -> Any:
    """``build()``, cached under ``path``'s identity (absolute path, size, modification time) and ``role``."""
    try:
        st = path.stat()
        key = f"{FORMAT}|{role}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    except (OSError, ValueError):
        return build()
    entry = cache_dir() / f"{role.split('|')[0]}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.pickle"
    try:
        with entry.open("rb") as fh:
            stored_key, value = pickle.load(fh)
        if stored_key == key:
            return value
    except Exception:  # missing, unreadable or corrupt: build again
        pass
    value = build()
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump((key, value), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except Exception:
        pass
    return value
