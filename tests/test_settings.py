"""Settings (``hlamatch._settings``): process-wide defaults seen by every thread, ``with`` blocks seen
only by their own thread.  (tests/conftest.py puts the process-wide defaults back after each test.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import hlamatch
from hlamatch import _hooks, _settings
from hlamatch._settings import current, using
from hlamatch.compute import dispatch
from hlamatch.engine.setting import EngineSetting, current_engine, set_engine, use_engine
from hlamatch.hla.nomenclature import MacCodes, Nomenclature, current_mac, current_nomenclature


def seen() -> tuple:
    """What a thread sees of the settings the tests change."""
    return (
        current_engine().min_ranges,
        dispatch.small_pairs(),
        dispatch.small_rule_work(),
        dispatch.hash_grouping_rows(),
        current().mac,
    )


DEFAULT = (None, 200_000, 20_000_000, 4096, None)


def in_thread(fn):
    """Start ``fn`` in a new thread; returns (thread, box): box[0] is its result or exception once joined."""
    box: list = []

    def run():
        try:
            box.append(fn())
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box.append(e)

    t = threading.Thread(target=run)
    t.start()
    return t, box


def joined(t, box):
    t.join(timeout=30)
    assert not t.is_alive()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def test_blocks_hold_in_their_own_thread_only():
    """While one thread runs inside ``use_engine``/``kernels_only``/``using`` blocks, another thread
    running at the same time (and one started inside the block) sees the defaults."""
    entered, checked, done = threading.Event(), threading.Event(), threading.Event()
    mac = MacCodes("test", {"AB": ("01", "02")})

    def blocks():
        with use_engine("local", min_ranges=3), dispatch.kernels_only(), using(small_rule_work=7, mac=mac):
            inside = seen()
            entered.set()
            assert checked.wait(30)
            t, box = in_thread(seen)  # a thread started inside the block: a fresh context
            fresh = joined(t, box)
            still = seen()
        return inside, fresh, still, seen()

    def other():
        assert entered.wait(30)
        meanwhile = seen()
        checked.set()
        assert done.wait(30)
        return meanwhile

    t1, box1 = in_thread(blocks)
    t2, box2 = in_thread(other)
    inside, fresh, still, after = joined(t1, box1)
    done.set()
    meanwhile = joined(t2, box2)
    assert inside == still == (3, -1, 7, 1, mac)
    assert meanwhile == fresh == after == DEFAULT
    assert seen() == DEFAULT  # the main thread never saw the blocks either


def test_process_wide_setters_are_seen_by_every_thread():
    """``set_engine``, ``use_mac_file``, ``use_nomenclature`` and ``on_compile`` change the defaults
    for threads already running, threads started later, and blocks that override other settings."""
    changed, looked = threading.Event(), threading.Event()
    nom = Nomenclature(Path("nowhere"))
    mac = MacCodes("test", {"AB": ("01", "02")})

    def callback(message: str) -> None:
        pass

    def waiting():
        with dispatch.kernels_only():  # overrides the thresholds only
            assert changed.wait(30)
            inside = (
                current_engine().min_ranges,
                current_mac("A*01:AB"),
                current_nomenclature(),
                current().on_compile,
                dispatch.small_pairs(),
            )
        looked.set()
        return inside

    t, box = in_thread(waiting)
    assert set_engine("local", min_ranges=5) == EngineSetting()
    hlamatch.use_mac_file(mac)
    hlamatch.use_nomenclature(nom)
    _hooks.on_compile(callback)
    changed.set()
    assert joined(t, box) == (5, mac, nom, callback, -1)
    t, box = in_thread(lambda: (current_engine().min_ranges, current_mac("A*01:AB"), current_nomenclature()))
    assert joined(t, box) == (5, mac, nom)


def test_a_block_wins_over_the_default_inside_it_only():
    set_engine("local", min_ranges=2)
    with use_engine("local", min_ranges=4) as block:
        assert block.setting.min_ranges == current_engine().min_ranges == 4
        set_engine("local", min_ranges=6)  # the default changes; the block still holds here
        assert current_engine().min_ranges == 4
        with using(small_pairs=1):
            assert (current_engine().min_ranges, dispatch.small_pairs()) == (4, 1)
        assert dispatch.small_pairs() == 200_000
    assert current_engine().min_ranges == 6


def test_blocks_nest_restore_after_errors_and_may_be_reused():
    block = using(small_pairs=11)
    with pytest.raises(ZeroDivisionError), block:
        with block, using(small_pairs=12):
            assert dispatch.small_pairs() == 12
        assert dispatch.small_pairs() == 11
        raise ZeroDivisionError
    assert dispatch.small_pairs() == 200_000
    with block:
        assert dispatch.small_pairs() == 11


def test_names_are_checked():
    with pytest.raises(TypeError, match="unknown hlamatch setting"):
        using(small_pair=1)
    with pytest.raises(TypeError, match="unknown hlamatch setting"):
        _settings.set_defaults(engines=None)
    with pytest.raises(TypeError, match="process state"):
        using(compile_announced=True)
    with pytest.raises(TypeError, match="not a process-state flag"):
        _settings.claim("small_pairs")


def test_once_per_process_flags_are_claimed_once_whatever_the_threads():
    said: list[str] = []
    _settings.set_defaults(compile_announced=False, on_compile=said.append)
    start = threading.Barrier(8)

    def compile_():
        start.wait(30)
        _hooks.compiling(cached=True)

    threads = [threading.Thread(target=compile_) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert said == [_hooks.COMPILE_CACHED]
    assert _settings.claim("compile_announced") is False
