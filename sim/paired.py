"""Paired comparisons of scenarios run with the same seeds: per-run metrics, paired differences, intervals.

Two runs with the same seed share their random numbers (common random numbers), so the per-seed
difference between a scenario and a reference cancels much of the run-to-run noise. The functions
here are pure functions of a frame of per-run metrics (one row per scenario and seed; ``metrics_of``
gives a run's row): ``paired_differences`` pairs by the ``seed`` column (never by row position),
``t_interval`` gives a mean and its t-interval, ``cost_ratio`` the cost per added unit with a paired
bootstrap, and ``compare`` puts them together per scenario. Shared by ``experiments.scenarios``
(docs/SCENARIOS.md), ``sim.compare`` and ``sim.experiment``.

Only the per-week table's columns ``step``, ``fan``, ``partner``, ``members``, ``new_migrants``,
``local_population``, ``cost_yen``, ``key_host_burden``, ``donations_yen``, ``visitor_spending_yen``,
``volunteer_days`` and every ``bound_*`` column are read, so new columns in later model
versions change nothing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas and scipy are imported when needed
    import pandas as pd

BASELINE = "baseline"  # the default reference scenario
LEVEL = 0.95  # confidence level of every interval
N_RESAMPLES = 9999  # bootstrap resamples of the cost ratios
BOOTSTRAP_SEED = 20240  # fixed, so that the report is the same every time it is generated

# metric -> (English, Japanese, what it is); the order of the table's columns
METRICS: dict[str, tuple[str, str, str]] = {
    "fans": ("fans", "ファン", "fans at the final week"),
    "partners": ("partners", "パートナー", "partners at the final week"),
    "members": ("members", "登録会員", "registry members at the final week"),
    "migrants": ("migrants", "移住者", "moves over the whole run (sum of the weekly new migrants)"),
    "local_population": ("local population", "地域人口", "local residents at the final week"),
    "cost_yen": ("public cost", "公費", "public yen spent over the whole run"),
    "key_host_burden": ("host burden (key persons)", "受け入れ負担（キーパーソン）",
                        "the key persons' hosting burden (0-1), mean over the run's weeks and regions"),
    "donations_yen": ("donations", "寄附額", "yen donated over the whole run"),
    "visitor_spending_yen": ("visitor spending", "訪問者の消費額", "yen program participants spent in the regions "
                             "over the whole run"),
    "volunteer_days": ("volunteer days", "ボランティア日数", "days partners gave the regions over the whole run"),
}
# the outcomes of docs/SCENARIOS.md's table (the ladder, local population and cost; benefits and burden are in
# the planner's report)
TABLE_METRICS = ("fans", "partners", "members", "migrants", "local_population", "cost_yen")
PER_UNIT = {"partners": ("cost per added partner", "パートナー1人増当たり公費"),
            "migrants": ("cost per added migrant", "移住者1人増当たり公費")}
LIMIT_PREFIX = "bound_"


def metrics_of(table: pd.DataFrame) -> dict[str, float]:
    """One run's metrics from its per-week table: final fans, partners, members and local population, the
    run's migrants (sum of the weekly ``new_migrants``) and public cost (sum of ``cost_yen``), the key
    persons' mean hosting burden, the benefits (donations, visitor spending, volunteer days), and for each
    limit (every ``bound_*`` column) the share of weeks after step 0 in which it bound in any region."""
    from sim.table import totals

    tot = totals(table).sort_values("step")
    last = tot.iloc[-1]
    out = {"fans": float(last["fan"]), "partners": float(last["partner"]), "members": float(last["members"]),
           "migrants": float(tot["new_migrants"].sum()), "local_population": float(last["local_population"]),
           "cost_yen": float(tot["cost_yen"].sum()),
           "key_host_burden": float(table.loc[table["step"] > 0, "key_host_burden"].mean())
           if (table["step"] > 0).any() else 0.0,
           **{c: float(tot[c].sum()) for c in ("donations_yen", "visitor_spending_yen", "volunteer_days")}}
    limits = sorted(c for c in table.columns if c.startswith(LIMIT_PREFIX))
    weekly = table.loc[table["step"] > 0].groupby("step")[limits].any()  # any region, per week
    for c in limits:
        out[c] = float(weekly[c].mean()) if len(weekly) else 0.0
    return out


def _by_seed(metrics: pd.DataFrame, scenario: str, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of one scenario indexed by seed (sorted); each seed at most once."""
    rows = metrics.loc[metrics["scenario"] == scenario]
    if rows.empty:
        raise KeyError(f"no runs of scenario {scenario!r}")
    if rows["seed"].duplicated().any():
        raise ValueError(f"scenario {scenario!r} has several runs with the same seed")
    return rows.set_index("seed")[list(columns)].astype(float).sort_index()


