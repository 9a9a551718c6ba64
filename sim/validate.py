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
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.cli import OneLineParser, whole
from sim.config import ConfigError
from sim.table import STAGE_COLUMNS, SURVEY_COLUMNS

TARGETS = Path(__file__).resolve().parent / "calibration" / "targets.yaml"
CALIBRATED = TARGETS.parent / "calibrated.yaml"  # written by python -m sim.calibrate
OUT = Path(__file__).resolve().parent.parent / "docs" / "VALIDATION.md"
PROG = "python -m sim.validate"


@dataclass(frozen=True)
class Target:
    """One survey share: its value and tolerance (percentage points), the table columns that make it, the
    seed line it comes from, and why it is left out of the fit (``not_fitted``; empty: fitted)."""

    name: str
    name_ja: str
    value: float
    tolerance: float
    columns: tuple[str, ...]
    source: str
    not_fitted: str = ""


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
        if not isinstance(row, dict) or not keys <= set(row) <= keys | {"not_fitted"}:
            raise ConfigError(f"{where}: keys {sorted(row) if isinstance(row, dict) else row!r}; "
                              f"allowed: exactly {', '.join(sorted(keys))}, and not_fitted (why) if it is not fitted")
        unknown = [c for c in row["columns"] if c not in SURVEY_COLUMNS]
        if unknown:
            raise ConfigError(f"{where}.columns: {unknown!r}; allowed: {', '.join(SURVEY_COLUMNS)}")
        targets.append(Target(str(row["name"]), str(row["name_ja"]), float(row["value"]), float(row["tolerance"]),
                              tuple(row["columns"]), " ".join(str(row["source"]).split()),
                              " ".join(str(row.get("not_fitted", "")).split())))
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


def judge(results: pd.DataFrame, targets: Sequence[Target], programs: Sequence[Program]) -> list[dict[str, Any]]:
    """Each target of one set of runs: its kind (national share or program), value, the model's mean, min and
    max over seeds, residual (national: points; program: ratio) and whether it passes its tolerance."""
    out: list[dict[str, Any]] = []
    for t in targets:
        v = results.loc[results["target"] == t.name, "value"]
        residual = float(v.mean()) - t.value
        out.append({"kind": "national", "name": t.name, "name_ja": t.name_ja, "value": t.value,
                    "mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()), "residual": residual,
                    "tolerance": t.tolerance, "pass": bool(abs(residual) <= t.tolerance), "fitted": not t.not_fitted,
                    "source": t.source})
    for p in programs:
        v = results.loc[results["target"] == p.name, "value"]
        ratio = float(v.mean()) / p.value
        out.append({"kind": "program", "name": p.name, "name_ja": p.name_ja, "value": p.value,
                    "mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()), "residual": ratio,
                    "tolerance": p.tolerance, "pass": bool(abs(ratio - 1.0) <= p.tolerance), "fitted": True,
                    "source": p.source})
    return out


def _tables(results: pd.DataFrame, targets: Sequence[Target], programs: Sequence[Program]) -> tuple[list[str], int]:
    """The national and program tables of one set of runs, and how many targets they meet."""
    judged = {j["name"]: j for j in judge(results, targets, programs)}
    lines = ["| target 目標 | survey 調査 (%) | model モデル (%) mean [min, max] | residual 差 (pt) "
             "| tolerance 許容 (pt) | pass 合否 | fitted 較正対象 | source 出典 |",
             "|:---|---:|---:|---:|---:|:---:|:---|:---|"]
    passed = 0
    for t in targets:
        j = judged[t.name]
        passed += j["pass"]
        lines.append(f"| {t.name} {t.name_ja} | {t.value:.1f} | {j['mean']:.2f} [{j['min']:.2f}, {j['max']:.2f}] | "
                     f"{j['residual']:+.2f} | ±{t.tolerance:.1f} | {'yes' if j['pass'] else '**no**'} | "
                     f"{'no: ' + t.not_fitted if t.not_fitted else 'yes'} | {t.source} |")
    lines += ["", f"{passed} of {len(targets)} national targets met.", ""]
    met = 0
    if programs:
        lines += ["Registry members of the region of the same runs that stands for each program, at the program's "
                  "age when the figure was reported. 各事業を模した地域の登録会員数。", "",
                  "| program 事業 | region 地域 | week 週 | reported 実績 | model モデル mean [min, max] | ratio 比 "
                  "| tolerance 許容 | pass 合否 | source 出典 |", "|:---|:---|---:|---:|---:|---:|---:|:---:|:---|"]
        for p in programs:
            j = judged[p.name]
            met += j["pass"]
            lines.append(f"| {p.name} {p.name_ja} | {p.region} | {p.week} | {p.value:,.0f} | {j['mean']:,.0f} "
                         f"[{j['min']:,.0f}, {j['max']:,.0f}] | {j['residual']:.2f} | ±{p.tolerance:.0%} | "
                         f"{'yes' if j['pass'] else '**no**'} | {p.source} |")
        lines += ["", f"{met} of {len(programs)} program targets met.", ""]
    return lines, passed + met


