"""Outputs in real people do not depend on the sample size (issue 7, item 1): the urban side can be
simulated one agent per person or as a sample in which each agent stands for ``population.scale``
people, as in Covasim and Starsim."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import rules
from sim.config import ConfigError, compose
from sim.engines import run_engine

BASE = ["engine=vectorized", "population.urban=40000", "population.locals_per_region=1000", "run.steps=156",
        "policy.offline_programs_per_year=24"]
METRICS = ("fan", "partner", "members", "new_fans", "new_partners", "participants", "offline_participants",
           "guide_contacts", "matches", "roles_ended")


def outcome(scale: int, seed: int) -> dict[str, float]:
    df = run_engine(compose([*BASE, f"population.scale={scale}", f"seed={seed}"]))
    last = df[df.step == df.step.max()].iloc[0]
    return {m: float(last[m]) if m in ("fan", "partner", "members") else float(df[m].sum()) for m in METRICS}


@pytest.fixture(scope="module")
def runs() -> dict[int, pd.DataFrame]:
    return {scale: pd.DataFrame([outcome(scale, 100 + s) for s in range(12)]) for scale in (1, 2, 4)}


def test_outputs_in_real_people_do_not_depend_on_the_scale(runs):
    """40,000 real urban residents simulated as 40,000, 20,000 or 10,000 agents, 12 seeds each: every metric's
    mean agrees with the one-agent-per-person run by Welch's test at a 1% family-wise rate (Bonferroni over
    2 × 10 tests), and lies within 10% of it (sampling error at these sizes is 1-5% of the mean)."""
    alpha = 0.01 / (2 * len(METRICS))
    for scale in (2, 4):
        for m in METRICS:
            x, y = runs[1][m], runs[scale][m]
            assert stats.ttest_ind(x, y, equal_var=False).pvalue > alpha, (scale, m, x.mean(), y.mean())
            assert y.mean() == pytest.approx(x.mean(), rel=0.10), (scale, m, x.mean(), y.mean())


def test_the_scale_comparison_would_see_an_output_left_in_agents(runs):
    """If outputs were reported in agents rather than people (the bug the test above guards against), the
    scale-4 means would be a quarter of the others: far outside the tolerance."""
    for m in ("fan", "members", "new_fans"):
        assert runs[4][m].mean() / 4 < 0.5 * runs[1][m].mean()


def test_seats_are_rounded_without_bias():
    u = np.random.default_rng(1).random(100_000)
    got = rules.agent_seats(15, 4, u)
    assert set(np.unique(got)) == {3, 4} and got.mean() == pytest.approx(3.75, abs=0.01)
    assert int(rules.agent_seats(15, 1, 0.99)) == 15
    assert rules.urban_agents(46_780_000, 100) == 467_800 and rules.urban_agents(3, 10) == 1
    assert rules.agent_ties(50, 4) == 13 and rules.agent_ties(50, 1) == 50


@pytest.mark.parametrize("engine", ["mesa", "vectorized"])
def test_both_engines_report_real_people_and_a_migrant_brings_scale_locals(engine):
    cfg = compose([f"engine={engine}", "population=tiny", "population.urban=2000", "population.scale=5",
                   "run.steps=60", "population.initial_partner_share=0.1", "regions.openings_per_1000_locals=40",
                   "behaviour.life_event_rates=[1,1,1,1]", "regions.birth_rate=0", "regions.youth_leave_rate=0",
                   "regions.elder_death_rate=0", "regions.migrant_leave_rate=0"])
    df = run_engine(cfg)
    stages = df[["indifferent", "fan", "partner", "migrant"]]
    assert (stages.sum(axis=1) == 2000).all()  # 400 agents standing for 5 people each
    assert (stages % 5 == 0).all().all() and (df["new_fans"] % 5 == 0).all()
    assert df["new_migrants"].sum() > 0
    # no births, no exits: the locals grow by exactly the real migrants
    pop = df["local_population"].to_numpy()
    assert pop[-1] - pop[0] == df["new_migrants"].sum()


def test_scale_above_the_population_is_refused():
    with pytest.raises(ConfigError, match=r"^population.scale: 5000 exceeds population.urban 2000"):
        compose(["population.scale=5000"])
