"""The CSR network builder: structure, the families' laws, determinism, agreement with networkx."""

from __future__ import annotations

import networkx as nx
import numba
import numpy as np
import pytest
from scipy import stats

from sim.config import compose
from sim.network import build_graph, ws_degree
from sim.network_csr import CSR, bernoulli_positions, build_csr, from_edges, sample_rows, ws_csr, ws_edges
from sim.population import draw_guides, draw_locals, draw_urban
from sim.streams import streams

OVER = ["population=tiny", "policy.guides=1", "regions=three"]


def csr_to_nx(csr: CSR) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(csr.n_nodes))
    for v in range(csr.n_nodes):
        g.add_edges_from((v, int(u)) for u in csr.neighbours(v))
    return g


def build(overrides, which="csr"):
    cfg = compose(overrides)
    s = streams(cfg.seed)
    u, l_, g = draw_urban(cfg, s["population"]), draw_locals(cfg, s["population"]), draw_guides(cfg, s["population"])
    fn = build_csr if which == "csr" else build_graph
    return cfg, u, l_, g, fn(cfg, u, l_, g, s["network"])


def assert_simple_symmetric(csr: CSR) -> None:
    """No self-loops, no repeated ties, every tie stored in both rows, int64/int32 arrays."""
    assert csr.indptr.dtype == np.int64 and csr.indices.dtype == np.int32
    assert csr.indptr[0] == 0 and np.all(np.diff(csr.indptr) >= 0) and csr.indptr[-1] == csr.indices.size
    rows = np.repeat(np.arange(csr.n_nodes), csr.degree())
    cols = csr.indices.astype(np.int64)
    assert np.all(rows != cols)
    key = rows * csr.n_nodes + cols
    assert np.unique(key).size == key.size
    assert np.array_equal(np.sort(key), np.sort(cols * csr.n_nodes + rows))


def test_whole_network_is_simple_and_symmetric():
    assert_simple_symmetric(build(OVER)[-1])


@pytest.mark.parametrize("n,k,p", [(300, 8, 0.1), (50, 6, 1.0), (13, 12, 0.9), (9, 8, 0.5), (3, 8, 1.0), (2, 2, 0.5)])
def test_watts_strogatz_is_simple_with_exactly_n_k_over_2_ties(n, k, p):
    """Like networkx's, the graph keeps every tie of the lattice count: rewiring never repeats a tie
    and a node already tied to everyone keeps its tie; so the mean degree is exactly k (as reduced)."""
    csr = ws_csr(n, k, p, np.random.default_rng(n))
    assert_simple_symmetric(csr)
    assert csr.n_ties == n * ws_degree(k, n) // 2
    if n > 2:
        assert csr.degree().mean() == ws_degree(k, n)


def test_ring_lattice_when_no_rewiring():
    csr = ws_csr(50, 6, 0.0, np.random.default_rng(0))
    assert nx.utils.graphs_equal(csr_to_nx(csr), nx.watts_strogatz_graph(50, 6, 0.0))
    assert (csr.degree() == 6).all()


def test_edge_lists_and_direct_csr_draw_the_same_graph():
    a = ws_csr(1000, 8, 0.3, np.random.default_rng(5))
    s, d = ws_edges(1000, 8, 0.3, np.random.default_rng(5))
    b = from_edges(1000, s, d)
    assert np.array_equal(a.indptr, b.indptr)
    assert all(set(a.neighbours(v)) == set(b.neighbours(v)) for v in range(1000))


def summary(g: nx.Graph) -> tuple[float, float, int]:
    return nx.average_clustering(g), float(np.var([d for _, d in g.degree()])), g.number_of_edges()


@pytest.mark.parametrize("n,k,p", [(300, 8, 0.1), (40, 8, 0.5), (12, 10, 0.3)])
def test_watts_strogatz_law_matches_networkx(n, k, p):
    """Average clustering and degree variance of 40 graphs from each generator (the second and third
    cases are dense, where repeated targets are common): Welch's t-test at the 0.1% level per
    statistic. The law is the same, so this fails only by chance (p < 0.002 per case) unless a
    generator is wrong; the tie count must be equal in every graph."""
    ours = [summary(csr_to_nx(ws_csr(n, k, p, np.random.default_rng(s)))) for s in range(40)]
    theirs = [summary(nx.watts_strogatz_graph(n, k, p, seed=s)) for s in range(40)]
    a, b = np.array(ours), np.array(theirs)
    for col in (0, 1):
        if np.ptp(a[:, col]) == 0 and np.ptp(b[:, col]) == 0:
            assert a[0, col] == b[0, col]
        else:
            assert stats.ttest_ind(a[:, col], b[:, col], equal_var=False).pvalue > 0.001
    assert (a[:, 2] == b[:, 2]).all()


