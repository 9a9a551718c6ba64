"""The social network as compressed sparse rows, for the vectorized engine (ODD 5, "Network").

Same families, parameters and node ids as ``sim.network`` (networkx, Mesa engine): urban
residents [0, N), initial locals [N, N + L) in blocks region by region, guides
after them. The graph is undirected and stored symmetrically (``indptr`` int64, ``indices`` int32),
without self-loops or repeated ties. Nothing is built as networkx objects or as a full edge list:
the urban Watts–Strogatz graph, which holds almost all ties, is written straight into CSR by a
compiled kernel from its rewiring draws, so 46.78 million residents take seconds and a few GiB.

Watts–Strogatz: the law of ``networkx.watts_strogatz_graph``, other random numbers
-----------------------------------------------------------------------------------
networkx starts from the ring lattice where node u is tied to u ± 1, ..., u ± k/2 (mod n), visits
the lattice ties (u, u + j) for j = 1..k/2 (outer loop) and u = 0..n-1 (inner loop), and rewires
each with probability p: it draws w uniformly among all nodes until w is neither u nor already tied
to u in the graph as rewired so far, then replaces (u, u + j) by (u, w); if u is already tied to
every other node it leaves the tie alone. ``draw_rewiring`` produces the same distribution of
graphs, drawn differently: (1) which ties are rewired is drawn up front, as the positions of the
Bernoulli(p) successes among the n·k/2 ties (geometric gaps, about p·n·k/2 draws, since these
choices do not depend on the graph); (2) a first candidate w for each is drawn uniformly among the
n - 1 other nodes at once (networkx draws among all n and rejects u: the same conditional law);
(3) a compiled pass then visits the rewired ties in networkx's order and replays its check, a
candidate that is already a tie of u at that point (lattice tie not yet rewired, or a tie made by
an earlier rewiring) being replaced by the next uniform draw, and a saturated u keeping its tie.
So the graph has no repeated ties and exactly n·k/2 ties, like networkx's. What differs is only
the random numbers themselves (numpy's ``network`` stream instead of networkx's seeded
``random.Random``), so the two engines' graphs agree in distribution, not tie by tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from sim import rules
from sim.network import ws_degree
from sim.params import Config
from sim.population import GuideInit, LocalInit, UrbanInit


@dataclass
class CSR:
    """Undirected graph: neighbours of node v are ``indices[indptr[v]:indptr[v + 1]]``."""

    indptr: np.ndarray  # int64, n_nodes + 1
    indices: np.ndarray  # int32, each tie stored in both rows

    @property
    def n_nodes(self) -> int:
        """Number of nodes (rows)."""
        return self.indptr.size - 1

    @property
    def n_ties(self) -> int:
        """Number of undirected ties."""
        return int(self.indptr[-1]) // 2

    def degree(self) -> np.ndarray:
        """Ties of every node."""
        return np.diff(self.indptr)

    def neighbours(self, v: int) -> np.ndarray:
        """The nodes tied to ``v``."""
        return self.indices[self.indptr[v]:self.indptr[v + 1]]


@dataclass
class Rewiring:
    """The random part of a Watts–Strogatz graph on nodes 0..n-1: which lattice ties (u, u + j)
    are rewired and to which node. Lattice tie (u, u + j) has index (j - 1)·n + u, the order in
    which networkx visits them."""

    n: int
    half_k: int  # k / 2 lattice ties per node and side
    flags: np.ndarray  # bool, n·half_k: lattice tie rewired
    u: np.ndarray  # int32 source of each rewired tie, ascending tie index
    w: np.ndarray  # int32 its new target


def bernoulli_positions(rng: np.random.Generator, n: int, q: float) -> np.ndarray:
    """Ascending positions in range(n) of independent Bernoulli(q) successes, drawn from geometric
    gaps: about n·q draws instead of n (the law of ``np.flatnonzero(rng.random(n) < q)``)."""
    if n <= 0 or q <= 0.0:
        return np.empty(0, np.int64)
    q = min(float(q), 1.0)
    chunks, pos = [], -1
    while True:
        gaps = rng.geometric(q, size=int((n - 1 - pos) * q * 1.02) + 1024)
        at = pos + np.cumsum(gaps)
        chunks.append(at[at < n])
        if at[-1] >= n:
            return np.concatenate(chunks)
        pos = int(at[-1])


@numba.njit(cache=True)
def _lattice_present(a, d, n, flags, current):
    """Whether lattice tie (a, a + d) is still a tie while tie index ``current`` is being rewired:
    not rewired, or not visited yet (rewirings are visited in ascending tie index)."""
    idx = (d - 1) * n + a
    return (not flags[idx]) or idx >= current


@numba.njit(cache=True)
def _has_tie(u, w, n, h, flags, current, head, nxt, val):
    """networkx's ``G.has_edge(u, w)`` at that point: a lattice tie still present, or a rewired tie
    made earlier (linked lists ``head``/``nxt``/``val`` of the rewired ties of each node)."""
    d = w - u
    if d < 0:
        d += n
    if 1 <= d <= h and _lattice_present(u, d, n, flags, current):
        return True
    if 1 <= n - d <= h and _lattice_present(w, n - d, n, flags, current):
        return True
    p = head[u]  # a rewired tie, possibly re-making a lattice tie rewired away earlier
    while p >= 0:
        if val[p] == w:
            return True
        p = nxt[p]
    return False


@numba.njit(cache=True)
def _degree_now(u, n, h, flags, current, head, nxt):
    """networkx's ``G.degree(u)`` at that point of the visiting order."""
    c = 0
    for d in range(1, h + 1):
        c += _lattice_present(u, d, n, flags, current)
        b = u - d
        if b < 0:
            b += n
        c += _lattice_present(b, d, n, flags, current)
    p = head[u]
    while p >= 0:
        c += 1
        p = nxt[p]
    return c


