"""Own visits (rules.visited_on_own): at each yearly survey, fans who took part in no program of their region in
the past year count as visiting when they went on their own, each with probability behaviour.own_visit_share;
in both engines, from each fan's own draw."""

from __future__ import annotations

import numpy as np
import pytest

from sim import simulate
from sim.rules import visited_on_own

BASE = ["population.urban=4000", "run.steps=104", "run.plot=false", "behaviour.broadcast_hazard=0.004"]


def survey_rows(table, step):
    rows = table[table["step"] == step]
    return rows[["fan", "survey_exchange", "survey_non_visiting"]].sum()


@pytest.mark.parametrize("engine", ["vectorized", "mesa"])
def test_every_fan_visits_at_share_1_and_only_program_visitors_at_share_0(engine):
    full = simulate([*BASE, f"engine={engine}", "behaviour.own_visit_share=1"]).table
    none = simulate([*BASE, f"engine={engine}", "behaviour.own_visit_share=0"]).table
    for step in (52, 104):
        f, n = survey_rows(full, step), survey_rows(none, step)
        assert f["fan"] > 100
        assert f["survey_exchange"] == f["fan"]  # every fan visited
        assert n["survey_exchange"] < 0.5 * n["fan"]  # only program participants
        assert f["fan"] == n["fan"]  # the share changes the survey's rows, nothing else


def test_the_visiting_share_of_fans_without_a_program_follows_the_parameter():
    """Fans not visiting through a program visit on their own with the given share: the survey's visiting fans
    exceed the program-only count by that share of the rest. Tolerance: 4.5 binomial SD of the share over
    the year-2 fans (several hundred), so a correct rule fails about once in 10^5 seeds."""
    share = 0.6
    on = simulate([*BASE, "engine=vectorized", f"behaviour.own_visit_share={share}"]).table
    off = simulate([*BASE, "engine=vectorized", "behaviour.own_visit_share=0"]).table
    a, b = survey_rows(on, 104), survey_rows(off, 104)
    rest = b["fan"] - b["survey_exchange"]  # fans with no program visit (same runs: same fans and seats)
    got = (a["survey_exchange"] - b["survey_exchange"]) / rest
    assert rest > 300
    assert abs(got - share) < 4.5 * np.sqrt(share * (1 - share) / rest), got


def test_rule():
    assert list(visited_on_own(np.array([0.1, 0.5, 0.9]), 0.5)) == [True, False, False]
