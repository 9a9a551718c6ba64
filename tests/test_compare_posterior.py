"""Scenarios over posterior draws (sim.compare --posterior): replicate k of every scenario runs with draw k's
parameters and replicate k's seed, so the intervals hold parameter uncertainty and the differences stay paired.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim import compare as cmp
from sim import simulate
from sim.experiment import replicate_seeds
from sim.paired import metrics_of

pytestmark = pytest.mark.xdist_group("compare")

OVERRIDES = ("population=tiny", "run.steps=30")


def test_each_replicate_runs_with_its_draw_and_seed(tmp_path):
    """Three draws far apart: replicate k's fans equal a run made by hand with draw k and replicate k's seed,
    and the draws' spread shows in the interval (much wider than over seeds alone)."""
    draws = pd.DataFrame({"behaviour.broadcast_hazard": [0.0001, 0.003, 0.03], "population.roots_share": [0.05, 0.1,
                                                                                                         0.2]})
    path = tmp_path / "posterior.parquet"
    draws.to_parquet(path, index=False)
    req = cmp.Request(("baseline", "guides_high"), replicates=3, seed=4, overrides=OVERRIDES, out=tmp_path / "out",
                      posterior=path)
    result = cmp.compare(req, jobs=1)
    seeds = replicate_seeds(4, 3)
    for k, row in draws.iterrows():
        m = result.metrics[(result.metrics["scenario"] == "guides_high") & (result.metrics["replicate"] == k)]
        ov = [f"{key}={value:.10g}" for key, value in row.items()]
        # the draw's experiment has one replicate: its seed is child 0 of replicate k's seed
        own = replicate_seeds(seeds[k], 1)[0]
        by_hand = simulate(["scenario=guides_high", "engine=vectorized", *OVERRIDES, *ov, f"seed={own}",
                            "run.plot=false"])
        assert int(m["seed"].iloc[0]) == own
        assert float(m["fans"].iloc[0]) == metrics_of(by_hand.table)["fans"]
    fans = result.metrics[result.metrics["scenario"] == "baseline"]["fans"]
    assert fans.max() > 5 * fans.min()  # the draws differ, and so do the runs
    assert (result.folder / "comparison.csv").exists()
    again = cmp.compare(req, jobs=1)  # finished draws are reused
    assert again.report.ran == 0 and again.report.done_before == 6


def test_too_few_draws_is_one_line(tmp_path):
    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"behaviour.broadcast_hazard": [0.001, 0.002]}).to_parquet(path, index=False)
    with pytest.raises(cmp.CompareError, match=r"--replicates: 3 .*allowed: at most 2"):
        cmp.parse_args(["baseline", "guides_high", "--replicates", "3", "--posterior", str(path)])
    with pytest.raises(cmp.CompareError, match="--posterior"):
        cmp.parse_args(["baseline", "guides_high", "--posterior", str(tmp_path / "none.parquet")])


def test_rows_of_the_calibrations_regions_table_apply_only_to_that_table(tmp_path):
    """A posterior fitted with regions=japan holds the attraction of japan's rows: another table's rows (a town
    of one's own) must not receive them, while the behaviour parameters apply everywhere."""
    import yaml

    path = tmp_path / "posterior.parquet"
    pd.DataFrame({"behaviour.social_hazard": [0.002, 0.003], "regions.table.0.attraction": [0.05, 0.06]}
                 ).to_parquet(path)
    (tmp_path / "calibrated.yaml").write_text(yaml.safe_dump(
        {"provenance": {"configuration": ["population=three_metros", "regions=japan"]}}), encoding="utf-8")
    same = cmp.draw_overrides(path, 2, ["regions=japan"])
    assert same[1] == ["behaviour.social_hazard=0.003", "regions.table.0.attraction=0.06"]
    for other in (["regions=two_towns"], [], ["regions=japan", "regions=one"]):
        assert cmp.draw_overrides(path, 2, other) == [["behaviour.social_hazard=0.002"],
                                                      ["behaviour.social_hazard=0.003"]], other
    (tmp_path / "calibrated.yaml").unlink()  # no provenance: the table is unknown, so no row keys are applied
    assert cmp.draw_overrides(path, 1, ["regions=japan"]) == [["behaviour.social_hazard=0.002"]]
