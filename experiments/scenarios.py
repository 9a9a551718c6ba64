"""Every named scenario against the baseline with paired seeds: writes docs/SCENARIOS.md.

Usage::

    python -m experiments.scenarios [--seeds 10] [--urban 100000] [--steps 520] [--engine vectorized]
        [--jobs N] [--out docs/SCENARIOS.md] [--scenarios a,b,...] [extra Hydra overrides ...]

Design. For each seed s = 1..S the baseline and every scenario run with the same seed. The model draws
all its random numbers from generators spawned from the seed, so a scenario and the baseline of the same
seed share their random numbers (common random numbers) and the per-seed difference cancels much of the
run-to-run noise: a paired design, analysed with paired differences. The baseline runs once per seed and
serves every scenario. Runs are spread over processes with joblib.

The statistics are pure functions of a DataFrame of per-seed metrics (one row per scenario and seed,
``metrics_of`` gives a run's row): ``paired_differences`` pairs scenario and baseline by the seed column
(never by row position), ``t_interval`` gives the mean difference and its t-interval, ``cost_ratio`` the
cost per added unit with a paired percentile bootstrap, and ``compare`` puts them together per scenario.
``render`` turns that into the markdown. They are tested on hand-made frames without running the model.

Only the public API of ``sim`` is used (``simulate``, ``sim.table.totals``, ``sim.config.ConfigError``)
and only the columns ``step``, ``fan``, ``partner``, ``members``, ``new_migrants``, ``local_population``,
``cost_yen`` and every ``bound_*`` column are read, so new columns in later model versions change nothing.

Bad arguments stop with one line on stderr (the flag, the value, what is allowed), exit status 2 and no
file written. Both output files are written atomically (temporary file beside the target, then renamed).
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sim.paired import LEVEL, LIMIT_PREFIX, METRICS, PER_UNIT, TABLE_METRICS, compare, levels, metrics_of
from sim.parallel import cores, spread

if TYPE_CHECKING:  # pandas, scipy and the model are imported when needed: bad arguments are refused at once
    import pandas as pd

PROG = "python -m experiments.scenarios"
ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "conf"
BASELINE = "baseline"
DEFAULT_OUT = Path("docs/SCENARIOS.md")
METRICS_PATH = Path("results/scenarios/metrics.parquet")  # relative to the working directory, like results/runs

MIN_SHARE = 0.10  # a limit is listed when it bound in at least this share of weeks
KEY_COLUMNS = ("scenario", "seed")
# keys the flags set: an extra override may not set them as well
FLAG_KEYS = {"scenario": "--scenarios", "seed": "--seeds", "engine": "--engine", "population.urban": "--urban",
             "run.steps": "--steps"}


class BadArgument(Exception):
    """A command-line value that is not allowed: the message is one line naming the flag, the value and what
    is allowed."""


# ------------------------------------------------------------------------------------------ the scenarios


@dataclass(frozen=True)
class Scenario:
    """A named scenario and its header (``sim.scenarios.describe``): display names, descriptions, source."""

    name: str
    name_en: str
    name_ja: str
    en: str
    ja: str
    source: str


def load_scenarios() -> dict[str, Scenario]:
    """Every scenario of the catalogue (``sim.scenarios``) by name, sorted."""
    from sim.scenarios import describe, list_scenarios

    return {name: Scenario(name, **describe(name)) for name in sorted(list_scenarios())}


def engines(folder: Path = CONF_DIR / "engine") -> tuple[str, ...]:
    """The engines the configuration offers (file stems of conf/engine)."""
    return tuple(sorted(p.stem for p in folder.glob("*.yaml")))


# -------------------------------------------------------------------------------------------- the runs


@dataclass(frozen=True)
class Settings:
    """What a report is made of: which scenarios, how many seeds, population, horizon, engine, overrides."""

    scenarios: tuple[str, ...]
    seeds: int = 10
    urban: int = 100_000
    steps: int = 520
    engine: str = "vectorized"
    overrides: tuple[str, ...] = ()
    out: Path = DEFAULT_OUT
    default_scenarios: bool = field(default=True, compare=False)  # no --scenarios given: all of them

    def overrides_for(self, scenario: str, seed: int) -> list[str]:
        """The Hydra overrides of one run."""
        return [f"scenario={scenario}", f"engine={self.engine}", f"population.urban={self.urban}",
                f"run.steps={self.steps}", f"seed={seed}", "run.progress=off", *self.overrides]

    def runs(self) -> list[tuple[str, int]]:
        """(scenario, seed) of every run: the baseline once per seed, then each other scenario per seed."""
        names = [BASELINE] + [s for s in self.scenarios if s != BASELINE]
        return [(name, seed) for seed in range(1, self.seeds + 1) for name in names]

    def command(self) -> str:
        """The command that regenerates the report (the number of jobs does not change it)."""
        args = ["python", "-m", "experiments.scenarios", "--seeds", str(self.seeds), "--urban", str(self.urban),
                "--steps", str(self.steps), "--engine", self.engine]
        if not self.default_scenarios:
            args += ["--scenarios", ",".join(self.scenarios)]
        if self.out != DEFAULT_OUT:
            args += ["--out", str(self.out)]
        return shlex.join(args + list(self.overrides))


def run_one(settings: Settings, scenario: str, seed: int) -> dict[str, Any]:
    """Run one scenario with one seed; its row of the metrics frame."""
    from sim import simulate

    res = simulate(overrides=settings.overrides_for(scenario, seed))
    return {"scenario": scenario, "seed": seed, **metrics_of(res.table)}


def collect(settings: Settings, jobs: int = 1, progress: bool = False) -> pd.DataFrame:
    """Every run of ``settings`` in ``jobs`` processes (1: in this one); the metrics frame, one row per
    scenario and seed, ordered by scenario (as requested, baseline first) and seed."""
    import pandas as pd
    from tqdm import tqdm

    runs = settings.runs()
    rows: list[dict[str, Any]] = []
    with tqdm(total=len(runs), unit="run", file=sys.stderr, disable=not progress, leave=False) as bar:
        for row in spread(run_one, [(settings, scenario, seed) for scenario, seed in runs], jobs):
            rows.append(row)
            bar.update()
    order = {name: i for i, name in enumerate(dict.fromkeys([BASELINE, *settings.scenarios]))}
    df = pd.DataFrame(rows)
    df = df.sort_values(["scenario", "seed"], key=lambda c: c.map(order) if c.name == "scenario" else c)
    limits = sorted(c for c in df.columns if c.startswith(LIMIT_PREFIX))
    df[limits] = df[limits].fillna(0.0)  # a limit some runs do not report did not bind in them
    return df[[*KEY_COLUMNS, *METRICS, *limits]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------- the statistics




def fmt_count(x: float, signed: bool = True, digits: int | None = None) -> str:
    """A count with thousands separators and ``digits`` decimals (default: none from 100 on, one below,
    for means over seeds)."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "∞" if x > 0 else "-∞"
    if digits is None:
        digits = 0 if abs(x) >= 100 else 1
    return f"{x:{'+' if signed else ''},.{digits}f}"


