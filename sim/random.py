"""Keyed random streams.

Every random number in the model comes from a stream derived with NumPy's ``SeedSequence`` from stable
integer keys ``(root seed; draw, purpose, block)``, never from a global generator or Python's salted
``hash``. Patients are grouped in fixed blocks of ``BLOCK_SIZE`` ids; a stream per (draw, purpose, block)
fills a matrix of uniforms whose *row* is a named quantity and whose *column* is a patient of the block.

Consequences, checked by tests:

* results do not depend on the number of workers, nor on how many patients are run (patient 7 reads the
  same numbers whether the cohort has 10 or 10,000 patients);
* strategies share patients exactly (common random numbers): streams are never keyed by arm;
* draws for one purpose never shift another's, and adding a row (a new quantity) at the end of a purpose's
  layout leaves the earlier rows unchanged, because rows are generated one after another.

Streams are per block, not per patient, where a quantity is needed for every patient; quantities that only
some patients need an unbounded number of (e.g. retreatments) use a stream of their own per patient or
course (:func:`patient_generator`, the treatment courses' streams).

Speed without a different number: NumPy's ``SeedSequence`` costs ~35 µs per stream, several times the rest
of a simple treatment course, so :func:`generator` seeds ``PCG64`` with the words ``SeedSequence`` would
give, computed by :mod:`sim.seeding` in a few microseconds: every number drawn is the one ``SeedSequence``
gives (a property test compares them).
"""

from __future__ import annotations

import zlib
from typing import Final

import numpy as np

from sim.seeding import SeedWords, seed_words, seed_words_many

BLOCK_SIZE: Final = 256

#: Stable integer key of each purpose. Never renumber: it would change every result for a given seed.
PURPOSES: Final[dict[str, int]] = {
    "population": 1,
    "progression": 2,
    "symptoms": 3,
    "diagnosis": 4,
    "malignancy": 5,
    "mortality": 6,
    "psa": 7,
    "treatment": 8,
    "measurement": 9,
    "adverse_events": 10,
}


def _check_key(seed: int, draw: int) -> None:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if draw < 0:
        raise ValueError(f"draw must be a non-negative integer, got {draw!r}")


def stable_key(text: str) -> int:
    """A stable 32-bit integer for a name (CRC-32), for keying streams by parameter or treatment name."""
    return zlib.crc32(text.encode("utf-8"))


def generator_from_words(words: np.ndarray) -> np.random.Generator:
    """A generator seeded with the 4 ``uint64`` words ``SeedSequence`` would give its stream
    (:mod:`sim.seeding`)."""
    return np.random.Generator(np.random.PCG64(SeedWords(words)))


def generator(seed: int, *key: int) -> np.random.Generator:
    """A generator for the stream ``(seed; *key)``: ``PCG64(SeedSequence(entropy=seed, spawn_key=key))``."""
    _check_key(seed, 0)
    if not key:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed)))
    return generator_from_words(seed_words(int(seed), tuple(int(k) for k in key)))


def block_uniforms(seed: int, draw: int, purpose: str, block: int, n_rows: int) -> np.ndarray:
    """Uniforms on [0, 1) for one block of patients: shape ``(n_rows, BLOCK_SIZE)``.

    Row ``r`` is the ``r``-th named quantity of ``purpose`` and column ``i`` the patient with id
    ``block * BLOCK_SIZE + i``. Rows are drawn one after another, so appending a row never changes the
    earlier ones.
    """
    _check_key(seed, draw)
    return generator(seed, draw, PURPOSES[purpose], block).random((n_rows, BLOCK_SIZE))


def many_block_uniforms(
    seed: int, draw: int, layout: list[tuple[str, int]], blocks: list[int]
) -> list[np.ndarray]:
    """:func:`block_uniforms` of every purpose of ``layout`` (``(purpose, n_rows)`` pairs) and every block
    of ``blocks``: per purpose, its blocks' matrices side by side, ``(n_rows, len(blocks) * BLOCK_SIZE)``.

    The same streams, their seeding words computed for all of them in one NumPy pass
    (:func:`sim.seeding.seed_words_many`): the six purposes of eight blocks seeded one at a time took
    1.17 ms, and 0.70 ms so (measured; their natural history takes about 20 ms).
    """
    _check_key(seed, draw)
    keys = [(PURPOSES[purpose], int(b)) for purpose, _ in layout for b in blocks]
    if not keys:
        return [np.empty((n_rows, 0)) for _, n_rows in layout]
    if not all(0 <= b <= 0xFFFFFFFF for _, b in keys):  # beyond what the batched hash takes: one at a time
        return [
            np.concatenate([block_uniforms(seed, draw, purpose, b, n_rows) for b in blocks], axis=1)
            for purpose, n_rows in layout
        ]
    words = seed_words_many(int(seed), (int(draw),), np.array(keys, dtype=np.uint64))
    out = []
    for i, (_, n_rows) in enumerate(layout):
        streams = words[i * len(blocks) : (i + 1) * len(blocks)]
        out.append(
            np.concatenate(
                [generator_from_words(w).random((n_rows, BLOCK_SIZE)) for w in streams],
                axis=1,
            )
        )
    return out


def patient_generator(seed: int, draw: int, purpose: str, patient_id: int) -> np.random.Generator:
    """A generator of its own for one patient and purpose, for quantities of unbounded count."""
    _check_key(seed, draw)
    # A four-part key can never equal a three-part block key.
    return generator(seed, draw, PURPOSES[purpose], 0xFFFF, int(patient_id))


def parameter_generator(seed: int, draw: int, path: str) -> np.random.Generator:
    """The stream of one uncertain parameter in one PSA draw, keyed by the parameter's path."""
    _check_key(seed, draw)
    return generator(seed, draw, PURPOSES["psa"], stable_key(path))


def parameter_uniforms_by_draw(seed: int, draws: list[int], paths: list[str]) -> np.ndarray:
    """The first uniform of the stream of each parameter in ``paths`` in each PSA draw, ``(draws, paths)``:
    ``parameter_generator(seed, d, path).random()`` for every pair, with the seeding words of a draw's
    streams computed in one NumPy pass (:func:`sim.seeding.seed_words_many`). A PSA of 1,000 draws of a
    couple of hundred parameters needs that many streams, which seeded one at a time took seconds."""
    _check_key(seed, 0)
    tails = np.array([(PURPOSES["psa"], stable_key(path)) for path in paths], dtype=np.uint64).reshape(-1, 2)
    out = np.empty((len(draws), len(paths)))
    for i, draw in enumerate(draws):
        _check_key(seed, draw)
        words = seed_words_many(int(seed), (int(draw),), tails)
        out[i] = [generator_from_words(w).random() for w in words]
    return out
