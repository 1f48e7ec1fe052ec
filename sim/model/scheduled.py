"""An event already on its environment's heap: what a ``simpy.Timeout`` is, built in one interpreted call.

A patient's waits are SimPy events at a time: ``env.timeout(delay)`` builds a ``Timeout`` through a bound
class, its ``__init__`` and the environment's ``schedule``, three interpreted calls per wait. This module is
deliberately not compiled (it is not in ``sim.model.compiled.COMPILED_MODULES``): an instance of a Python
class gets its attributes through the interpreter's specialised stores, which cost less than the generic
attribute calls that compiled code makes on a Python object (measured: building the event from compiled
code made a treated lifetime about 1.7% dearer, this class makes it about 1.7% cheaper). Relies on SimPy 4's
internals, as :func:`sim.model.process.fresh_environment` does (the dependency is pinned below 5).
"""

from __future__ import annotations

from heapq import heappush

import simpy


class Scheduled(simpy.Event):
    """A succeeded event (value ``None``) at time ``t`` on ``env``'s heap, ordered as SimPy orders its own
    events: by time, then ``priority`` (``simpy.events.NORMAL`` for a timeout), then creation."""

    def __init__(self, env: simpy.Environment, t: float, priority: int) -> None:
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        heappush(env._queue, (t, priority, next(env._eid), self))