def fmt_yen(x: float, signed: bool = True) -> str:
    """Yen as ¥ with 億 (10^8, two decimals) from ¥1億 on, 万 (10^4, whole) from ¥1万 on, plain below."""
    if x == 0:
        return "¥0"
    if not math.isfinite(x):
        return "∞" if x > 0 else "-∞"
    sign = "-" if x < 0 else "+" if signed else ""
    a = abs(x)
    if round(a / 1e4) >= 10_000:
        body = f"{a / 1e8:,.2f}億"
    elif round(a / 1e4) >= 1:
        body = f"{a / 1e4:,.0f}万"
    else:
        body = f"{a:,.0f}"
    return f"{sign}¥{body}"


def _cell(value: float, lo: float, hi: float, yen: bool = False) -> str:
    """``value [lo, hi]``, the value in bold when the interval excludes 0; counts with the same number of
    decimals in all three (none if any of them reaches 100)."""
    digits = 0 if max(abs(value), abs(lo), abs(hi)) >= 100 else 1
    fmt: Callable[[float], str] = fmt_yen if yen else functools.partial(fmt_count, digits=digits)
    shown = fmt(value)
    if lo > 0 or hi < 0:
        shown = f"**{shown}**"
    return f"{shown} [{fmt(lo)}, {fmt(hi)}]"


