"""The survey's typology and the benefits (ODD 7.8): every urban resident is in exactly one row of the 2020
survey, the rows follow the definitions, and benefits follow donors, participants and partners."""

from __future__ import annotations

import numpy as np
import pytest

from sim import rules
from sim.config import compose
from sim.engines import build_engine
from sim.table import SURVEY_COLUMNS


def test_relation_type_follows_the_survey_rows():
    F, P, N, M = rules.FAN, rules.PARTNER, rules.INDIFFERENT, rules.MIGRANT
    stage = np.array([P, F, F, N, N, N, M, P, F])
    visited = np.array([1, 1, 0, 0, 0, 0, 1, 0, 0], bool)
    donating = np.array([0, 0, 0, 1, 0, 0, 0, 1, 1], bool)
    roots = np.array([0, 0, 0, 1, 1, 0, 1, 1, 1], bool)
    got = [rules.RELATION_TYPES[k] for k in rules.relation_type(stage, visited, donating, roots)]
    assert got == ["contribution", "exchange", "non_visiting", "non_visiting", "roots_only", "no_relation",
                   "moved", "contribution", "non_visiting"]


def test_donors_active_counts_those_still_giving():
    weeks = np.array([3.0, 10.0, 10.0, np.inf])
    assert [int(rules.donors_active(weeks, w)) for w in (0, 3, 9, 10, 1000)] == [4, 3, 3, 1, 1]


@pytest.mark.parametrize("engine", ["mesa", "vectorized"])
def test_survey_counts_everyone_once_and_exchange_is_last_years_visitors(engine):
    """Three regions, 120 weeks: at each yearly survey the five rows and the migrants add up to the region's
    pool; partners are the contribution row; fans split into visitors and non-visitors, and with no own visits
    (tests/test_own_visits.py has those) the visitors are exactly the fans who won an offline seat of their
    region in the 52 weeks before."""
    cfg = compose(["regions=three", "population.urban=900", "population.locals_per_region=300", "run.steps=120",
                   "policy.donor_path=true", "population.initial_fan_share=0.1", f"engine={engine}", "seed=4",
                   "policy.offline_programs_per_year=40", "run.progress=off", "behaviour.own_visit_share=0"])
    eng = build_engine(cfg)  # records week 0
    winners: list[np.ndarray] = []
    for _ in range(104):
        for phase in ("context", "decide", "allocate", "advance", "locals", "bookkeeping"):
            getattr(eng, phase)()
        winners.append(np.concatenate(eng.wk.winners["offline"]))
        eng.record()
    df = eng.table()
    pool = df[df.step == 0].set_index("region")[["indifferent", "fan", "partner", "migrant"]].sum(axis=1)
    region, stage, donor_until, roots = eng.urban_people()
    for week in (0, 52, 104):
        rows = df[df.step == week].set_index("region")
        assert (rows[list(SURVEY_COLUMNS)].sum(axis=1) + rows.migrant).equals(pool)
    rows = df[df.step == 104].set_index("region")
    assert (rows.survey_contribution == rows.partner).all()
    seen = np.zeros(region.size, bool)
    seen[np.concatenate(winners[-52:])] = True
    fans = stage == rules.FAN
    exchange = np.bincount(region[fans & seen], minlength=3)
    assert exchange.sum() > 0 and np.array_equal(rows.survey_exchange.to_numpy(), exchange)
    assert np.array_equal((rows.survey_exchange + rows.survey_non_visiting).to_numpy(),
                          np.bincount(region[fans | ((stage == rules.INDIFFERENT) & (104 < donor_until))],
                                      minlength=3))
    assert rows.survey_roots_only.sum() == ((stage == rules.INDIFFERENT) & roots & ~(104 < donor_until)).sum()


def test_benefits_follow_donors_participants_and_partners():
    cfg = compose(["population=tiny", "run.steps=60", "engine=vectorized", "policy.donor_path=true",
                   "run.progress=off"])
    eng = build_engine(cfg)
    df = eng.run(60)
    c = cfg.costs
    w = df[df.step > 0]
    assert df.loc[df.step == 0, ["donations_yen", "visitor_spending_yen", "volunteer_days"]].eq(0).all().all()
    assert np.allclose(w.donations_yen, w.donors * c.donation_yen_per_year / 52)
    assert np.allclose(w.visitor_spending_yen, w.offline_participants * c.visitor_spend_yen)
    assert np.allclose(w.volunteer_days, w.partner * c.partner_days_per_year / 52)
    assert w.donors.iloc[0] > 0 and (np.diff(w.donors.to_numpy()) <= 0).all()  # donors only lapse
