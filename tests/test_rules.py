"""Unit tests of each rule function: known inputs, expected outputs, edge cases, scalars = arrays."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from sim import rules
from sim.params import BehaviourParams, CostParams
from sim.table import SEAT_KINDS

B = BehaviourParams()


def test_weekly_probability_matches_poisson_and_edges():
    assert rules.weekly_probability(0.0) == 0.0
    assert rules.weekly_probability(52.0) == pytest.approx(1 - math.exp(-1))
    assert rules.weekly_probability(1e9) == pytest.approx(1.0)


@pytest.mark.parametrize("per_year", [0, 1, 4, 12, 52, 104, 236])
def test_calendar_holds_exactly_per_year_events_each_year(per_year):
    weeks = np.arange(520)
    n = rules.events_this_week(weeks, per_year)
    assert n.min() >= 0
    assert n.reshape(10, 52).sum(axis=1).tolist() == [per_year] * 10
    assert int(rules.events_this_week(7, per_year)) == int(n[7])  # scalar = array element


def test_calendar_spreads_events_evenly():
    held = np.flatnonzero(rules.events_this_week(np.arange(52), 4))
    assert np.diff(held).tolist() == [13, 13, 13]


def test_offline_suspension_window():
    w = np.arange(10)
    assert rules.offline_suspended(w, 3, 2).tolist() == [False] * 3 + [True] * 2 + [False] * 5
    assert not rules.offline_suspended(w, -1, 100).any()


def test_guides_per_region_rounds_half_up_and_splits():
    u, l_ = rules.guides_per_region(2, 0.5)
    assert (int(u), int(l_)) == (1, 1)
    u, l_ = rules.guides_per_region(5, 0.4)
    assert (int(u), int(l_)) == (2, 3)
    u, l_ = rules.guides_per_region(5, 0.5)  # 2.5 rounds half up
    assert (int(u), int(l_)) == (3, 2)
    assert rules.guides_per_region(0, 0.5) == (0, 0)


def test_guide_active_until_funding_ends_unless_self_running():
    assert bool(rules.guide_active(155, 3, False))
    assert not bool(rules.guide_active(156, 3, False))
    assert bool(rules.guide_active(10_000, 3, True))
    assert rules.guide_active(np.array([0, 200]), 3, np.array([False, False])).tolist() == [True, False]


def test_only_key_persons_and_locals_a_guide_brings_in_host():
    assert rules.host_probability(0.3, 0.0, 2.0, True, False) == pytest.approx(0.3)
    assert rules.host_probability(0.3, 0.0, 2.0, False, True) == pytest.approx(0.3)
    assert rules.host_probability(0.3, 0.0, 2.0, True, True) == pytest.approx(0.3)
    assert rules.host_probability(0.3, 0.0, 2.0, False, False) == 0.0
    assert rules.host_probability(0.3, 0.5, 2.0, True, False) == pytest.approx(0.075)
    assert rules.host_probability(0.5, 1.0, 2.0, True, True) == 0.0
    keys = np.array([True, False, False])
    tied = np.array([False, True, False])
    assert np.allclose(rules.host_probability(np.full(3, 0.4), np.zeros(3), 2.0, keys, tied), [0.4, 0.4, 0.0])


def test_host_load_shares_participants_among_willing_hosts():
    assert rules.host_load(True, 10, 5) == 2.0
    assert rules.host_load(False, 10, 5) == 0.0
    assert rules.host_load(True, 0, 0) == 0.0


def test_burden_recovers_rises_and_stays_in_bounds():
    assert rules.burden_update(0.5, 0.0, 0.1, 0.1) == pytest.approx(0.45)
    assert rules.burden_update(0.0, 2.0, 0.1, 0.1) == pytest.approx(0.2)
    b = np.linspace(0, 1, 11)
    out = rules.burden_update(b, 1e6, 1.0, 0.0)
    assert np.all((out >= 0) & (out <= 1))


def test_partner_roles_and_match_seats():
    assert rules.partner_roles(40, 1000, 0, 10.0) == 40
    assert rules.partner_roles(40, 500, 3, 10.0) == 50  # half the locals, three guides' roles
    assert rules.partner_roles(40, 1000, 0, 10.0, 12, 1.0) == 52  # a role per yearly program
    assert rules.partner_roles(40, 1000, 0, 10.0, 0, 1.0, 20, 0.5) == 50  # partners open roles
    assert int(rules.match_seats(2, 2.0, 10, 0.2, 40, 10)) == 6
    assert int(rules.match_seats(2, 2.0, 10, 0.2, 40, 39)) == 1  # only free roles
    assert int(rules.match_seats(2, 2.0, 10, 0.2, 40, 45)) == 0  # never negative
    assert int(rules.match_seats(0, 2.0, 0, 0.2, 40, 0)) == 0  # no guides, no programs: no matches
    assert int(rules.match_seats(0, 2.0, 0, 0.2, 40, 0, 40, 0.05)) == 2  # remote roles found online


def test_openings_used_refilled_and_capped():
    assert rules.openings_next(3.0, 1, 52.0, 1000, 20) == pytest.approx(3.0)
    assert rules.openings_next(0.0, 5, 0.0, 1000, 20) == 0.0
    assert rules.openings_next(20.0, 0, 52.0, 1000, 20) == 20.0
    assert rules.initial_openings(4.0, 1000, 20) == 4.0


def test_outreach_weight_broadcast_vs_targeted():
    assert rules.outreach_weight(True, 0.0, 4.0) == 1.0
    assert rules.outreach_weight(False, 0.0, 4.0) == 1.0
    assert rules.outreach_weight(True, 1.0, 4.0) == 4.0
    assert rules.outreach_weight(False, 1.0, 4.0) == 0.0


def test_passive_hazard_components():
    assert rules.passive_hazard(False, 0.0, False, 0.0, True, B) == pytest.approx(B.broadcast_hazard)
    tied = rules.passive_hazard(1.0 / 0.25, 0.0, False, 1.0, True, B)  # a pool of a quarter of the people
    assert tied == pytest.approx(B.targeted_reach * 4)
    assert rules.passive_hazard(False, 0.0, False, 1.0, True, B) == 0.0
    assert rules.passive_hazard(False, 1.0, False, 0.0, True, B) == pytest.approx(B.broadcast_hazard + B.social_hazard)
    donor_on = rules.passive_hazard(False, 0.0, True, 0.0, True, B)
    donor_off = rules.passive_hazard(False, 0.0, True, 0.0, False, B)
    assert donor_on - donor_off == pytest.approx(B.donor_hazard)


def test_targeted_outreach_is_one_effort_spread_over_its_pool():
    """Aiming at fewer people reaches each of them more, and the total reach is the same (000:804-811)."""
    both = rules.targeted_pool_share(0.08, 0.15, True, True)
    assert both == pytest.approx(1 - 0.92 * 0.85)
    roots = rules.targeted_pool_share(0.08, 0.15, True, False)
    assert roots == pytest.approx(0.08) and rules.targeted_pool_share(0.08, 0.15, False, False) == 0.0
    for pool in (both, roots):
        aim = rules.targeted_aim(True, pool)
        h = rules.passive_hazard(aim, 0.0, False, 1.0, True, B)
        assert h * pool == pytest.approx(B.targeted_reach)  # expected reach per urban resident
    assert rules.targeted_aim(False, roots) == 0.0 and rules.targeted_aim(True, 0.0) == 0.0


def test_roots_make_a_move_likelier():
    base = rules.migration_probability(0.1, 0.8, 1.0)
    assert rules.migration_probability(0.1, 0.8, 1.0, False, 3.0) == pytest.approx(base)
    assert rules.migration_probability(0.1, 0.8, 1.0, True, 3.0) == pytest.approx(3 * base)
    assert rules.migration_probability(10.0, 1.0, 1.0, True, 100.0) == 1.0


def test_conversion_probability_channels_and_bar():
    assert rules.conversion_probability(0.0, 0, 0, 0, 0.0, 0.4, B) == 0.0
    assert rules.conversion_probability(0.0, 1, 0, 0, 0.0, 0.4, B) == pytest.approx(B.guide_conversion)
    both = rules.conversion_probability(0.0, 1, 1, 0, 0.0, 0.4, B)
    assert both == pytest.approx(1 - (1 - B.guide_conversion) * (1 - B.event_conversion))
    online = rules.conversion_probability(0.0, 0, 0, 1, 0.0, 0.4, B)
    assert online == pytest.approx(B.event_conversion * 0.4)
    high_bar = rules.conversion_probability(0.01, 1, 1, 1, 1.0, 0.4, B)
    low_bar = rules.conversion_probability(0.01, 1, 1, 1, 0.0, 0.4, B)
    assert high_bar < low_bar
    assert rules.entry_engagement(1.0, False, B) > rules.entry_engagement(0.0, False, B)
    assert rules.entry_engagement(0.0, True, B) == pytest.approx(rules.entry_engagement(0.0, False, B)
                                                                 + B.tie_attachment)
    assert rules.entry_engagement(1.0, True, replace(B, tie_attachment=1.0)) == 1.0


def test_match_holds_only_when_the_role_fits():
    share = 0.3
    assert rules.match_holds_probability(False, False, share) == pytest.approx(1 - share)
    assert rules.match_holds_probability(True, False, share) == 1.0
    assert rules.match_holds_probability(False, True, share) == 1.0
    assert rules.match_holds_probability(np.array([False, True]), False, share).tolist() == pytest.approx(
        [1 - share, 1.0])


def test_apply_probabilities_by_stage():
    off, urb, on = rules.apply_probabilities(np.array([0, 1, 2, 3]), 0.5, 1.0, 0.3, B)
    assert off.tolist() == pytest.approx([0.0, B.apply_offline * 0.7, 2 * B.apply_offline * 0.7, 0.0])
    assert urb.tolist() == pytest.approx([B.apply_urban_indifferent, B.apply_urban, B.apply_urban, 0.0])
    assert on.tolist() == pytest.approx([0.5 * B.apply_online_indifferent, 0.5 * B.apply_online,
                                         0.5 * B.apply_online, 0.0])
    s_off, s_urb, s_on = rules.apply_probabilities(2, 0.5, 1.0, 0.3, B)  # scalar = array element
    assert (s_off, s_urb, s_on) == pytest.approx((off[2], urb[2], on[2]))
    full, _, _ = rules.apply_probabilities(2, 1.0, 1.0, 0.0, BehaviourParams(apply_offline=0.9))
    assert full == 1.0  # capped


def test_select_top_picks_largest_keys_and_everyone_when_few():
    keys = np.array([0.1, 0.9, 0.5, 0.7])
    assert rules.select_top(keys, 2).tolist() == [False, True, False, True]
    assert rules.select_top(keys, 10).all()
    assert not rules.select_top(keys, 0).any()
    assert rules.select_top(np.array([]), 3).size == 0


def test_weighted_keys_sample_in_proportion_to_weight():
    # One seat, two applicants with weights 1 and 3: the heavier wins with probability 3/4.
    # 20,000 draws: standard error 0.003, tolerance 0.015 (5 s.e.).
    rng = np.random.default_rng(1)
    u = rng.random((20_000, 2))
    keys = rules.allocation_key(u, np.array([1.0, 3.0]))
    assert (keys[:, 1] > keys[:, 0]).mean() == pytest.approx(0.75, abs=0.015)


def test_match_weight():
    assert rules.match_weight(True, True, 3.0) == 3.0
    assert rules.match_weight(True, False, 3.0) == 1.0
    assert rules.match_weight(False, True, 3.0) == 1.0


def test_engagement_gain_and_update():
    assert rules.engagement_gain(0, 0, 0, 0, 0, 0.0, False, 0.4, B) == 0.0
    assert rules.engagement_gain(0, 0, 0, 0, 1, 0.0, False, 0.4, B) == pytest.approx(B.gain_followup)
    g = rules.engagement_gain(1, 0, 1, 0, 0, 0.0, False, 0.4, B)
    assert g == pytest.approx(B.gain_offline * 1.4)
    assert rules.engagement_gain(1, 1, 1, 1, 1, 1.0, True, 1.0, B) == 1.0  # capped
    assert rules.engagement_update(0.5, 0.0, 0.1) == pytest.approx(0.45)
    assert rules.engagement_update(0.5, 1.0, 0.1) == pytest.approx(1.0)
    e = np.linspace(0, 1, 11)
    out = rules.engagement_update(e, 0.3, 0.05)
    assert np.all((out >= 0) & (out <= 1))


def test_step_down_one_stage_at_most():
    stage = np.array([0, 1, 1, 2, 2, 3])
    e = np.array([0.0, 0.05, 0.2, 0.2, 0.3, 0.0])
    assert rules.step_down(stage, e, 0.1, 0.25).tolist() == [0, 0, 1, 1, 2, 3]


def test_next_stage_move_then_match_then_role_end_then_drift():
    stage = np.array([2, 1, 2, 2, 2, 1])
    e = np.array([0.9, 0.6, 0.9, 0.1, 0.9, 0.05])
    moves = np.array([1, 0, 0, 0, 0, 0], bool)
    matched = np.array([0, 1, 0, 0, 0, 0], bool)
    ended = np.array([1, 1, 1, 0, 0, 1], bool)  # a fan's "ended role" means nothing
    assert rules.next_stage(stage, e, moves, matched, ended, 0.1, 0.25).tolist() == [3, 2, 1, 1, 2, 0]
    assert rules.role_end_probability(0.5) == pytest.approx(1 - np.exp(-0.5 / 52))


def test_migration_probability_rises_with_engagement():
    assert rules.migration_probability(0.1, 0.0, 1.0) == 0.0
    low, high = rules.migration_probability(0.1, 0.3, 1.0), rules.migration_probability(0.1, 0.9, 1.0)
    assert 0 < low < high < rules.weekly_probability(0.1) + 1e-12


def test_demography():
    ages = np.array([0, 1, 2])
    ex = rules.local_exit_probability(ages, 0.02, 0.05)
    assert ex[1] == 0.0 and ex[0] == pytest.approx(rules.weekly_probability(0.02))
    ag = rules.ageing_probability(ages, 0.04)
    assert ag[2] == 0.0 and ag[0] == ag[1] > 0
    assert rules.expected_births(5200, 0.01) == pytest.approx(1.0)
    assert rules.migrant_age_group(np.array([0, 1, 2, 3])).tolist() == [0, 0, 1, 2]


def test_weekly_cost():
    c = CostParams(guide_year_yen=5_200_000, offline_program_yen=300_000, urban_event_yen=500_000,
                   online_event_yen=50_000)
    assert rules.weekly_cost(2, 1, 1, 1, c) == pytest.approx(200_000 + 850_000)
    assert rules.weekly_cost(0, 0, 0, 0, c) == 0.0


def test_targeted_follows_the_policy_aim():
    roots = np.array([True, True, False, False])
    theme = np.array([True, False, True, False])
    assert rules.targeted(roots, theme, True, True).tolist() == [True, True, True, False]
    assert rules.targeted(roots, theme, True, False).tolist() == [True, True, False, False]
    assert rules.targeted(roots, theme, False, True).tolist() == [True, False, True, False]
    assert rules.targeted(True, False, False, True) is False


# --- which limit bound (ODD 7.3) ----------------------------------------------------------------------

def _limits(seats=None, applicants=None, places=30, hosting=40, offered=3, free=5):
    kinds = SEAT_KINDS
    s = dict.fromkeys(kinds, 10) | (seats or {})
    a = dict.fromkeys(kinds, 0) | (applicants or {})
    return rules.binding_limits(s, a, places, hosting, offered, free)


def test_no_limit_binds_when_everyone_gets_a_seat():
    assert not any(_limits(applicants=dict.fromkeys(SEAT_KINDS, 10)).values())


def test_the_smaller_of_two_limits_is_the_one_that_binds():
    off = _limits(applicants={"offline": 11}, places=10, hosting=40)
    assert off["program_places"] and not off["hosts"]
    off = _limits(applicants={"offline": 11}, places=30, hosting=10)
    assert off["hosts"] and not off["program_places"]
    match = _limits(applicants={"match": 11}, offered=3, free=5)
    assert match["local_guides"] and not match["roles"]
    match = _limits(applicants={"match": 11}, offered=5, free=2)
    assert match["roles"] and not match["local_guides"]


def test_events_bind_only_when_held_and_full():
    assert not _limits(seats={"urban": 0, "online": 0}, applicants={"urban": 3, "online": 3}, places=0,
                       hosting=40)["urban_seats"]
    full = _limits(seats={"urban": 40, "online": 50}, applicants={"urban": 41, "online": 51, "offline": 31})
    assert full["urban_seats"] and full["online_seats"] and full["program_places"]
    assert not _limits(applicants={"offline": 11}, places=0, hosting=40)["program_places"]  # no program held


def test_guide_time_and_openings_bind_when_wishes_exceed_them():
    got = _limits(applicants={"contact": 11, "move": 11})
    assert got["guide_time"] and got["openings"]
    assert _limits(applicants={"followup": 11})["guide_time"]  # fans waiting for a follow-up: guide time too
    assert _limits(applicants={"accompany": 11})["first_visits"] and not got["first_visits"]
    assert set(got) == set(rules.LIMITS)


def test_seat_limits_compose_the_seats():
    places, hosting = rules.offline_seat_limits(2, 15, 7, 2.0)
    assert (places, hosting) == (30, 14) and rules.offline_seats(2, 15, 7, 2.0) == 14
    offered, free = rules.match_seat_limits(1, 2.0, 10, 0.2, 12.0, 9)
    assert (offered, free) == (4, 3) and rules.match_seats(1, 2.0, 10, 0.2, 12.0, 9) == 3


def test_only_funded_guides_are_paid_from_public_funds():
    assert rules.paid_guides(51, 1.0, 4) == 4
    assert rules.paid_guides(52, 1.0, 4) == 0  # week 52 is the first week of year 2
    assert rules.paid_guides(np.arange(3), 0.0, 2).tolist() == [0, 0, 0]


def test_registry_members_join_as_fans_and_stay():
    stages = np.array([rules.INDIFFERENT, rules.FAN, rules.PARTNER, rules.MIGRANT])
    assert rules.registered(np.zeros(4, bool), stages).tolist() == [False, True, True, True]
    assert rules.registered(np.ones(4, bool), np.zeros(4, np.int8)).all()  # drifting back keeps membership


def test_donors_give_until_their_lapse_week():
    assert rules.donating(10.5, 10) and not rules.donating(10.5, 11)
    assert not rules.donating(0.0, 0)  # never a donor
    u = np.random.default_rng(0).random(200_000)
    weeks = rules.donor_lapse_weeks(u, 0.5)
    # exponential with rate 0.5 a year: mean 104 weeks; the mean of 200,000 draws has a standard error of
    # 104 / sqrt(200,000) = 0.23 weeks, so 1.5 weeks is more than six standard errors
    assert weeks.mean() == pytest.approx(104.0, abs=1.5)
    assert np.all(np.isinf(rules.donor_lapse_weeks(u[:10], 0.0)))


def test_after_funding_only_the_self_running_share_of_the_calendar_is_held_and_none_is_paid():
    """Rates drop to the self-running share exactly at week 52·funding_years; paid events drop to none."""
    from sim.config import compose

    p = compose(["policy.funding_years=2", "policy.self_running_share=0.25", "policy.offline_programs_per_year=40",
                 "policy.urban_events_per_year=8", "policy.online_events_per_year=4"]).policy
    assert rules.calendar_rates(103, p) == (40.0, 8.0, 4.0)
    assert rules.calendar_rates(104, p) == (10.0, 2.0, 1.0)
    year3 = np.array([rules.events_held(t, p) for t in range(104, 156)]).sum(axis=0)
    assert tuple(year3) == (10, 2, 1)
    assert rules.paid_events(103, (1, 2, 3), 2.0) == (1, 2, 3) and rules.paid_events(104, (1, 2, 3), 2.0) == (0, 0, 0)


def test_skilled_partners_open_roles_only_when_guides_match_by_skill():
    assert rules.skill_roles(True, 0.3) == pytest.approx(0.3) and rules.skill_roles(False, 0.3) == 0.0
    base = rules.partner_roles(40, 1000, 0, 10.0, 0, 0.0, 20, 0.5)
    assert rules.partner_roles(40, 1000, 0, 10.0, 0, 0.0, 20, 0.5, 10, rules.skill_roles(True, 0.3)) == base + 3
    assert rules.partner_roles(40, 1000, 0, 10.0, 0, 0.0, 20, 0.5, 10, rules.skill_roles(False, 0.3)) == base


def test_roles_opened_per_partner_must_stay_below_one():
    from sim.config import ConfigError, compose

    with pytest.raises(ConfigError, match=r"^behaviour.skill_roles_per_partner: 0.6 plus roles_per_partner 0.5"):
        compose(["behaviour.skill_roles_per_partner=0.6"])