def status(results: pd.DataFrame, targets: Sequence[Target], programs: Sequence[Program], command: str,
           configuration: Sequence[str], calibrated: pd.DataFrame | None = None,
           calibration: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the validation found, for other tools (the planner's report reads it): each target judged with the
    declared defaults and, when given, with the calibrated values; the command, configuration and version."""
    import datetime

    from sim import __version__

    def counts(judged: list[dict[str, Any]]) -> dict[str, Any]:
        return {"targets": judged, "met": sum(j["pass"] for j in judged), "total": len(judged),
                "national_met": sum(j["pass"] for j in judged if j["kind"] == "national"),
                "national_total": sum(j["kind"] == "national" for j in judged),
                "program_met": sum(j["pass"] for j in judged if j["kind"] == "program"),
                "program_total": sum(j["kind"] == "program" for j in judged)}

    return {"date": datetime.date.today().isoformat(), "command": command, "configuration": list(configuration),
            "seeds": int(results["seed"].nunique()), "version": __version__,
            "declared": counts(judge(results, targets, programs)),
            "calibrated": counts(judge(calibrated, targets, programs)) if calibrated is not None else None,
            "calibration": calibration["provenance"] if calibration is not None else None}


def load_calibration(path: str | Path) -> dict[str, Any]:
    """A calibration written by ``python -m sim.calibrate`` (``calibrated.yaml``): overrides, provenance, and
    each free parameter's prior, median and 90% interval; a file without them is a ``ConfigError``."""
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not {"overrides", "provenance", "free"} <= set(doc):
        raise ConfigError(f"{path}: not a calibration; allowed: a calibrated.yaml written by python -m sim.calibrate")
    return doc


def _truncated_lines(tr: dict[str, Any] | None) -> list[str]:
    """The second round of a calibration, if it had one: method, budget and its coverage inside its box."""
    if not tr:
        return []
    return ["", f"**Second round:** {tr['method']}; {tr['simulations']} simulations, of which "
                f"{tr['held_out_for_coverage']} held out: inside the box, the nominal 90% intervals held the true "
                f"value in **{tr['coverage_90']:.1%}** of cases. The posterior below is the second round's."]


def _calibration_section(cal: dict[str, Any], screening: pd.DataFrame | None, figure: str | None) -> list[str]:
    """What the calibration found: method and budget, the coverage check, each free parameter's posterior beside
    its prior (pinned or loose), the screening that chose them, and the pairwise posterior figure."""
    pv = cal["provenance"]
    lines = ["## Calibration — 較正", "",
             f"Made by `{pv['command']}` on {pv['date']} (code {pv['code'].get('version', '?')}"
             f"{', commit ' + str(pv['code']['commit'])[:10] if pv['code'].get('commit') else ''}): "
             f"{pv['method']}; {pv['simulations']} simulations of `{' '.join(pv['configuration'])}` over "
             f"{pv['weeks']} weeks, seed {pv['seed']}.", "",
             f"**Coverage of the method:** over {pv['held_out_for_coverage']} held-out synthetic cases (runs of the "
             f"model at parameters drawn from the prior, not used in training), the nominal 90% posterior intervals "
             f"held the true value in **{pv['coverage_90']:.1%}** of cases (all free parameters together; by "
             "parameter: " + ", ".join(f"`{k}` {v:.0%}" for k, v in pv["coverage_90_by_parameter"].items()) + ").",
             *_truncated_lines(pv.get("truncated_round")),
             "", "Posterior given the targets, beside the prior. A parameter is *pinned* when its 90% interval spans "
             "less than a third of its prior (in the prior's scale), *loose* otherwise. "
             "事後分布（目標値に条件づけ）と事前分布。",
             "", "| parameter パラメータ | prior 事前 | median 中央値 | 90% interval 区間 | share of prior 幅 | "
             "identified 識別 |", "|:---|:---|---:|:---|---:|:---|"]
    for f in cal["free"]:
        pr = f["prior"]
        log = pr.get("scale", "log") == "log"
        lo, hi = f["interval_90"]
        width = ((np.log(hi) - np.log(lo)) / np.log(pr["high"] / pr["low"]) if log
                 else (hi - lo) / (pr["high"] - pr["low"]))
        lines.append(f"| `{f['key']}` {_ja(f['key'])} | {pr['low']:.4g} – {pr['high']:.4g} ({pr.get('scale', 'log')}) "
                     f"| {f['median']:.4g} | [{lo:.4g}, {hi:.4g}] | {width:.0%} | "
                     f"{'pinned 決まる' if width < 1 / 3 else 'loose 決まらない'} |")
    if figure:
        lines += ["", f"![pairwise posterior 事後分布の散布図]({figure})"]
    if screening is not None and len(screening):
        top = screening.drop_duplicates("parameter")
        lines += ["", "### Screening — スクリーニング", "",
                  "Morris elementary effects of each candidate over its prior (sim/calibration/calibration.yaml), "
                  "in units of each target's tolerance; a candidate is free when it moves some target by at least "
                  "one tolerance (importance >= 1). 各候補が目標値を許容幅の何倍動かすか。", "",
                  "| candidate 候補 | importance 重要度 | target it moves most 最も動かす目標 |", "|:---|---:|:---|"]
        for _, row in top.iterrows():
            best = screening[screening["parameter"] == row["parameter"]].sort_values("per_tolerance").iloc[-1]
            lines.append(f"| `{row['parameter']}` {_ja(row['parameter'])} | {row['importance']:.2f} | "
                         f"{best['output']} |")
    return lines + [""]


def _ja(key: str) -> str:
    """The Japanese name of a parameter (of the declared key for a regions-table row's key)."""
    from sim.config import ROW_KEY
    from sim.params import REGION_KEYS, iter_params

    leaves = dict(iter_params())
    row = ROW_KEY.fullmatch(key)
    if row and row.group(2) in REGION_KEYS:
        return f"{_ja(REGION_KEYS[row.group(2)])}（表の{row.group(1)}行）"
    return str(leaves[key].metadata.get("ja", "")) if key in leaves else ""


def _short(key: str) -> str:
    """A parameter's last part, with the row for a regions-table row's key (table.0.attraction)."""
    return key.removeprefix("regions.") if key.startswith("regions.table.") else key.split(".")[-1]


def pairs_figure(draws: pd.DataFrame, path: str | Path) -> Path:
    """The posterior draws pairwise (histograms on the diagonal, log axes for positive parameters spanning a
    decade or more), labelled with each parameter's Japanese and English name."""
    from sim.report import pyplot, save_png

    plt = pyplot()
    keys = list(draws.columns)
    d = len(keys)
    fig, axes = plt.subplots(d, d, figsize=(2.2 * d, 2.2 * d), squeeze=False)
    logs = [bool((draws[k] > 0).all() and draws[k].max() / draws[k].min() >= 10) for k in keys]
    for i, ki in enumerate(keys):
        for j, kj in enumerate(keys):
            ax = axes[i][j]
            if i == j:
                v = np.log10(draws[ki]) if logs[i] else draws[ki]
                ax.hist(v, bins=30, color="#4477aa")
            elif i > j:
                x = np.log10(draws[kj]) if logs[j] else draws[kj]
                y = np.log10(draws[ki]) if logs[i] else draws[ki]
                ax.scatter(x, y, s=2, alpha=0.3, color="#4477aa")
            else:
                ax.set_visible(False)
            if i == d - 1:
                ax.set_xlabel(("log10 " if logs[j] else "") + f"{_ja(kj)}\n{_short(kj)}", fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(("log10 " if logs[i] else "") + f"{_ja(ki)}\n{_short(ki)}", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle("事後分布 posterior (sim.calibrate)")
    fig.tight_layout()
    return save_png(fig, path)


def render(results: pd.DataFrame, targets: Sequence[Target], command: str, configuration: Sequence[str],
           programs: Sequence[Program] = (), calibrated: pd.DataFrame | None = None,
           calibration: dict[str, Any] | None = None, screening: pd.DataFrame | None = None,
           figure: str | None = None) -> str:
    """docs/VALIDATION.md: every target beside the model's mean and range over seeds, its residual and
    whether it passes, with the declared defaults and, when a calibration exists, with its posterior medians;
    then what the calibration found."""
    from sim import __version__

    seeds = results["seed"].nunique()
    lines = ["# Validation against the seeds' figures — 検証", "",
             "Generated by the command below; do not edit by hand.", "", "```sh", command, "```", "",
             f"Configuration: `{' '.join(configuration)}`, {seeds} seeds, code version `{__version__}`. "
             "The whole metro population relates to the regions of the table; shares are of the urban residents "
             "at the last yearly survey of the run, all regions together (sim/validate.py).", "",
             "**Status: the declared defaults are not calibrated.** Every behaviour coefficient is an assumption "
             "(docs/ODD.md, parameter table); the first tables are how far the declared defaults are from the "
             "survey, target by target" + (", the next ones the same with the calibrated values (posterior "
             "medians of `sim/calibration/calibrated.yaml`), which do not yet ship as defaults." if calibration
                                           else "."), "",
             "## Declared defaults — 既定値", ""]
    table, met_declared = _tables(results, targets, programs)
    lines += table
    if calibrated is not None and calibration is not None:
        lines += ["## Calibrated values — 較正値", "",
                  "The same runs with the posterior medians: " + ", ".join(f"`{o}`" for o in calibration["overrides"])
                  + ".", ""]
        table, met = _tables(calibrated, targets, programs)
        lines += table
        lines += [f"Targets met: {met_declared} of {len(targets) + len(programs)} with the declared defaults, {met} "
                  "with the calibrated values.", ""]
        lines += _calibration_section(calibration, screening, figure)
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
    ap.add_argument("--calibration", default=str(CALIBRATED),
                    help="calibrated.yaml to validate beside the defaults, or 'none' (default "
                         "sim/calibration/calibrated.yaml when it exists)")
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
        cal_path = Path(args.calibration)
        calibration = None
        if args.calibration != "none" and (cal_path.exists() or cal_path != CALIBRATED):
            calibration = load_calibration(cal_path)
            check_overrides([*configuration, *args.overrides, *calibration["overrides"]])
    except (ConfigError, OSError, yaml.YAMLError) as exc:
        print(f"{PROG}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        results = run_national(configuration, targets, args.seeds, args.steps, args.overrides, programs)
        calibrated = screening = figure = None
        if calibration is not None:
            calibrated = run_national(configuration, targets, args.seeds, args.steps,
                                      [*args.overrides, *calibration["overrides"]], programs)
            draws = cal_path.parent / "posterior.parquet"
            if draws.exists():
                png = Path(args.out).with_name("calibration_pairs.png")
                pairs_figure(pd.read_parquet(draws), png)
                figure = png.name
            if (cal_path.parent / "screening.csv").exists():
                screening = pd.read_csv(cal_path.parent / "screening.csv")
    except ConfigError as exc:
        print(f"{PROG}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    command = " ".join([PROG, *argv]) if argv else PROG
    text = render(results, targets, command, [*configuration, *args.overrides], programs, calibrated, calibration,
                  screening, figure)
    found = status(results, targets, programs, command, [*configuration, *args.overrides], calibrated, calibration)
    atomic_write_text(Path(args.out).with_suffix(".json"), json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    print(atomic_write_text(args.out, text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
