"""The package's own errors: bad input is reported with the file and the field, never a deep traceback."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario file (or a value derived from it) is invalid.

    The message names the file, the field path (dotted, e.g. ``progression.p_fast_progressor``), the value
    found and what is allowed, so that a user can fix the file without reading code.
    """

    def __init__(self, message: str, file: str | None = None, field: str | None = None) -> None:
        self.file = file
        self.field = field
        self.reason = message
        where = []
        if file:
            where.append(f"in {file}")
        if field:
            where.append(f"at '{field}'")
        prefix = ("invalid scenario " + ", ".join(where) + ": ") if where else "invalid scenario: "
        super().__init__(prefix + message)

    def __reduce__(self):  # rebuilt from its parts, so a pickled copy (from a worker) reads the same
        return (type(self), (self.reason, self.file, self.field))


class SimulationError(RuntimeError):
    """A patient's process failed; the message names the patient, the draw and the seed."""


class EventBudgetExceeded(SimulationError):
    """A patient exceeded the budget of scheduled events (:data:`sim.model.process.EVENT_BUDGET`);
    ``events`` counts their events by (event, detail).

    Built from plain values (message, patient id, counts), because SimPy re-creates an exception raised in
    a process from its ``args``.
    """

    def __init__(self, message: str, pid: int = -1, events: dict | None = None) -> None:
        super().__init__(message, pid, events or {})
        self.pid = pid
        self.events = events or {}

    def __str__(self) -> str:
        return str(self.args[0])
