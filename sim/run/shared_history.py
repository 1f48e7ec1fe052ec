"""One natural history per block for the arms that a job runs one after the other (a PSA draw, a DSA step).

Common random numbers make a patient's natural history (their traits, background death and precomputed
timeline) the same in every arm whose natural-history parameters are the same: only what the treatments do
differs. Inside :func:`shared_natural_history`, each block's natural history is computed by the first arm
that needs it and read, never written, by the others; outside it nothing is kept. The store is per thread
(jobs that run in threads of one process do not see each other's) and bounded, so a job holds at most
:data:`MAX_BLOCKS` blocks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
#: Blocks kept at most (the oldest goes first): 64 blocks of 256 patients are a 16,384-patient arm.
MAX_BLOCKS = 64
_local = threading.local()


@contextlib.contextmanager
def shared_natural_history() -> Iterator[None]:
    """Share the natural history of each block among the runs made inside (nested uses share the outer)."""
    if getattr(_local, "store", None) is not None:
        yield
        return
    _local.store = {}
    try:
        yield
    finally:
        _local.store = None


def shared_natural_histories(
    keys_of: Sequence[Callable[[], Hashable]], compute: Callable[[list[int]], list[T]]
) -> list[T]:
    """The natural histories of several blocks: those an earlier run stored inside
    :func:`shared_natural_history` are read, the others computed together.

    ``keys_of[i]()`` (called only inside, where there is a store to look in) must determine block ``i``'s
    natural history completely: the caller's duty (seed, draw, block, cohort size, life table and every
    natural-history value). ``compute(missing)`` returns the natural histories of the blocks at the indices
    ``missing`` (all of them outside), in that order.
    """
    store: dict | None = getattr(_local, "store", None)
    if store is None:
        return compute(list(range(len(keys_of))))
    keys = [key_of() for key_of in keys_of]
    found: list[T | None] = [store.get(key) for key in keys]
    missing = [i for i, value in enumerate(found) if value is None]
    if missing:
        for i, value in zip(missing, compute(missing), strict=True):
            found[i] = value
            if len(store) >= MAX_BLOCKS:
                del store[next(iter(store))]
            store[keys[i]] = value
    return found  # type: ignore[return-value]
