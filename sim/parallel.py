"""Spreading independent calls over local processes (joblib), and how many cores this process may use."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def spread(func: Callable[..., T], calls: Sequence[tuple[Any, ...]], jobs: int,
           batch_size: int | str = "auto") -> Iterator[T]:
    """``func(*args)`` for every ``args`` of ``calls`` in ``jobs`` joblib processes (one job or one call: in
    this process), each result as soon as it is done (not in the order of ``calls``)."""
    if jobs == 1 or len(calls) == 1:
        for args in calls:
            yield func(*args)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=min(jobs, len(calls)), batch_size=batch_size, return_as="generator_unordered")
    yield from parallel(delayed(func)(*args) for args in calls)


def limit_threads(threads: int | None) -> None:
    """Let numba's parallel loops in this process use ``threads`` cores (None: leave numba's default, every
    core): processes running side by side each take their share instead of all competing for every core."""
    if threads:
        import numba

        numba.set_num_threads(max(1, min(threads, getattr(numba.config, "NUMBA_NUM_THREADS", 1))))


def cores() -> int:
    """The cores this process may run on (its CPU affinity): the default number of processes."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
