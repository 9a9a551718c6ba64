"""Agent kinds of the Mesa engine: one module each."""

from sim.agents.guide import Guide
from sim.agents.local import LocalResident
from sim.agents.urban import UrbanResident

__all__ = ["Guide", "LocalResident", "UrbanResident"]
