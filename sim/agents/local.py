"""LocalResident (地域住民): hosts visitors, tires of it, ages, leaves or dies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim import rules

if TYPE_CHECKING:
    from sim.model import RelationshipModel


class LocalResident(mesa.Agent):
    """A resident of a destination region.

    Attributes:
        node: node id in the network.
        region: the region lived in.
        age: age group (rules.YOUTH, MIDDLE, ELDER).
        willingness: base willingness to host when rested.
        key: a key person (キーパーソン) who hosts on their own; others host only when a guide brings them in.
        burden: accumulated hosting burden (受け入れ疲れ) in [0, 1].
        alive: False once the resident has left or died (kept so old ties read as inactive).
        guides: the guides this resident is tied to (host boost, ODD 7.3).
        origin: node id of the urban resident who moved here as this local (-1: initial or born here).
    """

    model: RelationshipModel

    def __init__(self, model: RelationshipModel, node: int, region: int, age: int, willingness: float,
                 key: bool = False, burden: float = 0.0, origin: int = -1) -> None:
        super().__init__(model)
        self.node = node
        self.region = region
        self.age = int(age)
        self.willingness = float(willingness)
        self.key = bool(key)
        self.burden = float(burden)
        self.alive = True
        self.origin = int(origin)
        self.neighbours: list[mesa.Agent] = []
        self.guides: list = []
        self.willing = False
        self._exits = False
        self._ages = False

    def engages(self, region: int) -> bool:
        """A living local of ``region`` is an engaged tie for people relating to it (kin, ODD 7.4)."""
        return bool(rules.engaged_tie(self.region, region, self.alive))

    def decide(self) -> None:
        """Draw this week's willingness to host, exit and ageing from the start-of-week state."""
        m = self.model
        b = m.cfg.behaviour
        tied = any(guide.engages(self.region) for guide in self.guides)
        p_host = rules.host_probability(self.willingness, self.burden, b.burden_sensitivity, self.key, tied)
        u = m.rng.random(3)
        self.willing = bool(u[0] < p_host)
        self._exits = bool(u[1] < m.exit_probability[self.origin >= 0][self.age])
        self._ages = bool(u[2] < m.ageing_probability[self.age])
        if self.willing:
            m.this_week.willing[self.region] += 1

    def advance(self) -> None:
        """Apply hosting burden, then leave/die or age."""
        m = self.model
        b = m.cfg.behaviour
        r = self.region
        wk = m.this_week
        load = rules.host_load(self.willing, wk.won("offline", r), wk.willing[r])
        self.burden = float(rules.burden_update(self.burden, load, b.burden_per_visitor, b.burden_recovery))
        if self._exits:
            self.alive = False
            self.remove()
        elif self._ages:
            self.age += 1
