"""Named scenarios side by side, with paired replicates and intervals: a planner's comparison.

Command line::

    python -m sim.compare baseline guides_high funding_cliff [--replicates 10] [--engine vectorized]
        [--seed 1] [--jobs N] [--out results/compare] [--name NAME] [--force] [--lang ja|en]
        [key=value ...]

Each scenario is a name of ``conf/scenario`` (or of a folder in ``$SIM_CONFIG_PATH``), or a composition
``a+b`` (``a``, then ``b``). Further ``key=value`` arguments are Hydra overrides applied to every scenario
(``population.urban=20000 run.steps=260``).

Design. Replicate k of every scenario runs with the same seed, child k of
``numpy.random.SeedSequence(--seed)``: the runs of a replicate share their random numbers (common random
numbers), so the per-replicate difference to the first scenario is paired. The comparison is an
experiment of ``sim.experiment`` built in memory (a ``list`` design of the scenarios, the replicates,
the seed, the overrides as its base) and run by its runner: in parallel (joblib), each finished run one
Parquet file under ``<out>/<name>/runs/``, and a second call with the same settings runs only what is
missing (nothing, if all finished). ``<name>`` is made of the scenarios and a hash of the settings.

Output, in ``<out>/<name>/`` (each file written atomically): ``comparison.csv`` and ``comparison.parquet``,
one row per scenario and outcome (see ``summarise``): the mean over replicates with its 95% t-interval,
the paired difference to the first scenario with its t-interval, and the share of replicates in which
the scenario beats the first; and ``trajectories.png``, the ladder stages and the cumulative public cost
week by week (mean and 95% band), labelled in Japanese (``--lang ja``, default) or English. The folder is
printed last. Bad input stops with one line on stderr naming the argument, its value and what is allowed,
exit status 2, before anything runs or is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli import OneLineParser, whole
from sim.config import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment import Experiment, Report

__all__ = ["Comparison", "Request", "compare", "experiment", "main", "parse_args", "summarise", "trajectories"]

PROG = "python -m sim.compare"
DEFAULT_OUT = Path("results/compare")
POSTERIOR = Path(__file__).resolve().parent / "calibration" / "posterior.parquet"  # python -m sim.calibrate
DEFAULT_REPLICATES = 10
DEFAULT_SEED = 1
LANGS = ("ja", "en")
FILES = ("comparison.csv", "comparison.parquet", "trajectories.png")
# keys the command's own arguments set: an override may not set them as well
ARG_KEYS = {"scenario": "the scenario arguments", "seed": "--seed", "engine": "--engine"}
# outcome -> +1 if more is better, -1 if less is better (limit shares have no better side)
BETTER = {"fans": 1, "partners": 1, "members": 1, "migrants": 1, "local_population": 1, "cost_yen": -1,
          "key_host_burden": -1, "donations_yen": 1, "visitor_spending_yen": 1, "volunteer_days": 1}
PER_UNIT_KEYS = {"partners": "cost_per_partner", "migrants": "cost_per_migrant"}
COLUMNS = ("scenario", "outcome", "label", "better", "replicates", "mean", "mean_lo", "mean_hi", "diff", "diff_lo",
           "diff_hi", "beats")
# trajectories: the ladder stages (all regions) and the public cost so far
CURVES = ("indifferent", "fan", "partner", "migrant", "cost")


class CompareError(ConfigError):
    """A bad argument: one line naming it, its value and what is allowed (exit status 2)."""


@dataclass(frozen=True)
class Request:
    """What to compare and how: scenarios (the first is the reference), replicates, seed, engine, overrides."""

    scenarios: tuple[str, ...]
    replicates: int = DEFAULT_REPLICATES
    seed: int = DEFAULT_SEED
    engine: str = "vectorized"
    overrides: tuple[str, ...] = ()
    out: Path = DEFAULT_OUT
    name: str | None = None
    lang: str = "ja"
    posterior: Path | None = None  # posterior draws (sim.calibrate): replicate k runs with draw k

    @property
    def folder_name(self) -> str:
        """``--name``, else the scenarios (``+`` as ``.``) and a hash of everything that decides the runs, so
        that the same settings find their runs again and other settings never mix with them."""
        if self.name:
            return self.name
        settings = {"scenarios": self.scenarios, "replicates": self.replicates, "seed": self.seed,
                    "engine": self.engine, "overrides": self.overrides}
        if self.posterior is not None:  # other draws are other runs
            settings["posterior"] = hashlib.sha256(Path(self.posterior).read_bytes()).hexdigest()
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
        names = re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(s.replace("+", ".") for s in self.scenarios))
        return f"{names[:80]}-{digest}"

    @property
    def base(self) -> list[str]:
        """The Hydra overrides every run gets before its scenario and seed."""
        return [f"engine={self.engine}", *self.overrides]


@dataclass
class Comparison:
    """A finished comparison: its folder, the table (``summarise``), the per-run metrics and what ran."""

    folder: Path
    table: pd.DataFrame
    metrics: pd.DataFrame
    report: Report
    trajectories: pd.DataFrame | None = None  # ``trajectories`` of the runs


# ------------------------------------------------------------------------------------------ the runs


def experiment(req: Request) -> Experiment:
    """The comparison as an experiment of ``sim.experiment``: a ``list`` design of the scenarios, the
    replicates and seed, the overrides as base, the per-week tables kept. Its text is a valid experiment
    file (stored in the manifest, so ``python -m sim.experiment status NAME --out DIR`` reads it)."""
    import yaml

    from sim import experiment as ex

    doc = {"name": req.folder_name, "description": f"{PROG} {' '.join(req.scenarios)}", "base": req.base,
           "design": {"method": "list", "points": [{"scenario": s} for s in req.scenarios]},
           "replicates": req.replicates, "seed": req.seed, "outputs": "table"}
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return ex.parse(text, source=PROG, default_name=req.folder_name)


def draw_overrides(path: str | Path, n: int, overrides: Sequence[str] = ()) -> list[list[str]]:
    """The first ``n`` posterior draws of ``path`` (a random sample from the posterior, so any ``n`` of them are
    too) as Hydra overrides; too few draws or a file that cannot be read is a ``CompareError``. A draw's keys of
    rows of a regions table (``regions.table.<row>.<key>``) belong to the table the calibration was made with
    (``regions=`` in the provenance of the ``calibrated.yaml`` beside the draws): they are applied only when the
    runs use that table (``regions=`` in ``overrides``), never to the rows of another one."""
    import pandas as pd

    try:
        draws = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise CompareError(f"--posterior: {str(path)!r} cannot be read ({type(exc).__name__}); allowed: a "
                           "posterior.parquet written by python -m sim.calibrate") from None
    if len(draws) < n:
        raise CompareError(f"--replicates: {n} with --posterior {str(path)!r}; allowed: at most {len(draws)} (its "
                           "draws)")
    rows = [c for c in draws.columns if c.startswith("regions.table.")]
    if rows and calibrated_regions(path) != _chosen(overrides, "regions", "one"):
        draws = draws.drop(columns=rows)
    return [[f"{k}={float(v):.10g}" for k, v in row.items()] for row in draws.head(n).to_dict("records")]


def calibrated_regions(path: str | Path) -> str | None:
    """The regions table a posterior's draws were fitted with: ``regions=`` of the configuration in the provenance
    of the ``calibrated.yaml`` beside them (None if there is none)."""
    import yaml

    doc_path = Path(path).with_name("calibrated.yaml")
    if not doc_path.exists():
        return None
    doc = yaml.safe_load(doc_path.read_text(encoding="utf-8")) or {}
    configuration = (doc.get("provenance") or {}).get("configuration") or []
    return _chosen(configuration, "regions", None)


def _chosen(overrides: Sequence[str], group: str, default: str | None) -> str | None:
    """The option of config group ``group`` the overrides choose (the last one wins), else ``default``."""
    from sim.config import override_key

    chosen = default
    for o in overrides:
        if override_key(o) == group:
            chosen = o.partition("=")[2]
    return chosen


def experiments(req: Request) -> list[Experiment]:
    """The experiments of a comparison: one; with a posterior, one per draw k (its parameters added to the
    overrides, one replicate with replicate k's seed), so that replicate k of every scenario shares draw k and
    its random numbers, and intervals include parameter uncertainty as well as chance."""
    from dataclasses import replace

    from sim.experiment import replicate_seeds

    if req.posterior is None:
        return [experiment(req)]
    draws = draw_overrides(req.posterior, req.replicates, req.overrides)
    return [experiment(replace(req, overrides=(*req.overrides, *o), replicates=1, seed=seed, posterior=None,
                               name=f"draw{k:03d}"))
            for k, (o, seed) in enumerate(zip(draws, replicate_seeds(req.seed, req.replicates)))]


def check(req: Request) -> None:
    """Compose every scenario with the overrides and the engine (ConfigError, one line, naming the key) and
    check that the results folder can be written (OutputError), before anything runs."""
    from sim.config import compose_many
    from sim.experiment import hydra_value
    from sim.io import check_writable

    compose_many([[*req.base, f"scenario={hydra_value(s)}", "run.progress=off"] for s in req.scenarios])
    check_writable(req.out)


def compare(req: Request, *, jobs: int | None = None, progress: bool = False,
            force: bool = False) -> Comparison:
    """Run what is missing of the comparison ``req`` (``jobs`` processes, default the cores), then write the
    table and the figure into its folder; return them. Failed runs raise RuntimeError (one line each)."""
    import pandas as pd

    from sim import experiment as ex
    from sim.io import atomic_write

    check(req)
    if req.posterior is None:
        exp = experiment(req)
        report = ex.run(exp, out=req.out, jobs=jobs, progress=progress, force=force)
        if report.failed:
            raise RuntimeError("; ".join(f"run {rid} failed: {error}" for rid, error in report.failed))
        frame = ex.load(exp, out=req.out)
    else:  # one experiment per draw, under <folder>/draws; replicate k is draw k
        draws_out = req.out / req.folder_name / "draws"
        frames, reports = [], []
        for k, exp in enumerate(experiments(req)):
            rep = ex.run(exp, out=draws_out, jobs=jobs, progress=progress, force=force)
            if rep.failed:
                raise RuntimeError("; ".join(f"run {rid} failed: {error}" for rid, error in rep.failed))
            frames.append(ex.load(exp, out=draws_out).assign(replicate=k))
            reports.append(rep)
        frame = pd.concat(frames, ignore_index=True)
        report = ex.Report(req.folder_name, req.out / req.folder_name, sum(r.total for r in reports),
                           sum(r.done_before for r in reports), sum(r.ran for r in reports), [],
                           sum(r.seconds for r in reports))
    metrics = per_run(frame)
    table = summarise(metrics, req.scenarios, req.lang)
    folder = report.folder
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "comparison.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(folder / "comparison.parquet", lambda p: table.to_parquet(p, index=False))
    traj = trajectories(frame)
    plot(traj, req.scenarios, folder / "trajectories.png", req.lang, req.replicates)
    return Comparison(folder, table, metrics, report, traj)


def per_run(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (scenario, replicate, seed) with its metrics (``sim.paired.metrics_of``)."""
    import pandas as pd

    from sim.paired import metrics_of

    rows = [{"scenario": s, "replicate": r, "seed": seed, **metrics_of(g)}
            for (s, r, seed), g in frame.groupby(["scenario", "replicate", "seed"], sort=False)]
    df = pd.DataFrame(rows)
    limits = [c for c in df.columns if c.startswith("bound_")]
    df[limits] = df[limits].fillna(0.0)  # a limit a run does not report did not bind in it
    return df


# ------------------------------------------------------------------------------------------ the statistics


def labels(lang: str) -> dict[str, str]:
    """Outcome -> its label in ``lang`` (limits as ``weeks bound: <limit>``)."""
    from sim.paired import METRICS, PER_UNIT
    from sim.table import LIMIT_COLUMNS

    ja = lang == "ja"
    out = {m: (j if ja else en) for m, (en, j, _) in METRICS.items()}
    out.update({PER_UNIT_KEYS[u]: (j if ja else en) for u, (en, j) in PER_UNIT.items()})
    for c in LIMIT_COLUMNS:
        limit = c.removeprefix("bound_").replace("_", " ")
        out[c] = f"上限が効いた週の割合: {limit}" if ja else f"share of weeks bound: {limit}"
    return out


def summarise(metrics: pd.DataFrame, scenarios: Sequence[str], lang: str = "ja") -> pd.DataFrame:
    """The comparison table, one row per scenario and outcome (columns ``COLUMNS``).

    Outcomes: final fans, partners, members and local population, migrants and public cost over the run
    (``sim.paired.METRICS``), each capacity limit's share of weeks bound, and the cost per added partner and
    per added migrant against the first scenario. ``mean``, ``mean_lo``, ``mean_hi``: the mean over
    replicates and its 95% t-interval. ``diff``, ``diff_lo``, ``diff_hi``: the mean paired difference to the
    first scenario (replicates paired by their seed) and its t-interval; the first scenario's is 0.
    ``beats``: the share of replicates whose outcome is better than the first scenario's of the same seed
    (``better``: ``higher`` or ``lower``; ties do not count; none for limits). Cost per added unit: ``mean``
    is mean Δcost / mean Δunits with a paired bootstrap interval in ``mean_lo``, ``mean_hi``, given only
    when the Δunits interval lies above 0 (else NaN), as in docs/SCENARIOS.md.
    """
    import pandas as pd

    from sim.paired import METRICS, compare, limit_columns, paired_differences, t_interval

    first = scenarios[0]
    limits = limit_columns(metrics)
    columns = [*METRICS, *limits]
    names = labels(lang)
    per_unit = compare(metrics, list(scenarios), baseline=first).set_index("scenario")
    rows: list[dict[str, Any]] = []
    for name in scenarios:
        own = metrics.loc[metrics["scenario"] == name]
        d = paired_differences(metrics, name, first, columns)
        for c in columns:
            sign = BETTER.get(c, 0)
            mean, lo, hi = t_interval(own[c])
            diff, dlo, dhi = t_interval(d[c])
            rows.append({"scenario": name, "outcome": c, "label": names.get(c, c),
                         "better": {1: "higher", -1: "lower"}.get(sign, ""), "replicates": len(own), "mean": mean,
                         "mean_lo": lo, "mean_hi": hi, "diff": diff, "diff_lo": dlo, "diff_hi": dhi,
                         "beats": float((sign * d[c] > 0).mean()) if sign else math.nan})
        for unit, key in PER_UNIT_KEYS.items():
            r = per_unit.loc[name]
            short = f"per_{unit.removesuffix('s')}"
            rows.append({"scenario": name, "outcome": key, "label": names[key], "better": "lower",
                         "replicates": len(own), "mean": r[short], "mean_lo": r[f"{short}_lo"],
                         "mean_hi": r[f"{short}_hi"], "diff": math.nan, "diff_lo": math.nan, "diff_hi": math.nan,
                         "beats": math.nan})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def trajectories(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and week: the mean over replicates of each curve (``CURVES``: the ladder stages summed
    over regions, the public cost so far) and its 95% t-interval, as ``<curve>``, ``<curve>_lo``,
    ``<curve>_hi``; the interval is cut at 0, since every curve counts people or yen (a few replicates with
    rare migrants would otherwise draw a band below zero)."""
    import pandas as pd

    from sim.paired import t_interval

    runs = frame.groupby(["scenario", "replicate", "step"], sort=False)[
        ["indifferent", "fan", "partner", "migrant", "cost_yen"]].sum().reset_index()
    runs["cost"] = runs.groupby(["scenario", "replicate"], sort=False)["cost_yen"].cumsum()
    out = []
    for (scenario, step), g in runs.groupby(["scenario", "step"], sort=False):
        row: dict[str, Any] = {"scenario": scenario, "step": step}
        for c in CURVES:
            row[c], lo, row[f"{c}_hi"] = t_interval(g[c])
            row[f"{c}_lo"] = max(lo, 0.0)
        out.append(row)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------ the figure


TEXT = {
    "ja": {"year": "年", "people": "人", "cost": "公費（累計、百万円）", "migrant": "移住（累計）",
           "band": "平均と95%区間（{n}回の反復）"},
    "en": {"year": "year", "people": "people", "cost": "public cost so far (million yen)",
           "migrant": "migrants (cumulative)", "band": "mean and 95% interval over {n} replicates"},
}


def plot(traj: pd.DataFrame, scenarios: Sequence[str], path: str | Path, lang: str, replicates: int,
         names: dict[str, str] | None = None) -> Path:
    """PNG of each curve over the years, one line (mean) and band (95% interval) per scenario, written
    atomically; labels in ``lang``, with the Japanese font of ``sim.report``; ``names``: each scenario's
    display name (default: its name)."""
    from sim.params import STAGES, STAGES_JA
    from sim.report import pyplot, save_png

    plt = pyplot()

    text = TEXT[lang]
    titles = dict(zip(STAGES, STAGES_JA if lang == "ja" else STAGES))
    titles["migrant"] = text["migrant"]
    titles["cost"] = text["cost"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
    flat = list(axes.flat)
    for ax, curve in zip(flat, CURVES):
        scale = 1e6 if curve == "cost" else 1.0
        for i, name in enumerate(scenarios):
            t = traj.loc[traj["scenario"] == name]
            years = t["step"] / 52
            colour = f"C{i % 10}"
            ax.plot(years, t[curve] / scale, color=colour, label=(names or {}).get(name, name))
            ax.fill_between(years, t[f"{curve}_lo"] / scale, t[f"{curve}_hi"] / scale, color=colour, alpha=0.2,
                            linewidth=0)
        ax.set_title(titles[curve])
        ax.set_xlabel(text["year"])
        if curve != "cost":
            ax.set_ylabel(text["people"])
    handles, names = flat[0].get_legend_handles_labels()
    flat[-1].axis("off")
    flat[-1].legend(handles, names, loc="center", title=text["band"].format(n=replicates))
    return save_png(fig, path)


# ------------------------------------------------------------------------------------------ command line


def _num(x: float, yen: bool = False) -> str:
    if not math.isfinite(x):
        return "—"
    return f"¥{x:,.0f}" if yen else f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def _share(x: float) -> str:
    return f"{x:.0%}" if math.isfinite(x) else "—"


def lines(table: pd.DataFrame, lang: str) -> list[str]:
    """The table as text: per outcome, each scenario's mean [interval], then Δ [interval] and the share of
    replicates that beat the first (limits that never bound left out)."""
    words = {"ja": ("差", "勝率"), "en": ("diff", "beats")}[lang]
    out = []
    width = max(len(s) for s in table["scenario"])
    for key, g in table.groupby("outcome", sort=False):
        outcome = str(key)
        if outcome.startswith("bound_") and (g["mean"] == 0).all():
            continue
        out.append(f"{g['label'].iloc[0]} ({outcome})")
        fmt = _share if outcome.startswith("bound_") else partial(
            _num, yen=outcome == "cost_yen" or outcome.startswith("cost_per"))
        for r in g.to_dict("records"):
            cell = f"  {r['scenario']:<{width}}  {fmt(r['mean'])}"
            if math.isfinite(r["mean"]):
                cell += f" [{fmt(r['mean_lo'])}, {fmt(r['mean_hi'])}]"
            if math.isfinite(r["diff"]) and r["scenario"] != table["scenario"].iloc[0]:
                cell += f"  {words[0]} {fmt(r['diff'])} [{fmt(r['diff_lo'])}, {fmt(r['diff_hi'])}]"
                if math.isfinite(r["beats"]):
                    cell += f"  {words[1]} {r['beats']:.0%}"
            out.append(cell)
    return out


class _Parser(OneLineParser):
    error_type = CompareError


def _choice(choices: Callable[[], Sequence[str]]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices():
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: {', '.join(choices())}")
        return text
    return parse


def parser() -> argparse.ArgumentParser:
    """The command line."""
    from sim.config import options

    ap = _Parser(prog=PROG, allow_abbrev=False, description=(__doc__ or "").splitlines()[0])
    ap.add_argument("args", nargs="*", metavar="SCENARIO or key=value",
                    help="two or more scenarios (the first is the reference; a+b composes), then Hydra overrides "
                         "for every run")
    ap.add_argument("--replicates", type=whole(2), default=DEFAULT_REPLICATES,
                    help=f"paired replicates per scenario (>= 2; default {DEFAULT_REPLICATES})")
    ap.add_argument("--seed", type=whole(0), default=DEFAULT_SEED,
                    help=f"the seed the replicates' seeds derive from (default {DEFAULT_SEED})")
    ap.add_argument("--engine", type=_choice(lambda: options("engine")), default="vectorized",
                    help="engine (default vectorized)")
    ap.add_argument("--jobs", type=whole(1), default=None, help="processes (default: the cores)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help=f"results root (default {DEFAULT_OUT})")
    ap.add_argument("--name", default=None, help="the comparison's folder name (default: scenarios and a hash of "
                                                 "the settings)")
    ap.add_argument("--force", action="store_true", help="with --name: discard runs of other settings")
    ap.add_argument("--posterior", nargs="?", const=str(POSTERIOR), default=None, metavar="DRAWS",
                    help="run replicate k with posterior draw k (default file sim/calibration/posterior.parquet): "
                         "intervals include parameter uncertainty")
    ap.add_argument("--lang", type=_choice(lambda: LANGS), default="ja",
                    help="labels of the table and figure: ja (default) or en")
    ap.add_argument("--progress", type=_choice(lambda: ("auto", "on", "off")), default="auto",
                    help="progress bar on stderr: auto (when a terminal), on, off")
    return ap


def parse_args(argv: Sequence[str]) -> tuple[Request, argparse.Namespace]:
    """Check the command line without running anything; CompareError or ConfigError (one line) if wrong."""
    from sim.config import check_overrides, scenario_parts
    from sim.experiment import NAME_RE

    ns = parser().parse_intermixed_args(list(argv))
    scenarios = [a for a in ns.args if "=" not in a]
    overrides = [a for a in ns.args if "=" in a]
    if len(scenarios) < 2:
        raise CompareError(f"scenarios: {' '.join(scenarios)!r} is not allowed; allowed: two or more scenario "
                           "names (the first is the reference)")
    for name in scenarios:
        scenario_parts(name)
    twice = next((s for i, s in enumerate(scenarios) if s in scenarios[:i]), None)
    if twice is not None:
        raise CompareError(f"scenarios: {twice!r} is given twice; allowed: each scenario once")
    for text in overrides:
        key = text.lstrip("+~").split("=", 1)[0]
        if key in ARG_KEYS:
            raise CompareError(f"{key}: {text!r} is not allowed here (set by {ARG_KEYS[key]}); allowed: overrides "
                               "of other keys")
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            raise CompareError(f"{key}: {text!r} is not allowed; allowed: overrides of the model's keys")
    check_overrides(overrides)
    if ns.name is not None and not NAME_RE.fullmatch(ns.name):
        raise CompareError(f"--name: {ns.name!r} is not allowed; allowed: letters, digits, '_', '-' or '.', "
                           "starting with a letter or digit")
    posterior = Path(ns.posterior) if ns.posterior is not None else None
    if posterior is not None:
        check_overrides([*overrides, *draw_overrides(posterior, ns.replicates, overrides)[0]])
    req = Request(scenarios=tuple(scenarios), replicates=ns.replicates, seed=ns.seed, engine=ns.engine,
                  overrides=tuple(overrides), out=Path(ns.out), name=ns.name, lang=ns.lang, posterior=posterior)
    return req, ns


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; the exit status (0 done, 1 runs failed, 2 bad input, 130/143 interrupted)."""
    from sim import experiment as ex
    from sim.io import OutputError

    argv = sys.argv[1:] if argv is None else list(argv)
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, ex._on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        pass
    req = None
    try:
        req, ns = parse_args(argv)
        progress = ns.progress == "on" or (ns.progress == "auto" and sys.stderr.isatty())
        result = compare(req, jobs=ns.jobs, progress=progress, force=ns.force)
    except (ConfigError, OutputError) as exc:
        print(f"{PROG}: {ex._one_line(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ex.Terminated) as exc:
        term = isinstance(exc, ex.Terminated)
        kept = ""
        if req is not None:
            out = req.out if req.posterior is None else req.out / req.folder_name / "draws"
            states = [ex.status(e, out=out) for e in experiments(req)]
            done, missing = sum(len(st.done) for st in states), sum(len(st.missing) for st in states)
            kept = f": {done} of {done + missing} runs done and kept; run the same command again to resume"
        print(f"{PROG}: {'terminated' if term else 'interrupted'}{kept}", file=sys.stderr)
        return 128 + (signal.SIGTERM if term else signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    rep = result.report
    print("\n".join(lines(result.table, req.lang)))
    reused = f", {rep.done_before} reused" if rep.done_before else ""
    print(f"{len(req.scenarios)} scenarios x {req.replicates} replicates: {rep.ran} runs now{reused}; "
          f"{', '.join(FILES)} written")
    print(result.folder)
    return 0


if __name__ == "__main__":
    # Run the importable module's functions (not __main__'s), so that joblib's workers find them by name.
    from sim.compare import main as _entry

    sys.exit(_entry())
