"""Compiled loops of the vectorized engine (numba): the parts that touch every tie or every person.

None of them holds model math: they count ties and find people, asking ``sim.rules`` which tie
counts (``rules.engaged_tie``, compiled from the same source); the probabilities and updates are
computed by ``sim.rules`` in ``sim.vectorized``. Node ids follow ``sim.network_csr``: urban
residents [0, n_urban), initial locals [n_urban, n_urban + n_local0), guides after them.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from sim import rules


def _drop_stale_cache() -> None:
    """numba keys its on-disk cache of these kernels by this file alone, but they compile rules from
    ``sim/rules.py`` into themselves: cached kernels older than that file are dropped, so a changed rule
    is never run from an old compilation."""
    try:
        newest_rule = Path(rules.__file__).stat().st_mtime
        for f in Path(__file__).with_name("__pycache__").glob(f"{Path(__file__).stem}.*.nb[ic]"):
            if f.stat().st_mtime < newest_rule:
                f.unlink(missing_ok=True)
    except OSError:  # a read-only install: numba then does not cache here either
        pass


_drop_stale_cache()


@numba.njit(parallel=True, cache=True)
def engaged_ties(n_urban, n_local0, indptr, indices, u_stage, u_region, l_region, l_alive, g_region, g_active):
    """Every urban resident's ties that are engaged with its region (``rules.engaged_tie``, ODD 7.4):
    urban residents by ``rules.urban_engaged`` of their stage, initial locals while alive, guides while
    active. Returns int32 counts."""
    cnt = np.zeros(n_urban, np.int32)
    for i in numba.prange(n_urban):
        r = u_region[i]
        c = 0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j < n_urban:
                hit = rules.engaged_tie(u_region[j], r, rules.urban_engaged(u_stage[j]))
            elif j < n_urban + n_local0:
                hit = rules.engaged_tie(l_region[j - n_urban], r, l_alive[j - n_urban])
            else:
                k = j - n_urban - n_local0
                hit = rules.engaged_tie(g_region[k], r, g_active[k])
            if hit:
                c += 1
        cnt[i] = c
    return cnt


@numba.njit(cache=True)
def shift_engaged_ties(nodes, node_region, delta, n_urban, indptr, indices, u_region, cnt):
    """Nodes that started (``delta`` = 1) or stopped (-1) being engaged with ``node_region``: add ``delta``
    to the engaged-tie count of each urban neighbour for whom the tie counts (``rules.engaged_tie``)."""
    for k in range(nodes.size):
        v = nodes[k]
        r = node_region[k]
        for p in range(indptr[v], indptr[v + 1]):
            j = indices[p]
            if j < n_urban and rules.engaged_tie(r, u_region[j], True):
                cnt[j] += delta


@numba.njit(parallel=True, cache=True)
def engaged_people(stage, n_chunks):
    """Ascending ids of the fans and partners (stage 1 or 2): one parallel pass over the stage array."""
    n = stage.size
    size = (n + n_chunks - 1) // n_chunks
    counts = np.zeros(n_chunks + 1, np.int64)
    for c in numba.prange(n_chunks):
        k = 0
        for i in range(c * size, min(n, (c + 1) * size)):
            k += stage[i] == 1 or stage[i] == 2
        counts[c + 1] = k
    start = np.cumsum(counts)
    out = np.empty(start[-1], np.int64)
    for c in numba.prange(n_chunks):
        w = start[c]
        for i in range(c * size, min(n, (c + 1) * size)):
            if stage[i] == 1 or stage[i] == 2:
                out[w] = i
                w += 1
    return out
