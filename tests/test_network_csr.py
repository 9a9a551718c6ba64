"""The CSR network builder: structure, the families' laws, determinism, agreement with networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from sim.config import compose
from sim.network import build_graph
from sim.network_csr import CSR, build_csr, from_edges, ws_edges
from sim.population import draw_guides, draw_locals, draw_urban, streams


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


def test_symmetric_no_self_loops_no_duplicates():
    cfg, u, l_, g, csr = build(["population=tiny", "policy.guides_per_10k=60", "regions=three"])
    for v in range(csr.n_nodes):
        nb = csr.neighbours(v)
        assert v not in nb
        assert np.unique(nb).size == nb.size
        for w in nb:
            assert v in csr.neighbours(int(w))


def test_ring_lattice_when_no_rewiring():
    rng = np.random.default_rng(0)
    s, d = ws_edges(50, 6, 0.0, rng)
    csr = from_edges(50, s, d)
    assert nx.is_isomorphic(csr_to_nx(csr), nx.watts_strogatz_graph(50, 6, 0.0))
    assert (csr.degree() == 6).all()


def test_watts_strogatz_law_matches_networkx():
    """Mean clustering and mean shortest path of 20 graphs (n=300, k=8, p=0.1) from each generator:
    the means must agree within 4 standard errors of their difference."""
    ours, theirs = [], []
    for seed in range(20):
        s, d = ws_edges(300, 8, 0.1, np.random.default_rng(seed))
        g = csr_to_nx(from_edges(300, s, d))
        h = nx.watts_strogatz_graph(300, 8, 0.1, seed=seed)
        ours.append((nx.average_clustering(g), g.number_of_edges()))
        theirs.append((nx.average_clustering(h), h.number_of_edges()))
    a, b = np.array(ours), np.array(theirs)
    se = np.sqrt(a[:, 0].var(ddof=1) / 20 + b[:, 0].var(ddof=1) / 20)
    assert abs(a[:, 0].mean() - b[:, 0].mean()) < 4 * se
    assert abs(a[:, 1].mean() - b[:, 1].mean()) <= 3  # duplicates collapse: at most a handful fewer ties


def test_kin_and_guide_ties_go_to_the_right_region_and_degrees_match_networkx():
    over = ["population=tiny", "policy.guides_per_10k=60", "regions=three"]
    cfg, u, l_, g, csr = build(over)
    n_u, n_l = u.region.size, l_.region.size
    for i in range(n_u):
        kin = [j - n_u for j in csr.neighbours(i) if n_u <= j < n_u + n_l]
        assert len(kin) == (cfg.network.kin_ties if u.roots[i] else 0)
        assert all(l_.region[j] == u.region[i] for j in kin)
    for k in range(g.region.size):
        nb = csr.neighbours(n_u + n_l + k)
        if g.side[k] == 0:
            assert all(j < n_u and u.region[j] == g.region[k] for j in nb)
        else:
            assert all(n_u <= j < n_u + n_l and l_.region[j - n_u] == g.region[k] for j in nb)
    graph = build(over, "nx")[-1]
    assert graph.number_of_edges() == pytest.approx(csr.indices.size / 2, rel=0.01)


def test_deterministic_for_a_seed():
    a = build(["population=tiny"])[-1]
    b = build(["population=tiny"])[-1]
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    c = build(["population=tiny", "seed=1"])[-1]
    assert not (a.indices.size == c.indices.size and np.array_equal(a.indices, c.indices))
