"""The scenario comparison (sim.compare): table, paired differences, reuse of finished runs, bad input, and
the coverage of the paired t-interval on synthetic data with a known difference.

The command-line runs use the vectorized engine on the tiny population for 20 weeks, two scenarios and
three replicates, in two processes, under pytest's tmp_path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import compare as cmp
from sim.paired import METRICS, t_interval

pytestmark = pytest.mark.xdist_group("compare")  # one worker: the comparison is run once

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ARGS = ["baseline", "guides_high", "--replicates", "3", "--seed", "5", "--jobs", "2", "population=tiny",
        "run.steps=20"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.compare", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=ENV)


def files(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The comparison run once from the command line: (working directory, completed process, folder)."""
    cwd = tmp_path_factory.mktemp("compare")
    out = cli(*ARGS, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return cwd, out, cwd / out.stdout.strip().splitlines()[-1]


def test_writes_the_table_and_figure_and_prints_the_folder_last(first):
    cwd, out, folder = first
    assert folder.parent == cwd / "results" / "compare" and folder.is_dir()
    assert {"comparison.csv", "comparison.parquet", "trajectories.png", "manifest.json", "runs"} <= set(
        os.listdir(folder))
    assert len(list((folder / "runs").glob("*.parquet"))) == 2 * 3
    assert (folder / "trajectories.png").read_bytes()[:4] == b"\x89PNG"
    table = pd.read_parquet(folder / "comparison.parquet")
    assert tuple(table.columns) == cmp.COLUMNS
    assert pd.read_csv(folder / "comparison.csv").shape == table.shape
    outcomes = set(table["outcome"])
    assert {*METRICS, "cost_per_partner", "cost_per_migrant"} <= outcomes
    assert any(o.startswith("bound_") for o in outcomes)
    assert set(table["scenario"]) == {"baseline", "guides_high"} and (table["replicates"] == 3).all()
    assert "パートナー" in out.stdout  # Japanese labels by default


def test_the_first_scenario_against_itself_is_exactly_zero_and_never_beats_itself(first):
    table = pd.read_parquet(first[2] / "comparison.parquet")
    own = table[(table["scenario"] == "baseline") & table["outcome"].isin(list(METRICS))]
    assert (own[["diff", "diff_lo", "diff_hi"]] == 0).all().all()
    assert (own["beats"] == 0).all()
    assert own["cost_per_partner" == own["outcome"]].empty


def test_differences_are_paired_by_seed(first):
    """guides_high minus baseline, replicate by replicate, from the stored runs: the table's mean and share."""
    from sim import experiment as ex

    folder = first[2]
    runs = cmp.per_run(ex.load(folder.name, out=folder.parent))
    a = runs[runs["scenario"] == "guides_high"].set_index("seed")["partners"]
    b = runs[runs["scenario"] == "baseline"].set_index("seed")["partners"]
    assert sorted(a.index) == sorted(b.index) and len(a) == 3
    table = pd.read_parquet(folder / "comparison.parquet").set_index(["scenario", "outcome"])
    row = table.loc[("guides_high", "partners")]
    assert row["diff"] == pytest.approx((a - b).mean())
    assert row["beats"] == pytest.approx(((a - b) > 0).mean())
    assert row["mean_lo"] <= row["mean"] <= row["mean_hi"]


def test_a_second_run_with_the_same_settings_runs_nothing(first):
    cwd, _, folder = first
    before = files(folder / "runs")
    out = cli(*ARGS, "--lang", "en", cwd=cwd)
    assert out.returncode == 0, out.stderr
    assert "0 runs now, 6 reused" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == str(folder.relative_to(cwd))
    assert files(folder / "runs") == before  # not one run file rewritten
    assert "partners" in pd.read_csv(folder / "comparison.csv")["label"].tolist()  # English labels


@pytest.mark.parametrize("argv, start", [
    (["baseline", "nope"], "scenario: 'nope' is not an option of the scenario group"),
    (["baseline"], "scenarios: 'baseline' is not allowed"),
    (["baseline", "guides_high", "policy.nope=1"], "policy.nope: unknown key"),
    (["baseline", "guides_high", "seed=3"], "seed: 'seed=3' is not allowed here (set by --seed)"),
    (["baseline", "guides_high", "--replicates", "1"], "--replicates: '1' is not allowed"),
    (["baseline", "guides_high", "--lang", "fr"], "--lang: 'fr' is not allowed; allowed: ja, en"),
    (["baseline", "baseline"], "scenarios: 'baseline' is given twice"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys, argv, start):
    monkeypatch.chdir(tmp_path)
    assert cmp.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"{cmp.PROG}: {start}"), err
    assert list(tmp_path.iterdir()) == []


def test_bad_scenario_from_the_command_line_exits_2_with_one_line(tmp_path):
    out = cli("baseline", "nope", cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "'nope'" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_paired_t_interval_covers_a_known_difference_in_95_percent_of_cases():
    """2,000 synthetic comparisons of 5 paired replicates: scenario = reference + 3 + noise, where the
    reference varies a lot between replicates (shared by the pair, as common random numbers are) and the
    pair's own noise is normal. The interval of the paired differences must cover 3 in 95% of cases.
    Tolerance ±2 percentage points: the coverage of 2,000 independent intervals has a standard error of
    sqrt(0.95 * 0.05 / 2000) = 0.49 points, so ±2 points is about 4 standard errors (a correct interval
    fails this less than once in 10,000 seeds), while an interval of the wrong width (e.g. a normal
    quantile instead of Student's t for 4 degrees of freedom: about 88%) falls outside."""
    rng = np.random.default_rng(20240)
    trials, n, delta = 2000, 5, 3.0
    covered = 0
    for _ in range(trials):
        shared = rng.normal(100.0, 30.0, n)
        reference = shared + rng.normal(0.0, 1.0, n)
        scenario = shared + delta + rng.normal(0.0, 1.0, n)
        _, lo, hi = t_interval(scenario - reference)
        covered += lo <= delta <= hi
    assert abs(covered / trials - 0.95) <= 0.02, covered / trials


def test_summarise_on_hand_made_metrics():
    """The table from a hand-made metrics frame: means, paired differences and the share that beats."""
    metrics = pd.DataFrame({"scenario": ["a"] * 4 + ["b"] * 4, "seed": [1, 2, 3, 4] * 2,
                            **{m: [10.0, 20.0, 30.0, 40.0, 11.0, 22.0, 29.0, 44.0] for m in METRICS},
                            "bound_roles": [0.5] * 8})
    table = cmp.summarise(metrics, ["a", "b"], lang="en").set_index(["scenario", "outcome"])
    fans = table.loc[("b", "fans")]
    assert fans["mean"] == pytest.approx(26.5) and fans["diff"] == pytest.approx(1.5)
    assert fans["beats"] == pytest.approx(0.75)  # 3 of 4 replicates above a's of the same seed
    assert table.loc[("b", "cost_yen"), "beats"] == pytest.approx(0.25)  # less cost is better
    assert np.isnan(table.loc[("b", "bound_roles"), "beats"])  # a limit has no better side
    assert table.loc[("b", "fans"), "label"] == "fans"


def test_trajectory_bands_are_intervals_of_the_mean_cut_at_zero() -> None:
    import pandas as pd

    from sim.compare import trajectories

    rows = [{"scenario": "a", "replicate": r, "step": s, "indifferent": 10.0, "fan": 5.0 + r, "partner": 0.0,
             "migrant": 100.0 if (r == 2 and s == 1) else 0.0, "cost_yen": 1.0}
            for r in range(3) for s in range(2)]
    traj = trajectories(pd.DataFrame(rows)).set_index("step")
    assert traj.loc[1, "migrant"] == pytest.approx(100 / 3)
    assert traj.loc[1, "migrant_lo"] == 0.0 and traj.loc[1, "migrant_hi"] > 100  # t-interval of 3, cut at 0
    assert traj.loc[1, "fan_lo"] == pytest.approx(6 - 4.303 * 1 / 3 ** 0.5, abs=1e-3)  # t(0.975, 2) = 4.303
    assert traj.loc[1, "cost"] == 2.0  # public cost so far
