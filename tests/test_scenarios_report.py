"""The scenario report (experiments.scenarios): paired statistics on hand-made metrics, planted pairing
bugs that the checks must catch, then small real runs and the command line."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments import scenarios as sc
from sim import paired

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--urban", "2000", "--steps", "30", "--engine", "vectorized", "--jobs", "1"]


# ------------------------------------------------------------------- statistics on hand-made metrics


def synthetic(seeds: int = 5, offset: float = 10.0) -> pd.DataFrame:
    """Baseline metrics that differ a lot between seeds, and a scenario equal to the baseline of the same
    seed plus ``offset`` (plus a small seed-dependent part for partners and cost): only pairing by seed
    gives the exact differences."""
    rows = []
    for s in range(1, seeds + 1):
        base = {m: 1000.0 * s * s for m in paired.METRICS}
        base.update(bound_roles=0.5, bound_hosts=0.05)
        rows.append({"scenario": "baseline", "seed": s, **base})
        scen = {m: v + offset for m, v in base.items() if m in paired.METRICS}
        scen["partners"] = base["partners"] + 2.0 + 0.1 * s
        scen["cost_yen"] = base["cost_yen"] + 1e6 * (2.0 + 0.1 * s)
        rows.append({"scenario": "more", "seed": s, **scen, "bound_roles": 0.87, "bound_hosts": 0.0})
    return pd.DataFrame(rows)


def check_exact_pairing() -> None:
    """What a correct pairing gives on ``synthetic``, in any row order."""
    m = synthetic()
    for frame in (m, m.sample(frac=1, random_state=3), m.iloc[::-1]):
        d = paired.paired_differences(frame, "more")
        assert list(d.index) == [1, 2, 3, 4, 5]
        assert (d["fans"] == 10.0).all()
        np.testing.assert_allclose(d["partners"], 2.0 + 0.1 * np.arange(1, 6))
        row = paired.compare(frame).iloc[0]
        assert row["fans"] == row["fans_lo"] == row["fans_hi"] == 10.0
        assert row["per_partner"] == pytest.approx(1e6)


def test_differences_pair_by_seed_in_any_row_order():
    check_exact_pairing()


def shifted_pairing(metrics, scenario, baseline="baseline", columns=tuple(paired.METRICS)):
    """Planted bug: the scenario's seed s paired with the baseline's seed s + 1."""
    a = paired._by_seed(metrics, scenario, columns)
    b = paired._by_seed(metrics, baseline, columns)
    return a - b.shift(-1).ffill()


def positional_pairing(metrics, scenario, baseline="baseline", columns=tuple(paired.METRICS)):
    """Planted bug: rows paired by their position in the frame, not by their seed."""
    a = metrics.loc[metrics["scenario"] == scenario, list(columns)].reset_index(drop=True)
    b = metrics.loc[metrics["scenario"] == baseline, list(columns)].reset_index(drop=True)
    seeds = metrics.loc[metrics["scenario"] == scenario, "seed"].to_numpy()
    return (a - b).set_axis(seeds).sort_index()


def unpaired(metrics, scenario, baseline="baseline", columns=tuple(paired.METRICS)):
    """Planted bug: each scenario run compared with the mean baseline (no pairing at all)."""
    a = paired._by_seed(metrics, scenario, columns)
    return a - paired._by_seed(metrics, baseline, columns).mean()


@pytest.mark.parametrize("bug", [shifted_pairing, positional_pairing, unpaired])
def test_planted_pairing_bugs_are_caught(monkeypatch, bug):
    monkeypatch.setattr(paired, "paired_differences", bug)  # where compare looks it up
    with pytest.raises(AssertionError):
        check_exact_pairing()


def test_pairing_refuses_different_or_repeated_seeds():
    m = synthetic()
    with pytest.raises(ValueError, match="different seeds"):
        paired.paired_differences(m[~((m["scenario"] == "more") & (m["seed"] == 2))], "more")
    with pytest.raises(ValueError, match="same seed"):
        paired.paired_differences(pd.concat([m, m.iloc[:1]]), "more")
    with pytest.raises(KeyError):
        paired.paired_differences(m, "absent")


def test_t_interval_is_students():
    mean, lo, hi = paired.t_interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (mean, lo, hi) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert paired.t_interval([0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0)
    assert paired.t_interval([4.0, 4.0]) == (4.0, 4.0, 4.0)
    with pytest.raises(ValueError):
        paired.t_interval([1.0])


def test_cost_ratio_is_ratio_of_means_with_a_reproducible_paired_bootstrap():
    cost, units = [100.0, 300.0, 200.0, 400.0], [1.0, 3.0, 2.0, 2.0]
    point, lo, hi = paired.cost_ratio(cost, units)
    assert point == pytest.approx(1000.0 / 8.0)
    assert lo <= point <= hi and lo < hi
    assert paired.cost_ratio(cost, units) == (point, lo, hi)  # fixed random state
    # a paired resample keeps each seed's pair: cost = 100 x units gives exactly 100 in every resample
    assert paired.cost_ratio([100.0, 300.0, 200.0], [1.0, 3.0, 2.0]) == pytest.approx((100.0, 100.0, 100.0))


def test_cost_per_unit_only_when_the_unit_difference_is_clearly_positive():
    m = synthetic()
    row = paired.compare(m).iloc[0]
    assert row["per_partner"] == pytest.approx(1e6) and row["per_partner_lo"] > 0
    # migrants +10 each seed, cost +2.x M: shown
    assert row["per_migrant"] == pytest.approx(1e6 * 2.3 / 10)
    noisy = m.copy()
    more = noisy["scenario"] == "more"
    noisy.loc[more, "partners"] = noisy.loc[noisy["scenario"] == "baseline", "partners"].to_numpy() + \
        np.array([5.0, -4.0, 3.0, -5.0, 2.0])  # Δ interval includes 0
    noisy.loc[more, "migrants"] -= 20.0  # Δ < 0
    row = paired.compare(noisy).iloc[0]
    assert math.isnan(row["per_partner"]) and math.isnan(row["per_migrant"])
    md = sc.render(paired.compare(noisy), noisy, sc.Settings(scenarios=("more",), seeds=5), sc.load_scenarios())
    table_row = next(line for line in md.splitlines() if line.startswith("| `more`"))
    cells = [c.strip() for c in table_row.strip("|").split(" | ")]
    assert cells[7:9] == ["—", "—"] and cells[6].startswith("**+¥230万**")


def test_limits_listed_from_ten_percent_of_weeks():
    row = paired.compare(synthetic()).iloc[0]
    assert row["bound_roles"] == pytest.approx(0.87) and row["bound_hosts"] == 0
    assert sc.limits_text(row.to_dict()) == "roles 87%"
    assert sc.limits_text({"bound_hosts": 0.099, "bound_openings": 0.1, "bound_roles": 1.0}) == \
        "roles 100%, openings 10%"
    assert sc.limits_text({"bound_hosts": 0.0}) == "none"


def test_metrics_of_reads_only_its_columns_and_every_bound_column():
    steps = [0, 0, 1, 1, 2, 2]
    table = pd.DataFrame({
        "step": steps, "region": [0, 1] * 3,
        "fan": [1, 2, 3, 4, 5, 6], "partner": [0, 0, 1, 0, 2, 1], "members": [1, 2, 4, 5, 7, 8],
        "new_migrants": [0, 0, 1, 2, 0, 3], "local_population": [10, 20, 10, 20, 11, 22],
        "cost_yen": [0.0, 0.0, 5.0, 5.0, 7.0, 7.0],
        "bound_roles": [True, True, False, True, False, False],  # week 1 in one region only: 1 of 2 weeks
        "bound_new_limit": [False, False, True, True, True, True],  # a limit a later model version adds
        "a_future_column": [9] * 6,
    })
    # totals() of this model version sums the columns it knows: give it every one of them
    from sim.table import COLUMNS

    for c, (dtype, _) in COLUMNS.items():
        if c not in table:
            table[c] = np.zeros(len(table), dtype=dtype)
    m = paired.metrics_of(table)
    assert m["fans"] == 11 and m["partners"] == 3 and m["members"] == 15 and m["local_population"] == 33
    assert m["migrants"] == 6 and m["cost_yen"] == 24.0
    assert m["bound_roles"] == 0.5 and m["bound_new_limit"] == 1.0
    assert "a_future_column" not in m


def test_number_formats():
    assert sc.fmt_count(1234.4) == "+1,234" and sc.fmt_count(-12.34) == "-12.3" and sc.fmt_count(0.0) == "0"
    assert sc.fmt_count(98765.0, signed=False) == "98,765"
    assert sc.fmt_count(60.0, digits=0) == "+60"
    assert sc._cell(-100.4, -140.2, -60.0) == "**-100** [-140, -60]"
    assert sc._cell(1.25, -0.5, 3.0) == "+1.2 [-0.5, +3.0]"
    assert sc._cell(-8.72e6, -8.72e6, -8.72e6, yen=True) == "**-¥872万** [-¥872万, -¥872万]"
    assert sc.fmt_yen(1.234e8) == "+¥1.23億" and sc.fmt_yen(-8.72e6) == "-¥872万"
    assert sc.fmt_yen(99_996_000.0, signed=False) == "¥1.00億" and sc.fmt_yen(5_000.0) == "+¥5,000"
    assert sc.fmt_yen(0.0) == "¥0" and sc.fmt_yen(3.2e12, signed=False) == "¥32,000.00億"


# ----------------------------------------------------------------------------------- small real runs


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    """Baseline and no_intervention, seeds 1-3, and a second, independent set of baseline runs
    (labelled ``again``, run in the opposite seed order)."""
    settings = sc.Settings(scenarios=("no_intervention",), seeds=3, urban=2000, steps=30)
    metrics = sc.collect(settings, jobs=1)
    again = [{**sc.run_one(settings, "baseline", s), "scenario": "again"} for s in (3, 2, 1)]
    return pd.concat([metrics, pd.DataFrame(again)], ignore_index=True)


def test_baseline_against_itself_differs_by_exactly_zero(real):
    row = paired.compare(real, ["again"]).iloc[0]
    for m in paired.METRICS:
        assert row[m] == row[f"{m}_lo"] == row[f"{m}_hi"] == 0.0, m
    assert math.isnan(row["per_partner"]) and math.isnan(row["per_migrant"])
    assert real.loc[real["scenario"] == "baseline", "fans"].nunique() > 1, "seeds must differ for this to test"


def test_no_intervention_costs_less_than_the_baseline(real):
    row = paired.compare(real, ["no_intervention"]).iloc[0]
    assert row["cost_yen_hi"] < 0
    assert (real.loc[real["scenario"] == "no_intervention", "cost_yen"] == 0).all()


def test_real_comparison_does_not_depend_on_row_order(real):
    shuffled = real.sample(frac=1, random_state=7).reset_index(drop=True)
    pd.testing.assert_frame_equal(paired.compare(real, ["no_intervention", "again"]),
                                  paired.compare(shuffled, ["no_intervention", "again"]))


# ------------------------------------------------------------------------------------- command line


def test_report_has_one_row_per_scenario_and_the_header(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report.md"
    argv = ["--seeds", "2", *SMALL, "--scenarios", "no_intervention,guides_high", "--out", str(out),
            "policy.targeting=0.3"]
    assert sc.main(argv) == 0
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()
    header = "| " + " | ".join(sc.header_row()) + " |"
    assert header in lines
    rows = [ln for ln in lines if ln.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == ["no_intervention", "guides_high"]
    assert all(r.count(" | ") == len(sc.header_row()) - 1 for r in rows)
    assert "python -m experiments.scenarios --seeds 2 --urban 2000 --steps 30 --engine vectorized " \
           f"--scenarios no_intervention,guides_high --out {out} policy.targeting=0.3" in text
    assert "partners パートナー" in text and "2 seeds" in text and "2,000 urban residents" in text
    metrics = pd.read_parquet(tmp_path / sc.METRICS_PATH)
    assert len(metrics) == 6 and set(metrics["seed"]) == {1, 2}
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["metrics.parquet", "report.md"]
    assert "written" in capsys.readouterr().out


BAD = [
    (["--scenarios", "nope"], "--scenarios", "nope"),
    (["--scenarios", "baseline,nope"], "--scenarios", "nope"),
    (["--seeds", "1"], "--seeds", "'1'"),
    (["--seeds", "x"], "--seeds", "'x'"),
    (["--seeds"], "--seeds", "expected one argument"),
    (["--urban", "0"], "--urban", "'0'"),
    (["--steps", "-5"], "--steps", "'-5'"),
    (["--engine", "warp"], "--engine", "'warp'"),
    (["--jobs", "0"], "--jobs", "'0'"),
    (["--bogus", "3"], "--bogus", "allowed"),
    (["seed=3"], "seed=3", "--seeds"),
    (["novalue"], "novalue", "key=value"),
    (["--out", "missing/folder/report.md"], "--out", "missing/folder"),
    (["--out", "."], "--out", "folder"),
    (["policy.targeting=7"], "policy.targeting", "7"),  # refused by the model's validation
    (["--steps", "100000000"], "--steps", "100000000"),  # refused by the model when the runs start
]


@pytest.mark.parametrize(("argv", "flag", "value"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, monkeypatch, capsys, argv, flag, value):
    monkeypatch.chdir(tmp_path)
    full = [*SMALL, "--seeds", "2", "--scenarios", "guides_high", "--out", "report.md", *argv]
    assert sc.main(full) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert flag in lines[0] and value in lines[0] and "allowed" in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []


def test_bad_argument_from_the_shell(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "experiments.scenarios", "--scenarios", "nope", "--out",
                           str(tmp_path / "r.md")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--scenarios" in proc.stderr and "nope" in proc.stderr
    assert list(tmp_path.iterdir()) == []
