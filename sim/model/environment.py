"""The SimPy environment a patient lives in: SimPy's own, with the state the model touches in slots.

The compiled model (:mod:`sim.model.process`) reads and writes an environment's clock, heap and event
counter itself, several times on every event of every patient (SimPy 4's internals, to which the
dependency is pinned). On a ``simpy.Environment`` each of those is a generic attribute lookup: the type's
attributes, then the instance's dictionary. As slots of a subclass, each is found on the type (a member
descriptor) and the instance dictionary is not searched. Nothing else changes: SimPy's methods run as they
are, on the same state.

A module of its own, run as Python: a compiled module cannot define a subclass of a Python class.
"""

from __future__ import annotations

import simpy


class PatientEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` whose clock, event heap, event counter and active process are slots."""

    __slots__ = ("_now", "_queue", "_eid", "_active_proc")