def test_kin_and_guide_ties_go_to_the_right_region_and_ties_match_networkx():
    cfg, u, l_, g, csr = build(OVER)
    n_u, n_l = u.region.size, l_.region.size
    for i in range(n_u):
        kin = [j - n_u for j in csr.neighbours(i) if n_u <= j < n_u + n_l]
        assert len(kin) == (cfg.network.kin_ties if u.roots[i] else 0)
        assert all(l_.region[j] == u.region[i] for j in kin)
        guides_ = [j - n_u - n_l for j in csr.neighbours(i) if j >= n_u + n_l]
        assert all(g.side[k] == 0 and g.region[k] == u.region[i] for k in guides_)
    for k in range(g.region.size):
        nb = csr.neighbours(n_u + n_l + k)
        if g.side[k] == 0:
            assert nb.size == min(cfg.network.guide_urban_ties, int((u.region == g.region[k]).sum()))
            assert all(j < n_u and u.region[j] == g.region[k] for j in nb)
        else:
            assert nb.size == min(cfg.network.guide_local_ties, cfg.population.locals_per_region)
            assert all(n_u <= j < n_u + n_l and l_.region[j - n_u] == g.region[k] for j in nb)
    for r in range(cfg.regions.count):  # local community: WS inside the region's block
        block = np.flatnonzero(l_.region == r) + n_u
        for v in block:
            locals_ = [j for j in csr.neighbours(v) if n_u <= j < n_u + n_l]
            assert all(l_.region[j - n_u] == r for j in locals_)
    graph = build(OVER, "nx")[-1]
    assert graph.number_of_edges() == csr.n_ties  # every family keeps its tie count in both builders


def test_deterministic_for_a_seed_and_the_number_of_threads():
    a = build(["population=tiny"])[-1]
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        b = build(["population=tiny"])[-1]
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    c = build(["population=tiny", "seed=1"])[-1]
    assert not (a.indices.size == c.indices.size and np.array_equal(a.indices, c.indices))


@pytest.mark.parametrize("pool,k", [(10_000, 5), (20, 7), (7, 7), (3, 5), (100_000, 400)])
def test_sample_rows_uniform_without_replacement(pool, k):
    """Every drawing path (redrawn i.i.d. rows, random keys, row by row): rows of distinct values, every
    value equally likely (chi-square test at the 0.1% level on the small pools)."""
    rows = sample_rows(np.random.default_rng(1), 4000 if pool < 100_000 else 50, pool, k)
    m = min(k, pool)
    assert rows.shape == (4000 if pool < 100_000 else 50, m)
    assert all(np.unique(r).size == m for r in rows)
    assert rows.min() >= 0 and rows.max() < pool
    if pool <= 1000 and m < pool:
        counts = np.bincount(rows.ravel(), minlength=pool)
        assert stats.chisquare(counts).pvalue > 0.001


def test_bernoulli_positions():
    rng = np.random.default_rng(3)
    pos = bernoulli_positions(rng, 1_000_000, 0.01)
    assert np.all(np.diff(pos) > 0) and pos[0] >= 0 and pos[-1] < 1_000_000
    assert abs(pos.size - 10_000) < 5 * np.sqrt(10_000)
    assert np.array_equal(bernoulli_positions(rng, 100, 1.0), np.arange(100))
    assert bernoulli_positions(rng, 100, 0.0).size == 0


def test_a_million_residents_hold_exactly_n_k_over_2_ties():
    """ODD 5 at N = 1,000,000 (k = 8): the direct CSR build gives networkx's tie count with no self-loop
    or repeated tie. How fast it builds is measured by ``make bench``, not asserted here."""
    csr = ws_csr(1_000_000, 8, 0.1, np.random.default_rng(0))
    assert csr.n_ties == 4_000_000
    rows = np.repeat(np.arange(csr.n_nodes), np.diff(csr.indptr))
    assert not np.any(rows == csr.indices)
    assert np.unique(rows.astype(np.int64) * csr.n_nodes + csr.indices).size == csr.indices.size
