"""What both engines share: the week's named phases, what one phase hands to the next, the table rows.

A week is the same seven phases in both engines (ODD section 3), each a method of that name:

====================  =====================================================================
``context``           calendar, active guides, start-of-week locals and partners per region
``decide``            locals draw willingness to host, exit and ageing; urban residents draw
                      their wishes (events, guide contact pool, match, move)
``allocate``          each region's capacity-limited seats go to the applicants with the
                      largest keys: offline, urban, online, contact, match, move
``advance``           urban residents convert, update engagement, step up or drift down
``locals``            hosting burden, exits and ageing; births and arriving migrants join
``bookkeeping``       openings stock, the week counter
``record``            one row per region of the per-week table
====================  =====================================================================

Reading the two engines phase by phase side by side is the way to check they follow one schedule.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from sim import rules
from sim.params import ENGINES, Config
from sim.streams import Draws
from sim.table import FLOWS, SEAT_KINDS, Recorder

PHASES = ("context", "decide", "allocate", "advance", "locals", "bookkeeping", "record")
NEW_FANS, NEW_PARTNERS, NEW_MIGRANTS, DROPOUTS, ROLES_ENDED = range(len(FLOWS))  # columns of Week.flows


@dataclass
class Week:
    """What the phases of one week pass on: the calendar and guides of ``context``, and per region
    (arrays of length R) the seats, applicants and winners (urban resident ids) of each seat kind,
    willing hosts and the week's flows. Tests read it to check each phase on its own.

    Counts of urban residents are in real people (``scale`` per simulated resident): partners at the start,
    seats, applicants and ``won``; ``winners`` and ``flows`` count simulated residents."""

    t: int
    events: np.ndarray  # (R, 3) offline programs, urban events, online events held in each region
    active_urban: np.ndarray  # active urban-side guides per region
    active_local: np.ndarray  # active local-side guides per region
    locals_start: np.ndarray  # living locals per region at the start of the week
    partners_start: np.ndarray  # partners per region at the start of the week
    skilled_partners_start: np.ndarray  # of them, those with a skill the region lacks (0 without skill matching,
    # where they open no roles: rules.skill_roles)
    openings: np.ndarray  # openings stock per region at the start of the week
    houses: np.ndarray  # openings the vacant-house programme adds this week, per region (rules.vacant_houses)
    scale: int = 1  # real urban residents per simulated one (population.scale)
    budget: np.ndarray = field(default_factory=lambda: np.ones(0))  # share of each region's funded plan its
    # budget pays for (params.budget_share; 1: the whole plan)
    rc: list[Config] = field(default_factory=list)  # each region's configuration (params.region_config)
    willing: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # willing hosts per region
    seats: dict[str, np.ndarray] = field(default_factory=dict)
    applicants: dict[str, np.ndarray] = field(default_factory=dict)
    winners: dict[str, list[np.ndarray]] = field(default_factory=dict)
    flows: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FLOWS)), np.int64))  # FLOWS per region

    @classmethod
    def start(cls, t: int, rc: list[Config], active_urban: np.ndarray, active_local: np.ndarray,
              locals_start: np.ndarray, partners_start: np.ndarray, skilled_partners_start: np.ndarray,
              openings: np.ndarray, scale: int = 1, budget: np.ndarray | None = None) -> Week:
        """A new week's context: each region's calendar of ``t`` (``rc``: the regions' configurations, their plans
        cut to their budgets, ``budget`` the share paid for) and the given start-of-week counts (partners and
        skilled partners of simulated residents, each standing for ``scale`` people) and openings."""
        n_regions = len(rc)
        events = np.array([rules.events_held(t, c.policy) for c in rc], dtype=np.int64).reshape(n_regions, 3)
        houses = np.array([rules.vacant_houses(t, c.policy.vacant_houses_per_year, c.policy.funding_years)
                           for c in rc], dtype=float)
        wk = cls(t, events, np.asarray(active_urban, np.int64), np.asarray(active_local, np.int64),
                 np.asarray(locals_start, np.int64), np.asarray(partners_start, np.int64) * scale,
                 np.asarray(skilled_partners_start, np.int64) * scale, np.array(openings, dtype=float), houses,
                 scale, np.ones(n_regions) if budget is None else np.asarray(budget, dtype=float), list(rc))
        wk.willing = np.zeros(n_regions, np.int64)
        wk.flows = np.zeros((n_regions, len(FLOWS)), np.int64)
        for kind in SEAT_KINDS:
            wk.seats[kind] = np.zeros(n_regions, np.int64)
            wk.applicants[kind] = np.zeros(n_regions, np.int64)
            wk.winners[kind] = [np.empty(0, np.int64) for _ in range(n_regions)]
        return wk

    def award(self, kind: str, region: int, seats: int, applicants: int, winners: np.ndarray) -> None:
        """Note what region ``region``'s allocation of ``kind`` gave: its seats (real people), the number of
        simulated applicants and the winners (simulated residents' ids)."""
        self.seats[kind][region] = seats
        self.applicants[kind][region] = applicants * self.scale
        self.winners[kind][region] = np.asarray(winners, np.int64)

    def won(self, kind: str, region: int) -> int:
        """Real people seated by ``kind`` in ``region``: winners times ``scale``."""
        return int(self.winners[kind][region].size) * self.scale

    def _offline_args(self, region: int) -> tuple:
        """Inputs of the offline seat rules (``rules.offline_seats``, ``rules.offline_seat_limits``)."""
        rc = self.rc[region]
        return (self.events[region, 0], rc.policy.offline_capacity, self.willing[region],
                rc.regions.visitors_per_host)

    def _match_args(self, region: int) -> tuple:
        """Inputs of the match seat rules (``rules.match_seats``, ``rules.match_seat_limits``): local guides,
        roles found at this week's programs and online events (so those seats must be given first), free roles."""
        rc = self.rc[region]
        p, b, g = rc.policy, rc.behaviour, rc.regions
        roles = rules.partner_roles(g.needs_per_1000_locals, self.locals_start[region], self.active_local[region],
                                    p.guide_roles_local, rules.calendar_rates(self.t, p)[0],
                                    b.roles_per_program, self.partners_start[region], b.roles_per_partner,
                                    self.skilled_partners_start[region],
                                    rules.skill_roles(p.skill_matching, b.skill_roles_per_partner))
        return (self.active_local[region], p.guide_capacity_local, self.won("offline", region), b.program_role_rate,
                roles, self.partners_start[region], self.won("online", region), b.online_role_rate)

    def seats_for(self, kind: str, region: int) -> int:
        """Seats of ``kind`` in ``region`` this week, from the rules and this week's context, for both
        engines; match seats need the offline seats given first (programs surface roles)."""
        p = self.rc[region].policy
        if kind == "offline":
            return int(rules.offline_seats(*self._offline_args(region)))
        if kind == "urban":
            return int(rules.event_seats(self.events[region, 1], p.urban_event_capacity))
        if kind == "online":
            return int(rules.event_seats(self.events[region, 2], p.online_capacity))
        if kind == "contact":
            return int(rules.contact_seats(self.active_urban[region], p.guide_capacity_urban, p.guide_followup_share))
        if kind == "followup":
            return int(rules.followup_seats(self.active_urban[region], p.guide_capacity_urban, p.guide_followup_share))
        if kind == "match":
            return int(rules.match_seats(*self._match_args(region)))
        if kind == "move":
            return int(rules.move_seats(self.openings[region]))
        if kind == "accompany":
            return int(rules.accompany_seats(self.active_local[region], p.guide_accompany_capacity))
        raise ValueError(f"seat kind: {kind!r}; allowed: {', '.join(SEAT_KINDS)}")

    def limits(self, region: int) -> dict[str, bool]:
        """Which capacity limits bound in ``region`` this week (``rules.binding_limits``)."""
        return rules.binding_limits({k: self.seats[k][region] for k in SEAT_KINDS},
                                    {k: self.applicants[k][region] for k in SEAT_KINDS},
                                    *rules.offline_seat_limits(*self._offline_args(region)),
                                    *rules.match_seat_limits(*self._match_args(region)),
                                    budget_cut=bool(self.budget[region] < 1.0
                                                    and rules.funded(self.t, self.rc[region].policy.funding_years)))

    def activity(self, region: int) -> dict:
        """The week's activity columns of the table for ``region`` (``sim.table.ACTIVITY``, seats,
        applicants and binding limits)."""
        p = self.rc[region].policy
        won = {kind: self.won(kind, region) for kind in SEAT_KINDS}
        active = int(self.active_urban[region] + self.active_local[region])
        return dict(events=tuple(int(n) for n in self.events[region]),
                    paid_events=rules.paid_events(self.t, self.events[region], p.funding_years),
                    paid_guides=int(rules.paid_guides(self.t, p.funding_years, active)),
                    **{f"seats_{k}": int(self.seats[k][region]) for k in SEAT_KINDS},
                    **{f"applicants_{k}": int(self.applicants[k][region]) for k in SEAT_KINDS},
                    **{f"bound_{k}": v for k, v in self.limits(region).items()},
                    active_guides=active, vacant_houses=float(self.houses[region]),
                    budget_share=float(self.budget[region]),
                    willing_hosts=int(self.willing[region]),
                    participants=won["offline"] + won["urban"] + won["online"],
                    offline_participants=won["offline"], online_participants=won["online"],
                    guide_contacts=won["contact"], matches=won["match"],
                    guide_utilisation=float(rules.guide_utilisation(
                        won["contact"] + won["followup"], won["match"], self.active_urban[region],
                        self.active_local[region], p.guide_capacity_urban, p.guide_capacity_local)))


class Engine(Protocol):
    """What both engines offer: build from a config, then run a number of weeks."""

    def run(self, steps: int, progress: bool = False) -> pd.DataFrame: ...


class WeeklyRun:
    """The week of both engines: the phases of ``PHASES`` in order, each a method of the engine.

    Subclasses set ``cfg``, ``week`` (weeks done), ``wk`` (the current ``Week``, None before the first)
    and ``recorder``, define the phases, and ``region_state()`` for the rows."""

    cfg: Config
    draws: Draws  # the weekly draws, by purpose (``stream``, ``uniforms``, ``lottery``)
    week: int
    wk: Week | None
    recorder: Recorder

    @property
    def this_week(self) -> Week:
        """The week under way (set by ``context``)."""
        if self.wk is None:
            raise RuntimeError("no week under way: the context phase starts one")
        return self.wk

    def step(self) -> None:
        """One week: every phase of ``PHASES`` in order (ODD section 3); CPU time per phase is kept."""
        times = self.__dict__.setdefault("phase_seconds", dict.fromkeys(PHASES, 0.0))
        for phase in PHASES:
            t0 = time.perf_counter()
            getattr(self, phase)()
            times[phase] += time.perf_counter() - t0

    def agent_seats(self, kind: str, region: int) -> tuple[int, int]:
        """Seats of ``kind`` in ``region`` this week in real people (``Week.seats_for``) and for simulated
        residents (``rules.agent_seats``: the same when each stands for one person, else rounded at random
        with the week's ``seat_rounding`` stream so that the expected number of real people seated does not depend on
        ``population.scale``)."""
        seats = self.this_week.seats_for(kind, region)
        scale = self.cfg.population.scale
        if scale == 1:
            return seats, seats
        return seats, int(rules.agent_seats(seats, scale, self.stream("seat_rounding", SEAT_KINDS.index(kind),
                                                                     region).random()))

    def stream(self, purpose: str, *index: int) -> np.random.Generator:
        """This week's generator for ``purpose`` (``sim.streams.Draws.generator``): a policy that changes
        other draws leaves it untouched."""
        return self.draws.generator(self.week, purpose, *index)

    def uniforms(self, purpose: str, ids: np.ndarray, rows: int = 1, *index: int) -> np.ndarray:
        """This week's uniforms of ``purpose`` for the people ``ids`` (``sim.streams.Draws.uniforms``): each
        person's own numbers, whoever else draws."""
        return self.draws.uniforms(self.week, purpose, ids, rows, *index)

    def lottery(self, kind: str, region: int, ids: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Allocation keys (``rules.allocation_key``) of the applicants ``ids`` for this week's seats of
        ``kind`` in ``region``: each applicant's own lottery number, so that one more applicant does not
        change who else wins."""
        u = self.uniforms("seats", ids, 1, SEAT_KINDS.index(kind), region)[0]
        return rules.allocation_key(u, np.ones(u.size) if weights is None else weights)

    def run(self, steps: int, progress: bool = False) -> pd.DataFrame:
        """Simulate ``steps`` weeks and return the per-week table."""
        from tqdm.auto import tqdm

        for _ in tqdm(range(steps), disable=not progress, desc="weeks", unit="wk"):
            self.step()
        return self.table()

    def region_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per region at this moment: stage counts (R, 4), living locals and, of them, those who moved in as
        migrants (R, 2), burden sums (R, 3: summed burden
        of the living locals, number of living key persons, their summed burden) and registry members (R,)."""
        raise NotImplementedError

    def urban_people(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Region, stage, donor lapse week and roots (ゆかり) of every urban resident, indexed by node id."""
        raise NotImplementedError

    def survey(self) -> np.ndarray:
        """Simulated urban residents of each region by the 2020 survey's type of relation (R, types of
        ``rules.RELATION_TYPES``), visits counted over the past year of offline seats won, and of the other
        fans those who visited on their own (``rules.visited_on_own``, each fan's own draw of the survey)."""
        region, stage, donor_until, roots = self.urban_people()
        visited = np.zeros(region.size, bool)
        for ids in self._visits:
            visited[ids] = True
        others = np.flatnonzero((stage == rules.FAN) & ~visited)
        visited[others] = rules.visited_on_own(self.uniforms("own_visit", others)[0],
                                               self.cfg.behaviour.own_visit_share)
        kind = rules.relation_type(stage, visited, rules.donating(donor_until, self.week), roots)
        n = len(rules.RELATION_TYPES)
        R = self.cfg.regions.count
        return np.bincount(region.astype(np.int64) * n + kind, minlength=R * n).reshape(R, n)

    def record(self) -> None:
        """Append one row per region describing the state after ``self.week`` weeks and this week's flows
        and activity (step 0: the initial state, no activity), urban residents in real people. The survey's
        typology is taken at week 0 and every 52 weeks, like the yearly survey it is compared with."""
        if self.week == 0:
            region, _, donor_until, _ = self.urban_people()
            donors = donor_until > 0
            self._donor_weeks = [np.sort(donor_until[donors & (region == r)]) for r in range(self.cfg.regions.count)]
            self._visits: deque[np.ndarray] = deque(maxlen=rules.WEEKS_PER_YEAR)
        wk = self.wk if self.week > 0 else None
        if wk is not None:
            self._visits.append(np.concatenate(wk.winners["offline"]))
        if self.week % rules.WEEKS_PER_YEAR == 0:
            self._surveyed = self.survey()
        stages, locals_, burden, members = self.region_state()
        s = self.cfg.population.scale
        for r in range(self.cfg.regions.count):
            activity = wk.activity(r) if wk is not None else {}
            flows = wk.flows[r] if wk is not None else (0,) * len(FLOWS)
            (n, stayed), (total, n_key, key) = locals_[r], burden[r]
            self.recorder.add(self.week, r, np.asarray(stages[r]) * s, np.asarray(flows) * s, int(n),
                              float(total / n) if n else 0.0, members=int(members[r]) * s,
                              key_host_burden=float(key / n_key) if n_key else 0.0, migrants_staying=int(stayed),
                              donors=int(rules.donors_active(self._donor_weeks[r], self.week)) * s,
                              survey=self._surveyed[r] * s, **activity)

    def table(self) -> pd.DataFrame:
        """The per-week table recorded so far (sim/table.py)."""
        return self.recorder.frame()


def build_engine(cfg: Config) -> Engine:
    """Build the population and network of ``cfg`` with the engine ``cfg.engine`` (each engine validates
    ``cfg`` first, so neither ever sees a value outside its declared range)."""
    if cfg.engine == "mesa":
        from sim.model import RelationshipModel

        return RelationshipModel(cfg)
    if cfg.engine == "vectorized":
        from sim.vectorized import VectorizedEngine

        return VectorizedEngine(cfg)
    raise ValueError(f"engine: {cfg.engine!r} is not one of {', '.join(ENGINES)}")


def run_engine(cfg: Config, progress: bool = False) -> pd.DataFrame:
    """Run one simulation with the engine ``cfg.engine`` and return the per-week table."""
    return build_engine(cfg).run(cfg.run.steps, progress=progress)