@numba.njit(cache=True)
def _resolve(n, h, flags, ties, w, head, nxt, val, start, spare):
    """networkx's sequential rewiring on the drawn candidates. Visit the rewired lattice ties in
    ascending index; while the candidate target of tie (u, u + j) is u or already tied to u, take
    the next uniform node from ``spare``; if u is tied to every other node, skip (the lattice tie
    stays: flag cleared, w = -1). Returns the first tie not done: it stops early when the spare
    draws run out, and the caller continues from there with fresh ones."""
    used = 0
    n_added = 0
    for i in range(start):
        n_added += 2 * (w[i] >= 0)
    for i in range(start, ties.size):
        c = ties[i]
        u = c % n
        x = w[i]
        if x == u or _has_tie(u, x, n, h, flags, c, head, nxt, val):
            if _degree_now(u, n, h, flags, c, head, nxt) >= n - 1:
                flags[c] = False
                w[i] = -1
                continue
            while x == u or _has_tie(u, x, n, h, flags, c, head, nxt, val):
                if used == spare.size:
                    return i
                x = spare[used]
                used += 1
            w[i] = x
        val[n_added] = x
        nxt[n_added] = head[u]
        head[u] = n_added
        val[n_added + 1] = u
        nxt[n_added + 1] = head[x]
        head[x] = n_added + 1
        n_added += 2
    return ties.size


def draw_rewiring(n: int, k: int, p: float, rng: np.random.Generator) -> Rewiring:
    """Draw the rewiring of a Watts–Strogatz(n, k, p) graph with networkx's law (k reduced to the
    largest even number below n, as ``sim.network.ws_degree``): each lattice tie is rewired with
    probability p (positions from geometric gaps), its new target uniform among the nodes that are
    neither u nor already tied to u at that point of networkx's visiting order; a node already
    tied to every other node keeps its tie."""
    h = ws_degree(k, n) // 2
    ties = bernoulli_positions(rng, n * h, p) if h > 0 else np.empty(0, np.int64)
    flags = np.zeros(n * h, dtype=bool)
    flags[ties] = True
    u = (ties % max(n, 1)).astype(np.int32)
    w = rng.integers(0, max(n - 1, 1), size=ties.size)
    w += w >= u  # first candidate: uniform over the n - 1 other nodes
    w = w.astype(np.int32)
    if ties.size:
        link = np.int32 if 2 * ties.size < 2**31 else np.int64
        head = np.full(n, -1, link)
        nxt = np.empty(2 * ties.size, link)
        val = np.empty(2 * ties.size, np.int32)
        done, spare_size = 0, 64 + int(ties.size * min(1.0, 4.0 * h / n))
        while done < ties.size:
            spare = rng.integers(0, n, size=spare_size).astype(np.int32)
            done = _resolve(n, h, flags, ties, w, head, nxt, val, done, spare)
            spare_size *= 2
        kept = w >= 0
        u, w = u[kept], w[kept]
    return Rewiring(n, h, flags, u, w)


