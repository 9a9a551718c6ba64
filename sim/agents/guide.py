"""Guide (関係案内人): an intermediary's staff member on the urban or the local side (000:947-953)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim import rules

if TYPE_CHECKING:
    from sim.model import RelationshipModel

URBAN_SIDE, LOCAL_SIDE = 0, 1


class Guide(mesa.Agent):
    """A guide works for one region while funded, afterwards only if self-running.

    Attributes:
        node: node id in the network.
        side: URBAN_SIDE (PR, matching in the city) or LOCAL_SIDE (finding hosts, programs, spreading burden).
        region: the region the guide works for.
        self_running: whether its intermediary keeps running after the funding ends (自走化).
    """

    model: RelationshipModel

    def __init__(self, model: RelationshipModel, node: int, side: int, region: int, self_running: bool) -> None:
        super().__init__(model)
        self.node = node
        self.side = side
        self.region = region
        self.self_running = bool(self_running)
        self.neighbours: list[mesa.Agent] = []

    @property
    def active(self) -> bool:
        """Working this week (ODD 7.2)."""
        return bool(rules.guide_active(self.model.week, self.model.rc[self.region].policy.funding_years,
                                       self.self_running))

    def engages(self, region: int) -> bool:
        """Counts as an engaged tie for people relating to ``region`` (ODD 7.4)."""
        return bool(rules.engaged_tie(self.region, region, self.model.guide_is_active[self.node]))
