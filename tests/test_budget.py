"""A region's yearly budget (issue 7, item 2): a plan that costs more than the budget is cut to fit, the cut
is visible (``budget_share``, the ``budget`` limit), and a budget the plan fits in changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import rules
from sim.config import compose
from sim.engines import run_engine
from sim.params import CostParams, budget_shares, region_configs

COMMON = ["population.urban=600", "population.locals_per_region=300", "run.progress=off"]


def test_budget_share_and_the_cut_plan():
    c = CostParams()
    planned = rules.planned_yearly_cost(4, 12, 4, 6, 0, c)
    assert planned == pytest.approx(4 * c.guide_year_yen + 12 * c.offline_program_yen + 4 * c.urban_event_yen
                                     + 6 * c.online_event_yen)
    assert rules.budget_share(0, planned) == 1.0  # no cap
    assert rules.budget_share(2 * planned, planned) == 1.0
    assert rules.budget_share(planned / 4, planned) == pytest.approx(0.25)
    guides, per_year = rules.within_budget(4, (12.0, 4.0, 6.0, 2.0), 0.6)
    assert guides == 2 and per_year == pytest.approx((7.2, 2.4, 3.6, 1.2))  # whole guides, rounded down
    assert rules.within_budget(4, (0.0,), 0.5)[0] == 2  # exact halves stay


@pytest.mark.parametrize("engine", ["mesa", "vectorized"])
def test_a_plan_over_budget_is_cut_to_fit_while_funded(engine):
    """Half the default plan's yearly cost, funded for one year of two: two guides of four, half the events;
    the first year costs at most the budget, the share and the budget limit are in the table while funded."""
    c, p = CostParams(), compose([]).policy
    planned = rules.planned_yearly_cost(p.guides, p.offline_programs_per_year, p.urban_events_per_year,
                                        p.online_events_per_year, 0, c)
    cfg = compose([*COMMON, f"engine={engine}", "run.steps=104", "policy.funding_years=1",
                   f"policy.budget_yen_per_year={planned / 2}"])
    rc = region_configs(cfg)[0]
    assert rc.policy.guides == 2 and rc.policy.offline_programs_per_year == pytest.approx(6.0)
    df = run_engine(cfg)
    year1 = df[(df.step >= 1) & (df.step <= 52)]
    assert year1["cost_yen"].sum() <= planned / 2 + 1e-6
    assert year1["active_guides"].max() == 2
    assert np.allclose(year1["budget_share"], 0.5) and year1["bound_budget"].all()
    assert not df.loc[df.step > 52, "bound_budget"].any()  # after funding nothing is paid: no budget to bind


@pytest.mark.parametrize("engine", ["mesa", "vectorized"])
def test_a_budget_the_plan_fits_in_changes_nothing(engine):
    common = [*COMMON, f"engine={engine}", "run.steps=40", "seed=4"]
    free = run_engine(compose(common))
    fits = run_engine(compose([*common, "policy.budget_yen_per_year=1e9"]))
    assert (fits["budget_share"].iloc[1:] == 1.0).all() and not fits["bound_budget"].any()
    pd.testing.assert_frame_equal(free, fits)


def test_each_region_has_its_own_budget():
    """In the regions table, only the town whose budget is short is cut."""
    cfg = compose(["regions=two_towns", *COMMON, "engine=vectorized", "run.steps=20"])
    cfg.regions.table[1]["budget"] = 2_000_000.0  # the remote town's row, as a regions file would set it
    shares = budget_shares(cfg)
    assert shares[0] == 1.0 and 0 < shares[1] < 1
    df = run_engine(cfg)
    cut = df[df.step > 0].groupby("region")["bound_budget"].mean()
    assert cut[0] == 0.0 and cut[1] == 1.0
    assert np.allclose(df.loc[(df.step > 0) & (df.region == 1), "budget_share"], shares[1])
