"""How far the model is from what surveys measured: ``python -m sim.validate`` writes docs/VALIDATION.md.

The targets and their sources are in ``sim/calibration/targets.yaml``. The national targets are the 2020
survey's shares of the three metropolitan areas' adults by their relation to regions (000:1536-1571); the
model's counterpart is the table's survey typology (``sim.rules.relation_type``, the ``survey_*`` columns)
summed over every region of a regions table in which the whole metro population relates to the regions, at
the last yearly survey of the run, over several seeds. Each target passes when the mean over seeds is within
its tolerance. The parameters are not calibrated yet (every behaviour coefficient is an assumption), so this
report says how far the declared defaults are from the survey, not that they fit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim.cli import OneLineParser, whole
from sim.config import ConfigError
from sim.table import STAGE_COLUMNS, SURVEY_COLUMNS

TARGETS = Path(__file__).resolve().parent / "calibration" / "targets.yaml"
OUT = Path(__file__).resolve().parent.parent / "docs" / "VALIDATION.md"
PROG = "python -m sim.validate"


@dataclass(frozen=True)
class Target:
    """One survey share: its value and tolerance (percentage points), the table columns that make it, and
    the seed line it comes from."""

    name: str
    name_ja: str
    value: float
    tolerance: float
    columns: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Program:
    """A real program's registry: members of ``region`` (a row name of the regions table) at ``week``, within
    a relative ``tolerance``, and the seed line it comes from."""

    name: str
    name_ja: str
    region: str
    week: int
    value: float
    tolerance: float
    source: str


def load_programs(path: str | Path = TARGETS) -> list[Program]:
    """The program-level targets of ``path`` (``programs``); a wrong key is a ``ConfigError`` naming it."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    keys = {"name", "name_ja", "region", "week", "value", "tolerance", "source"}
    out = []
    for i, row in enumerate(doc.get("programs", []) if isinstance(doc, dict) else []):
        if not isinstance(row, dict) or set(row) != keys:
            raise ConfigError(f"programs[{i}]: keys {sorted(row) if isinstance(row, dict) else row!r}; "
                              f"allowed: exactly {', '.join(sorted(keys))}")
        out.append(Program(str(row["name"]), str(row["name_ja"]), str(row["region"]), int(row["week"]),
                           float(row["value"]), float(row["tolerance"]), " ".join(str(row["source"]).split())))
    return out


def program_members(table: pd.DataFrame, region_names: Sequence[str], programs: Sequence[Program]) -> dict[str, float]:
    """Registry members of each program's region at its week (NaN when the run is shorter)."""
    out = {}
    for p in programs:
        if p.region not in region_names:
            raise ConfigError(f"programs: region {p.region!r} is not a row of the regions table; allowed: "
                              f"{', '.join(region_names)}")
        row = table[(table["step"] == p.week) & (table["region"] == list(region_names).index(p.region))]
        out[p.name] = float(row["members"].iloc[0]) if len(row) else float("nan")
    return out