def limits_text(shares: Mapping[str, float], min_share: float = MIN_SHARE) -> str:
    """The limits bound in at least ``min_share`` of weeks, most frequent first: ``roles 87%, hosts 12%``."""
    bound = sorted(((v, k) for k, v in shares.items() if k.startswith(LIMIT_PREFIX) and v >= min_share),
                   key=lambda t: (-t[0], t[1]))
    if not bound:
        return "none"
    return ", ".join(f"{k.removeprefix(LIMIT_PREFIX).replace('_', ' ')} {v:.0%}" for v, k in bound)


def header_row() -> list[str]:
    """The table's column headers, English and Japanese."""
    return (["scenario シナリオ"] + [f"Δ {METRICS[m][0]} {METRICS[m][1]}" for m in TABLE_METRICS]
            + [f"{en} {ja}" for en, ja in PER_UNIT.values()] + ["limits that bound 制約となった上限"])


def table_rows(comparison: pd.DataFrame, scenarios: Mapping[str, Scenario]) -> list[list[str]]:
    """One list of cells per scenario of ``comparison``."""
    rows = []
    for r in comparison.to_dict("records"):
        sc = scenarios.get(r["scenario"])
        cells = [f"`{r['scenario']}` {sc.name_ja}" if sc else f"`{r['scenario']}`"]
        for m in TABLE_METRICS:
            cells.append(_cell(r[m], r[f"{m}_lo"], r[f"{m}_hi"], yen=m == "cost_yen"))
        for unit in PER_UNIT:
            key = f"per_{unit.removesuffix('s')}"
            if math.isnan(r[key]):
                cells.append("—")
            else:
                cells.append(f"{fmt_yen(r[key], signed=False)} [{fmt_yen(r[key + '_lo'], signed=False)}, "
                             f"{fmt_yen(r[key + '_hi'], signed=False)}]")
        cells.append(limits_text({str(k): v for k, v in r.items()}))
        rows.append(cells)
    return rows


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    align = [":---"] + ["---:"] * (len(header) - 2) + [":---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(comparison: pd.DataFrame, metrics: pd.DataFrame, settings: Settings,
           scenarios: Mapping[str, Scenario]) -> str:
    """docs/SCENARIOS.md: how it was made, how to read it, the baseline's levels, the table, the legend.

    Nothing in it depends on the date, the machine or the number of jobs, so that regenerating it with the
    same command gives the same file."""
    s = settings
    base = levels(metrics, BASELINE)
    extra = (f"; extra overrides: `{' '.join(s.overrides)}`" if s.overrides else "")
    lvl = ", ".join(f"{en} {fmt_yen(base[m], signed=False) if m == 'cost_yen' else fmt_count(base[m], False)}"
                    for m, en in ((m, METRICS[m][0]) for m in TABLE_METRICS))
    pct = f"{LEVEL:.0%}"
    fixed = (metrics.groupby("scenario")["cost_yen"].nunique() == 1).all()
    fixed_cost = (" Public cost is the same for every seed of a scenario here (it follows the calendar and "
                  "the paid guides, not chance), so its intervals have no width." if fixed else "")
    parts = [
        "# Scenarios against the baseline — シナリオ比較",
        "",
        "Generated by the command below (`make scenarios` runs it with the defaults); do not edit by hand.",
        "",
        "```sh",
        s.command(),
        "```",
        "",
        f"Settings: {s.seeds} seeds (1–{s.seeds}) "
        f"per scenario, {s.urban:,} urban residents, {s.steps:,} weeks ({s.steps / 52:.1f} years), engine "
        f"`{s.engine}`{extra}. The per-seed metrics of every run are written to `{METRICS_PATH}`.",
        "",
        "## How to read this",
        "",
        f"Every scenario and the baseline are run with the same seeds 1–{s.seeds}; a seed's two runs share their "
        "random numbers (common random numbers), so each cell is the mean over seeds of the paired difference "
        f"scenario − baseline (Δ), followed by its {pct} t-interval [low, high] over seeds. **Bold**: the "
        "interval excludes 0, the difference is more than run-to-run noise. Fans, partners, members and local "
        "population are counts at the final week, migrants the moves over the whole run, public cost the yen "
        "spent over the whole run (¥, in 万 = 10,000 and 億 = 100,000,000). Cost per added partner (migrant) is "
        f"mean Δcost ÷ mean Δpartners (Δmigrants) with a {pct} percentile bootstrap interval over seeds (seeds "
        "resampled with their pair kept together, fixed random state); — means the Δpartners (Δmigrants) "
        "interval includes 0 or Δ ≤ 0, where a cost per added unit has no meaning; ¥0 means the gain came "
        "at no added public cost, ∞ that some resamples added no unit. Limits that bound: the "
        f"capacities that bound (more people wanted them than they allowed, in any region) in at least "
        f"{MIN_SHARE:.0%} of the scenario's weeks, with that share (mean over seeds). An outcome held at such a "
        "limit is set by the capacity, not by the policy alone. With many cells at 95% each, about one "
        "interval in twenty excludes 0 by chance where the scenario changes nothing: a lone bold cell "
        "near 0 is weak evidence." + fixed_cost,
        "",
        f"Baseline levels (mean over seeds): {lvl}; limits that bound: {limits_text(base)}.",
        "",
        _markdown_table(header_row(), table_rows(comparison, scenarios)),
        "",
        "— : the Δ interval of partners (migrants) includes 0 or Δ ≤ 0: no cost per added unit.",
        "",
        "## Scenarios",
        "",
    ]
    for name in dict.fromkeys([BASELINE, *comparison["scenario"]]):
        sc = scenarios.get(name)
        if sc is not None:
            parts.append(f"- `{name}` {sc.name_en} / {sc.name_ja} — {sc.en} / {sc.ja} — Source: {sc.source}")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------- command line


