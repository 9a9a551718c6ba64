"""Command line: ``python -m sim [overrides]`` runs one simulation (``-m`` for a Hydra sweep).

Input is validated before Hydra starts (for a sweep: every combination), so bad input exits with
status 2, one line on stderr and nothing written. Each run writes its table, resolved config,
ladder plot and run.json into its own directory under results/ and prints that directory last.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from sim.config import CONF_DIR, ConfigError, compose_many, register_schema, to_config

# Hydra flags that take a value (the value is not an override).
VALUE_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun")
# Flags after which Hydra runs no job (help, printing the config): nothing to validate.
NO_JOB_FLAGS = ("-h", "--help", "--hydra-help", "--info", "-c", "--cfg", "-p", "--package", "--resolve",
                "--shell-completion", "-sc")


def _progress(setting: str) -> bool:
    """``run.progress``: on, off, or auto = only when stdout is a terminal (not in logs or pipes)."""
    return setting == "on" or (setting == "auto" and sys.stdout.isatty())


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def _run(node: DictConfig) -> None:
    """One Hydra job: run the engine, save the four files into the job's directory, print the summary."""
    from sim import Result
    from sim.engines import run_engine
    from sim.report import summary

    cfg = to_config(node)
    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    t0 = time.perf_counter()
    table = run_engine(cfg, progress=_progress(cfg.run.progress))
    res = Result(table=table, config=cfg, seconds=time.perf_counter() - t0,
                 meta={"overrides": list(hc.overrides.task)})
    res.save(out)
    print(f"scenario {cfg.scenario}, engine {cfg.engine}, seed {cfg.seed}, {res.seconds:.1f} s")
    print(summary(table))
    try:
        shown = out.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        shown = out
    print(shown, flush=True)


def sweep_combinations(overrides: list[str]) -> list[list[str]]:
    """Every combination of a multirun's overrides, expanded as Hydra's basic sweeper will run them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0] or [[]]


def validate_args(args: list[str]) -> None:
    """Check the overrides of a command line (for ``-m``, every sweep combination) before Hydra runs anything."""
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag in VALUE_FLAGS:
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            raise ConfigError(f"{flag}: {value!r} is not supported (the configuration is conf/); allowed: key=value "
                              "overrides, -m for a sweep")
    overrides = [a for a in args if not a.startswith("-")]
    if "-m" in args or "--multirun" in args:
        from sim.config import check_overrides

        check_overrides(overrides, sweep=True)  # value by value first: a clear message before expanding
        compose_many(sweep_combinations(overrides))
    else:
        compose_many([overrides])


def main(argv: list[str] | None = None) -> int:
    """Entry point: list scenarios, or validate and hand over to Hydra. Returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--list-scenarios" in args:
        from sim.scenarios import describe, list_scenarios

        try:
            for name in list_scenarios():
                d = describe(name)
                print(f"{name:<20} {d['en']}\n{'':<20} {d['ja']}\n{'':<20} source: {d['source']}")
        except BrokenPipeError:  # e.g. piped into head
            sys.stderr.close()
        return 0
    if not any(a in NO_JOB_FLAGS or a.startswith("--cfg=") for a in args):
        try:
            validate_args(args)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    register_schema()
    sys.argv = [sys.argv[0], *args]
    _run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
