"""The cyclic garbage collector paused while a task's blocks of patients are simulated.

A block allocates hundreds of thousands of small containers (events, history tuples, timeline entries),
nearly all freed by reference counting within the patient that made them. The collector, which runs every
few hundred net allocations, spends its time traversing objects that are alive only for the moment
(measured on the default scenario: 212 young collections and 20 middle ones per 20,000 patients, 5-6% of
the run; 42 and 3 with the pause, see benchmarks/README.md). Paused for a task (a few blocks whose natural
history is computed together), it runs once the task is done, over what the task kept; the few cycles a
block leaves behind wait that long. Results do not depend on it (nothing in the model reads object
identities across collections).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # blocks running with the collector paused, over all threads of the process
_was_enabled = False  # the collector's state before the first of them


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause automatic garbage collection for the ``with`` body; restore it after the last such body.

    Safe for blocks run by several threads at once (a thread pool, Dask's threads): the collector is
    paused when the first starts and restored, to the state it had then, when the last ends. A collector
    that was already disabled stays disabled.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