def rewiring_edges(rw: Rewiring, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The ties of a drawn Watts–Strogatz graph as two int32 lists (sources, targets), nodes shifted
    by ``offset``: the lattice ties kept, then the rewired ones."""
    n, h = rw.n, rw.half_k
    if h == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    e = np.flatnonzero(~rw.flags)
    u = e % n
    v = (u + e // n + 1) % n
    src = np.concatenate([u, rw.u]) + offset
    dst = np.concatenate([v, rw.w]) + offset
    return src.astype(np.int32), dst.astype(np.int32)


def ws_edges(n: int, k: int, p: float, rng: np.random.Generator, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ties of a Watts–Strogatz(n, k, p) graph on nodes offset..offset+n-1 as edge lists (small graphs;
    the same draws as ``ws_csr``)."""
    return rewiring_edges(draw_rewiring(n, k, p, rng), offset)


def sample_rows(rng: np.random.Generator, n_rows: int, pool_size: int, k: int) -> np.ndarray:
    """``n_rows`` rows of ``min(k, pool_size)`` distinct draws from range(pool_size), each row uniform
    without replacement, independent across rows (int64, shape (n_rows, k)).

    Pools much larger than k²: k independent uniforms per row, rows with a repeat redrawn (exact:
    conditional on no repeat, an i.i.d. tuple is a uniform tuple of distinct values). Otherwise,
    where repeats would be common: small pools take the k smallest of ``pool_size`` random keys
    per row, large ones (k in the hundreds or more: guides' ties) ``Generator.choice`` row by row."""
    k = min(k, pool_size)
    if k <= 0 or n_rows == 0:
        return np.empty((n_rows, max(k, 0)), np.int64)
    if k == pool_size:
        return np.tile(np.arange(pool_size, dtype=np.int64), (n_rows, 1))
    if k * k > pool_size:
        out = np.empty((n_rows, k), np.int64)
        if pool_size > 1 << 16:
            for i in range(n_rows):
                out[i] = rng.choice(pool_size, size=k, replace=False)
            return out
        rows_per_chunk = max(1, (1 << 22) // pool_size)
        for a in range(0, n_rows, rows_per_chunk):
            b = min(n_rows, a + rows_per_chunk)
            out[a:b] = np.argpartition(rng.random((b - a, pool_size)), k - 1, axis=1)[:, :k]
        return out
    draws = rng.integers(0, pool_size, size=(n_rows, k))
    todo = np.arange(n_rows)
    while True:
        s = np.sort(draws[todo], axis=1)
        todo = todo[(s[:, 1:] == s[:, :-1]).any(axis=1)]
        if todo.size == 0:
            return draws
        draws[todo] = rng.integers(0, pool_size, size=(todo.size, k))


@numba.njit(cache=True, inline="always")
def _lattice_kept(u, n, h, flags):
    """Lattice ties of node u that were not rewired: its own (u, u + j) and those (u - j, u) of others."""
    c = 0
    for j in range(1, h + 1):
        if not flags[(j - 1) * n + u]:
            c += 1
        b = u - j
        if b < 0:
            b += n
        if not flags[(j - 1) * n + b]:
            c += 1
    return c


@numba.njit(cache=True)
def _count_block(lo, hi, s_list, t_list, deg):
    """Add the ties of the lists to the degrees of the nodes in [lo, hi)."""
    for i in range(s_list.size):
        s, t = s_list[i], t_list[i]
        if lo <= s < hi:
            deg[s + 1] += 1
        if lo <= t < hi:
            deg[t + 1] += 1


@numba.njit(cache=True)
def _scatter_block(lo, hi, s_list, t_list, indptr, fill, indices):
    """Append the ties of the lists to the rows of the nodes in [lo, hi), in list order."""
    for i in range(s_list.size):
        s, t = s_list[i], t_list[i]
        if lo <= s < hi:
            indices[indptr[s] + fill[s]] = t
            fill[s] += 1
        if lo <= t < hi:
            indices[indptr[t] + fill[t]] = s
            fill[t] += 1


@numba.njit(parallel=True, cache=True)
def _assemble(n_nodes, n, h, flags, rw_u, rw_w, ex_src, ex_dst, n_blocks):
    """CSR of a Watts–Strogatz block on nodes 0..n-1 (lattice and rewiring) plus extra ties.

    Row layout before clean-up: the node's lattice ties that survived rewiring, then its rewired
    ties and extra ties in list order (each row is written by the one thread owning its block of
    node ids, so the result does not depend on the number of threads). Only that tail can repeat
    a tie or be a self-loop (the lattice part is duplicate-free because k/2 < n/2), so only rows
    with a tail are checked; repeats are removed and rows compacted."""
    deg = np.zeros(n_nodes + 1, np.int64)
    for u in numba.prange(n):
        deg[u + 1] = _lattice_kept(u, n, h, flags)
    step = (n_nodes + n_blocks - 1) // n_blocks
    for blk in numba.prange(n_blocks):
        lo, hi = blk * step, min(n_nodes, (blk + 1) * step)
        _count_block(lo, hi, rw_u, rw_w, deg)
        _count_block(lo, hi, ex_src, ex_dst, deg)
    for v in range(n_nodes):
        deg[v + 1] += deg[v]
    indptr = deg
    indices = np.empty(indptr[n_nodes], np.int32)
    fill = np.zeros(n_nodes, np.int32)
    for u in numba.prange(n):
        a = indptr[u]
        c = 0
        for j in range(1, h + 1):
            if not flags[(j - 1) * n + u]:
                t = u + j
                if t >= n:
                    t -= n
                indices[a + c] = t
                c += 1
            b = u - j
            if b < 0:
                b += n
            if not flags[(j - 1) * n + b]:
                indices[a + c] = b
                c += 1
        fill[u] = c
    for blk in numba.prange(n_blocks):
        lo, hi = blk * step, min(n_nodes, (blk + 1) * step)
        _scatter_block(lo, hi, rw_u, rw_w, indptr, fill, indices)
        _scatter_block(lo, hi, ex_src, ex_dst, indptr, fill, indices)
    # mark repeats and self-loops in the tails with -1
    removed = np.zeros(n_nodes, np.int64)
    for v in numba.prange(n_nodes):
        a, b = indptr[v], indptr[v + 1]
        lat = _lattice_kept(v, n, h, flags) if v < n else 0
        if b - a == lat:
            continue
        r = 0
        if b - a <= 32:
            for i in range(a + lat, b):
                x = indices[i]
                bad = x == v
                for m in range(a, i):
                    if indices[m] == x:
                        bad = True
                        break
                if bad:
                    indices[i] = -1
                    r += 1
        else:
            indices[a:b].sort()
            last = -1
            for i in range(a, b):
                x = indices[i]
                if x == last or x == v:
                    indices[i] = -1
                    r += 1
                else:
                    last = x
        removed[v] = r
    if removed.sum() > 0:  # compact in place: entries only move left
        w = 0
        start = indptr[0]
        for v in range(n_nodes):
            end = indptr[v + 1]
            indptr[v] = w
            for i in range(start, end):
                if indices[i] >= 0:
                    indices[w] = indices[i]
                    w += 1
            start = end
        indptr[n_nodes] = w
    return indptr, indices


def _assemble_csr(n_nodes: int, rw: Rewiring | None, ex_src: np.ndarray, ex_dst: np.ndarray) -> CSR:
    """Run the assembly kernel: Watts–Strogatz block ``rw`` on nodes 0..rw.n-1 (or none) plus extra ties."""
    if rw is None:
        rw = Rewiring(0, 0, np.zeros(0, dtype=bool), np.empty(0, np.int32), np.empty(0, np.int32))
    n_blocks = 4 * numba.get_num_threads()
    indptr, indices = _assemble(n_nodes, rw.n, rw.half_k, rw.flags, rw.u, rw.w,
                                np.ascontiguousarray(ex_src, dtype=np.int32),
                                np.ascontiguousarray(ex_dst, dtype=np.int32), n_blocks)
    m = int(indptr[-1])
    return CSR(indptr, indices if m == indices.size else indices[:m])


def ws_csr(n: int, k: int, p: float, rng: np.random.Generator) -> CSR:
    """A Watts–Strogatz(n, k, p) graph written straight into CSR (see the module docstring for its law)."""
    none = np.empty(0, np.int32)
    return _assemble_csr(n, draw_rewiring(n, k, p, rng), none, none)


def from_edges(n_nodes: int, src: np.ndarray, dst: np.ndarray) -> CSR:
    """Symmetric CSR from undirected edge lists; repeated ties and self-loops removed."""
    return _assemble_csr(n_nodes, None, src, dst)


def build_csr(cfg: Config, urban: UrbanInit, local: LocalInit, guides: GuideInit, rng: np.random.Generator) -> CSR:
    """The whole initial network of ODD 5 as CSR, drawn from the ``network`` stream ``rng``.

    Families, in drawing order: urban friendships WS(N, urban_k, urban_rewire); each region's local
    community WS(L_r, local_k, local_rewire); kin ties of every rooted resident to ``kin_ties``
    locals of its region; ties of each urban guide to ``guide_urban_ties`` urban residents of its
    region and of each local guide to ``guide_local_ties`` locals of its region (all uniform without
    replacement, fewer when the pool is smaller)."""
    net = cfg.network
    n_u, n_l, n_g = urban.region.size, local.region.size, guides.region.size
    R = cfg.regions.count
    sizes = np.bincount(local.region, minlength=R)
    first = n_u + np.r_[0, np.cumsum(sizes)[:-1]]  # node id of each region's first local
    if not np.array_equal(local.region, np.repeat(np.arange(R), sizes)):
        raise ValueError("locals must come in blocks, region by region (sim.population.draw_locals)")
    first_guide = n_u + n_l
    urban_ws = draw_rewiring(n_u, net.urban_k, net.urban_rewire, rng)
    srcs, dsts = [], []

    def add(s: np.ndarray, d: np.ndarray) -> None:
        srcs.append(np.asarray(s, dtype=np.int32).ravel())
        dsts.append(np.asarray(d, dtype=np.int32).ravel())

    for r in range(R):
        add(*ws_edges(int(sizes[r]), net.local_k, net.local_rewire, rng, offset=int(first[r])))

    def to_locals(people: np.ndarray, regions: np.ndarray, k: int) -> None:
        """Ties of each of ``people`` to ``k`` distinct locals of its region (uniform, fewer if fewer live
        there); one block of draws per region, so every region's pool has its own size."""
        for r in range(R):
            mine = people[regions == r]
            picks = sample_rows(rng, mine.size, int(sizes[r]), k)
            add(np.repeat(mine, picks.shape[1]), first[r] + picks)

    rooted = np.flatnonzero(urban.roots)
    to_locals(rooted, urban.region[rooted].astype(np.int64), net.kin_ties)
    if n_g:
        g_ids = np.arange(n_g)
        loc_g = g_ids[guides.side == 1]
        to_locals(first_guide + loc_g, guides.region[loc_g].astype(np.int64), net.guide_local_ties)
        urb_g = g_ids[guides.side == 0]
        if urb_g.size:
            order = np.argsort(urban.region, kind="stable") if R > 1 else None
            bounds = np.r_[0, np.cumsum(np.bincount(urban.region, minlength=R))]
            for r in range(R):
                mine = urb_g[guides.region[urb_g] == r]
                picks = sample_rows(rng, mine.size, int(bounds[r + 1] - bounds[r]),
                                    rules.agent_ties(net.guide_urban_ties, cfg.population.scale))
                members = picks if order is None else order[bounds[r] + picks]
                add(np.repeat(first_guide + mine, picks.shape[1]), members)
    ex_src, ex_dst = np.concatenate(srcs), np.concatenate(dsts)
    return _assemble_csr(first_guide + n_g, urban_ws, ex_src, ex_dst)
