"""The random streams of a run: every draw comes from the run's seed through ``numpy.random.SeedSequence``.

Paired comparisons (``sim.compare``) give two scenarios the same seed so that their difference is the
policy's, not chance's (common random numbers). That only works if a policy change does not reshuffle
draws it has nothing to do with. A single generator consumed in order fails at once: one extra applicant
shifts every later number. So, as Starsim does, draws are keyed by what they are for:

- ``population`` and ``network``: one generator each, consumed once at set-up (both engines draw the
  same initial population from it).
- the weekly dynamics, ``Draws``: a generator per (week, purpose, index...) — e.g. the births of week 12,
  the seats of kind ``urban`` in region 2 — and, for decisions that belong to one person, a uniform that
  is a pure function of (seed, week, purpose, person id): the person's own lottery number, whatever
  happens to anyone else. Changing the number of online events leaves the draws of births, of local
  hosts and of every person's wishes untouched (tested in ``tests/test_streams.py``).

The per-person uniforms are a counter-based generator: the SplitMix64 output function applied to a key
drawn from the seed sequence plus a Weyl sequence in the person id (Steele, Lea & Flood 2014, Java's
SplittableRandom); its 53-bit outputs are uniform on [0, 1).
"""

from __future__ import annotations

import numba
import numpy as np

STREAMS = ("population", "network", "dynamics")
PURPOSES = ("mesa", "advance", "decide_locals", "decide_urban", "exposure", "seats", "seat_rounding", "contacts",
            "match_holds", "conversion", "births", "newcomers", "migrant_ties", "own_visit",
            "view")  # "view": the workshop picture's sample and layout (sim.workshop), never the dynamics
_PURPOSE = {name: i for i, name in enumerate(PURPOSES)}


def streams(seed: int) -> dict[str, np.random.Generator]:
    """The set-up generators of a run (``population``, ``network``), spawned from the run's seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS[:2], children[:2])}


PARALLEL_FROM = 100_000  # people: below this, a thread pool's start costs more than it saves


@numba.njit(cache=True, inline="always")
def _uniform(key: np.uint64, person: np.int64, j: int, rows: int) -> float:  # pragma: no cover - compiled
    """Uniform number ``j`` of ``person``: SplitMix64's finaliser of a Weyl step from ``key``."""
    z = (np.uint64(person) * np.uint64(rows) + np.uint64(j)) * np.uint64(0x9E3779B97F4A7C15) + key
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def _uniforms_serial(key: np.uint64, ids: np.ndarray, rows: int) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty((rows, ids.size))
    for i in range(ids.size):
        for j in range(rows):
            out[j, i] = _uniform(key, ids[i], j, rows)
    return out


@numba.njit(parallel=True, cache=True)
def _uniforms_parallel(key: np.uint64, ids: np.ndarray, rows: int) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty((rows, ids.size))
    for i in numba.prange(ids.size):
        for j in range(rows):
            out[j, i] = _uniform(key, ids[i], j, rows)
    return out


class Draws:
    """The weekly dynamics' random numbers of one run, keyed by week and purpose (common random numbers)."""

    def __init__(self, seed: int) -> None:
        self._root = np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index("dynamics")]

    def _sequence(self, week: int, purpose: str, index: tuple[int, ...]) -> np.random.SeedSequence:
        if purpose not in _PURPOSE:
            raise ValueError(f"purpose: {purpose!r} is not one of {', '.join(PURPOSES)}")
        key = (*self._root.spawn_key, int(week), _PURPOSE[purpose], *(int(i) for i in index))
        return np.random.SeedSequence(self._root.entropy, spawn_key=key)

    def generator(self, week: int, purpose: str, *index: int) -> np.random.Generator:
        """The generator of ``purpose`` (one of ``PURPOSES``, with optional integer ``index`` such as kind
        and region) in ``week``: independent of every other (week, purpose, index)."""
        return np.random.default_rng(self._sequence(week, purpose, index))

    def uniforms(self, week: int, purpose: str, ids: np.ndarray, rows: int = 1, *index: int) -> np.ndarray:
        """``rows`` uniforms on [0, 1) for each person of ``ids`` (shape (rows, len(ids))): entry (j, i)
        depends only on the run's seed, ``week``, ``purpose``, ``index``, ``ids[i]`` and ``j``."""
        key = self._sequence(week, purpose, index).generate_state(1, np.uint64)[0]
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        kernel = _uniforms_parallel if ids.size >= PARALLEL_FROM else _uniforms_serial
        return kernel(np.uint64(key), ids, int(rows))
