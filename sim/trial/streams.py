"""The trial's own random streams: entry times, randomisation and measurement errors, keyed so that a
patient's draws depend neither on how many candidates were screened nor on the number of workers."""

from __future__ import annotations

import numpy as np

from sim.random import BLOCK_SIZE, PURPOSES, generator

#: Third key of every trial stream (within the ``measurement`` purpose); distinct from 0xFFFF, the mark
#: of :func:`sim.random.patient_generator`, so that no trial stream equals a model stream.
TRIAL_STREAM = 0xFFFE
STREAM_ENTRY, STREAM_RANDOMISE, STREAM_MEASURE = 1, 2, 3


def patient_draws(
    seed: int, draw: int, what: tuple[int, ...], ids: np.ndarray, n_rows: int, normal: bool
) -> np.ndarray:
    """Per-patient draws, shape ``(n_rows, len(ids))``, from one stream per fixed block of ids."""
    ids = np.asarray(ids, dtype=np.int64)
    out = np.empty((n_rows, ids.size))
    blocks = ids // BLOCK_SIZE
    for b in np.unique(blocks):
        g = generator(seed, draw, PURPOSES["measurement"], TRIAL_STREAM, *what, int(b))
        m = g.standard_normal((n_rows, BLOCK_SIZE)) if normal else g.random((n_rows, BLOCK_SIZE))
        sel = blocks == b
        out[:, sel] = m[:, ids[sel] % BLOCK_SIZE]
    return out


def visit_key(months: float) -> int:
    return int(round(months * 100))
