"""Every named scenario composes, says where it comes from, and runs on a tiny population."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim import simulate
from sim.config import CONF_DIR, compose
from sim.scenarios import describe, list_scenarios

from .conftest import check_invariants

SEEDS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
REQUIRED = {"baseline", "guides_low", "guides_high", "online_only", "hybrid", "programs_high", "programs_low",
            "targeted", "broadcast", "funding_cliff", "covid_suspension", "fanclub_low_bar", "fanclub_high_bar",
            "roots_recruitment", "skill_matching", "no_intervention", "furusato_donors", "theme_recruitment"}


def test_library_has_every_required_scenario():
    assert REQUIRED <= set(list_scenarios())


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_scenario_composes_cites_a_seed_and_runs(name):
    cfg = compose([f"scenario={name}"])
    assert cfg.scenario == name and isinstance(cfg.scenario, str)
    d = describe(name)
    assert d["en"] and d["ja"] and d["name_en"] != name and len(d["name_ja"]) < 16
    assert any(ord(c) > 0x3000 for c in d["name_ja"]), d["name_ja"]  # a Japanese display name
    cited = re.findall(r"(\d{3}_[0-9a-f]{16}\.txt):(\d+)", d["source"])
    assert cited or d["source"].startswith("assumption"), d["source"]
    for file, line in cited:
        if SEEDS_DIR.is_dir():  # the seeds sit beside the repository in the project workspace
            assert int(line) <= len((SEEDS_DIR / file).read_text(encoding="utf-8").splitlines())
    res = simulate([f"scenario={name}", "population=tiny", "run.steps=30", "policy.guides=2"]
                   if name not in ("no_intervention",) else [f"scenario={name}", "population=tiny", "run.steps=30"])
    check_invariants(res.table, res.config)


def test_scenarios_change_what_they_say():
    assert compose(["scenario=guides_high"]).policy.guides > compose([]).policy.guides
    online = compose(["scenario=online_only"]).policy
    assert online.offline_programs_per_year == 0 and online.online_events_per_year > 0
    assert compose(["scenario=funding_cliff"]).policy.funding_years == 3
    high, low = compose(["scenario=fanclub_high_bar"]), compose(["scenario=fanclub_low_bar"])
    assert high.policy.entry_bar > low.policy.entry_bar
    covid = compose(["scenario=covid_suspension"]).policy
    assert (covid.offline_suspended_from_week, covid.offline_suspended_weeks) == (52, 52)  # year 2
    assert compose(["scenario=broadcast"]).policy.targeting == 0
    assert compose(["scenario=targeted"]).policy.targeting > compose([]).policy.targeting
    assert compose(["scenario=skill_matching"]).policy.skill_matching is True
    none = compose(["scenario=no_intervention"]).policy
    assert none.guides == none.offline_programs_per_year == none.urban_events_per_year == 0
    assert none.online_events_per_year == 0


def test_scenario_files_are_global_packages_that_name_themselves():
    for name in list_scenarios():
        lines = (CONF_DIR / "scenario" / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
        assert lines[0] == "# @package _global_", name
        assert f"scenario: {name}" in lines, name


def test_no_intervention_makes_almost_no_partners_and_costs_nothing():
    res = simulate(["scenario=no_intervention", "population=tiny", "run.steps=104", "seed=1"])
    assert res.table["new_partners"].sum() <= 1
    assert res.table["cost_yen"].sum() == 0
    base = simulate(["scenario=baseline", "population=tiny", "run.steps=104", "seed=1", "policy.guides=2"])
    assert base.table["new_partners"].sum() > 5


def test_override_after_scenario_wins():
    assert compose(["scenario=guides_high", "policy.guides=2"]).policy.guides == 2
