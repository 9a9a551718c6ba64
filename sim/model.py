"""The Mesa engine: urban residents, local residents and guides as agents on a network.

This is the readable reference implementation of docs/ODD.md and the engine behind the
live page. Every rule is a call into ``sim.rules``; this module only schedules the week
(ODD section 3) and allocates capacity-limited seats.
"""

from __future__ import annotations

from collections import defaultdict

import mesa
import numpy as np

from sim import rules
from sim.agents import Guide, LocalResident, UrbanResident
from sim.engines import WeeklyRun
from sim.network import build_graph, sample
from sim.params import Config
from sim.population import draw_guides, draw_locals, draw_urban, new_local_willingness, streams
from sim.table import Recorder

KINDS = ("offline", "urban", "online", "contact", "match", "move")
FLOWS = ("new_fans", "new_partners", "new_migrants", "dropouts")


class RelationshipModel(WeeklyRun, mesa.Model):
    """関係人口 on a network, one step = one week, synchronous updating.

    Args:
        cfg: the validated configuration (``sim.params.Config``).

    Attributes:
        week: weeks simulated so far.
        graph: the networkx graph (node ids as in ``sim.network``).
        urban: AgentSet of urban residents; locals: AgentSet of living locals; guides: list of guides.
        recorder: the per-week table under construction.
    """

    def __init__(self, cfg: Config) -> None:
        rngs = streams(cfg.seed)
        super().__init__(rng=rngs["dynamics"])
        self.cfg = cfg
        self.week = 0
        R = cfg.regions.count
        urban = draw_urban(cfg, rngs["population"])
        local = draw_locals(cfg, rngs["population"])
        guides = draw_guides(cfg, rngs["population"])
        self.graph = build_graph(cfg, urban, local, guides, rngs["network"])

        n_u, n_l = urban.region.size, local.region.size
        nodes: list[mesa.Agent] = []
        for i in range(n_u):
            nodes.append(UrbanResident(self, i, urban.region[i], urban.roots[i], urban.theme[i], urban.skilled[i],
                                       urban.donor[i], urban.online[i], urban.life[i], urban.stage[i],
                                       urban.engagement[i]))
        for j in range(n_l):
            nodes.append(LocalResident(self, n_u + j, local.region[j], local.age[j], local.willingness[j]))
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
        self.match_weight = {s: float(rules.match_weight(s, p.skill_matching, b.skill_weight)) for s in (False, True)}
        g = cfg.regions
        ages = np.arange(3)
        self.exit_probability = rules.local_exit_probability(ages, g.youth_leave_rate, g.elder_death_rate).tolist()
        self.ageing_probability = rules.ageing_probability(ages, g.ageing_rate).tolist()
        self.openings = [float(rules.initial_openings(cfg.regions.openings_per_1000_locals, self._n_locals(r),
                                                      cfg.regions.max_openings_stock)) for r in range(R)]
        self.recorder = Recorder(cfg.costs)
        self._reset_week()
        self._record()

    # --- helpers --------------------------------------------------------------------------

    @property
    def locals(self) -> mesa.agent.AgentSet:
        """Living local residents."""
        return self.agents_by_type.get(LocalResident) or mesa.agent.AgentSet([], random=self.random)

    def _n_locals(self, r: int) -> int:
        return sum(1 for a in self.locals if a.region == r)

    def _reset_week(self) -> None:
        R = self.cfg.regions.count
        self.applications = {k: [[] for _ in range(R)] for k in KINDS}
        self.app_weights = {k: [[] for _ in range(R)] for k in KINDS}
        self.willing_hosts = [0] * R
        self.offline_participants = [0] * R
        self.active_local_guides = [0] * R
        self.active_urban_guides = [0] * R
        self.flows = [dict.fromkeys(FLOWS, 0) for _ in range(R)]
        self.week_stats = [defaultdict(float) for _ in range(R)]
        self.arrivals: list[UrbanResident] = []

    def apply(self, kind: str, region: int, agent: UrbanResident, weight: float = 1.0) -> None:
        """Register an application for a capacity-limited seat of ``kind`` in ``region``."""
        self.applications[kind][region].append(agent)
        self.app_weights[kind][region].append(weight)

    def _winners(self, kind: str, region: int, seats: int) -> list[UrbanResident]:
        applicants = self.applications[kind][region]
        if not applicants:
            return []
        keys = rules.allocation_key(self.rng.random(len(applicants)), np.asarray(self.app_weights[kind][region]))
        mask = rules.select_top(keys, seats)
        return [a for a, won in zip(applicants, mask) if won]

    # --- the week -----------------------------------------------------------------------

    def step(self) -> None:
        """One week (ODD section 3)."""
        self._reset_week()
        self._context()
        self.locals.do("decide")
        active_urban = self.urban.select(lambda a: a.stage != rules.MIGRANT)
        active_urban.do("decide")
        self._allocate()
        active_urban.do("advance")
        self.locals.do("advance")
        self._new_locals()
        self.week += 1
        self._bookkeeping()
        self._record()

    def _context(self) -> None:
        """Step 1: calendar, active guides, roles, from the start-of-week state."""
        cfg, t = self.cfg, self.week
        p = cfg.policy
        suspended = bool(rules.offline_suspended(t, p.offline_suspended_from_week, p.offline_suspended_weeks))
        self.n_offline = 0 if suspended else int(rules.events_this_week(t, p.offline_programs_per_year))
        self.n_urban = int(rules.events_this_week(t, p.urban_events_per_year))
        self.n_online = int(rules.events_this_week(t, p.online_events_per_year))
        for g in self.guides:
            self.guide_is_active[g.node] = g.active
            if g.active:
                (self.active_urban_guides if g.side == 0 else self.active_local_guides)[g.region] += 1
        R = cfg.regions.count
        self.locals_start = [0] * R
        for a in self.locals:
            self.locals_start[a.region] += 1
        self.partners_start = [0] * R
        for a in self.urban:
            if a.stage == rules.PARTNER:
                self.partners_start[a.region] += 1

    def _allocate(self) -> None:
        """Step 4: give each region's seats to the applicants with the largest keys."""
        cfg = self.cfg
        p, b, g = cfg.policy, cfg.behaviour, cfg.regions
        for r in range(cfg.regions.count):
            st = self.week_stats[r]
            seats = int(rules.offline_seats(self.n_offline, p.offline_capacity, self.willing_hosts[r],
                                            g.visitors_per_host))
            off = self._winners("offline", r, seats)
            urb = self._winners("urban", r, self.n_urban * p.urban_event_capacity)
            onl = self._winners("online", r, self.n_online * p.online_capacity)
            contact_seats = int(np.floor(self.active_urban_guides[r] * p.guide_capacity_urban + 1e-9))
            con = self._winners("contact", r, contact_seats)
            self.offline_participants[r] = len(off)
            roles = rules.partner_roles(g.needs_per_1000_locals, self.locals_start[r])
            mseats = int(rules.match_seats(self.active_local_guides[r], p.guide_capacity_local, len(off),
                                           b.program_role_rate, roles, self.partners_start[r]))
            mat = self._winners("match", r, mseats)
            mov = self._winners("move", r, int(np.floor(self.openings[r] + 1e-9)))
            for winners, attr in ((off, "att_off"), (urb, "att_urb"), (onl, "att_on"), (con, "contacted"),
                                  (mat, "matched"), (mov, "moves")):
                for a in winners:
                    setattr(a, attr, 1)
            capacity = contact_seats + self.active_local_guides[r] * p.guide_capacity_local
            st["participants"] = len(off) + len(urb) + len(onl)
            st["online_participants"] = len(onl)
            st["guide_contacts"] = len(con)
            st["matches"] = len(mat)
            st["guide_utilisation"] = (len(con) + min(len(mat), self.active_local_guides[r] * p.guide_capacity_local)
                                       ) / capacity if capacity > 0 else 0.0

    def _new_locals(self) -> None:
        """Step 6 (end): births and arriving migrants join their region and its network."""
        g = self.cfg.regions
        born = [int(self.rng.poisson(rules.expected_births(self.locals_start[r], g.birth_rate)))
                for r in range(self.cfg.regions.count)]
        newcomers = [(r, rules.YOUTH) for r in range(len(born)) for _ in range(born[r])]
        newcomers += [(m.region, int(rules.migrant_age_group(m.life))) for m in self.arrivals]
        if not newcomers:
            return
        willingness = new_local_willingness(self.cfg, self.rng, len(newcomers))
        by_region = defaultdict(list)
        for a in self.locals:
            by_region[a.region].append(a)
        for (r, age), w in zip(newcomers, willingness):
            node = len(self.nodes)
            agent = LocalResident(self, node, r, age, float(w))
            self.nodes.append(agent)
            self.graph.add_node(node)
            pool = np.asarray([a.node for a in by_region[r]], dtype=np.int64)
            for v in sample(self.rng, pool, self.cfg.network.migrant_ties):
                self.graph.add_edge(node, int(v))
                agent.neighbours.append(self.nodes[v])
                self.nodes[v].neighbours.append(agent)

    def _bookkeeping(self) -> None:
        """Step 7: openings and the week's statistics."""
        g = self.cfg.regions
        for r in range(g.count):
            migrants = self.flows[r]["new_migrants"]
            self.openings[r] = float(rules.openings_next(self.openings[r], migrants, g.openings_per_1000_locals,
                                                         self.locals_start[r], g.max_openings_stock))

    def _record(self) -> None:
        """Append one row per region describing the end of the current week."""
        R = self.cfg.regions.count
        counts = np.zeros((R, 4), dtype=np.int64)
        for a in self.urban:
            counts[a.region, a.stage] += 1
        pop = np.zeros(R, dtype=np.int64)
        burden = np.zeros(R)
        for a in self.locals:
            pop[a.region] += 1
            burden[a.region] += a.burden
        for r in range(R):
            activity = {}
            if self.week > 0:
                st = self.week_stats[r]
                activity = dict(events=(self.n_offline, self.n_urban, self.n_online),
                                active_guides=self.active_urban_guides[r] + self.active_local_guides[r],
                                willing_hosts=self.willing_hosts[r], offline_participants=self.offline_participants[r],
                                **{k: st[k] for k in ("guide_utilisation", "participants", "online_participants",
                                                      "guide_contacts", "matches")})
            self.recorder.add(self.week, r, counts[r], [self.flows[r][f] for f in FLOWS], pop[r],
                              burden[r] / pop[r] if pop[r] else 0.0, **activity)
