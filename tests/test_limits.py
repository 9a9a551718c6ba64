"""Every binding limit is visible in the table: each week says which capacity limited each flow, in
both engines, and the limits a configuration makes scarce are the ones reported."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import compose
from sim.engines import run_engine
from sim.report import summary

ENGINES = ("mesa", "vectorized")
BASE = ["population=tiny", "policy.guides=3", "run.steps=104", "seed=4"]


def run(engine: str, *extra: str):
    return run_engine(compose([*BASE, f"engine={engine}", *extra]))


@pytest.mark.parametrize("engine", ENGINES)
def test_flags_agree_with_seats_and_applicants(engine):
    df = run(engine, "policy.offline_programs_per_year=52", "population.initial_partner_share=0.05")
    wk = df[df.step > 0]
    assert (wk["bound_guide_time"] == (wk["applicants_contact"] > wk["seats_contact"])).all()
    assert (wk["bound_openings"] == (wk["applicants_move"] > wk["seats_move"])).all()
    assert (wk["bound_roles"] | wk["bound_local_guides"] == (wk["applicants_match"] > wk["seats_match"])).all()
    assert not (wk["bound_roles"] & wk["bound_local_guides"]).any()
    assert not (wk["bound_hosts"] & wk["bound_program_places"]).any()
    for kind, column in (("offline", "offline_participants"), ("contact", "guide_contacts"), ("match", "matches"),
                         ("move", "new_migrants")):
        assert (wk[column] == np.minimum(wk[f"seats_{kind}"], wk[f"applicants_{kind}"])).all(), kind
    assert not df[df.step == 0].filter(like="bound_").to_numpy().any()


@pytest.mark.parametrize("engine", ENGINES)
def test_scarce_hosts_are_reported_as_the_limit(engine):
    """Hosts willing 2% of weeks, a program every week: hosts, far more often than program places (in a
    week with more willing hosts than usual), limit the visits."""
    df = run(engine, "regions.host_willingness=0.02", "policy.offline_programs_per_year=52",
             "population.initial_fan_share=0.2")
    wk = df[df.step > 0]
    assert wk["bound_hosts"].mean() > 0.5 and wk["bound_hosts"].mean() > 5 * wk["bound_program_places"].mean()
    assert "hosts" in summary(df).splitlines()[-1]


@pytest.mark.parametrize("engine", ENGINES)
def test_scarce_roles_are_reported_as_the_limit(engine):
    """5 roles per 1,000 locals (1 in this village), none found by guides, and many ready fans: roles, not
    guides, stop matches."""
    df = run(engine, "regions.needs_per_1000_locals=5", "policy.guide_roles_local=0",
             "behaviour.roles_per_program=0", "behaviour.roles_per_partner=0",
             "population.initial_fan_share=0.3",
             "behaviour.engagement_decay=0.005")
    wk = df[df.step > 0]
    assert wk["bound_roles"].mean() > 0.5 and not wk["bound_local_guides"].any()
    assert wk["partner"].max() <= 1