def paired_differences(metrics: pd.DataFrame, scenario: str, baseline: str = BASELINE,
                       columns: Sequence[str] = tuple(METRICS)) -> pd.DataFrame:
    """Scenario minus baseline for each seed, paired by the ``seed`` column (index: seed, sorted).

    Pairing by seed, not by row order, is what makes the differences paired: the two runs of a seed share
    their random numbers. Both must have been run with the same seeds (else ValueError).
    """
    a, b = _by_seed(metrics, scenario, columns), _by_seed(metrics, baseline, columns)
    if not a.index.equals(b.index):
        raise ValueError(f"{scenario!r} and {baseline!r} were run with different seeds: "
                         f"{list(a.index)} and {list(b.index)}")
    return a - b


def t_interval(values: Iterable[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of ``values`` and its two-sided t-interval (Student's t with n - 1 degrees of freedom).

    Values that are all equal give the interval [mean, mean]."""
    from scipy import stats

    x = np.asarray(list(values), dtype=float)
    if x.size < 2:
        raise ValueError(f"a t-interval needs at least 2 values, got {x.size}")
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def cost_ratio(d_cost: Iterable[float], d_units: Iterable[float], level: float = LEVEL,
               n_resamples: int = N_RESAMPLES, random_state: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """Cost per added unit, mean Δcost / mean Δunits, and its percentile bootstrap interval.

    The bootstrap resamples seeds (``paired``: a seed's Δcost and Δunits stay together) with a fixed
    random state. Meaningful only when Δunits is clearly positive (``compare`` checks that). A resample
    whose mean Δunits is not above 0 adds no unit: its ratio is unbounded (±inf, the sign of its Δcost;
    0 if it costs nothing extra either), so an interval bound can be infinite."""
    from scipy import stats

    c, u = np.asarray(list(d_cost), dtype=float), np.asarray(list(d_units), dtype=float)
    if c.shape != u.shape or c.size < 2:
        raise ValueError(f"cost_ratio needs two equally long series of at least 2 values, got {c.size}, {u.size}")

    def ratio(cost: np.ndarray, units: np.ndarray, axis: int = -1) -> np.ndarray:
        mc, mu = np.mean(cost, axis=axis), np.mean(units, axis=axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(mu > 0, mc / mu, np.where(mc == 0, 0.0, np.copysign(np.inf, mc)))

    point = float(ratio(c, u))
    alpha = (1 - level) / 2
    with warnings.catch_warnings():  # an interpolation between two infinite resamples: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap((c, u), ratio, n_resamples=n_resamples, paired=True, vectorized=True,
                              confidence_level=level, method="percentile",
                              random_state=np.random.default_rng(random_state))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(lo) or math.isnan(hi):  # the percentile fell among infinite resamples: take it unblended
        q = np.quantile(res.bootstrap_distribution, [alpha, 1 - alpha], method="inverted_cdf")
        lo, hi = float(q[0]), float(q[1])
    return point, lo, hi


def limit_columns(metrics: pd.DataFrame) -> list[str]:
    """The limit columns of a metrics frame (every ``bound_*``), sorted."""
    return sorted(c for c in metrics.columns if c.startswith(LIMIT_PREFIX))


def compare(metrics: pd.DataFrame, scenarios: Sequence[str] | None = None, baseline: str = BASELINE,
            level: float = LEVEL, random_state: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """One row per scenario (default: every scenario in ``metrics`` but the baseline, in order).

    Columns: ``scenario``, ``seeds``; for each metric ``<m>`` the mean paired difference ``<m>`` and its
    t-interval ``<m>_lo``, ``<m>_hi``; ``per_partner`` and ``per_migrant`` (mean Δcost / mean Δunits, with
    ``_lo`` and ``_hi`` from the paired bootstrap; NaN when the Δunits interval does not lie above 0, where
    a cost per added unit means nothing); and for each limit its mean share of weeks bound in the scenario.
    """
    import pandas as pd

    if scenarios is None:
        scenarios = [s for s in dict.fromkeys(metrics["scenario"]) if s != baseline]
    limits = limit_columns(metrics)
    rows = []
    for name in scenarios:
        d = paired_differences(metrics, name, baseline)
        row: dict[str, Any] = {"scenario": name, "seeds": len(d)}
        for m in METRICS:
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = t_interval(d[m], level)
        for unit in PER_UNIT:
            key = f"per_{unit.removesuffix('s')}"
            if row[f"{unit}_lo"] > 0:
                row[key], row[f"{key}_lo"], row[f"{key}_hi"] = cost_ratio(d["cost_yen"], d[unit], level,
                                                                           random_state=random_state)
            else:
                row[key] = row[f"{key}_lo"] = row[f"{key}_hi"] = math.nan
        own = metrics.loc[metrics["scenario"] == name, limits]
        row.update({c: float(own[c].mean()) for c in limits})
        rows.append(row)
    return pd.DataFrame(rows)


def levels(metrics: pd.DataFrame, scenario: str = BASELINE) -> dict[str, float]:
    """Mean over seeds of every metric and limit share of one scenario."""
    own = metrics.loc[metrics["scenario"] == scenario]
    return {c: float(own[c].mean()) for c in [*METRICS, *limit_columns(metrics)]}
