"""Engine dispatch: the same configuration runs on agent objects (Mesa) or on arrays."""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from sim.params import ENGINES, Config


class Engine(Protocol):
    """What both engines offer: build from a config, then run a number of weeks."""

    def run(self, steps: int, progress: bool = False) -> pd.DataFrame: ...


class WeeklyRun:
    """What both engines share: run a number of weeks (with a progress bar if asked) and give the table.

    Subclasses define ``step()`` (one week) and ``recorder`` (a ``sim.table.Recorder``)."""

    def run(self, steps: int, progress: bool = False) -> pd.DataFrame:
        """Simulate ``steps`` weeks and return the per-week table."""
        from tqdm.auto import tqdm

        for _ in tqdm(range(steps), disable=not progress, desc="weeks", unit="wk"):
            self.step()
        return self.table()

    def table(self) -> pd.DataFrame:
        """The per-week table recorded so far (sim/table.py)."""
        return self.recorder.frame()


def build_engine(cfg: Config) -> Engine:
    """Build the population and network of ``cfg`` with the engine ``cfg.engine``."""
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
