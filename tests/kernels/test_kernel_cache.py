"""The numba cache is keyed by every source file of ``hlamatch/kernels`` (``hlamatch._jit.source_digest``).

numba checks only the file of the jitted function, but a kernel's machine code holds the helpers it
calls from other files of the folder: so the kernels are cached in a folder named by a digest of all
of them, below numba's own cache folder (``NUMBA_CACHE_DIR`` when set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hlamatch
from hlamatch import _jit

PACKAGE = Path(hlamatch.__file__).resolve().parent
NO_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def copy_kernels(to: Path) -> Path:
    """The kernel sources and ``_jit.py``, copied under ``to``: (kernels folder)."""
    (to / "kernels").mkdir(parents=True)
    for p in (PACKAGE / "kernels").glob("*.py"):
        shutil.copy(p, to / "kernels" / p.name)
    shutil.copy(PACKAGE / "_jit.py", to / "_jit.py")
    return to / "kernels"


def test_digest_changes_with_any_kernel_file_only(tmp_path):
    same, edited, added = (copy_kernels(tmp_path / x) for x in ("same", "edited", "added"))
    digest = _jit.source_digest(same, same.parent / "_jit.py")
    # an unchanged tree, at another path: the same folder (read afresh: this process's digest is
    # that of the files when it started)
    assert digest == _jit.source_digest.__wrapped__(_jit.KERNELS, PACKAGE / "_jit.py")
    assert _jit.cache_folder(same) == f"hlamatch-{digest}"
    with open(edited / "common.py", "a") as fh:  # a helper other kernels call
        fh.write("\n# edited\n")
    assert _jit.source_digest(edited, edited.parent / "_jit.py") != digest
    (added / "new_family.py").write_text("X = 1\n")
    (added / "notes.txt").write_text("not source\n")
    assert _jit.source_digest(added, added.parent / "_jit.py") != digest
    (added / "new_family.py").unlink()
    assert _jit.source_digest.__wrapped__(added, added.parent / "_jit.py") == digest  # other files do not count


@pytest.mark.skipif(NO_JIT, reason="NUMBA_DISABLE_JIT: the kernels are plain functions, with no cache")
def test_kernels_cache_in_the_digest_folder():
    from hlamatch._settings import defaults
    from hlamatch.kernels import pairs

    if not _jit.CACHE or defaults().kernel_cache_failed:
        pytest.skip("kernel caching is off in this process (HLAMATCH_NUMBA_CACHE=0, or no writable cache folder)")
    assert Path(pairs.pair_mass_folds.stats.cache_path).name == _jit.cache_folder()


_PROBE = textwrap.dedent("""
    import numpy as np, hlamatch
    from hlamatch._jit import cache_folder
    from hlamatch.kernels.common import _popcount
    assert _popcount(np.int64(7)) == 3
    print(hlamatch.__file__)
    print(_popcount.stats.cache_path)
    print(sum(_popcount.stats.cache_hits.values()))
""")


@pytest.mark.skipif(NO_JIT, reason="NUMBA_DISABLE_JIT: the kernels are plain functions, with no cache")
def test_a_changed_helper_file_misses_the_cache(tmp_path):
    """In a copy of the package, with ``NUMBA_CACHE_DIR`` set: a kernel compiles and is cached below it;
    after an edit to another kernel file it compiles again, in another folder; unchanged, it loads."""
    shutil.copytree(PACKAGE, tmp_path / "pkg" / "hlamatch", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "pkg"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("HLAMATCH_NUMBA_CACHE", None)

    def probe() -> tuple[Path, int]:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr[-3000:]
        package, cache, hits = out.stdout.split("\n")[:3]
        assert Path(package).resolve().parent == (tmp_path / "pkg" / "hlamatch").resolve()
        return Path(cache), int(hits)

    first, hits = probe()
    assert hits == 0 and first.parent.parent == tmp_path / "numba" and first.name.startswith("hlamatch-")
    assert probe() == (first, 1)  # unchanged: the same folder, loaded
    with open(tmp_path / "pkg" / "hlamatch" / "kernels" / "pairs.py", "a") as fh:  # not _popcount's file
        fh.write("\n# edited\n")
    second, hits = probe()
    assert second != first and second.parent == first.parent and hits == 0


@pytest.mark.skipif(NO_JIT, reason="NUMBA_DISABLE_JIT: the kernels are plain functions, with no cache")
def test_a_damaged_cache_file_is_replaced_not_a_compile_in_every_process(tmp_path):
    """With ``NUMBA_CACHE_DIR`` set: a kernel is compiled and cached; its data file (``.nbc``), then its
    index (``.nbi``), overwritten with junk: the next process compiles once, without a warning, and
    saves afresh, so the process after it loads from the cache again."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    for name in ("HLAMATCH_NUMBA_CACHE", "NUMBA_DISABLE_JIT"):
        env.pop(name, None)

    def probe() -> tuple[Path, int]:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert "cannot cache" not in out.stderr, out.stderr[-3000:]
        _, cache, hits = out.stdout.split("\n")[:3]
        return Path(cache), int(hits)

    cache, hits = probe()
    assert hits == 0
    assert probe() == (cache, 1)
    for suffix in (".nbc", ".nbi"):
        damaged = [p for p in cache.iterdir() if p.name.startswith("common._popcount") and p.suffix == suffix]
        assert damaged, sorted(p.name for p in cache.iterdir())
        for p in damaged:
            p.write_bytes(b"\x80\x04junk, not numba's data")
        assert probe() == (cache, 0)  # damaged: compiled (and saved) again ...
        assert probe() == (cache, 1)  # ... so the next process loads it


def test_unused_cache_folders_of_other_sources_are_pruned(tmp_path):
    current = tmp_path / _jit.cache_folder()
    current.mkdir()
    old, recent, other = tmp_path / "hlamatch-0000000000000000", tmp_path / "hlamatch-1111111111111111", tmp_path / "x"
    for folder in (old, recent, other):
        folder.mkdir()
        (folder / "k.nbi").write_bytes(b"")
    month = _jit.STALE_CACHE_SECONDS + 3600
    for folder in (old, other, current):
        os.utime(folder, (os.stat(folder).st_atime - month, os.stat(folder).st_mtime - month))
    _jit._PRUNED.discard(str(current))
    _jit._prune_once(str(current))
    assert not old.exists()  # another digest, unused for longer than the limit
    assert recent.exists() and other.exists() and current.exists()  # used lately; not ours; ours
    assert os.stat(current).st_mtime > os.stat(other).st_mtime + month / 2  # marked as used now