@dataclass(frozen=True)
class Options:
    """A parsed command line."""

    settings: Settings
    jobs: int


class _Parser(argparse.ArgumentParser):
    """argparse that raises BadArgument instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise BadArgument(message)


def _int(flag: str, text: str, minimum: int) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()) or int(text) < minimum:
        raise BadArgument(f"{flag}: {text!r} not allowed; allowed: a whole number >= {minimum}")
    return int(text)


ALLOWED = {"--seeds": "a whole number >= 2", "--urban": "a whole number >= 1", "--steps": "a whole number >= 1",
           "--engine": "one of the engines", "--jobs": "a whole number >= 1", "--out": "a file path",
           "--scenarios": "scenario names separated by commas"}


def parse_args(argv: Sequence[str]) -> Options:
    """Check the command line (flags and extra overrides) without running anything; BadArgument if wrong."""
    ap = _Parser(prog=PROG, allow_abbrev=False, description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seeds", default="10", help="seeds 1..S per scenario (>= 2; default 10)")
    ap.add_argument("--urban", default="100000", help="urban residents (population.urban; default 100000)")
    ap.add_argument("--steps", default="520", help="weeks (run.steps; default 520)")
    ap.add_argument("--engine", default="vectorized", help="engine (default vectorized)")
    ap.add_argument("--jobs", default=str(cores()), help="processes (default: the number of cores)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help=f"markdown report (default {DEFAULT_OUT})")
    ap.add_argument("--scenarios", default=None, help="comma-separated scenario names (default: all)")
    try:
        ns, rest = ap.parse_known_args(list(argv))
    except BadArgument as exc:  # argparse's own complaint, e.g. a flag without its value
        text = str(exc)
        m = re.match(r"argument (--[a-z]+): (.*)", text)
        if m:
            raise BadArgument(f"{m.group(1)}: {m.group(2)}; allowed: {ALLOWED.get(m.group(1), '')}") from None
        raise
    known = load_scenarios()
    for item in rest:
        if item.startswith("-"):
            raise BadArgument(f"unknown flag {item!r}; allowed: {', '.join(ALLOWED)} and key=value overrides")
        key = item.lstrip("+~").split("=", 1)[0]
        if "=" not in item or not key:
            raise BadArgument(f"override {item!r} not allowed; allowed: key=value (Hydra syntax)")
        if key in FLAG_KEYS:
            raise BadArgument(f"override {item!r} not allowed: {key} is set by {FLAG_KEYS[key]}; allowed: "
                              "overrides of other keys")
    seeds = _int("--seeds", ns.seeds, 2)
    urban = _int("--urban", ns.urban, 1)
    steps = _int("--steps", ns.steps, 1)
    jobs = _int("--jobs", ns.jobs, 1)
    if ns.engine not in engines():
        raise BadArgument(f"--engine: {ns.engine!r} not allowed; allowed: {', '.join(engines())}")
    if ns.scenarios is None:
        names = tuple(n for n in known if n != BASELINE)
    else:
        names = tuple(dict.fromkeys(n.strip() for n in ns.scenarios.split(",")))
        bad = [n for n in names if n not in known]
        if bad or not names:
            raise BadArgument(f"--scenarios: {bad[0] if bad else ns.scenarios!r} not allowed; allowed: "
                              f"comma-separated names from {', '.join(known)}")
    out = Path(ns.out)
    settings = Settings(scenarios=names, seeds=seeds, urban=urban, steps=steps, engine=ns.engine,
                        overrides=tuple(rest), out=out, default_scenarios=ns.scenarios is None)
    return Options(settings=settings, jobs=jobs)


def check_writable(path: Path, flag: str | None = None) -> None:
    """BadArgument unless ``path`` can be written: not a folder, and its nearest existing ancestor a
    folder we may write in (``flag``'s target must have an existing parent folder)."""
    name = f"{flag}: {str(path)!r}" if flag else f"output {str(path)!r}"
    if path.is_dir():
        raise BadArgument(f"{name} not allowed: it is a folder; allowed: a file path")
    parent = path.parent
    if flag is not None and not parent.is_dir():
        raise BadArgument(f"{name} not allowed: folder {str(parent)!r} does not exist; allowed: a file in an "
                          "existing folder")
    from sim.io import OutputError
    from sim.io import check_writable as check_folder

    try:
        check_folder(parent)
    except OutputError as exc:
        raise BadArgument(f"{name} not allowed: {exc}") from None


def check_model(settings: Settings) -> None:
    """Let the model validate the settings and overrides with a run of one week (nothing written);
    BadArgument naming the flag when it refuses a value a flag set. The horizon itself is checked when
    the runs start (``main`` turns a refusal there into the same one line, still before writing)."""
    from sim import simulate
    from sim.config import ConfigError

    try:
        simulate(overrides=settings.overrides_for(BASELINE, 1) + ["run.steps=1"])
    except ConfigError as exc:
        raise BadArgument(_flag_message(exc)) from None


def _flag_message(exc: Exception) -> str:
    """A model's one-line refusal, with the key a flag sets named as that flag."""
    text = " ".join(str(exc).split())
    for key, flag in FLAG_KEYS.items():
        if text.startswith(f"{key}:") or text.startswith(f"{key}="):
            return f"{flag} ({key}){text[len(key):]}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison and write the report and the per-seed metrics; the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        opts = parse_args(argv)
        settings = opts.settings
        check_writable(settings.out, "--out")
        check_writable(METRICS_PATH)
        check_model(settings)
    except BadArgument as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    from sim.config import ConfigError

    t0 = time.perf_counter()
    runs = len(settings.runs())
    try:
        metrics = collect(settings, jobs=opts.jobs, progress=sys.stderr.isatty())
    except ConfigError as exc:  # a scenario refused together with the overrides: still nothing written
        print(f"{PROG}: {_flag_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing written", file=sys.stderr)
        return 130
    from sim.io import atomic_write, atomic_write_text

    comparison = compare(metrics, settings.scenarios)
    text = render(comparison, metrics, settings, load_scenarios())
    try:
        atomic_write(METRICS_PATH, lambda p: metrics.to_parquet(p, index=False))
        atomic_write_text(settings.out, text)
    except OSError as exc:
        print(f"{PROG}: cannot write {exc.filename or settings.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{settings.out} and {METRICS_PATH} written ({runs} runs in {min(opts.jobs, runs)} processes, "
          f"{time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    # Run the functions of the importable module (not of __main__), so that joblib's workers find them.
    from experiments.scenarios import main as _main

    sys.exit(_main())
