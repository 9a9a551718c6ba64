"""The social network of the Mesa engine, built with networkx (ODD 5, "Network").

Node ids: urban residents [0, N), initial locals [N, N + L), guides after them; locals born
or moved in during a run get the next free ids. The vectorized engine draws the same
families with the same parameters directly as compressed sparse rows (sim/network_csr.py).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from sim import rules
from sim.params import Config
from sim.population import GuideInit, LocalInit, UrbanInit


def ws_degree(k: int, n: int) -> int:
    """Watts–Strogatz degree usable for ``n`` nodes: ``k``, or the largest even number below ``n``."""
    if n <= 1:
        return 0
    return int(min(k, n - 1 - ((n - 1) % 2)))


def watts_strogatz(n: int, k: int, p: float, rng: np.random.Generator) -> nx.Graph:
    """A seeded Watts–Strogatz graph on nodes 0..n-1 (empty ties for tiny n)."""
    k = ws_degree(k, n)
    if k < 2:
        return nx.empty_graph(n)
    return nx.watts_strogatz_graph(n, k, p, seed=int(rng.integers(2**32)))


def sample(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` members of ``pool`` drawn uniformly without replacement."""
    if k <= 0 or pool.size == 0:
        return pool[:0]
    return rng.choice(pool, size=min(k, pool.size), replace=False)


def build_graph(cfg: Config, urban: UrbanInit, local: LocalInit, guides: GuideInit,
                rng: np.random.Generator) -> nx.Graph:
    """The whole initial network: urban friendships, local communities, kin and guide ties."""
    net = cfg.network
    n_urban = urban.region.size
    n_local = local.region.size
    g = nx.Graph()
    g.add_nodes_from(range(n_urban + n_local + guides.region.size))
    g.add_edges_from(watts_strogatz(n_urban, net.urban_k, net.urban_rewire, rng).edges())
    local_ids = np.arange(n_urban, n_urban + n_local)
    locals_of = [local_ids[local.region == r] for r in range(cfg.regions.count)]
    urban_of = [np.flatnonzero(urban.region == r) for r in range(cfg.regions.count)]
    for ids in locals_of:
        ws = watts_strogatz(ids.size, net.local_k, net.local_rewire, rng)
        g.add_edges_from((int(ids[a]), int(ids[b])) for a, b in ws.edges())
    for i in np.flatnonzero(urban.roots):
        g.add_edges_from((int(i), int(j)) for j in sample(rng, locals_of[urban.region[i]], net.kin_ties))
    first_guide = n_urban + n_local
    for k, (side, r) in enumerate(zip(guides.side, guides.region)):
        pool, ties = ((urban_of[r], rules.agent_ties(net.guide_urban_ties, cfg.population.scale)) if side == 0
                      else (locals_of[r], net.guide_local_ties))
        g.add_edges_from((first_guide + k, int(j)) for j in sample(rng, pool, ties))
    return g
