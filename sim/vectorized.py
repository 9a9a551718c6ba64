"""The vectorized engine: the same rules and schedule as the Mesa engine, on arrays.

State lives in numpy arrays with small dtypes, the network in CSR form (``sim.network_csr``).
Every formula comes from ``sim.rules``, called on arrays. What differs from the Mesa engine is
only how the draws are made, never their law:

- the indifferent majority's rare weekly events (passive conversion, urban-event wish, online
  wish; independent Bernoullis) are drawn by thinning: only about N·q_max positions are visited
  a week, each outcome decoded from one uniform;
- a share of engaged ties is kept as a count updated when someone's engagement changes,
  instead of being recounted every week;
- guide contacts (weighted sampling without replacement among all indifferent residents) are
  drawn exactly through the order statistics of the two weight classes, then uniform members
  of each class — O(seats) per week instead of O(N);
- conversion channels are drawn separately (the rule is a product over independent channels).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import fields

import numba
import numpy as np

from sim import rules
from sim.engines import WeeklyRun
from sim.network_csr import build_csr
from sim.params import BehaviourParams, Config
from sim.population import draw_guides, draw_locals, draw_urban, new_local_willingness, streams
from sim.table import Recorder

_SCALAR_BEHAVIOUR = [f.name for f in fields(BehaviourParams) if not f.name.endswith("_rates")]
BehaviourTuple = namedtuple("BehaviourTuple", _SCALAR_BEHAVIOUR)


def behaviour_tuple(b: BehaviourParams) -> BehaviourTuple:
    """The scalar behaviour parameters as a namedtuple, which numba kernels accept (same attribute names)."""
    return BehaviourTuple(*[float(getattr(b, name)) for name in _SCALAR_BEHAVIOUR])


@numba.njit(cache=True)
def _initial_counts(n_urban, n_local0, indptr, indices, u_stage, u_region, l_region, g_region, g_active):
    """Engaged ties of every urban resident at week 0 (ODD 7.4)."""
    cnt = np.zeros(n_urban, np.int32)
    for i in range(n_urban):
        r = u_region[i]
        c = 0
        for j in indices[indptr[i]:indptr[i + 1]]:
            if j < n_urban:
                c += u_stage[j] != 0 and u_region[j] == r
            elif j < n_urban + n_local0:
                c += l_region[j - n_urban] == r
            else:
                c += g_active[j - n_urban - n_local0] and g_region[j - n_urban - n_local0] == r
        cnt[i] = c
    return cnt


@numba.njit(cache=True)
def _shift_counts(nodes, node_region, delta, n_urban, indptr, indices, u_region, cnt):
    """Add ``delta`` to the engaged-tie count of urban neighbours (same region) of each node."""
    for k in range(nodes.size):
        v = nodes[k]
        r = node_region[k]
        for j in indices[indptr[v]:indptr[v + 1]]:
            if j < n_urban and u_region[j] == r:
                cnt[j] += delta


def _grow(a: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, a.dtype)
    out[:a.size] = a
    return out


class VectorizedEngine(WeeklyRun):
    """All agents as arrays; ``run(steps)`` returns the same per-week table as the Mesa engine."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        rngs = streams(cfg.seed)
        self.rng = rngs["dynamics"]
        p, b = cfg.policy, cfg.behaviour
        self.bt = behaviour_tuple(b)
        urban = draw_urban(cfg, rngs["population"])
        local = draw_locals(cfg, rngs["population"])
        guides = draw_guides(cfg, rngs["population"])
        self.csr = build_csr(cfg, urban, local, guides, rngs["network"])
        self.R = R = cfg.regions.count
        self.N = N = urban.region.size
        self.L0 = local.region.size
        # urban residents
        self.region = urban.region
        self.stage = urban.stage
        self.e = urban.engagement
        self.tied = rules.targeted(urban.roots, urban.theme, p.target_roots, p.target_theme)
        self.donor, self.skilled, self.online, self.life = urban.donor, urban.skilled, urban.online, urban.life
        self.deg = np.diff(self.csr.indptr[:N + 1]).astype(np.int32)
        # locals (preallocated with room for births and migrants)
        cap = int(self.L0 * 1.25) + 64
        self.l_region = _grow(local.region, cap)
        self.l_age = _grow(local.age, cap)
        self.l_will = _grow(local.willingness, cap)
        self.l_burden = _grow(local.burden, cap)
        self.l_alive = _grow(np.ones(self.L0, bool), cap)
        self.n_l = self.L0
        # guides
        self.g_side, self.g_region, self.g_self = guides.side, guides.region, guides.self_running
        self.g_active = np.asarray(rules.guide_active(0, p.funding_years, self.g_self), dtype=bool)
        self.g_node = N + self.L0 + np.arange(self.g_side.size)
        self.l_guide_ties = np.zeros(cap, np.int16)
        for g in np.flatnonzero((self.g_side == 1) & self.g_active):
            self.l_guide_ties[self.csr.neighbours(self.g_node[g]) - N] += 1
        self.cnt = _initial_counts(N, self.L0, self.csr.indptr, self.csr.indices, self.stage, self.region,
                                   local.region, self.g_region, self.g_active)
        # bookkeeping per region
        self.stage_counts = np.bincount(self.region.astype(np.int64) * 4 + self.stage,
                                        minlength=R * 4).reshape(R, 4)
        self.ind_counts = np.zeros((R, 2), np.int64)
        ind = self.stage == rules.INDIFFERENT
        np.add.at(self.ind_counts, (self.region[ind], self.tied[ind].astype(np.int64)), 1)
        self.loc_count = np.bincount(local.region, minlength=R).astype(np.int64)
        g = cfg.regions
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

    # --- helpers ---------------------------------------------------------------------------

    def _winners(self, idx: np.ndarray, seats: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Applicants (indices) given a seat: the ``seats`` largest keys (sim.rules)."""
        if idx.size == 0:
            return idx
        w = np.ones(idx.size) if weights is None else weights
        keys = rules.allocation_key(self.rng.random(idx.size), w)
        return idx[rules.select_top(keys, seats)]

    def _members(self, m: int, r: int, tied: bool) -> np.ndarray:
        """``m`` distinct indifferent residents of region ``r`` in weight class ``tied``, uniformly."""
        n_class = int(self.ind_counts[r, int(tied)])
        if m <= 0:
            return np.empty(0, np.int64)

        def ok(c: np.ndarray) -> np.ndarray:
            return (self.stage[c] == rules.INDIFFERENT) & (self.region[c] == r) & (self.tied[c] == tied)

        if m >= n_class or n_class < 0.02 * self.N:
            pool = np.flatnonzero(ok(np.arange(self.N)))
            return pool if m >= pool.size else self.rng.choice(pool, size=m, replace=False)
        chosen = np.empty(0, np.int64)
        while chosen.size < m:
            need = m - chosen.size
            cand = self.rng.integers(0, self.N, size=int(need * self.N / n_class * 1.3) + 16)
            cand = cand[ok(cand)]
            both = np.concatenate([chosen, cand])
            _, first = np.unique(both, return_index=True)
            chosen = both[np.sort(first)]  # keep draw order: sequential sampling without replacement
        return chosen[:m]

    def _contacts(self, r: int, seats: int) -> np.ndarray:
        """Guide contacts: weighted sampling without replacement of ``seats`` indifferent residents."""
        classes = [(c, int(self.ind_counts[r, c]), self.w_class[c]) for c in (0, 1)]
        classes = [(c, n, w) for c, n, w in classes if n > 0 and w > 0]
        if seats <= 0 or not classes:
            return np.empty(0, np.int64)
        logs, labels = [], []
        for c, n, w in classes:
            m = min(seats, n)
            # largest m of n uniforms, descending, from their order statistics; log key = log(u) / w
            lu = np.cumsum(np.log(self.rng.random(m)) / (n - np.arange(m)))
            logs.append(lu / w)
            labels.append(np.full(m, c))
        logs_all, labels_all = np.concatenate(logs), np.concatenate(labels)
        top = labels_all[rules.select_top(logs_all, seats)]
        return np.concatenate([self._members(int((top == c).sum()), r, bool(c)) for c, _, _ in classes])

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
        rng, N, q_max = self.rng, self.N, self.q_max
        empty = np.empty(0, np.int64)
        if q_max <= 0.0:
            return empty, empty, empty
        chunks, pos = [], -1
        while pos < N - 1:
            gaps = rng.geometric(min(q_max, 1.0), size=int(N * q_max * 1.02) + 1024)
            at = pos + np.cumsum(gaps)
            chunks.append(at[at < N])
            pos = int(at[-1])
        idx = np.concatenate(chunks)
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

    # --- the week ----------------------------------------------------------------------------

    def step(self) -> None:
        """One week, the schedule of ODD section 3."""
        cfg, t, rng = self.cfg, self.week, self.rng
        p, b, g = cfg.policy, cfg.behaviour, cfg.regions
        N, R = self.N, self.R
        # 1. context
        suspended = bool(rules.offline_suspended(t, p.offline_suspended_from_week, p.offline_suspended_weeks))
        n_off = 0 if suspended else int(rules.events_this_week(t, p.offline_programs_per_year))
        n_urb = int(rules.events_this_week(t, p.urban_events_per_year))
        n_on = int(rules.events_this_week(t, p.online_events_per_year))
        active = np.asarray(rules.guide_active(t, p.funding_years, self.g_self), dtype=bool)
        stopped = np.flatnonzero(self.g_active & ~active)
        if stopped.size:
            _shift_counts(self.g_node[stopped], self.g_region[stopped], -1, N, self.csr.indptr, self.csr.indices,
                          self.region, self.cnt)
            for k in stopped[self.g_side[stopped] == 1]:
                self.l_guide_ties[self.csr.neighbours(self.g_node[k]) - N] -= 1
        self.g_active = active
        a_urb = np.bincount(self.g_region[active & (self.g_side == 0)], minlength=R)
        a_loc = np.bincount(self.g_region[active & (self.g_side == 1)], minlength=R)
        locals_start = self.loc_count.copy()
        partners_start = self.stage_counts[:, rules.PARTNER].copy()

        # 2. locals decide
        lid = np.flatnonzero(self.l_alive[:self.n_l])
        l_reg, l_age = self.l_region[lid], self.l_age[lid]
        p_host = rules.host_probability(self.l_will[lid], self.l_burden[lid], b.burden_sensitivity,
                                        b.guide_host_boost, self.l_guide_ties[lid] > 0)
        ul = rng.random((3, lid.size))
        willing = ul[0] < p_host
        exits = ul[1] < self.exit_p[l_age]
        ages = ul[2] < self.age_p[l_age]
        n_willing = np.bincount(l_reg[willing], minlength=R)

        # 3. urban decide: the indifferent majority by thinning, the engaged with numpy
        passive, ind_urb, ind_on = self._indifferent_events()
        E = np.flatnonzero((self.stage.view(np.uint8) - np.uint8(1)) <= 1)  # fans and partners
        sE, eE, rE = self.stage[E], self.e[E], self.region[E]
        fracE = np.where(self.deg[E] > 0, self.cnt[E] / np.maximum(self.deg[E], 1), 0.0)
        wE = self.w_class[self.tied[E].astype(np.int64)]
        p_off, p_urb, p_on = rules.apply_probabilities(sE, self.online[E], wE, g.remoteness, b)
        ue = rng.random((4, E.size))
        life_rates = np.asarray(b.life_event_rates)[self.life[E]]
        wish_move = (sE == rules.PARTNER) & (ue[3] < rules.migration_probability(life_rates, eE,
                                                                                  b.migrate_engagement_power))
        wish_match = (sE == rules.FAN) & (eE >= b.partner_threshold)

        # 4. allocate, region by region
        att_off, att_urb, att_on = np.zeros(E.size, bool), np.zeros(E.size, bool), np.zeros(E.size, bool)
        matched, moves = np.zeros(E.size, bool), np.zeros(E.size, bool)
        ind_att_urb, ind_att_on, contacted = [], [], []
        stats = np.zeros((R, 6))  # participants, online, contacts, matches, offline participants, utilisation
        posE = np.arange(E.size)
        for r in range(R):
            inr = rE == r
            seats = int(rules.offline_seats(n_off, p.offline_capacity, n_willing[r], g.visitors_per_host))
            off = self._winners(posE[inr & (ue[0] < p_off)], seats)
            att_off[off] = True
            apps = np.concatenate([posE[inr & (ue[1] < p_urb)], N + ind_urb[self.region[ind_urb] == r]])
            won = self._winners(apps, n_urb * p.urban_event_capacity)
            att_urb[won[won < N]] = True
            ind_att_urb.append(won[won >= N] - N)
            apps = np.concatenate([posE[inr & (ue[2] < p_on)], N + ind_on[self.region[ind_on] == r]])
            won_on = self._winners(apps, n_on * p.online_capacity)
            att_on[won_on[won_on < N]] = True
            ind_att_on.append(won_on[won_on >= N] - N)
            c_seats = int(np.floor(a_urb[r] * p.guide_capacity_urban + 1e-9))
            con = self._contacts(r, c_seats)
            contacted.append(con)
            roles = rules.partner_roles(g.needs_per_1000_locals, locals_start[r])
            m_seats = int(rules.match_seats(a_loc[r], p.guide_capacity_local, off.size, b.program_role_rate, roles,
                                            partners_start[r]))
            cand = posE[inr & wish_match]
            mat = self._winners(cand, m_seats, rules.match_weight(self.skilled[E[cand]], p.skill_matching,
                                                                 b.skill_weight))
            matched[mat] = True
            mov = self._winners(posE[inr & wish_move], int(np.floor(self.openings[r] + 1e-9)))
            moves[mov] = True
            capacity = c_seats + a_loc[r] * p.guide_capacity_local
            used = con.size + min(mat.size, a_loc[r] * p.guide_capacity_local)
            stats[r] = (off.size + won.size + won_on.size, won_on.size, con.size, mat.size, off.size,
                        used / capacity if capacity > 0 else 0.0)

        # 5. urban advance
        flows = np.zeros((R, 4), np.int64)  # new fans, new partners, new migrants, dropouts
        f = p.entry_bar
        converted = [passive]
        for idx, channel in ((np.concatenate(contacted), (1, 0, 0)), (np.concatenate(ind_att_urb), (0, 1, 0)),
                             (np.concatenate(ind_att_on), (0, 0, 1))):
            if idx.size:
                pc = rules.conversion_probability(0.0, *channel, f, p.online_effect, b)
                converted.append(idx[rng.random(idx.size) < pc])
        new_fans = np.unique(np.concatenate(converted))
        gain = rules.engagement_gain(att_off, att_urb, att_on, matched, fracE, self.donor[E] & p.donor_path,
                                     p.online_effect, b)
        e_new = rules.engagement_update(eE, gain, b.engagement_decay).astype(np.float32)
        s_new = np.where(moves, rules.MIGRANT, np.where(matched, rules.PARTNER,
                                                         rules.step_down(sE, e_new, b.fan_floor, b.partner_floor)))
        s_new = s_new.astype(np.int8)
        dropped = (s_new < sE) & ~moves & ~matched
        to_ind = E[dropped & (s_new == rules.INDIFFERENT)]
        e_new[dropped & (s_new == rules.INDIFFERENT)] = 0.0
        self.e[E] = e_new
        self.stage[E] = s_new
        self.stage[new_fans] = rules.FAN
        self.e[new_fans] = rules.entry_engagement(f, b)
        np.add.at(flows[:, 0], self.region[new_fans], 1)
        np.add.at(flows[:, 1], rE[matched & ~moves], 1)
        np.add.at(flows[:, 2], rE[moves], 1)
        np.add.at(flows[:, 3], rE[dropped], 1)
        for who, d in ((new_fans, 1), (to_ind, -1)):
            if who.size:
                _shift_counts(who, self.region[who], d, N, self.csr.indptr, self.csr.indices, self.region, self.cnt)
                np.add.at(self.ind_counts, (self.region[who], self.tied[who].astype(np.int64)), -d)
        changed = s_new != sE  # few people change stage in a week: update the counts from them only
        np.subtract.at(self.stage_counts, (rE[changed], sE[changed].astype(np.int64)), 1)
        np.add.at(self.stage_counts, (rE[changed], s_new[changed].astype(np.int64)), 1)
        np.add.at(self.stage_counts, (self.region[new_fans], rules.FAN), 1)
        np.subtract.at(self.stage_counts, (self.region[new_fans], rules.INDIFFERENT), 1)

        # 6. locals advance, then newcomers
        op = stats[:, 4]
        load = rules.host_load(willing, op[l_reg], np.maximum(n_willing[l_reg], 1))
        self.l_burden[lid] = rules.burden_update(self.l_burden[lid], load, b.burden_per_visitor, b.burden_recovery,
                                                 b.guide_spread, a_loc[l_reg])
        gone = lid[exits]
        self.l_alive[gone] = False
        self.l_age[lid[~exits & ages]] += 1
        initial = gone[gone < self.L0]
        if initial.size:
            _shift_counts(N + initial, self.l_region[initial], -1, N, self.csr.indptr, self.csr.indices, self.region,
                          self.cnt)
        np.subtract.at(self.loc_count, self.l_region[gone], 1)
        born = rng.poisson(rules.expected_births(locals_start, g.birth_rate))
        movers = E[moves]
        n_new = int(born.sum()) + movers.size
        if n_new:
            regions = np.concatenate([np.repeat(np.arange(R), born), self.region[movers]]).astype(np.int16)
            age = np.concatenate([np.zeros(int(born.sum()), np.int8), rules.migrant_age_group(self.life[movers])])
            will = new_local_willingness(cfg, rng, n_new)
            if self.n_l + n_new > self.l_region.size:
                size = max(2 * self.l_region.size, self.n_l + n_new)
                for name in ("l_region", "l_age", "l_will", "l_burden", "l_alive", "l_guide_ties"):
                    setattr(self, name, _grow(getattr(self, name), size))
            sl = slice(self.n_l, self.n_l + n_new)
            self.l_region[sl], self.l_age[sl], self.l_will[sl] = regions, age, will
            self.l_burden[sl], self.l_alive[sl] = 0.0, True
            self.n_l += n_new
            np.add.at(self.loc_count, regions, 1)

        # 7. bookkeeping
        self.week += 1
        self.openings = rules.openings_next(self.openings, flows[:, 2], g.openings_per_1000_locals,
                                            locals_start.astype(float), g.max_openings_stock)
        self._record({"flows": flows, "stats": stats, "n_events": (n_off, n_urb, n_on), "a_urb": a_urb,
                      "a_loc": a_loc, "n_willing": n_willing})

    def _record(self, week: dict | None) -> None:
        R = self.R
        alive = np.flatnonzero(self.l_alive[:self.n_l])
        burden = np.bincount(self.l_region[alive], weights=self.l_burden[alive], minlength=R)
        for r in range(R):
            activity = {}
            if week is not None:
                st = week["stats"][r]
                activity = dict(events=week["n_events"], active_guides=int(week["a_urb"][r] + week["a_loc"][r]),
                                willing_hosts=week["n_willing"][r], guide_utilisation=st[5], participants=int(st[0]),
                                offline_participants=int(st[4]), online_participants=int(st[1]),
                                guide_contacts=int(st[2]), matches=int(st[3]))
            flows = week["flows"][r] if week is not None else (0, 0, 0, 0)
            self.recorder.add(self.week, r, self.stage_counts[r], flows, self.loc_count[r],
                              burden[r] / self.loc_count[r] if self.loc_count[r] else 0.0, **activity)
