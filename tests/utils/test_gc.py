"""Tests for the garbage-collector pause around bulk work."""

import gc
import threading
import weakref

import pytest

from plptms.utils import gc_paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_back_on_after():
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pause_keeps_collector_off_until_outermost_ends():
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still running
    assert gc.isenabled()


def test_back_on_after_an_exception():
    with pytest.raises(RuntimeError, match="boom"), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_collector_left_off_if_it_was_off():
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # not switched on behind the caller's back


def test_overlapping_pauses_in_two_threads():
    # thread A pauses first, B pauses while A is paused, A ends first: the
    # collector must stay off until B ends, then come back on
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with gc_paused():
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with gc_paused():
            b_in.set()
            a_out.wait(5)
            seen["after_a"] = gc.isenabled()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join(10)
    tb.join(10)
    assert seen == {"after_a": False}
    assert gc.isenabled()


def test_cycles_made_while_paused_are_collected_after():
    class Node:
        pass

    with gc_paused():
        n = Node()
        n.self = n
        ref = weakref.ref(n)
        del n
        assert ref() is not None  # reference counting alone cannot free a cycle
    gc.collect()
    assert ref() is None
