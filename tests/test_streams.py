"""Random streams (sim.streams): draws keyed by week, purpose and person, so that paired scenarios share
the random numbers a policy change has nothing to do with (common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.engines import build_engine
from sim.streams import Draws

from .conftest import tiny_config

URBAN_STAGES = ["indifferent", "fan", "partner", "migrant", "members", "new_fans", "new_partners"]


def test_a_persons_uniforms_do_not_depend_on_who_else_draws():
    d = Draws(5)
    everyone = d.uniforms(3, "decide_urban", np.arange(10_000), 5)
    some = np.array([17, 4_000, 9_999, 2])
    assert np.array_equal(d.uniforms(3, "decide_urban", some, 5), everyone[:, some])
    assert np.array_equal(Draws(5).uniforms(3, "decide_urban", some, 5), everyone[:, some])  # a pure function


@pytest.mark.parametrize("other", [(4, "decide_urban", ()), (3, "decide_locals", ()), (3, "decide_urban", (1,))])
def test_other_weeks_purposes_and_indices_draw_other_numbers(other):
    d, ids = Draws(5), np.arange(1_000)
    week, purpose, index = other
    a = d.uniforms(3, "decide_urban", ids, 1)[0]
    b = d.uniforms(week, purpose, ids, 1, *index)[0]
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.15  # independent: |r| of 1,000 pairs has sd 0.032
    assert not np.array_equal(Draws(6).uniforms(3, "decide_urban", ids), d.uniforms(3, "decide_urban", ids))


def test_per_person_uniforms_are_uniform_and_rows_independent():
    u = Draws(11).uniforms(0, "decide_urban", np.arange(200_000), 2)
    # fixed seed: the KS statistic of 200,000 true uniforms exceeds 0.0045 with probability about 0.1%
    assert stats.kstest(u[0], "uniform").statistic < 0.0045
    assert stats.kstest(u[1], "uniform").statistic < 0.0045
    assert abs(np.corrcoef(u[0], u[1])[0, 1]) < 0.01  # sd of r is 0.0022
    assert abs(np.corrcoef(u[0][:-1], u[0][1:])[0, 1]) < 0.01  # neighbouring ids


def test_week_generators_are_reproducible_and_distinct():
    d = Draws(2)
    assert d.generator(7, "births").random() == Draws(2).generator(7, "births").random()
    assert d.generator(7, "births").random() != d.generator(8, "births").random()
    assert d.generator(7, "seats", 0, 1).random() != d.generator(7, "seats", 1, 0).random()
    with pytest.raises(ValueError, match="purpose: 'birth' is not one of"):
        d.generator(0, "birth")


@pytest.mark.parametrize("engine", ["vectorized", "mesa"])
def test_local_births_do_not_reshuffle_the_urban_side(engine):
    """Births change only the locals and, through them, the limits that scale with locals (willing hosts,
    roles per 1,000 locals, openings): with none of those binding, the urban ladder of two birth rates is the
    same to the person. A single shared stream (or locals and urban residents drawing from one) would make
    the two runs diverge in week 1."""
    tables = []
    for rate in (0.0, 0.2):
        cfg = tiny_config(seed=4, engine=engine, population={"urban": 3_000, "locals_per_region": 300},
                          regions={"birth_rate": rate, "key_person_share": 0.5, "visitors_per_host": 50.0,
                                   "needs_per_1000_locals": 1000.0, "openings_per_1000_locals": 1000.0,
                                   "max_openings_stock": 10_000.0})
        tables.append(build_engine(cfg).run(52))
    a, b = tables
    for limit in ("bound_hosts", "bound_roles", "bound_openings"):
        assert not a[limit].any() and not b[limit].any(), limit
    assert b["local_population"].iloc[-1] > a["local_population"].iloc[-1] + 20  # the configurations differ
    assert a["new_fans"].sum() > 20  # the urban side moves
    for col in URBAN_STAGES:
        assert np.array_equal(a[col].to_numpy(), b[col].to_numpy()), col


def test_the_serial_and_parallel_kernels_draw_the_same_numbers():
    from sim import streams

    ids = np.arange(streams.PARALLEL_FROM - 5, streams.PARALLEL_FROM + 5)
    d = Draws(1)
    assert np.array_equal(d.uniforms(2, "conversion", ids, 3)[:, :5], d.uniforms(2, "conversion", ids[:5], 3))
