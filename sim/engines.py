"""Engine dispatch: the same configuration runs on agent objects (Mesa) or on arrays."""

from __future__ import annotations

import pandas as pd

from sim.params import ENGINES, Config


def run_engine(cfg: Config, progress: bool = False) -> pd.DataFrame:
    """Run one simulation with the engine ``cfg.engine`` and return the per-week table."""
    if cfg.engine == "mesa":
        from sim.model import RelationshipModel

        return RelationshipModel(cfg).run(cfg.run.steps, progress=progress)
    if cfg.engine == "vectorized":
        from sim.vectorized import VectorizedEngine

        return VectorizedEngine(cfg).run(cfg.run.steps, progress=progress)
    raise ValueError(f"engine: {cfg.engine!r} is not one of {', '.join(ENGINES)}")
