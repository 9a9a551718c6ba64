"""The vectorized engine: the same rules and schedule as the Mesa engine, on arrays.

State lives in numpy arrays with the smallest dtypes that hold it (stage int8, engagement
float32, region int16, flags bool), the network in CSR form (``sim.network_csr``). Every formula
comes from ``sim.rules``, called on arrays; the compiled loops of ``sim.kernels`` only count ties
and find people. Updating is synchronous, in the order of ODD section 3. What differs from the
Mesa engine is only how the draws are made, never their law (docs/ODD.md 7.9):

- the indifferent majority's rare weekly events (passive conversion, urban-event wish, online
  wish; independent Bernoullis) are drawn by thinning: only about N·q_max positions are visited
  a week, each outcome decoded from one uniform;
- each urban resident's number of engaged ties is kept as a count, updated when a tie's state
  changes (new fan, drop to indifferent, local leaving, guide stopping) instead of recounted;
- guide contacts (weighted sampling without replacement among all indifferent residents of a
  region) are drawn exactly through the order statistics of the two weight classes, then uniform
  members of each class: O(seats) per week instead of O(N);
- conversion channels are drawn separately (the rule is a product over independent channels);
- ties of locals born or moved in during the run are not stored: ties among locals enter no rule
  (only urban residents' ties and local guides' ties do, and those are all in the initial CSR).

Cost per week: O(N·q_max + E + L + R) plus one parallel byte scan of the stages, with E the fans
and partners and L the locals; nothing is O(N·R).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numba
import numpy as np

from sim import kernels, rules
from sim.engines import Week, WeeklyRun
from sim.network_csr import bernoulli_positions, build_csr
from sim.params import BehaviourParams, Config, budget_shares, region_configs, region_values
from sim.population import draw_guides, draw_locals, draw_urban, new_locals_hosting, region_aims
from sim.streams import Draws, streams
from sim.table import Recorder

if TYPE_CHECKING:
    pass

_SCALAR_BEHAVIOUR = [f.name for f in fields(BehaviourParams) if not f.name.endswith("_rates")]
BehaviourTuple = namedtuple("BehaviourTuple", _SCALAR_BEHAVIOUR)  # type: ignore[misc]

LOCAL_ARRAYS = ("l_region", "l_age", "l_will", "l_key", "l_burden", "l_alive", "l_guide_ties", "l_migrant")


def behaviour_tuple(b: BehaviourParams) -> BehaviourTuple:
    """The scalar behaviour parameters as a namedtuple, which numba kernels accept (same attribute names)."""
    return BehaviourTuple(*[float(getattr(b, name)) for name in _SCALAR_BEHAVIOUR])


def _grow(a: np.ndarray, size: int) -> np.ndarray:
    """``a`` copied into a zeroed array of ``size`` elements (room for newcomers)."""
    out = np.zeros(size, a.dtype)
    out[:a.size] = a
    return out


def _by_region(regions: np.ndarray, n_regions: int) -> list[np.ndarray]:
    """Positions of ``regions`` grouped by value, ascending within each group (one stable counting sort)."""
    if n_regions == 1:
        return [np.arange(regions.size)]
    order = np.argsort(regions, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(regions, minlength=n_regions))]
    return [order[bounds[r]:bounds[r + 1]] for r in range(n_regions)]


@dataclass
class UrbanWeek:
    """The urban residents' side of a week (phases ``decide`` to ``advance``). ``eng`` are the fans
    and partners at the start of the week (ascending ids), and every array named ``*_e`` is aligned
    with it; winners are positions in ``eng``. Indifferent residents are listed by id."""

    eng: np.ndarray
    stage_e: np.ndarray
    e_e: np.ndarray
    region_e: np.ndarray
    exposure_e: np.ndarray
    wish_offline: np.ndarray
    wish_urban: np.ndarray
    wish_online: np.ndarray
    wish_match: np.ndarray
    wish_move: np.ndarray
    role_end: np.ndarray  # partners whose role ends this week
    passive: np.ndarray  # indifferent residents converting without contact this week
    ind_urban: np.ndarray  # indifferent residents wishing an urban event
    ind_online: np.ndarray  # indifferent residents wishing an online event
    won: np.ndarray | None = None  # (7, len(eng)) offline, urban, online, matched, moves, followed up, accompanied
    ind_won_urban: list[np.ndarray] | None = None
    ind_won_online: list[np.ndarray] | None = None
    contacted: list[np.ndarray] | None = None


@dataclass
class LocalWeek:
    """The locals' side of a week: living locals' slots ``lid`` and their draws (phase ``decide``)."""

    lid: np.ndarray
    region: np.ndarray
    willing: np.ndarray
    exits: np.ndarray
    ages: np.ndarray


class VectorizedEngine(WeeklyRun):
    """All agents as arrays; ``VectorizedEngine(cfg).run(steps)`` returns the same per-week table
    (``sim.table``) as the Mesa engine, for populations up to tens of millions. The week is the phases
    of ``sim.engines.PHASES``, as in ``sim.model.RelationshipModel``."""

    def __init__(self, cfg: Config) -> None:
        from sim.config import validate

        self.cfg = validate(cfg)
        self.rc = region_configs(cfg)  # each region's configuration (the regions table applied, plans cut to budgets)
        self.budget = np.asarray(budget_shares(cfg))  # share of each region's funded plan its budget pays for
        rngs = streams(cfg.seed)
        self.draws = Draws(cfg.seed)
        p, b, g = cfg.policy, cfg.behaviour, cfg.regions
        urban = draw_urban(cfg, rngs["population"])
        local = draw_locals(cfg, rngs["population"])
        guides = draw_guides(cfg, rngs["population"])
        self.csr = build_csr(cfg, urban, local, guides, rngs["network"])
        self.R = R = g.count
        self.N = N = urban.region.size
        self.L0 = local.region.size
        # urban residents
        self.region, self.stage, self.e = urban.region, urban.stage, urban.engagement
        self.tied = np.asarray(rules.targeted(urban.roots, urban.theme, p.target_roots, p.target_theme), dtype=bool)
        self.skilled, self.online, self.life = urban.skilled, urban.online, urban.life
        self.roots = urban.roots
        self.aims = region_aims(cfg)  # targeted-outreach intensity of a tied person, per region
        self.attached = urban.roots | urban.theme  # already relates to the region (rules.entry_engagement)
        self.donor_until = urban.donor_until
        self.visited = np.zeros(N, bool)  # took part in an offline program before (a first visit may be accompanied)
        self.deg = np.diff(self.csr.indptr[:N + 1]).astype(np.int32)
        self.engaged = kernels.engaged_people(self.stage, 8 * numba.get_num_threads())  # fans, partners (sorted)
        # locals, preallocated with room for births and migrants (grown by doubling when full)
        cap = int(self.L0 * 1.25) + 64
        self.l_region = _grow(local.region, cap)
        self.l_age = _grow(local.age, cap)
        self.l_will = _grow(local.willingness, cap)
        self.l_key = _grow(local.key, cap)
        self.l_burden = _grow(local.burden, cap)
        self.l_alive = _grow(np.ones(self.L0, bool), cap)
        self.l_guide_ties = np.zeros(cap, np.int32)  # active local guides of its region tied to this local
        self.l_migrant = np.zeros(cap, bool)  # moved in as a migrant during the run
        self.n_l = self.L0
        # guides
        self.g_side, self.g_region, self.g_self = guides.side, guides.region, guides.self_running
        self.g_funding = np.asarray(region_values(cfg, "policy.funding_years"), dtype=float)[self.g_region]
        self.g_active = np.asarray(rules.guide_active(0, self.g_funding, self.g_self), dtype=bool)
        self.g_node = N + self.L0 + np.arange(self.g_side.size)
        for k in np.flatnonzero((self.g_side == 1) & self.g_active):
            self.l_guide_ties[self.csr.neighbours(self.g_node[k]) - N] += 1
        self.cnt = kernels.engaged_ties(N, self.L0, self.csr.indptr, self.csr.indices, self.stage, self.region,
                                        local.region, np.ones(self.L0, bool), self.g_region, self.g_active)
        # per-region bookkeeping, kept up to date incrementally
        self.stage_counts = np.bincount(self.region.astype(np.int64) * 4 + self.stage, minlength=R * 4).reshape(R, 4)
        self.member = np.asarray(rules.registered(np.zeros(N, bool), self.stage), dtype=bool)
        self.member_counts = np.bincount(self.region[self.member], minlength=R).astype(np.int64)
        ind = self.stage == rules.INDIFFERENT
        self.ind_counts = np.bincount(self.region[ind].astype(np.int64) * 2 + self.tied[ind],
                                      minlength=2 * R).reshape(R, 2)
        self.loc_count = np.bincount(local.region, minlength=R).astype(np.int64)
        # urban residents grouped by outreach class (region, tied), for uniform draws within a class
        if np.any(self.g_side == 0):
            key = self.region.astype(np.int16 if 2 * R < 2**15 else np.int32) * 2 + self.tied  # int16: radix sort
            self.class_order = np.argsort(key, kind="stable").astype(np.int32 if N < 2**31 else np.int64)
            self.class_start = np.r_[0, np.cumsum(np.bincount(key, minlength=2 * R))]
            del key
        self.openings_rate = np.asarray(region_values(cfg, "regions.openings_per_1000_locals"), dtype=float)
        self.openings_max = np.asarray(region_values(cfg, "regions.max_openings_stock"), dtype=float)
        self.remoteness = np.asarray(region_values(cfg, "regions.remoteness"), dtype=float)
        self.openings = rules.initial_openings(self.openings_rate, self.loc_count.astype(float), self.openings_max)
        ages = np.arange(3)
        self.exit_p = rules.local_exit_probability(ages[None, :], g.youth_leave_rate, g.elder_death_rate,
                                                   np.array([[False], [True]]), g.migrant_leave_rate)  # [migrant, age]
        self.age_p = rules.ageing_probability(ages, g.ageing_rate)
        self.w_class = np.array([rules.outreach_weight(False, p.targeting, b.tie_weight),
                                 rules.outreach_weight(True, p.targeting, b.tie_weight)], dtype=float)
        self.q_max = self._max_event_probability()
        self.role_end_p = float(rules.role_end_probability(b.role_end_rate))
        self.week = 0
        self.wk: Week | None = None
        self.recorder = Recorder(cfg.costs)
        self.record()

    # --- the week: the phases of sim.engines.PHASES --------------------------------------------

    def context(self) -> None:
        """Calendar, active guides (guides that stop no longer count as engaged ties), start-of-week counts."""
        active = np.asarray(rules.guide_active(self.week, self.g_funding, self.g_self), dtype=bool)
        stopped = np.flatnonzero(self.g_active & ~active)
        self._engagement_changed(self.g_node[stopped], self.g_region[stopped], self.g_active[stopped],
                                 active[stopped])
        for k in stopped[self.g_side[stopped] == 1]:
            self.l_guide_ties[self.csr.neighbours(self.g_node[k]) - self.N] -= 1
        self.g_active = active
        R = self.R
        skilled_partners = np.zeros(R, np.int64)  # they open roles only with skill matching (rules.skill_roles)
        if self.cfg.policy.skill_matching:
            E = self.engaged
            skilled_partners = np.bincount(self.region[E[(self.stage[E] == rules.PARTNER) & self.skilled[E]]],
                                           minlength=R)
        self.wk = Week.start(self.week, self.rc, np.bincount(self.g_region[active & (self.g_side == 0)], minlength=R),
                             np.bincount(self.g_region[active & (self.g_side == 1)], minlength=R),
                             self.loc_count.copy(), self.stage_counts[:, rules.PARTNER].copy(),
                             skilled_partners, self.openings,
                             self.cfg.population.scale, self.budget)

    def decide(self) -> None:
        """Locals draw willingness to host, exit and ageing; then urban residents draw their wishes."""
        self._decide_locals()
        self._decide_urban()

    def allocate(self) -> None:
        """Each region's seats, in the order of ODD section 3 step 4."""
        uw = self.uw
        uw.won = np.zeros((7, uw.eng.size), bool)
        uw.ind_won_urban, uw.ind_won_online, uw.contacted = [], [], []
        by_urban, by_online = _by_region(self.region[uw.ind_urban], self.R), _by_region(self.region[uw.ind_online],
                                                                                        self.R)
        for r, in_r in enumerate(_by_region(uw.region_e, self.R)):
            self._allocate_region(r, in_r, uw.ind_urban[by_urban[r]], uw.ind_online[by_online[r]])

    def advance(self) -> None:
        """Urban residents: conversions of the indifferent, engagement, step up, drift down (ODD 7.4, 7.6)."""
        p, b = self.cfg.policy, self.cfg.behaviour
        uw, wk = self.uw, self.this_week
        assert uw.won is not None
        att_off, att_urb, att_on, matched, moves, followed, accompanied = uw.won
        taken = np.flatnonzero(matched)  # matches that hold (rules.match_holds_probability)
        matched[taken[self.uniforms("match_holds", uw.eng[taken])[0] >= rules.match_holds_probability(
            self.skilled[uw.eng[taken]], p.skill_matching, b.skill_role_share)]] = False
        converted = [uw.passive]
        for i, (idx, channel) in enumerate(((_cat(uw.contacted), (1, 0, 0)), (_cat(uw.ind_won_urban), (0, 1, 0)),
                                            (_cat(uw.ind_won_online), (0, 0, 1)))):
            if idx.size:
                pc = rules.conversion_probability(0.0, *channel, p.entry_bar, p.online_effect, b)
                converted.append(idx[self.uniforms("conversion", idx, 1, i)[0] < pc])
        new_fans = np.unique(np.concatenate(converted))
        E, s_old = uw.eng, uw.stage_e
        donating = rules.donating(self.donor_until[E], self.week) & p.donor_path
        gain = rules.engagement_gain(att_off, att_urb, att_on, matched, followed, uw.exposure_e, donating,
                                     p.online_effect, b, accompanied)
        self.visited[E[att_off]] = True
        e_new = rules.engagement_update(uw.e_e, gain, b.engagement_decay).astype(np.float32)
        s_new = rules.next_stage(s_old, e_new, moves, matched, uw.role_end, b.fan_floor, b.partner_floor
                                 ).astype(np.int8)
        down = s_new < s_old
        dropped = down & ~uw.role_end
        to_ind = down & (s_new == rules.INDIFFERENT)
        e_new[to_ind] = 0.0
        self.e[E] = e_new
        self.stage[E] = s_new
        self.stage[new_fans] = rules.FAN
        self.engaged = np.sort(np.concatenate([E[~(moves | to_ind)], new_fans]), kind="stable")  # merges two runs
        self.e[new_fans] = rules.entry_engagement(p.entry_bar, self.attached[new_fans], b)
        joined = new_fans[~self.member[new_fans]]
        self.member[new_fans] = rules.registered(self.member[new_fans], self.stage[new_fans])
        self.member_counts += np.bincount(self.region[joined], minlength=self.R)
        R = self.R
        fan_region = self.region[new_fans]
        rE = uw.region_e
        wk.flows[:] = np.stack([np.bincount(fan_region, minlength=R), np.bincount(rE[matched], minlength=R),
                                np.bincount(rE[moves], minlength=R), np.bincount(rE[dropped], minlength=R),
                                np.bincount(rE[down & uw.role_end], minlength=R)], axis=1)
        # everyone whose stage changed: the stage counts, and the engaged ties through rules.urban_engaged
        changed = s_new != s_old
        moved = np.r_[E[changed], new_fans]
        before = np.r_[s_old[changed], np.zeros(new_fans.size, np.int8)]
        after = np.r_[s_new[changed], np.full(new_fans.size, rules.FAN, np.int8)]
        self._count_stages(self.region[moved], before, after)
        self._engagement_changed(moved, self.region[moved], rules.urban_engaged(before), rules.urban_engaged(after))
        gone_ind = E[to_ind]
        self.ind_counts += (np.bincount(self.region[gone_ind].astype(np.int64) * 2 + self.tied[gone_ind],
                                        minlength=2 * R)
                            - np.bincount(fan_region.astype(np.int64) * 2 + self.tied[new_fans], minlength=2 * R)
                            ).reshape(R, 2)
        self.movers = E[moves]

    def locals(self) -> None:
        """Locals: hosting burden, exits, ageing; then births and arriving migrants (ODD 7.3, 7.7)."""
        b, g = self.cfg.behaviour, self.cfg.regions
        lw, wk = self.lw, self.this_week
        offline = np.array([wk.won("offline", r) for r in range(self.R)])
        lid, l_reg = lw.lid, lw.region
        load = rules.host_load(lw.willing, offline[l_reg], wk.willing[l_reg])
        self.l_burden[lid] = rules.burden_update(self.l_burden[lid], load, b.burden_per_visitor, b.burden_recovery)
        gone = lid[lw.exits]
        self.l_alive[gone] = False
        self.l_age[lid[~lw.exits & lw.ages]] += 1
        initial = gone[gone < self.L0]  # only the initial locals are nodes of the stored network
        self._engagement_changed(self.N + initial, self.l_region[initial], np.ones(initial.size, bool),
                                 np.zeros(initial.size, bool))
        self.loc_count -= np.bincount(self.l_region[gone], minlength=self.R)
        born = self.stream("births").poisson(rules.expected_births(wk.locals_start, g.birth_rate))
        self._add_locals(born, np.repeat(self.movers, self.cfg.population.scale))  # a simulated migrant is
        # ``scale`` people

    def bookkeeping(self) -> None:
        """Openings stock of each region (ODD 7.3); the week is done."""
        wk = self.this_week
        self.week += 1
        self.openings = rules.openings_next(self.openings, wk.flows[:, 2] * wk.scale, self.openings_rate,
                                            wk.locals_start.astype(float), self.openings_max, wk.houses)

    def region_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Stage counts, living locals (and migrants among them), burden sums and registry members, per region
        (``WeeklyRun.region_state``)."""
        alive = np.flatnonzero(self.l_alive[:self.n_l])
        region, burden, key = self.l_region[alive], self.l_burden[alive], self.l_key[alive]
        stayed = np.bincount(region[self.l_migrant[alive]], minlength=self.R)
        sums = np.stack([np.bincount(region, weights=burden, minlength=self.R),
                         np.bincount(region[key], minlength=self.R),
                         np.bincount(region[key], weights=burden[key], minlength=self.R)], axis=1)
        return self.stage_counts, np.stack([self.loc_count, stayed], axis=1), sums, self.member_counts

    def urban_people(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Region, stage, donor lapse week and roots of every urban resident (``WeeklyRun.urban_people``)."""
        return self.region, self.stage, self.donor_until, self.roots

    # --- the parts of the phases ---------------------------------------------------------------

    def _decide_locals(self) -> None:
        b, wk = self.cfg.behaviour, self.this_week
        lid = np.flatnonzero(self.l_alive[:self.n_l])
        l_reg, l_age = self.l_region[lid], self.l_age[lid]
        p_host = rules.host_probability(self.l_will[lid], self.l_burden[lid], b.burden_sensitivity,
                                        self.l_key[lid], self.l_guide_ties[lid] > 0)
        u = self.uniforms("decide_locals", lid, 3)
        willing = u[0] < p_host
        exits = u[1] < self.exit_p[self.l_migrant[lid].view(np.uint8), l_age]
        self.lw = LocalWeek(lid, l_reg, willing, exits, u[2] < self.age_p[l_age])
        wk.willing[:] = np.bincount(l_reg[willing], minlength=self.R)

    def _decide_urban(self) -> None:
        """The indifferent bulk by thinning (their rare events); fans and partners on arrays."""
        b = self.cfg.behaviour
        passive, ind_urban, ind_online = self._indifferent_events()
        E = self.engaged
        stage, e = self.stage[E], self.e[E]
        p_off, p_urb, p_on = rules.apply_probabilities(stage, self.online[E], self.w_class[self.tied[E].view(np.uint8)],
                                                       self.remoteness[self.region[E]], b)
        u = self.uniforms("decide_urban", E, 5)
        p_move = rules.migration_probability(np.asarray(b.life_event_rates)[self.life[E]], e,
                                             b.migrate_engagement_power, self.roots[E], b.roots_move_factor)
        self.uw = UrbanWeek(eng=E, stage_e=stage, e_e=e, region_e=self.region[E], exposure_e=self.exposures(E),
                            wish_offline=u[0] < p_off, wish_urban=u[1] < p_urb, wish_online=u[2] < p_on,
                            wish_match=(stage == rules.FAN) & (e >= b.partner_threshold),
                            wish_move=(stage == rules.PARTNER) & (u[3] < p_move),
                            role_end=(stage == rules.PARTNER) & (u[4] < self.role_end_p),
                            passive=passive, ind_urban=ind_urban, ind_online=ind_online)

    def _allocate_region(self, r: int, in_r: np.ndarray, ind_urban: np.ndarray, ind_online: np.ndarray) -> None:
        """Region ``r``'s seats (``Week.seats_for``): ``in_r`` are the positions in ``eng`` of its fans and
        partners, ``ind_*`` its indifferent residents wishing an urban or an online event."""
        p, b = self.cfg.policy, self.cfg.behaviour
        uw, wk = self.uw, self.this_week
        assert uw.contacted is not None and uw.won is not None
        self._award("offline", r, in_r[uw.wish_offline[in_r]])
        self._award("urban", r, in_r[uw.wish_urban[in_r]], ind_urban)
        self._award("online", r, in_r[uw.wish_online[in_r]], ind_online)
        seats, agent_seats = self.agent_seats("contact", r)
        contacted = self._contacts(r, agent_seats)
        uw.contacted.append(contacted)
        wk.award("contact", r, seats, self._contact_applicants(r), contacted)
        self._award("followup", r, in_r[uw.stage_e[in_r] == rules.FAN])
        cand = in_r[uw.wish_match[in_r]]
        self._award("match", r, cand, weights=rules.match_weight(self.skilled[uw.eng[cand]], p.skill_matching,
                                                                 b.skill_weight))
        self._award("move", r, in_r[uw.wish_move[in_r]])
        self._award("accompany", r, in_r[uw.won[0, in_r] & ~self.visited[uw.eng[in_r]]])

    def _award(self, kind: str, r: int, eng_applicants: np.ndarray, ind_applicants: np.ndarray | None = None,
               weights: np.ndarray | None = None) -> None:
        """Give region ``r``'s seats of ``kind`` this week to its applicants: fans and partners (positions
        in ``eng``) and, for urban and online events, indifferent residents (ids); mark the winners."""
        uw, wk = self.uw, self.this_week
        assert uw.won is not None
        seats, agent_seats = self.agent_seats(kind, r)
        groups = [eng_applicants] if ind_applicants is None else [eng_applicants, ind_applicants]
        won = self._seats(kind, r, agent_seats, groups, [uw.eng[eng_applicants], *groups[1:]], weights)
        row = {"offline": 0, "urban": 1, "online": 2, "match": 3, "move": 4, "followup": 5, "accompany": 6}[kind]
        uw.won[row, won[0]] = True
        if kind == "urban":
            uw.ind_won_urban.append(won[1])  # type: ignore[union-attr]
        elif kind == "online":
            uw.ind_won_online.append(won[1])  # type: ignore[union-attr]
        ids = np.concatenate([uw.eng[won[0]], *won[1:]])
        wk.award(kind, r, seats, sum(a.size for a in groups), ids)

    # --- drawing helpers ----------------------------------------------------------------------

    def exposures(self, ids: np.ndarray) -> np.ndarray:
        """Share of engaged ties (``rules.exposure``) of urban residents ``ids``, from the kept counts."""
        return rules.exposure(self.cnt[ids], self.deg[ids])

    def _seats(self, kind: str, r: int, seats: int, groups: list[np.ndarray], ids: list[np.ndarray],
               weights: np.ndarray | None = None) -> list[np.ndarray]:
        """Give ``seats`` seats of ``kind`` in region ``r`` to the applicants of ``groups`` (people ``ids``)
        together: the largest keys (``WeeklyRun.lottery``, ``rules.select_top``) win. Returns each group's
        winners."""
        sizes = [a.size for a in groups]
        if sum(sizes) == 0:
            return list(groups)
        won = rules.select_top(self.lottery(kind, r, np.concatenate(ids), weights), seats)
        cuts = np.cumsum(sizes)[:-1]
        return [a[m] for a, m in zip(groups, np.split(won, cuts))]

    def _contact_applicants(self, r: int) -> int:
        """Indifferent residents of region ``r`` whom outreach reaches (weight > 0): the contact pool."""
        return int(sum(self.ind_counts[r, c] for c in (0, 1) if self.w_class[c] > 0))

    def _members(self, rng: np.random.Generator, m: int, r: int, tied: int) -> np.ndarray:
        """``m`` distinct indifferent residents of region ``r`` in outreach class ``tied``, uniformly
        (all of them if fewer): uniform draws among the class's residents, keeping indifferent ones
        in first-drawn order (sequential sampling without replacement), O(m) when most are indifferent."""
        n_ind = int(self.ind_counts[r, tied])
        if m <= 0 or n_ind == 0:
            return np.empty(0, np.int64)
        c = 2 * r + tied
        pool = self.class_order[self.class_start[c]:self.class_start[c + 1]]
        if m >= n_ind or 2 * n_ind < pool.size:
            ind = pool[self.stage[pool] == rules.INDIFFERENT].astype(np.int64)
            return ind if m >= ind.size else rng.choice(ind, size=m, replace=False)
        chosen = np.empty(0, np.int64)
        while chosen.size < m:
            need = m - chosen.size
            cand = pool[rng.integers(0, pool.size, size=int(need * pool.size / n_ind * 1.1) + 16)]
            cand = cand[self.stage[cand] == rules.INDIFFERENT].astype(np.int64)
            both = np.concatenate([chosen, cand])
            _, first = np.unique(both, return_index=True)
            chosen = both[np.sort(first)]
        return chosen[:m]

    def _contacts(self, r: int, seats: int) -> np.ndarray:
        """Urban-guide contacts of region ``r``: weighted sampling without replacement of ``seats``
        indifferent residents, weight w of their outreach class (ODD 7.4, 7.5). The keys u^(1/w) of a
        class of n residents are drawn from the order statistics of n uniforms, largest first, only
        as many as could win; the winners of each class are then uniform members of that class."""
        classes = [(c, int(self.ind_counts[r, c]), self.w_class[c]) for c in (0, 1)]
        classes = [(c, n, w) for c, n, w in classes if n > 0 and w > 0]
        if seats <= 0 or not classes:
            return np.empty(0, np.int64)
        rng = self.stream("contacts", r)
        logs, labels = [], []
        for c, n, w in classes:
            m = min(seats, n)
            # largest m of n uniforms, descending: log u_(n-i) = sum_{l<=i} log(v_l) / (n - l); log key = log(u) / w
            lu = np.cumsum(np.log(rng.random(m)) / (n - np.arange(m)))
            logs.append(lu / w)
            labels.append(np.full(m, c))
        top = np.concatenate(labels)[rules.select_top(np.concatenate(logs), seats)]
        return np.concatenate([self._members(rng, int((top == c).sum()), r, c) for c, _, _ in classes])

    def _event_probabilities(self, tied, aim, frac, donor, online):
        """Weekly chances of an indifferent resident's three independent events (ODD 7.4-7.5):
        becoming a fan without contact, wishing to attend an urban event, an online event."""
        cfg = self.cfg
        p, b = cfg.policy, cfg.behaviour
        h = rules.passive_hazard(aim, frac, donor, p.targeting, p.donor_path, b)
        p_fan = rules.conversion_probability(h, 0, 0, 0, p.entry_bar, p.online_effect, b)
        weight = self.w_class[np.asarray(tied, dtype=np.int64)]
        _, p_urb, p_on = rules.apply_probabilities(np.zeros(np.shape(tied), np.int8), online, weight,
                                                   cfg.regions.remoteness, b)
        return np.broadcast_arrays(p_fan, p_urb, p_on)

    def _max_event_probability(self) -> float:
        """An upper bound of the chance of any event for an indifferent resident: the rules are
        increasing in ties, engaged share, donor status and online affinity (checked every week)."""
        one = np.ones(1)
        p1, p2, p3 = self._event_probabilities(np.ones(1, bool), self.aims.max(keepdims=True), one,
                                               np.ones(1, bool), one)
        return float(1.0 - (1.0 - p1[0]) * (1.0 - p2[0]) * (1.0 - p3[0]))

    def _indifferent_events(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indifferent residents who become fans without contact, wish an urban event, wish an online
        event this week, drawn by thinning: positions from a Bernoulli(q_max) process (geometric gaps),
        each kept with probability q_i / q_max, its outcome decoded from one uniform on [0, q_i)."""
        rng, q_max = self.stream("exposure"), self.q_max
        idx = bernoulli_positions(rng, self.N, q_max)
        idx = idx[self.stage[idx] == rules.INDIFFERENT]
        donor = rules.donating(self.donor_until[idx], self.week)
        tied = self.tied[idx]
        p1, p2, p3 = self._event_probabilities(tied, tied * self.aims[self.region[idx]], self.exposures(idx), donor,
                                               self.online[idx])
        q = 1.0 - (1.0 - p1) * (1.0 - p2) * (1.0 - p3)
        if np.any(q > q_max * (1 + 1e-9)):
            raise RuntimeError("an indifferent resident's event probability exceeds its bound: a rule in "
                               "sim/rules.py is no longer increasing in ties, engaged share, donor or online")
        y = rng.random(idx.size) * q_max
        keep = y < q
        idx, y, p1, p2, p3 = idx[keep], y[keep], p1[keep], p2[keep], p3[keep]
        out = []
        with np.errstate(divide="ignore", invalid="ignore"):
            for pk in (p1, p2, p3):
                hit = y < pk
                out.append(idx[hit])
                y = np.where(hit, y / pk, (y - pk) / (1.0 - pk))
        return out[0], out[1], out[2]

    def _engagement_changed(self, nodes: np.ndarray, regions: np.ndarray, before: np.ndarray,
                            after: np.ndarray) -> None:
        """``nodes`` (relating to ``regions``) went from engaged ``before`` to ``after`` (each the value of
        the rule for that kind of node): the engaged-tie count of their urban neighbours relating to the
        same region follows (``rules.engaged_tie``)."""
        delta = np.asarray(after, np.int8) - np.asarray(before, np.int8)
        for d in (1, -1):
            sel = delta == d
            if sel.any():
                kernels.shift_engaged_ties(nodes[sel], regions[sel], d, self.N, self.csr.indptr, self.csr.indices,
                                           self.region, self.cnt)

    def _count_stages(self, regions: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Move people from stage ``old`` to ``new`` in the per-region stage counts."""
        R = self.R
        key = regions.astype(np.int64) * 4
        self.stage_counts += (np.bincount(key + new, minlength=4 * R) - np.bincount(key + old, minlength=4 * R)
                              ).reshape(R, 4)

    def _add_locals(self, born: np.ndarray, movers: np.ndarray) -> None:
        """Births (new youth) and arriving migrants join their region's locals (ODD 7.6, 7.7)."""
        n_born = int(born.sum())
        n_new = n_born + movers.size
        if n_new == 0:
            return
        regions = np.concatenate([np.repeat(np.arange(self.R), born), self.region[movers]]).astype(np.int16)
        age = np.concatenate([np.zeros(n_born, np.int8), rules.migrant_age_group(self.life[movers])])
        will, key = new_locals_hosting(self.cfg, self.stream("newcomers"), regions)
        if self.n_l + n_new > self.l_region.size:
            size = max(2 * self.l_region.size, self.n_l + n_new)
            for name in LOCAL_ARRAYS:
                setattr(self, name, _grow(getattr(self, name), size))
        sl = slice(self.n_l, self.n_l + n_new)
        self.l_region[sl], self.l_age[sl], self.l_will[sl], self.l_key[sl] = regions, age, will, key
        self.l_burden[sl], self.l_alive[sl], self.l_guide_ties[sl] = 0.0, True, 0
        self.l_migrant[sl] = np.arange(n_new) >= n_born
        self.n_l += n_new
        self.loc_count += np.bincount(regions, minlength=self.R)


def _cat(parts: list[np.ndarray] | None) -> np.ndarray:
    """The parts joined (empty when there are none)."""
    return np.concatenate(parts) if parts else np.empty(0, np.int64)
