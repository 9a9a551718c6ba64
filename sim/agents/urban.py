"""UrbanResident (都市住民): climbs the ladder 無関心 → ファン → パートナー → 移住, or drifts back."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim import rules
from sim.engines import DROPOUTS, NEW_FANS, NEW_MIGRANTS, NEW_PARTNERS, ROLES_ENDED, SEAT_KINDS

if TYPE_CHECKING:
    from sim.model import RelationshipModel


class UrbanResident(mesa.Agent):
    """A resident of the metropolitan areas and their relation to one rural region.

    Attributes:
        node: node id in the network (equals the index in the initial arrays).
        region: candidate region: the region the person relates to (or would, while indifferent).
        roots, theme, skilled: ゆかり, matching theme interest, a skill regions lack.
        donor_until: week the person stops donating (0: never donates; ``rules.donating``).
        online: online affinity in [0, 1].
        life: life stage index (young, family, midlife, senior).
        stage: rules.INDIFFERENT, FAN, PARTNER or MIGRANT.
        engagement: engagement level in [0, 1].
        member: registered with its region's registry (``rules.registered``).
    """

    model: RelationshipModel

    def __init__(self, model: RelationshipModel, node: int, region: int, roots: bool, theme: bool, skilled: bool,
                 donor_until: float, online: float, life: int, stage: int, engagement: float) -> None:
        super().__init__(model)
        self.node = node
        self.region = int(region)
        self.roots = bool(roots)
        self.theme = bool(theme)
        p = model.cfg.policy
        self.tied = bool(rules.targeted(self.roots, self.theme, p.target_roots, p.target_theme))
        self.aim = float(model.aims[self.region]) if self.tied else 0.0  # rules.targeted_aim
        self.attached = self.roots or self.theme  # already relates to the region (rules.entry_engagement)
        self.skilled = bool(skilled)
        self.donor_until = float(donor_until)
        self.online = float(online)
        self.life = int(life)
        self.stage = int(stage)
        self.engagement = float(engagement)
        self.member = bool(rules.registered(False, self.stage))
        self.visited = False  # took part in an offline program before (a first visit may be accompanied)
        self.neighbours: list[mesa.Agent] = []
        self._clear_week()

    def _clear_week(self) -> None:
        self.frac = 0.0
        self.role_ended = False
        self.won = dict.fromkeys(SEAT_KINDS, 0)  # seats won this week, by kind (sim.engines.SEAT_KINDS)

    def engages(self, region: int) -> bool:
        """Whether this person is an engaged tie for someone relating to ``region`` (``rules.engaged_tie``)."""
        return bool(rules.engaged_tie(self.region, region, rules.urban_engaged(self.stage)))

    def exposure(self) -> float:
        """Share of this person's ties engaged with its region (ODD 7.4), from start-of-week states."""
        r = self.region
        return float(rules.exposure(sum(1 for nb in self.neighbours if nb.engages(r)), len(self.neighbours)))

    def decide(self) -> None:
        """Draw this week's wishes and applications from the start-of-week state (ODD 3, step 3)."""
        self._clear_week()
        if self.stage == rules.MIGRANT:
            return
        m = self.model
        cfg = m.cfg
        b = cfg.behaviour
        r = self.region
        self.frac = self.exposure()
        weight = m.outreach_weight[self.tied]
        p_off, p_urb, p_on = rules.apply_probabilities(self.stage, self.online, weight, m.rc[r].regions.remoteness,
                                                       b)
        u = m.rng.random(5)
        if u[0] < p_off:
            m.apply("offline", r, self)
        if u[1] < p_urb:
            m.apply("urban", r, self)
        if u[2] < p_on:
            m.apply("online", r, self)
        if self.stage == rules.INDIFFERENT:
            if weight > 0:  # outreach aimed elsewhere never reaches this person
                m.apply("contact", r, self, weight)
        elif self.stage == rules.FAN:
            m.apply("followup", r, self)
            if self.engagement >= b.partner_threshold:
                m.apply("match", r, self, m.match_weight[self.skilled])
        else:
            if u[3] < rules.migration_probability(b.life_event_rates[self.life], self.engagement,
                                                  b.migrate_engagement_power, self.roots, b.roots_move_factor):
                m.apply("move", r, self)
            self.role_ended = bool(u[4] < m.role_end_probability)

    def advance(self) -> None:
        """Apply this week's outcome: conversion, engagement, step up, or drift down (ODD 3, step 5)."""
        if self.stage == rules.MIGRANT:
            return
        m = self.model
        p = m.cfg.policy
        b = m.cfg.behaviour
        won = self.won
        flows = m.this_week.flows[self.region]
        if self.stage == rules.INDIFFERENT:
            donor = rules.donating(self.donor_until, m.week)
            hazard = rules.passive_hazard(self.aim, self.frac, donor, p.targeting, p.donor_path, b)
            prob = rules.conversion_probability(hazard, won["contact"], won["urban"], won["online"], p.entry_bar,
                                                p.online_effect, b)
            if m.rng.random() < prob:
                self.stage = rules.FAN
                self.engagement = float(rules.entry_engagement(p.entry_bar, self.attached, b))
                self.member = bool(rules.registered(self.member, self.stage))
                flows[NEW_FANS] += 1
            return
        matched = bool(won["match"]) and m.rng.random() < m.match_holds[self.skilled]
        gain = rules.engagement_gain(won["offline"], won["urban"], won["online"], matched, won["followup"],
                                     self.frac,
                                     rules.donating(self.donor_until, m.week) and p.donor_path,
                                     p.online_effect, b, won["accompany"])
        self.visited = self.visited or bool(won["offline"])
        self.engagement = float(rules.engagement_update(self.engagement, gain, b.engagement_decay))
        new = int(rules.next_stage(self.stage, self.engagement, won["move"], matched, self.role_ended,
                                   b.fan_floor, b.partner_floor))
        if new == rules.MIGRANT:
            flows[NEW_MIGRANTS] += 1
            m.arrivals.append(self)
        elif new > self.stage:
            flows[NEW_PARTNERS] += 1
        elif new < self.stage:
            flows[ROLES_ENDED if self.role_ended else DROPOUTS] += 1
            if new == rules.INDIFFERENT:
                self.engagement = 0.0
        self.stage = new
