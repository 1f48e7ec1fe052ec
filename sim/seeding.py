"""The seeding words of NumPy's ``SeedSequence``, computed faster (for :mod:`sim.random`'s keyed streams).

``PCG64(SeedSequence(entropy=seed, spawn_key=key))`` costs ~35 µs, most of it in NumPy's turning of the key
into 32-bit words; a treatment course needs a stream of its own, and that cost was more than the rest of a
simple course. The words ``SeedSequence(...).generate_state(4, np.uint64)`` are a fixed hash of the key
(O'Neill's ``seed_seq`` as NumPy implements it, constants from ``numpy/random/bit_generator.pyx``): this
module computes the same words in Python integers, with the part of the key shared by many streams mixed
once and cached (:func:`seed_words`), or for many keys at once in NumPy (:func:`seed_words_many`), and
:class:`SeedWords` hands them to ``PCG64``. The generator is bit for bit NumPy's (a property test compares
them for any seed and key).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.random.bit_generator import ISeedSequence


class SeedWords(ISeedSequence):
    """A seed sequence that hands a bit generator words computed beforehand (:func:`seed_words`)."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("SeedWords holds the 4 uint64 words that seed a PCG64")
        return self.words


# The constants of NumPy's SeedSequence (numpy/random/bit_generator.pyx; O'Neill's seed_seq hash).
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_M32 = 0xFFFFFFFF
_POOL = 4


def _uint32_words(n: int) -> list[int]:
    """An integer as 32-bit words, least significant first (``0`` is one word), as SeedSequence reads it."""
    if n < 0:
        raise ValueError(f"stream keys must be non-negative, got {n}")
    if n == 0:
        return [0]
    out = []
    while n:
        out.append(n & _M32)
        n >>= 32
    return out


def _hashmix(value: int, h: int) -> tuple[int, int]:
    """SeedSequence's ``hashmix``: the hashed value and the next hash constant."""
    value ^= h
    h = (h * _MULT_A) & _M32
    value = (value * h) & _M32
    return value ^ (value >> 16), h


def _mix(x: int, y: int) -> int:
    """SeedSequence's ``mix`` of a pool word ``x`` with a hashed value ``y``."""
    r = (_MIX_L * x - _MIX_R * y) & _M32
    return r ^ (r >> 16)


def _mix_in(pool: list[int], h: int, words: list[int]) -> int:
    """Mix further entropy words into the pool (in place); returns the hash constant after them."""
    for w in words:
        for dst in range(_POOL):
            v, h = _hashmix(w, h)
            pool[dst] = _mix(pool[dst], v)
    return h


