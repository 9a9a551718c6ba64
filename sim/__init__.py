"""関係人口 (relationship population) simulation: the indifferent → fan → partner → migrant ladder.

Common use::

    from sim import simulate
    res = simulate(overrides=["scenario=guides_high", "population=tiny"])
    res.table        # per-week table (pandas DataFrame), one row per region and week
    res.config       # the resolved, validated configuration (sim.params.Config)
    print(res.summary())
    res.save("results/my_run")   # the four files, as one folder that appears complete or not at all

A ``sim.params.Config`` built by hand is checked with ``sim.config.validate(cfg)`` (one-line
``ConfigError`` naming the key, the value and what is allowed).
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sim.params import Config

if TYPE_CHECKING:  # pandas is imported where a table is made: ``python -m sim`` starts (and answers signals) sooner
    import pandas as pd


@cache
def _version() -> str:
    """The installed package's version (importlib.metadata is slow to import: looked up when first asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kankei-sim")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


def __getattr__(name: str) -> str:
    """``sim.__version__``, computed on first use."""
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


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
        """Write table.parquet, config.yaml, ladder.png and run.json as the folder ``out_dir``; return it.

        The folder appears complete or not at all: the files are written into a hidden staging folder
        beside ``out_dir`` (``.<name>.<random>.partial``) that is renamed to ``out_dir`` at the end and
        removed if anything fails or is interrupted. An existing ``out_dir`` holding only the files of an
        earlier run (or nothing) is replaced; any other existing ``out_dir`` is refused with
        ``sim.io.OutputError`` (an OSError, one line naming the path), as is a place that cannot be written.
        """
        from sim.io import write_folder

        return write_folder(out_dir, self.write_files)

    def write_files(self, folder: str | Path) -> None:
        """Write the four files into the existing folder ``folder``, each atomically (no folder staging);
        with ``run.plot=false`` all but ladder.png."""
        from omegaconf import OmegaConf

        from sim.io import atomic_write, atomic_write_text
        from sim.report import plot_ladder

        out = Path(folder)
        atomic_write(out / "table.parquet", lambda p: self.table.to_parquet(p, index=False))
        atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(self.config)))
        cfg = self.config
        if cfg.run.plot:
            plot_ladder(self.table, out / "ladder.png", title=f"{cfg.scenario} ({cfg.engine}, seed {cfg.seed})")
        meta = {"scenario": cfg.scenario, "engine": cfg.engine, "seed": cfg.seed, "steps": cfg.run.steps,
                "urban": cfg.population.urban, "wall_time_s": round(self.seconds, 3), "version": _version(),
                "python": platform.python_version(), **self.meta}
        atomic_write_text(out / "run.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def simulate(overrides: list[str] | tuple[str, ...] = (), *, progress: bool = False,
             out_dir: str | Path | None = None) -> Result:
    """Compose the configuration from ``overrides`` (Hydra syntax), validate it, run it.

    Nothing is written unless ``out_dir`` is given; then the run folder is written as by ``Result.save``
    (complete or not at all). Raises ``sim.config.ConfigError`` on bad input and ``sim.io.OutputError``
    if ``out_dir`` cannot be written (both checked before the run starts).
    """
    from sim.config import compose
    from sim.engines import run_engine

    cfg = compose(list(overrides))
    if out_dir is not None:
        from sim.io import check_target, check_writable

        check_writable(Path(out_dir).parent)
        check_target(out_dir)
    t0 = time.perf_counter()
    table = run_engine(cfg, progress=progress)
    res = Result(table=table, config=cfg, seconds=time.perf_counter() - t0, meta={"overrides": list(overrides)})
    if out_dir is not None:
        res.save(out_dir)
    return res
