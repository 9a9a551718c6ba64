"""Command line: ``python -m sim [overrides]`` runs one simulation (``-m`` for a Hydra sweep).

Input is validated before Hydra starts, so bad input exits with status 2, one line on stderr
and nothing written. Each run writes its table, resolved config, ladder plot and run.json into
its own directory under results/ and prints that directory last.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.config import CONF_DIR, ConfigError, check_overrides, compose, options, register_schema, to_config

MAX_COMBINATIONS_CHECKED = 64


def _progress(setting: str) -> bool:
    return setting == "on" or (setting == "auto" and sys.stdout.isatty())


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def _run(node: DictConfig) -> None:
    from sim import Result
    from sim.engines import run_engine
    from sim.report import summary

    cfg = to_config(node)
    out = Path(HydraConfig.get().runtime.output_dir)
    t0 = time.perf_counter()
    table = run_engine(cfg, progress=_progress(cfg.run.progress))
    res = Result(table=table, config=cfg, seconds=time.perf_counter() - t0)
    res.save(out)
    print(f"scenario {cfg.scenario}, engine {cfg.engine}, seed {cfg.seed}, {res.seconds:.1f} s")
    print(summary(table))
    try:
        shown = out.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = out
    print(shown, flush=True)


def _validate(args: list[str]) -> None:
    """Check the overrides (every sweep combination, up to a limit) before Hydra runs anything."""
    overrides = [a for a in args if not a.startswith("-")]
    check_overrides(overrides)
    if "-m" in args or "--multirun" in args:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(overrides)
        batches = BasicSweeper.split_arguments(parsed, max_batch_size=MAX_COMBINATIONS_CHECKED)
        for combo in batches[0] if batches else [[]]:
            compose(combo)
    else:
        compose(overrides)


def main(argv: list[str] | None = None) -> int:
    """Entry point: validate, then hand over to Hydra."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--list-scenarios" in args:
        from sim.scenarios import describe

        for name in options("scenario"):
            print(f"{name:<20} {describe(name)['en']}")
        return 0
    if not any(a in ("-h", "--help", "--hydra-help", "--info") or a.startswith("--cfg") for a in args):
        try:
            _validate(args)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    register_schema()
    sys.argv = [sys.argv[0], *args]
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    _run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
