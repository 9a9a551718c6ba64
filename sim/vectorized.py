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
from dataclasses import fields

import numba
import numpy as np

from sim import kernels, rules
from sim.engines import WeeklyRun
from sim.network_csr import bernoulli_positions, build_csr
from sim.params import BehaviourParams, Config
from sim.population import draw_guides, draw_locals, draw_urban, new_local_willingness, streams
from sim.table import Recorder

_SCALAR_BEHAVIOUR = [f.name for f in fields(BehaviourParams) if not f.name.endswith("_rates")]
BehaviourTuple = namedtuple("BehaviourTuple", _SCALAR_BEHAVIOUR)

LOCAL_ARRAYS = ("l_region", "l_age", "l_will", "l_burden", "l_alive", "l_guide_ties")


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


class VectorizedEngine(WeeklyRun):
    """All agents as arrays; ``VectorizedEngine(cfg).run(steps)`` returns the same per-week table
    (``sim.table``) as the Mesa engine, for populations up to tens of millions."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        rngs = streams(cfg.seed)
        self.rng = rngs["dynamics"]
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
        self.donor, self.skilled, self.online, self.life = urban.donor, urban.skilled, urban.online, urban.life
        self.deg = np.diff(self.csr.indptr[:N + 1]).astype(np.int32)
        self.engaged = kernels.engaged_people(self.stage, 8 * numba.get_num_threads())  # fans, partners (sorted)
        # locals, preallocated with room for births and migrants (grown by doubling when full)
        cap = int(self.L0 * 1.25) + 64
        self.l_region = _grow(local.region, cap)
        self.l_age = _grow(local.age, cap)
        self.l_will = _grow(local.willingness, cap)
        self.l_burden = _grow(local.burden, cap)
        self.l_alive = _grow(np.ones(self.L0, bool), cap)
        self.l_guide_ties = np.zeros(cap, np.int32)  # active local guides of its region tied to this local
        self.n_l = self.L0
        # guides
        self.g_side, self.g_region, self.g_self = guides.side, guides.region, guides.self_running
        self.g_active = np.asarray(rules.guide_active(0, p.funding_years, self.g_self), dtype=bool)
        self.g_node = N + self.L0 + np.arange(self.g_side.size)
        for k in np.flatnonzero((self.g_side == 1) & self.g_active):
            self.l_guide_ties[self.csr.neighbours(self.g_node[k]) - N] += 1
        self.cnt = kernels.engaged_ties(N, self.L0, self.csr.indptr, self.csr.indices, self.stage, self.region,
                                        local.region, self.g_region, self.g_active)
        # per-region bookkeeping, kept up to date incrementally
        self.stage_counts = np.bincount(self.region.astype(np.int64) * 4 + self.stage, minlength=R * 4).reshape(R, 4)
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
        self.openings = rules.initial_openings(g.openings_per_1000_locals, self.loc_count.astype(float),
                                               g.max_openings_stock)
        ages = np.arange(3)
        self.exit_p = rules.local_exit_probability(ages, g.youth_leave_rate, g.elder_death_rate)
        self.age_p = rules.ageing_probability(ages, g.ageing_rate)
        self.w_class = np.array([rules.outreach_weight(False, p.targeting, b.tie_weight),
                                 rules.outreach_weight(True, p.targeting, b.tie_weight)], dtype=float)
        self.q_max = self._max_event_probability()
        self.week = 0
        self.recorder = Recorder(cfg.costs)
        self._record(None)

    # --- drawing helpers ----------------------------------------------------------------------

    def _seats(self, seats: int, *groups: np.ndarray, weights: np.ndarray | None = None) -> list[np.ndarray]:
        """Give ``seats`` seats to the applicants of ``groups`` together: the largest keys
        (``rules.allocation_key``, ``rules.select_top``) win. Returns each group's winners."""
        sizes = [a.size for a in groups]
        n = sum(sizes)
        if n == 0:
            return list(groups)
        w = np.ones(n) if weights is None else weights
        won = rules.select_top(rules.allocation_key(self.rng.random(n), w), seats)
        cuts = np.cumsum(sizes)[:-1]
        return [a[m] for a, m in zip(groups, np.split(won, cuts))]

    def _members(self, m: int, r: int, tied: int) -> np.ndarray:
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
            return ind if m >= ind.size else self.rng.choice(ind, size=m, replace=False)
        chosen = np.empty(0, np.int64)
        while chosen.size < m:
            need = m - chosen.size
            cand = pool[self.rng.integers(0, pool.size, size=int(need * pool.size / n_ind * 1.1) + 16)]
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
        logs, labels = [], []
        for c, n, w in classes:
            m = min(seats, n)
            # largest m of n uniforms, descending: log u_(n-i) = sum_{l<=i} log(v_l) / (n - l); log key = log(u) / w
            lu = np.cumsum(np.log(self.rng.random(m)) / (n - np.arange(m)))
            logs.append(lu / w)
            labels.append(np.full(m, c))
        top = np.concatenate(labels)[rules.select_top(np.concatenate(logs), seats)]
        return np.concatenate([self._members(int((top == c).sum()), r, c) for c, _, _ in classes])

    def _event_probabilities(self, tied, frac, donor, online):
        """Weekly chances of an indifferent resident's three independent events (ODD 7.4-7.5):
        becoming a fan without contact, wishing to attend an urban event, an online event."""
        cfg = self.cfg
        p, b = cfg.policy, cfg.behaviour
        h = rules.passive_hazard(tied, frac, donor, p.targeting, p.donor_path, b)
        p_fan = rules.conversion_probability(h, 0, 0, 0, p.entry_bar, p.online_effect, b)
        weight = self.w_class[np.asarray(tied, dtype=np.int64)]
        _, p_urb, p_on = rules.apply_probabilities(np.zeros(np.shape(tied), np.int8), online, weight,
                                                   cfg.regions.remoteness, b)
        return np.broadcast_arrays(p_fan, p_urb, p_on)

    def _max_event_probability(self) -> float:
        """An upper bound of the chance of any event for an indifferent resident: the rules are
        increasing in ties, engaged share, donor status and online affinity (checked every week)."""
        one = np.ones(1)
        p1, p2, p3 = self._event_probabilities(np.ones(1, bool), one, np.ones(1, bool), one)
        return float(1.0 - (1.0 - p1[0]) * (1.0 - p2[0]) * (1.0 - p3[0]))

    def _indifferent_events(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indifferent residents who become fans without contact, wish an urban event, wish an online
        event this week, drawn by thinning: positions from a Bernoulli(q_max) process (geometric gaps),
        each kept with probability q_i / q_max, its outcome decoded from one uniform on [0, q_i)."""
        rng, q_max = self.rng, self.q_max
        idx = bernoulli_positions(rng, self.N, q_max)
        idx = idx[self.stage[idx] == rules.INDIFFERENT]
        deg = self.deg[idx]
        frac = np.where(deg > 0, self.cnt[idx] / np.maximum(deg, 1), 0.0)
        p1, p2, p3 = self._event_probabilities(self.tied[idx], frac, self.donor[idx], self.online[idx])
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

    def _shift(self, nodes: np.ndarray, regions: np.ndarray, delta: int) -> None:
        """``nodes`` became (+1) or stopped being (-1) engaged ties for people relating to ``regions``."""
        if nodes.size:
            kernels.shift_engaged_ties(nodes, regions, delta, self.N, self.csr.indptr, self.csr.indices,
                                       self.region, self.cnt)

    # --- the week -----------------------------------------------------------------------------

    def step(self) -> None:
        """One week, the schedule of ODD section 3 (synchronous: decisions read start-of-week state)."""
        cfg, t, rng = self.cfg, self.week, self.rng
        p, b, g = cfg.policy, cfg.behaviour, cfg.regions
        N, R = self.N, self.R

        # 1. context: calendar, active guides, start-of-week locals and partners
        suspended = bool(rules.offline_suspended(t, p.offline_suspended_from_week, p.offline_suspended_weeks))
        n_off = 0 if suspended else int(rules.events_this_week(t, p.offline_programs_per_year))
        n_urb = int(rules.events_this_week(t, p.urban_events_per_year))
        n_on = int(rules.events_this_week(t, p.online_events_per_year))
        active = np.asarray(rules.guide_active(t, p.funding_years, self.g_self), dtype=bool)
        stopped = np.flatnonzero(self.g_active & ~active)
        self._shift(self.g_node[stopped], self.g_region[stopped], -1)
        for k in stopped[self.g_side[stopped] == 1]:
            self.l_guide_ties[self.csr.neighbours(self.g_node[k]) - N] -= 1
        self.g_active = active
        a_urb = np.bincount(self.g_region[active & (self.g_side == 0)], minlength=R)
        a_loc = np.bincount(self.g_region[active & (self.g_side == 1)], minlength=R)
        locals_start = self.loc_count.copy()
        partners_start = self.stage_counts[:, rules.PARTNER].copy()

        # 2. locals decide: willing to host, exit, ageing
        lid = np.flatnonzero(self.l_alive[:self.n_l])
        l_reg, l_age = self.l_region[lid], self.l_age[lid]
        p_host = rules.host_probability(self.l_will[lid], self.l_burden[lid], b.burden_sensitivity,
                                        b.guide_host_boost, self.l_guide_ties[lid] > 0)
        ul = rng.random((3, lid.size), dtype=np.float32)
        willing = ul[0] < p_host
        exits = ul[1] < self.exit_p[l_age]
        ages = ul[2] < self.age_p[l_age]
        n_willing = np.bincount(l_reg[willing], minlength=R)

        # 3. urban residents decide: the indifferent bulk by thinning, fans and partners (E) on arrays
        passive, ind_urb, ind_on = self._indifferent_events()
        E = self.engaged
        sE, eE, rE = self.stage[E], self.e[E], self.region[E]
        degE = self.deg[E]
        fracE = np.where(degE > 0, self.cnt[E] / np.maximum(degE, 1), 0.0)
        p_off, p_urb, p_on = rules.apply_probabilities(sE, self.online[E], self.w_class[self.tied[E].view(np.uint8)],
                                                       g.remoteness, b)
        ue = rng.random((4, E.size), dtype=np.float32)
        is_partner = sE == rules.PARTNER
        p_move = rules.migration_probability(np.asarray(b.life_event_rates)[self.life[E]], eE,
                                             b.migrate_engagement_power)
        wish = (ue[0] < p_off, ue[1] < p_urb, ue[2] < p_on, (sE == rules.FAN) & (eE >= b.partner_threshold),
                is_partner & (ue[3] < p_move))

        # 4. allocate, region by region: offline, urban, online, contacts, matches, migrations
        won = np.zeros((5, E.size), bool)  # offline, urban, online, matched, moves (positions in E)
        ind_att_urb, ind_att_on, contacted = [], [], []
        stats = np.zeros((R, 6))  # participants, online, contacts, matches, offline participants, utilisation
        groups_urb, groups_on = _by_region(self.region[ind_urb], R), _by_region(self.region[ind_on], R)
        for r, inr in enumerate(_by_region(rE, R)):
            seats = int(rules.offline_seats(n_off, p.offline_capacity, n_willing[r], g.visitors_per_host))
            (off,) = self._seats(seats, inr[wish[0][inr]])
            won[0, off] = True
            eng, ind = self._seats(n_urb * p.urban_event_capacity, inr[wish[1][inr]], ind_urb[groups_urb[r]])
            won[1, eng] = True
            ind_att_urb.append(ind)
            n_urban_seats = eng.size + ind.size
            eng, ind = self._seats(n_on * p.online_capacity, inr[wish[2][inr]], ind_on[groups_on[r]])
            won[2, eng] = True
            ind_att_on.append(ind)
            n_online_seats = eng.size + ind.size
            c_seats = int(np.floor(a_urb[r] * p.guide_capacity_urban + 1e-9))
            con = self._contacts(r, c_seats)
            contacted.append(con)
            roles = rules.partner_roles(g.needs_per_1000_locals, locals_start[r])
            m_seats = int(rules.match_seats(a_loc[r], p.guide_capacity_local, off.size, b.program_role_rate, roles,
                                            partners_start[r]))
            cand = inr[wish[3][inr]]
            (mat,) = self._seats(m_seats, cand, weights=rules.match_weight(self.skilled[E[cand]], p.skill_matching,
                                                                          b.skill_weight))
            won[3, mat] = True
            (mov,) = self._seats(int(np.floor(self.openings[r] + 1e-9)), inr[wish[4][inr]])
            won[4, mov] = True
            capacity = c_seats + a_loc[r] * p.guide_capacity_local
            used = con.size + min(mat.size, a_loc[r] * p.guide_capacity_local)
            stats[r] = (off.size + n_urban_seats + n_online_seats, n_online_seats, con.size, mat.size, off.size,
                        used / capacity if capacity > 0 else 0.0)
        att_off, att_urb, att_on, matched, moves = won

        # 5. urban residents advance: conversions of the indifferent, engagement, step up, drift down
        flows = np.zeros((R, 4), np.int64)  # new fans, new partners, new migrants, dropouts
        converted = [passive]
        for idx, channel in ((np.concatenate(contacted), (1, 0, 0)), (np.concatenate(ind_att_urb), (0, 1, 0)),
                             (np.concatenate(ind_att_on), (0, 0, 1))):
            if idx.size:
                pc = rules.conversion_probability(0.0, *channel, p.entry_bar, p.online_effect, b)
                converted.append(idx[rng.random(idx.size) < pc])
        new_fans = np.unique(np.concatenate(converted))
        gain = rules.engagement_gain(att_off, att_urb, att_on, matched, fracE, self.donor[E] & p.donor_path,
                                     p.online_effect, b)
        e_new = rules.engagement_update(eE, gain, b.engagement_decay).astype(np.float32)
        s_new = np.where(moves, rules.MIGRANT,
                         np.where(matched, rules.PARTNER,
                                  rules.step_down(sE, e_new, b.fan_floor, b.partner_floor))).astype(np.int8)
        dropped = s_new < sE
        to_ind = dropped & (s_new == rules.INDIFFERENT)
        e_new[to_ind] = 0.0
        self.e[E] = e_new
        self.stage[E] = s_new
        self.stage[new_fans] = rules.FAN
        self.engaged = np.sort(np.concatenate([E[~(moves | to_ind)], new_fans]), kind="stable")  # merges two runs
        self.e[new_fans] = rules.entry_engagement(p.entry_bar, b)
        fan_region = self.region[new_fans]
        flows[:, 0] = np.bincount(fan_region, minlength=R)
        flows[:, 1] = np.bincount(rE[matched], minlength=R)
        flows[:, 2] = np.bincount(rE[moves], minlength=R)
        flows[:, 3] = np.bincount(rE[dropped], minlength=R)
        changed = s_new != sE
        self._count_stages(np.r_[rE[changed], fan_region], np.r_[sE[changed], np.zeros(new_fans.size, np.int8)],
                           np.r_[s_new[changed], np.full(new_fans.size, rules.FAN, np.int8)])
        gone_ind = E[to_ind]
        self._shift(new_fans, fan_region, 1)
        self._shift(gone_ind, self.region[gone_ind], -1)
        R2 = 2 * R
        self.ind_counts += (np.bincount(self.region[gone_ind].astype(np.int64) * 2 + self.tied[gone_ind], minlength=R2)
                            - np.bincount(fan_region.astype(np.int64) * 2 + self.tied[new_fans], minlength=R2)
                            ).reshape(R, 2)

        # 6. locals advance: burden, exits, ageing; then births and arriving migrants
        op = stats[:, 4]
        load = rules.host_load(willing, op[l_reg], np.maximum(n_willing[l_reg], 1))
        self.l_burden[lid] = rules.burden_update(self.l_burden[lid], load, b.burden_per_visitor, b.burden_recovery,
                                                 b.guide_spread, a_loc[l_reg])
        gone = lid[exits]
        self.l_alive[gone] = False
        self.l_age[lid[~exits & ages]] += 1
        initial = gone[gone < self.L0]
        self._shift(N + initial, self.l_region[initial], -1)
        self.loc_count -= np.bincount(self.l_region[gone], minlength=R)
        born = rng.poisson(rules.expected_births(locals_start, g.birth_rate))
        self._add_locals(born, E[moves])

        # 7. region bookkeeping and the week's rows
        self.week += 1
        self.openings = rules.openings_next(self.openings, flows[:, 2], g.openings_per_1000_locals,
                                            locals_start.astype(float), g.max_openings_stock)
        self._record({"flows": flows, "stats": stats, "n_events": (n_off, n_urb, n_on), "a_urb": a_urb,
                      "a_loc": a_loc, "n_willing": n_willing})

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
        will = new_local_willingness(self.cfg, self.rng, n_new)
        if self.n_l + n_new > self.l_region.size:
            size = max(2 * self.l_region.size, self.n_l + n_new)
            for name in LOCAL_ARRAYS:
                setattr(self, name, _grow(getattr(self, name), size))
        sl = slice(self.n_l, self.n_l + n_new)
        self.l_region[sl], self.l_age[sl], self.l_will[sl] = regions, age, will
        self.l_burden[sl], self.l_alive[sl], self.l_guide_ties[sl] = 0.0, True, 0
        self.n_l += n_new
        self.loc_count += np.bincount(regions, minlength=self.R)

    def _record(self, week: dict | None) -> None:
        """Append this week's row of each region (``week`` None: the initial state, step 0)."""
        R = self.R
        alive = np.flatnonzero(self.l_alive[:self.n_l])
        burden = np.bincount(self.l_region[alive], weights=self.l_burden[alive], minlength=R)
        for r in range(R):
            activity = {}
            if week is not None:
                st = week["stats"][r]
                activity = dict(events=week["n_events"], active_guides=int(week["a_urb"][r] + week["a_loc"][r]),
                                willing_hosts=int(week["n_willing"][r]), guide_utilisation=float(st[5]),
                                participants=int(st[0]), offline_participants=int(st[4]),
                                online_participants=int(st[1]), guide_contacts=int(st[2]), matches=int(st[3]))
            flows = week["flows"][r] if week is not None else (0, 0, 0, 0)
            self.recorder.add(self.week, r, self.stage_counts[r], flows, int(self.loc_count[r]),
                              float(burden[r] / self.loc_count[r]) if self.loc_count[r] else 0.0, **activity)
