"""関係人口 (relationship population) simulation: the indifferent → fan → partner → migrant ladder.

Common use::

    from sim import simulate
    res = simulate(overrides=["scenario=guides_high", "population=tiny"])
    res.table        # per-week table (pandas DataFrame), one row per region and week
    res.config       # the resolved, validated configuration (sim.params.Config)
    print(res.summary())
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from sim.params import Config

try:
    __version__ = version("kankei-sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["Result", "simulate", "__version__"]


@dataclass
class Result:
    """One simulation: its table, its configuration and how long it took."""

    table: pd.DataFrame
    config: Config
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Final counts per stage, migrants, local population change and cost."""
        from sim.report import summary

        return summary(self.table)

    def save(self, out_dir: str | Path) -> Path:
        """Write table.parquet, config.yaml, ladder.png and run.json into ``out_dir``, each atomically."""
        from omegaconf import OmegaConf

        from sim.io import atomic_write, atomic_write_text
        from sim.report import plot_ladder

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "table.parquet", lambda p: self.table.to_parquet(p, index=False))
        atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(self.config)))
        cfg = self.config
        plot_ladder(self.table, out / "ladder.png", title=f"{cfg.scenario} ({cfg.engine}, seed {cfg.seed})")
        meta = {"scenario": cfg.scenario, "engine": cfg.engine, "seed": cfg.seed, "steps": cfg.run.steps,
                "urban": cfg.population.urban, "wall_time_s": round(self.seconds, 3), "version": __version__,
                "python": platform.python_version(), **self.meta}
        atomic_write_text(out / "run.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        return out


def simulate(overrides: list[str] | tuple[str, ...] = (), *, progress: bool = False,
             out_dir: str | Path | None = None) -> Result:
    """Compose the configuration from ``overrides`` (Hydra syntax), validate it, run it.

    Nothing is written unless ``out_dir`` is given. Raises ``sim.config.ConfigError`` on bad input.
    """
    from sim.config import compose
    from sim.engines import run_engine

    cfg = compose(list(overrides))
    t0 = time.perf_counter()
    table = run_engine(cfg, progress=progress)
    res = Result(table=table, config=cfg, seconds=time.perf_counter() - t0, meta={"overrides": list(overrides)})
    if out_dir is not None:
        res.save(out_dir)
    return res
