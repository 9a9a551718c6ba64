"""The Mesa engine: urban residents, local residents and guides as agents on a network.

This is the readable reference implementation of docs/ODD.md. Every rule is a call into
``sim.rules``; this module only schedules the week (the phases of ``sim.engines.PHASES``,
ODD section 3) and allocates capacity-limited seats.
"""

from __future__ import annotations

from collections import defaultdict

import mesa
import numpy as np

from sim import rules
from sim.agents import Guide, LocalResident, UrbanResident
from sim.engines import NEW_MIGRANTS, SEAT_KINDS, Week, WeeklyRun
from sim.network import build_graph, sample
from sim.params import Config, budget_shares, region_configs
from sim.population import draw_guides, draw_locals, draw_urban, new_locals_hosting, region_aims
from sim.streams import Draws, streams
from sim.table import Recorder


class RelationshipModel(WeeklyRun, mesa.Model):
    """関係人口 on a network, one step = one week, synchronous updating.

    Args:
        cfg: the validated configuration (``sim.params.Config``).

    Attributes:
        week: weeks simulated so far.
        graph: the networkx graph (node ids as in ``sim.network``).
        urban: AgentSet of urban residents; living_locals: AgentSet of living locals; guides: list of guides.
        wk: what the phases of the current week pass on (``sim.engines.Week``).
        recorder: the per-week table under construction.
    """

    def __init__(self, cfg: Config) -> None:
        from sim.config import validate

        validate(cfg)
        rngs = streams(cfg.seed)
        self.draws = Draws(cfg.seed)
        super().__init__(rng=self.draws.generator(0, "mesa"))
        self.cfg = cfg
        self.rc = region_configs(cfg)  # each region's configuration (the regions table applied, plans cut to budgets)
        self.budget = np.asarray(budget_shares(cfg))  # share of each region's funded plan its budget pays for
        self.week = 0
        urban = draw_urban(cfg, rngs["population"])
        self.aims = region_aims(cfg)
        local = draw_locals(cfg, rngs["population"])
        guides = draw_guides(cfg, rngs["population"])
        self.graph = build_graph(cfg, urban, local, guides, rngs["network"])

        n_u, n_l = urban.region.size, local.region.size
        nodes: list[mesa.Agent] = []
        for i in range(n_u):
            nodes.append(UrbanResident(self, i, urban.region[i], urban.roots[i], urban.theme[i], urban.skilled[i],
                                       urban.donor_until[i], urban.online[i], urban.life[i], urban.stage[i],
                                       urban.engagement[i]))
        for j in range(n_l):
            nodes.append(LocalResident(self, n_u + j, local.region[j], local.age[j], local.willingness[j],
                                       local.key[j]))
        for k in range(guides.region.size):
            nodes.append(Guide(self, n_u + n_l + k, guides.side[k], guides.region[k], guides.self_running[k]))
        self.nodes = nodes
        for a in nodes:
            a.neighbours = [nodes[v] for v in self.graph.neighbors(a.node)]
        for a in nodes[n_u:n_u + n_l]:
            a.guides = [nb for nb in a.neighbours if isinstance(nb, Guide)]

        self.urban = self.agents_by_type[UrbanResident]
        self.guides: list[Guide] = [a for a in nodes if isinstance(a, Guide)]
        self.guide_is_active: dict[int, bool] = {}
        p, b = cfg.policy, cfg.behaviour
        self.outreach_weight = {t: float(rules.outreach_weight(t, p.targeting, b.tie_weight)) for t in (False, True)}
        self.role_end_probability = float(rules.role_end_probability(b.role_end_rate))
        self.match_weight = {s: float(rules.match_weight(s, p.skill_matching, b.skill_weight)) for s in (False, True)}
        self.match_holds = {s: float(rules.match_holds_probability(s, p.skill_matching, b.skill_role_share))
                            for s in (False, True)}
        g = cfg.regions
        ages = np.arange(3)
        self.exit_probability = [  # [moved in as a migrant][age group]
            rules.local_exit_probability(ages, g.youth_leave_rate, g.elder_death_rate, migrant,
                                         g.migrant_leave_rate).tolist() for migrant in (False, True)]
        self.ageing_probability = rules.ageing_probability(ages, g.ageing_rate).tolist()
        self.openings = [float(rules.initial_openings(rc.regions.openings_per_1000_locals, self._n_locals(r),
                                                      rc.regions.max_openings_stock)) for r, rc in enumerate(self.rc)]
        self.wk: Week | None = None
        self.recorder = Recorder(cfg.costs)
        self.record()

    # --- the week: the phases of sim.engines.PHASES ---------------------------------------

    def context(self) -> None:
        """Calendar, active guides, start-of-week locals and partners per region (ODD 7.1, 7.2)."""
        R = self.cfg.regions.count
        active = np.zeros((2, R), np.int64)
        for g in self.guides:
            working = self.guide_is_active[g.node] = g.active
            active[g.side, g.region] += working
        locals_start = np.zeros(R, np.int64)
        for a in self.living_locals:
            locals_start[a.region] += 1
        partners_start = np.zeros((2, R), np.int64)  # partners, skilled partners (counted with skill matching)
        skill_matching = self.cfg.policy.skill_matching
        for a in self.urban:
            if a.stage == rules.PARTNER:
                partners_start[0, a.region] += 1
                partners_start[1, a.region] += a.skilled and skill_matching
        self.wk = Week.start(self.week, self.rc, active[0], active[1], locals_start, partners_start[0],
                             partners_start[1], np.asarray(self.openings), self.cfg.population.scale, self.budget)
        self.applications: dict[str, list[list[UrbanResident]]] = {k: [[] for _ in range(R)] for k in SEAT_KINDS}
        self.app_weights: dict[str, list[list[float]]] = {k: [[] for _ in range(R)] for k in SEAT_KINDS}
        self.arrivals: list[UrbanResident] = []

    def decide(self) -> None:
        """Locals draw willingness to host, exit and ageing; then urban residents (not migrants) draw wishes."""
        self.rng = self.stream("decide_locals")
        self.living_locals.do("decide")
        self.active_urban = self.urban.select(lambda a: a.stage != rules.MIGRANT)
        self.rng = self.stream("decide_urban")
        self.active_urban.do("decide")

    def allocate(self) -> None:
        """Each region's seats (``Week.seats_for``), kind by kind in the order of ODD section 3 step 4: the
        largest keys win."""
        for r in range(self.cfg.regions.count):
            for kind in SEAT_KINDS:
                self._award(kind, r)
                if kind == "offline":  # first-time visitors ask for a local guide to come along
                    for a in self.applications["offline"][r]:
                        if a.won["offline"] and not a.visited:
                            self.apply("accompany", r, a)

    def advance(self) -> None:
        """Urban residents apply the week: conversion, engagement, step up or drift down (ODD 7.4, 7.6)."""
        self.rng = self.stream("advance")
        self.active_urban.do("advance")

    def locals(self) -> None:
        """Locals: hosting burden, exits, ageing; then births and arriving migrants join (ODD 7.3, 7.7)."""
        self.living_locals.do("advance")
        self._new_locals()

    def bookkeeping(self) -> None:
        """Openings stock of each region (ODD 7.3); the week is done."""
        wk = self.this_week
        self.week += 1
        for r, rc in enumerate(self.rc):
            g = rc.regions
            self.openings[r] = float(rules.openings_next(self.openings[r], wk.flows[r, NEW_MIGRANTS] * wk.scale,
                                                         g.openings_per_1000_locals, wk.locals_start[r],
                                                         g.max_openings_stock, wk.houses[r]))

    def region_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Stage counts, living locals, burden sums and registry members, per region (``WeeklyRun.region_state``)."""
        R = self.cfg.regions.count
        counts = np.zeros((R, 4), dtype=np.int64)
        members = np.zeros(R, dtype=np.int64)
        for a in self.urban:
            counts[a.region, a.stage] += 1
            members[a.region] += a.member
        pop = np.zeros((R, 2), dtype=np.int64)
        burden = np.zeros((R, 3))
        for a in self.living_locals:
            pop[a.region] += (1, a.origin >= 0)
            burden[a.region] += (a.burden, a.key, a.burden * a.key)
        return counts, pop, burden, members

    def urban_people(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Region, stage, donor lapse week and roots of every urban resident (``WeeklyRun.urban_people``)."""
        people = sorted(self.urban, key=lambda a: a.node)
        return (np.array([a.region for a in people], np.int64), np.array([a.stage for a in people], np.int8),
                np.array([a.donor_until for a in people]), np.array([a.roots for a in people], bool))

    # --- helpers --------------------------------------------------------------------------

    @property
    def living_locals(self) -> mesa.agent.AgentSet:
        """Living local residents."""
        return self.agents_by_type.get(LocalResident) or mesa.agent.AgentSet([], random=self.random)

    def exposures(self, ids: np.ndarray) -> np.ndarray:
        """Share of engaged ties (``rules.exposure``) of urban residents ``ids``, from their current states."""
        return np.array([self.nodes[int(i)].exposure() for i in ids], dtype=float)

    def _n_locals(self, r: int) -> int:
        return sum(1 for a in self.living_locals if a.region == r)

    def apply(self, kind: str, region: int, agent: UrbanResident, weight: float = 1.0) -> None:
        """Register an application for a capacity-limited seat of ``kind`` in ``region``."""
        self.applications[kind][region].append(agent)
        self.app_weights[kind][region].append(weight)

    def _award(self, kind: str, region: int) -> None:
        """Give the week's seats of ``kind`` in ``region`` to the applicants with the largest keys and mark
        them (``UrbanResident.won``)."""
        seats, agent_seats = self.agent_seats(kind, region)
        applicants = self.applications[kind][region]
        winners: list[UrbanResident] = []
        if applicants:
            keys = self.lottery(kind, region, np.fromiter((a.node for a in applicants), np.int64, len(applicants)),
                                np.asarray(self.app_weights[kind][region]))
            winners = [a for a, won in zip(applicants, rules.select_top(keys, agent_seats)) if won]
        for a in winners:
            a.won[kind] = 1
        self.this_week.award(kind, region, seats, len(applicants), np.fromiter((a.node for a in winners), np.int64,
                                                                         len(winners)))

    def _new_locals(self) -> None:
        """Births and arriving migrants join their region and its network (ODD 7.6, 7.7)."""
        g, wk = self.cfg.regions, self.this_week
        births = self.stream("births")
        born = [int(births.poisson(rules.expected_births(wk.locals_start[r], g.birth_rate)))
                for r in range(g.count)]
        newcomers = [(r, rules.YOUTH, -1) for r in range(len(born)) for _ in range(born[r])]
        newcomers += [(m.region, int(rules.migrant_age_group(m.life)), m.node) for m in self.arrivals
                      for _ in range(self.cfg.population.scale)]  # a simulated migrant is ``scale`` people
        if not newcomers:
            return
        regions = np.array([r for r, _, _ in newcomers])
        willingness, key = new_locals_hosting(self.cfg, self.stream("newcomers"), regions)
        by_region = defaultdict(list)
        for a in self.living_locals:
            by_region[a.region].append(a)
        ties = self.stream("migrant_ties")
        for (r, age, origin), w, k in zip(newcomers, willingness, key):
            node = len(self.nodes)
            agent = LocalResident(self, node, r, age, float(w), bool(k), origin=origin)
            self.nodes.append(agent)
            self.graph.add_node(node)
            pool = np.asarray([a.node for a in by_region[r]], dtype=np.int64)
            for v in sample(ties, pool, self.cfg.network.migrant_ties):
                self.graph.add_edge(node, int(v))
                agent.neighbours.append(self.nodes[v])
                self.nodes[v].neighbours.append(agent)
