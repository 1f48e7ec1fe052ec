"""Stream a run's tables to files block by block, so that memory does not grow with the cohort.

:func:`stream_run` consumes the blocks of :func:`sim.run.runner.iter_blocks` in block order and appends
each block's patients (and, with ``keep_events``, its events and courses) to the output files as it
arrives; it keeps only the milestone times that the summary needs (:data:`SUMMARY_COLUMNS`, 80 bytes per
patient). The files are byte-identical to writing the frames of an in-memory :func:`sim.simulate` of the
same seed with ``DataFrame.to_csv(index=False)``.

Two formats: CSV (``format="csv"``, the default) and Parquet (``format="parquet"``, one row group per
block, needs ``pyarrow``), which is several times smaller and faster to read for large runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.run.executors import ExecutorLike
from sim.run.runner import (
    BlockOutput,
    courses_frame,
    events_frame,
    iter_blocks,
    patients_frame,
    run_metadata,
)
from sim.scenario.loading import Scenario

__all__ = ["FORMATS", "StreamedRun", "TableWriter", "stream_run"]

FORMATS = ("csv", "parquet")
#: Columns of ``patients`` that :func:`analysis.summary.milestone_summary` reads (kept for the summary).
SUMMARY_COLUMNS = (
    "t_sensory_hands",
    "t_ataxia",
    "t_weakness",
    "t_tremor",
    "t_disabled",
    "t_walking_aid",
    "t_diagnosis",
    "t_malignancy",
    "t_death",
)

EVENT_TYPES = {
    "strategy": "string",
    "patient_id": "int64",
    "time": "float64",
    "age": "float64",
    "event": "string",
    "detail": "string",
    "value": "float64",
}
COURSE_TYPES = {
    "strategy": "string",
    "patient_id": "int64",
    "treatment": "string",
    "type": "string",
    "course": "int64",
    "start": "float64",
    "end": "float64",
    "outcome": "string",
    "responder": "bool",
    "total_dose": "float64",
    "n_doses": "int64",
    "n_adverse_events": "int64",
}


class TableWriter:
    """Append frames with the same columns to one CSV or Parquet file.

    CSV: the header once, then each frame's rows exactly as ``DataFrame.to_csv(index=False)`` writes them.
    Parquet: one row group per frame, with the column types of the first frame (a later frame whose column
    holds only missing values is cast to them).
    """

    def __init__(self, path: Path, fmt: str, types: dict[str, str] | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
        self.path = Path(path)
        self.fmt = fmt
        self.types = types or {}  # Parquet column types that a block may not reveal (all missing)
        self._fh = None
        self._parquet = None
        self._schema = None
        self.rows = 0

    def append(self, frame: pd.DataFrame) -> None:
        if self.fmt == "csv":
            if self._fh is None:
                self._fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - kept open
                frame.to_csv(self._fh, index=False)
            else:
                frame.to_csv(self._fh, index=False, header=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                fields = []
                for f in table.schema:
                    if f.name in self.types:
                        f = f.with_type(pa.type_for_alias(self.types[f.name]))
                    elif pa.types.is_null(f.type):
                        f = f.with_type(pa.string())
                    fields.append(f)
                self._schema = pa.schema(fields).remove_metadata()
                self._parquet = pq.ParquetWriter(self.path, self._schema)
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            self._parquet.write_table(table)
        self.rows += len(frame)

    def close(self, empty_columns: list[str] | None = None) -> None:
        """Finish the file; with no rows written, write just the header of ``empty_columns``."""
        if self._fh is None and self._parquet is None and empty_columns is not None:
            self.append(pd.DataFrame({c: pd.Series(dtype=object) for c in empty_columns}))
        if self._fh is not None:
            self._fh.close()
        if self._parquet is not None:
            self._parquet.close()


@dataclass
class StreamedRun:
    """What :func:`stream_run` keeps: the summary inputs, the metadata, the scenario values, file names."""

    summary_patients: pd.DataFrame
    metadata: dict[str, Any]
    values: Any
    files: list[str]
    n_patients: int


def stream_run(
    scenario: Scenario,
    out_dir: Path,
    n_patients: int,
    seed: int = 1,
    workers: int = 1,
    keep_events: bool = False,
    fmt: str = "csv",
    progress: bool = False,
    executor: ExecutorLike = None,
    on_block: Callable[[BlockOutput], None] | None = None,
) -> StreamedRun:
    """Simulate ``scenario`` and write ``patients`` (and ``events``, ``courses``) into ``out_dir``.

    Parameters
    ----------
    scenario, n_patients, seed, workers, keep_events, progress, executor
        As :func:`sim.simulate`.
    out_dir : Path
        An existing directory (e.g. the temporary one of :func:`sim.run.output.atomic_output_dir`).
    fmt : {"csv", "parquet"}
        File format; files are named ``patients.csv`` or ``patients.parquet`` etc.
    on_block : callable, optional
        Called with each block's output after it is written (e.g. to accumulate more summaries).

    Returns
    -------
    StreamedRun
        ``summary_patients``: ``strategy`` and :data:`SUMMARY_COLUMNS` of every patient, for
        :func:`analysis.summary.milestone_summary`; the run's metadata; the names of the files written.
    """
    from sim.run.runner import COURSE_COLUMNS, EVENT_COLUMNS

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    values, blocks = iter_blocks(
        scenario, n_patients, seed, workers, keep_events, progress=progress, executor=executor
    )
    strategy = scenario.strategy
    writers = {"patients": TableWriter(out_dir / f"patients.{fmt}", fmt, {"death_cause": "string"})}
    if keep_events:
        writers["events"] = TableWriter(out_dir / f"events.{fmt}", fmt, EVENT_TYPES)
        writers["courses"] = TableWriter(out_dir / f"courses.{fmt}", fmt, COURSE_TYPES)
    # Filled in place as blocks arrive (a list of per-block arrays concatenated at the end would hold the
    # summary inputs twice at the peak).
    times = np.empty((int(n_patients), len(SUMMARY_COLUMNS)))
    filled = 0
    try:
        for out in blocks:
            patients = patients_frame(strategy, [out])
            writers["patients"].append(patients)
            times[filled : filled + len(patients)] = patients[list(SUMMARY_COLUMNS)].to_numpy(dtype=float)
            filled += len(patients)
            if keep_events:
                writers["events"].append(events_frame(strategy, [out]))
                writers["courses"].append(courses_frame(strategy, [out]))
            if on_block is not None:
                on_block(out)
    finally:
        empty = {"events": list(EVENT_COLUMNS), "courses": list(COURSE_COLUMNS)}
        for name, writer in writers.items():
            writer.close(empty.get(name))
    summary = pd.DataFrame(times[:filled], columns=list(SUMMARY_COLUMNS), copy=False)
    summary.insert(0, "strategy", strategy)
    meta = run_metadata(scenario, seed=int(seed), n_patients=int(n_patients), draw=0, overrides=None)
    return StreamedRun(summary, meta, values, [w.path.name for w in writers.values()], int(n_patients))