def load_targets(path: str | Path = TARGETS) -> tuple[list[str], list[Target]]:
    """The national configuration (overrides) and targets of ``path``; a wrong key or column is a
    ``ConfigError`` naming it."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    national = doc.get("national") if isinstance(doc, dict) else None
    if not isinstance(national, dict) or not isinstance(national.get("targets"), list):
        raise ConfigError(f"{path}: national.targets is missing; allowed: a list of targets")
    targets = []
    for i, row in enumerate(national["targets"]):
        where = f"national.targets[{i}]"
        keys = {"name", "name_ja", "value", "tolerance", "columns", "source"}
        if not isinstance(row, dict) or set(row) != keys:
            raise ConfigError(f"{where}: keys {sorted(row) if isinstance(row, dict) else row!r}; "
                              f"allowed: exactly {', '.join(sorted(keys))}")
        unknown = [c for c in row["columns"] if c not in SURVEY_COLUMNS]
        if unknown:
            raise ConfigError(f"{where}.columns: {unknown!r}; allowed: {', '.join(SURVEY_COLUMNS)}")
        targets.append(Target(str(row["name"]), str(row["name_ja"]), float(row["value"]), float(row["tolerance"]),
                              tuple(row["columns"]), " ".join(str(row["source"]).split())))
    return [str(o) for o in national.get("configuration", [])], targets


def national_shares(table: pd.DataFrame, targets: Sequence[Target]) -> dict[str, float]:
    """Each target's share (percent of the urban residents) in a run's table, at its last yearly survey,
    all regions together."""
    surveyed = table[table["step"] % 52 == 0]
    last = surveyed[surveyed["step"] == surveyed["step"].max()]
    people = float(last[list(STAGE_COLUMNS)].to_numpy().sum())
    return {t.name: 100.0 * float(last[list(t.columns)].to_numpy().sum()) / people for t in targets}


def run_national(configuration: Sequence[str], targets: Sequence[Target], seeds: int, steps: int,
                 extra: Sequence[str] = (), programs: Sequence[Program] = ()) -> pd.DataFrame:
    """The national configuration run with seeds 1..``seeds``: one row per seed and target (``value``: percent
    for a survey share, members for a program)."""
    from sim import simulate

    rows = []
    for seed in range(1, seeds + 1):
        res = simulate([*configuration, f"run.steps={steps}", f"seed={seed}", "run.plot=false", "run.progress=off",
                        *extra])
        names = [str(r.get("name", "")) for r in res.config.regions.table]
        values = {**national_shares(res.table, targets), **program_members(res.table, names, programs)}
        rows += [{"seed": seed, "target": k, "value": v} for k, v in values.items()]
    return pd.DataFrame(rows)


def render(results: pd.DataFrame, targets: Sequence[Target], command: str, configuration: Sequence[str],
           programs: Sequence[Program] = ()) -> str:
    """docs/VALIDATION.md: every target beside the model's mean and range over seeds, its residual and
    whether it passes."""
    from sim import __version__

    seeds = results["seed"].nunique()
    lines = ["# Validation against the seeds' figures — 検証", "",
             "Generated by the command below; do not edit by hand.", "", "```sh", command, "```", "",
             f"Configuration: `{' '.join(configuration)}`, {seeds} seeds, code version `{__version__}`. "
             "The whole metro population relates to the regions of the table; shares are of the urban residents "
             "at the last yearly survey of the run, all regions together (sim/validate.py).", "",
             "**Status: not calibrated.** Every behaviour coefficient is an assumption (docs/ODD.md, parameter "
             "table); this is how far the declared defaults are from the survey, target by target.", "",
             "| target 目標 | survey 調査 (%) | model モデル (%) mean [min, max] | residual 差 (pt) "
             "| tolerance 許容 (pt) | pass 合否 | source 出典 |", "|:---|---:|---:|---:|---:|:---:|:---|"]
    passed = 0
    for t in targets:
        v = results.loc[results["target"] == t.name, "value"]
        residual = float(v.mean()) - t.value
        ok = abs(residual) <= t.tolerance
        passed += ok
        lines.append(f"| {t.name} {t.name_ja} | {t.value:.1f} | {v.mean():.2f} [{v.min():.2f}, {v.max():.2f}] | "
                     f"{residual:+.2f} | ±{t.tolerance:.1f} | {'yes' if ok else '**no**'} | {t.source} |")
    lines += ["", f"{passed} of {len(targets)} national targets met.", ""]
    if programs:
        lines += ["## Programs — 事業", "",
                  "Registry members of the region of the same runs that stands for each program, at the program's "
                  "age when the figure was reported.", "",
                  "| program 事業 | region 地域 | week 週 | reported 実績 | model モデル mean [min, max] | ratio 比 "
                  "| tolerance 許容 | pass 合否 | source 出典 |", "|:---|:---|---:|---:|---:|---:|---:|:---:|:---|"]
        met = 0
        for p in programs:
            v = results.loc[results["target"] == p.name, "value"]
            ratio = float(v.mean()) / p.value
            ok = abs(ratio - 1.0) <= p.tolerance
            met += ok
            lines.append(f"| {p.name} {p.name_ja} | {p.region} | {p.week} | {p.value:,.0f} | {v.mean():,.0f} "
                         f"[{v.min():,.0f}, {v.max():,.0f}] | {ratio:.2f} | ±{p.tolerance:.0%} | "
                         f"{'yes' if ok else '**no**'} | {p.source} |")
        lines += ["", f"{met} of {len(programs)} program targets met.", ""]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m sim.validate``."""
    class _Parser(OneLineParser):
        error_type = ConfigError

    ap = _Parser(prog=PROG, allow_abbrev=False, description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=whole(1), default=3, help="seeds 1..S (default 3)")
    ap.add_argument("--steps", type=whole(1), default=520, help="weeks (default 520)")
    ap.add_argument("--out", default=str(OUT), help="markdown report (default docs/VALIDATION.md)")
    ap.add_argument("--targets", default=str(TARGETS), help="targets file (default sim/calibration/targets.yaml)")
    ap.add_argument("overrides", nargs="*", help="extra key=value overrides of the national configuration")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the national configuration, write the report atomically and print its path last."""
    from sim.config import check_overrides
    from sim.io import atomic_write_text

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
        configuration, targets = load_targets(args.targets)
        programs = load_programs(args.targets)
        check_overrides([*configuration, *args.overrides])
    except (ConfigError, OSError, yaml.YAMLError) as exc:
        print(f"{PROG}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        results = run_national(configuration, targets, args.seeds, args.steps, args.overrides, programs)
    except ConfigError as exc:
        print(f"{PROG}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    text = render(results, targets, " ".join([PROG, *argv]) if argv else PROG, [*configuration, *args.overrides],
                  programs)
    print(atomic_write_text(args.out, text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