@functools.lru_cache(maxsize=4096)
def _pool_after_prefix(seed: int, prefix: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """SeedSequence's pool and hash constant after the run entropy ``seed`` and the spawn-key words of
    ``prefix`` (with a spawn key the run entropy is padded with zeros to the pool size)."""
    run = _uint32_words(seed)
    words = run + [0] * (_POOL - len(run)) + [w for k in prefix for w in _uint32_words(k)]
    h = _INIT_A
    pool = []
    for i in range(_POOL):
        v, h = _hashmix(words[i], h)
        pool.append(v)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                v, h = _hashmix(pool[src], h)
                pool[dst] = _mix(pool[dst], v)
    h = _mix_in(pool, h, words[_POOL:])
    return tuple(pool), h


def seed_words(seed: int, key: tuple[int, ...]) -> np.ndarray:
    """``SeedSequence(entropy=seed, spawn_key=key).generate_state(4, np.uint64)``, computed faster.

    ``key`` must not be empty. Everything but the last two parts of the key is mixed once per prefix
    (cached); the hash constants do not depend on the data, so those of the last parts and of the output
    are precomputed too. This runs once per treatment course, so :func:`_hashmix` and :func:`_mix` are
    written out here, four times per key word.
    """
    pool0, h = _pool_after_prefix(seed, key[:-2])
    p0, p1, p2, p3 = pool0
    mix_l, mix_r, m32 = _MIX_L, _MIX_R, _M32
    tail = key[-2:]
    words = tail if tail[0] <= m32 and tail[-1] <= m32 else [w for k in tail for w in _uint32_words(k)]
    constants = _hash_constants(h, len(words))
    for j, w in enumerate(words):
        a0, b0, a1, b1, a2, b2, a3, b3 = constants[j]
        v = ((w ^ a0) * b0) & m32
        r = (mix_l * p0 - mix_r * (v ^ (v >> 16))) & m32
        p0 = r ^ (r >> 16)
        v = ((w ^ a1) * b1) & m32
        r = (mix_l * p1 - mix_r * (v ^ (v >> 16))) & m32
        p1 = r ^ (r >> 16)
        v = ((w ^ a2) * b2) & m32
        r = (mix_l * p2 - mix_r * (v ^ (v >> 16))) & m32
        p2 = r ^ (r >> 16)
        v = ((w ^ a3) * b3) & m32
        r = (mix_l * p3 - mix_r * (v ^ (v >> 16))) & m32
        p3 = r ^ (r >> 16)
    out = []
    for v, (a, b) in zip((p0, p1, p2, p3, p0, p1, p2, p3), _OUTPUT_CONSTANTS, strict=True):
        v = ((v ^ a) * b) & m32
        out.append(v ^ (v >> 16))
    return np.array(
        [out[0] | out[1] << 32, out[2] | out[3] << 32, out[4] | out[5] << 32, out[6] | out[7] << 32],
        dtype=np.uint64,
    )


def seed_words_many(seed: int, prefix: tuple[int, ...], tails: np.ndarray) -> np.ndarray:
    """:func:`seed_words` for many keys ``prefix + (a, b)`` at once: ``tails`` is an ``(m, 2)`` array of the
    last two key parts (each below 2**32); returns ``(m, 4)`` uint64 words, row by row those of
    :func:`seed_words` (the same hash in NumPy's unsigned arithmetic, exact modulo 2**32)."""
    pool0, h = _pool_after_prefix(seed, prefix)
    tails = np.asarray(tails, dtype=np.uint64)
    if tails.ndim != 2 or tails.shape[1] != 2 or (tails > _M32).any():
        raise ValueError("tails must be an (m, 2) array of integers below 2**32")
    m32 = np.uint64(_M32)
    shift = np.uint64(16)
    mix_l, mix_r = np.uint64(_MIX_L), np.uint64(_MIX_R)
    pool = [np.full(len(tails), p, dtype=np.uint64) for p in pool0]
    constants = _hash_constants(h, 2)
    for j in range(2):
        w = tails[:, j]
        for dst in range(_POOL):
            before, after = constants[j][2 * dst], constants[j][2 * dst + 1]
            v = ((w ^ np.uint64(before)) * np.uint64(after)) & m32
            v ^= v >> shift
            r = (mix_l * pool[dst] - mix_r * v) & m32  # wraps modulo 2**64, exact modulo 2**32
            pool[dst] = r ^ (r >> shift)
    out = []
    for v, (before, after) in zip(pool + pool, _OUTPUT_CONSTANTS, strict=True):
        v = ((v ^ np.uint64(before)) * np.uint64(after)) & m32
        out.append(v ^ (v >> shift))
    thirty_two = np.uint64(32)
    return np.stack([out[2 * i] | (out[2 * i + 1] << thirty_two) for i in range(4)], axis=1)


@functools.lru_cache(maxsize=4096)
def _hash_constants(h: int, n_words: int) -> tuple[tuple[int, ...], ...]:
    """Per further entropy word, the (before, after) hash constants of its four mixes into the pool."""
    out = []
    for _ in range(n_words):
        row = []
        for _ in range(_POOL):
            after = (h * _MULT_A) & _M32
            row += [h, after]
            h = after
        out.append(tuple(row))
    return tuple(out)


def _output_constants() -> tuple[tuple[int, int], ...]:
    h = _INIT_B
    out = []
    for _ in range(8):
        after = (h * _MULT_B) & _M32
        out.append((h, after))
        h = after
    return tuple(out)


#: The (before, after) hash constants of SeedSequence.generate_state's eight 32-bit output words.
_OUTPUT_CONSTANTS = _output_constants()
