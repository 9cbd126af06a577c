"""Pausing Python's cyclic garbage collector around bulk work."""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["gc_paused"]

_LOCK = threading.Lock()
#: Nesting depth of :func:`gc_paused` over all threads, and whether the
#: collector was enabled when the outermost pause began.
_STATE = {"depth": 0, "was_enabled": False}


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration of a block.

    Bulk writes allocate many short-lived containers (row dicts, JSON text,
    parameter tuples); each allocation burst triggers collections that traverse
    every live object, which costs about a quarter of an audited bulk insert's
    time (measured in ``benchmarks/bench_registry.py``). Reference counting
    still frees everything that is not in a cycle; cycles made in the block are
    collected once the collector is back on. Only a bounded block of work should
    run paused.

    The pause is process wide (the collector is), nests, and is safe across
    threads: the collector comes back on when the last paused block in any
    thread ends, and only if it was on when the first one began.
    """
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["was_enabled"] = gc.isenabled()
            gc.disable()
        _STATE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0 and _STATE["was_enabled"]:
                gc.enable()
