"""Slow extras, run with ``make test-slow`` (``pytest -m slow``): large populations and more scenarios."""

from __future__ import annotations

import resource

import pytest

from sim import memory
from sim.config import compose
from sim.engines import run_engine

from .conftest import check_invariants
from .test_equivalence import ALPHA, differences, replicate

pytestmark = pytest.mark.slow


def test_a_million_people_for_a_year_keep_the_invariants_within_the_memory_estimate():
    cfg = compose(["population=large", "engine=vectorized", "run.steps=52"])
    df = run_engine(cfg)
    check_invariants(df, cfg)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert peak < memory.estimate_bytes(cfg) * 1.5


# Named scenarios of the library on a small population (guides raised so that each side has one).
MORE = {name: [f"scenario={name}", "population.urban=400", "population.locals_per_region=300",
               "policy.guides=3"] for name in ("hybrid", "covid_suspension", "targeted", "skill_matching",
                                                        "furusato_donors", "fanclub_high_bar")}


@pytest.mark.parametrize("scenario", list(MORE))
def test_engines_agree_on_more_scenarios(scenario):
    m, v = replicate(scenario, "mesa", MORE), replicate(scenario, "vectorized", MORE)
    assert differences(m, v, ALPHA / (len(MORE) * m.shape[1] * 2)) == []
