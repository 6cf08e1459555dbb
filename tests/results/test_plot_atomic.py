"""The plot file is written atomically: the old file or the whole new one, never a partial file;
paths that are not regular files (a folder, a FIFO, a device) and failed writes are OptionErrors
naming the file."""

from __future__ import annotations

import os

import pytest

from hlamatch.errors import OptionError
from hlamatch.results.plot import check_plot_path, plot_plan, write_atomically

STEPS = [{"step": 0, "coverage": 0.0}, {"step": 1, "coverage": 0.2}]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "curve.png"
    out.write_bytes(b"old")

    def fail(tmp):
        with open(tmp, "wb") as f:
            f.write(b"part")
        raise OSError(28, "No space left on device")

    with pytest.raises(OptionError, match=r"cannot write plot file '.*curve.png': No space left on device"):
        write_atomically(out, fail)
    assert out.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["curve.png"]


def test_write_replaces_the_whole_file(tmp_path):
    out = tmp_path / "x.png"
    out.write_bytes(b"old")

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(b"new")

    write_atomically(out, write)
    assert out.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.png"]


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_paths_that_are_not_regular_files(tmp_path, kind):
    if kind == "folder":
        path = tmp_path / "d.png"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "f.png"
        os.mkfifo(path)
    else:
        if not os.path.exists("/dev/full"):
            pytest.skip("needs /dev/full")
        path = "/dev/full"
    with pytest.raises(OptionError, match="must end in|not a regular file"):
        check_plot_path(path)
    if kind != "device":
        with pytest.raises(OptionError, match="not a regular file"):
            plot_plan(STEPS, path)


def test_unwritable_virtual_folder():
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")
    pytest.importorskip("matplotlib")
    with pytest.raises(OptionError, match="cannot write plot file '/proc/curve.png'"):
        plot_plan(STEPS, "/proc/curve.png")
