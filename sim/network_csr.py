"""The social network as compressed sparse rows, for the vectorized engine (ODD 5, "Network").

Same families, parameters and node ids as ``sim.network`` (networkx, Mesa engine): urban
residents [0, N), initial locals [N, N + L), guides after them. Drawn with numpy and numba so
that 46.78 million people fit in a few GiB and seconds, not networkx objects.

Difference from ``networkx.watts_strogatz_graph``: networkx redraws a rewiring target that
would duplicate an existing tie; here such a duplicate (probability about k/N per rewired tie)
collapses into one tie. Both draw every rewired target uniformly among the other nodes, so the
two laws differ only by that O(k/N) correction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from sim.network import ws_degree
from sim.params import Config
from sim.population import GuideInit, LocalInit, UrbanInit


@dataclass
class CSR:
    """Undirected graph: neighbours of node v are ``indices[indptr[v]:indptr[v + 1]]``."""

    indptr: np.ndarray  # int64, n_nodes + 1
    indices: np.ndarray  # int32

    @property
    def n_nodes(self) -> int:
        return self.indptr.size - 1

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def neighbours(self, v: int) -> np.ndarray:
        return self.indices[self.indptr[v]:self.indptr[v + 1]]


def ws_edges(n: int, k: int, p: float, rng: np.random.Generator, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a Watts–Strogatz graph on nodes offset..offset+n-1: ring lattice, each tie (u, u+j)
    rewired with probability ``p`` to (u, w), w uniform among the other nodes."""
    k = ws_degree(k, n)
    if k < 2:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    src, dst = [], []
    u = np.arange(n, dtype=np.int64)
    for j in range(1, k // 2 + 1):
        v = (u + j) % n
        rewire = np.flatnonzero(rng.random(n, dtype=np.float32) < p)
        w = rng.integers(0, n - 1, size=rewire.size)
        w += w >= rewire  # uniform over the other n - 1 nodes
        v[rewire] = w
        src.append((u + offset).astype(np.int32))
        dst.append((v + offset).astype(np.int32))
    return np.concatenate(src), np.concatenate(dst)


def sample_rows(rng: np.random.Generator, n_rows: int, pool_size: int, k: int) -> np.ndarray:
    """``n_rows`` rows of ``min(k, pool_size)`` distinct draws from range(pool_size), uniform."""
    k = min(k, pool_size)
    if k <= 0 or n_rows == 0:
        return np.empty((n_rows, 0), np.int64)
    if k == pool_size:
        return np.tile(np.arange(pool_size), (n_rows, 1))
    draws = rng.integers(0, pool_size, size=(n_rows, k))
    while True:
        s = np.sort(draws, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if bad.size == 0:
            return draws
        draws[bad] = rng.integers(0, pool_size, size=(bad.size, k))


@numba.njit(cache=True)
def _fill(n_nodes, src, dst):
    deg = np.zeros(n_nodes + 1, np.int64)
    for e in range(src.size):
        deg[src[e] + 1] += 1
        deg[dst[e] + 1] += 1
    indptr = np.cumsum(deg)
    cursor = indptr[:-1].copy()
    indices = np.empty(indptr[-1], np.int32)
    for e in range(src.size):
        a, b = src[e], dst[e]
        indices[cursor[a]] = b
        cursor[a] += 1
        indices[cursor[b]] = a
        cursor[b] += 1
    return indptr, indices


@numba.njit(parallel=True, cache=True)
def _dedupe(indptr, indices):
    """Sort each row in place (rows are short: insertion sort), drop repeats and self-loops."""
    n = indptr.size - 1
    kept = np.zeros(n + 1, np.int64)
    for v in numba.prange(n):
        a, b = indptr[v], indptr[v + 1]
        for i in range(a + 1, b):
            x = indices[i]
            j = i - 1
            while j >= a and indices[j] > x:
                indices[j + 1] = indices[j]
                j -= 1
            indices[j + 1] = x
        c = 0
        last = -1
        for i in range(a, b):
            x = indices[i]
            if x != last and x != v:
                c += 1
            last = x
        kept[v + 1] = c
    out_ptr = np.cumsum(kept)
    out = np.empty(out_ptr[-1], np.int32)
    for v in numba.prange(n):
        w = out_ptr[v]
        last = -1
        for i in range(indptr[v], indptr[v + 1]):
            x = indices[i]
            if x != last and x != v:
                out[w] = x
                w += 1
            last = x
    return out_ptr, out


def from_edges(n_nodes: int, src: np.ndarray, dst: np.ndarray) -> CSR:
    """Symmetric CSR from undirected edge lists; duplicate ties and self-loops removed."""
    indptr, indices = _fill(n_nodes, src.astype(np.int32), dst.astype(np.int32))
    indptr, indices = _dedupe(indptr, indices)
    return CSR(indptr, indices)


def build_csr(cfg: Config, urban: UrbanInit, local: LocalInit, guides: GuideInit, rng: np.random.Generator) -> CSR:
    """The whole initial network of ODD 5 as CSR (same families and parameters as ``sim.network``)."""
    net = cfg.network
    n_u, n_l, n_g = urban.region.size, local.region.size, guides.region.size
    srcs, dsts = [], []
    s, d = ws_edges(n_u, net.urban_k, net.urban_rewire, rng)
    srcs.append(s)
    dsts.append(d)
    per_region = cfg.population.locals_per_region
    for r in range(cfg.regions.count):  # locals of region r are the block r*L..(r+1)*L (sim.population)
        s, d = ws_edges(per_region, net.local_k, net.local_rewire, rng, offset=n_u + r * per_region)
        srcs.append(s)
        dsts.append(d)
    rooted = np.flatnonzero(urban.roots)
    for r in range(cfg.regions.count):
        who = rooted[urban.region[rooted] == r]
        picks = sample_rows(rng, who.size, per_region, net.kin_ties)
        srcs.append(np.repeat(who, picks.shape[1]).astype(np.int32))
        dsts.append((n_u + r * per_region + picks).ravel().astype(np.int32))
    urban_of = [np.flatnonzero(urban.region == r) for r in range(cfg.regions.count)] if n_g else []
    first_guide = n_u + n_l
    for g in range(n_g):
        r = int(guides.region[g])
        if guides.side[g] == 0:
            pool = urban_of[r]
            picks = pool[rng.choice(pool.size, size=min(net.guide_urban_ties, pool.size), replace=False)]
        else:
            picks = n_u + r * per_region + rng.choice(per_region, size=min(net.guide_local_ties, per_region),
                                                      replace=False)
        srcs.append(np.full(picks.size, first_guide + g, np.int32))
        dsts.append(picks.astype(np.int32))
    return from_edges(n_u + n_l + n_g, np.concatenate(srcs), np.concatenate(dsts))
