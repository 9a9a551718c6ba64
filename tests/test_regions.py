"""The regions table: regions that differ (locals, calendar, guides, funding, remoteness, attraction) and
share the same urban residents, in both engines; its rows are validated like every other input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import params
from sim.config import ConfigError, check_table, compose
from sim.engines import run_engine
from sim.params import region_config, region_name, region_values
from sim.population import draw_guides, draw_locals, draw_urban
from sim.streams import streams

ENGINES = ("mesa", "vectorized")
TWO = ["regions=two_towns", "population.urban=600", "run.steps=60", "run.progress=off"]


def test_rows_override_only_their_own_region():
    cfg = compose(TWO)
    near, remote = region_config(cfg, 0), region_config(cfg, 1)
    assert (near.population.locals_per_region, remote.population.locals_per_region) == (300, 150)
    assert (near.policy.guides, remote.policy.guides) == (4, 2)
    assert (near.regions.remoteness, remote.regions.remoteness) == (0.2, 0.8)
    assert near.policy.online_events_per_year == cfg.policy.online_events_per_year  # not in its row
    assert remote.policy.online_events_per_year == 26
    assert region_values(cfg, "policy.funding_years") == [cfg.policy.funding_years, 0.5]
    assert region_name(cfg, 1) == "remote_town" and region_name(cfg, 1, "ja") == "遠い町"
    plain = compose(["regions=three"])
    assert region_config(plain, 2) is plain and region_name(plain, 2) == "region 2"


def test_the_shipped_tables_compose_and_differ():
    for name in params_tables():
        cfg = compose([f"regions={name}", "engine=vectorized", "population.urban=1000"])
        if cfg.regions.table:
            assert len(cfg.regions.table) == cfg.regions.count
            assert all("name" in row and "name_ja" in row for row in cfg.regions.table)
    japan = compose(["regions=japan", "engine=vectorized"])
    assert len(set(region_values(japan, "population.locals_per_region"))) == 4
    assert len(set(region_values(japan, "policy.offline_programs_per_year"))) >= 3


def params_tables() -> list[str]:
    from sim.config import options

    return list(options("regions"))


@pytest.mark.parametrize(("rows", "message"), [
    ([{"name": "a", "guidez": 3}], r"^regions\.table\[0\]\.guidez: unknown key \(value 3\); allowed: name, name_ja, "),
    ([{"name": "a"}, {"guides": -1}], r"^regions\.table\[1\]\.guides \(policy\.guides: -1 is not allowed; allowed: an "
                                      r"integer in \[0, 100,000\]\)$"),
    ([{"remoteness": "far"}], r"^regions\.table\[0\]\.remoteness \(regions\.remoteness: 'far' is not allowed"),
    ([{"name": 3}], r"^regions\.table\[0\]\.name: 3 is not allowed; allowed: a non-empty string$"),
    ("x", r"^regions\.table: 'x' is not allowed; allowed: a list of rows"),
    ([5], r"^regions\.table\[0\]: 5 is not allowed; allowed: a mapping of "),
])
def test_a_bad_row_gets_one_line_naming_row_key_and_value(rows, message):
    with pytest.raises(ConfigError, match=message) as exc:
        check_table(rows)
    assert "\n" not in str(exc.value)


def test_the_table_must_have_one_row_per_region_and_shares_that_sum_to_one():
    with pytest.raises(ConfigError, match=r"^regions\.count: 3 differs from the 2 rows of regions\.table"):
        compose(["regions=two_towns", "regions.count=3"])
    with pytest.raises(ConfigError, match=r"^regions\.table\[0\]\.local_age_shares: \[0\.5, 0\.6, 0\.1\] sums to 1\.2"):
        compose(["regions=two_towns", "regions.table=[{local_age_shares:[0.5,0.6,0.1]},{name:b}]"])


def test_initial_state_follows_the_table():
    """Locals per region and their age mix, guides per region, and the region each urban resident relates
    to drawn with the attraction weights (2 : 1 here)."""
    cfg = compose([*TWO, "population.urban=20000", "engine=vectorized"])
    rngs = streams(3)
    urban = draw_urban(cfg, rngs["population"])
    local = draw_locals(cfg, rngs["population"])
    guides = draw_guides(cfg, rngs["population"])
    assert np.bincount(local.region).tolist() == [300, 150]
    assert np.bincount(guides.region).tolist() == [4, 2]
    elders = [np.mean(local.age[local.region == r] == 2) for r in (0, 1)]
    assert elders[1] > elders[0]  # 50% elders in the remote town against 38% (binomial sd about 4%)
    share = np.mean(urban.region == 0)
    assert abs(share - 2 / 3) < 4 * np.sqrt(2 / 9 / urban.region.size)  # four binomial sds
    theme = [np.mean(urban.theme[urban.region == r]) for r in (0, 1)]
    assert theme[1] > 0.35 > 0.2 > theme[0]  # the remote town's theme draws 40% against 15%


@pytest.mark.parametrize("engine", ENGINES)
def test_each_region_runs_its_own_calendar_guides_and_funding(engine):
    cfg = compose([*TWO, f"engine={engine}"])
    df = run_engine(cfg)
    wk = df[df.step > 0]
    first = df[df.step == 0].set_index("region")
    assert first["local_population"].tolist() == [300, 150]
    by = wk.groupby("region")
    held = by["events_held"].sum()
    # 60 weeks: near town 30 programs + 4 urban + 6 online a year; remote 4 + 4 + 26
    assert held[0] == sum(int(np.floor(60 * k / 52)) for k in (30, 4, 6))
    # the remote town's funding ends at week 26: then only the self-running share of its calendar is held
    share = cfg.policy.self_running_share
    assert held[1] == sum(int(np.floor(26 * k / 52)) + int(np.floor(60 * k * share / 52))
                          - int(np.floor(26 * k * share / 52)) for k in (4, 4, 26))
    # and only self-running guides stay; nothing is paid for them or for the events still held
    remote = wk[wk.region == 1].set_index("step")
    assert remote.loc[27:, "paid_guides"].eq(0).all() and remote.loc[:26, "paid_guides"].eq(2).all()
    assert remote.loc[27:, "cost_yen"].eq(0).all() and remote.loc[:26, "cost_yen"].gt(0).all()
    near = wk[wk.region == 0].set_index("step")
    assert near["active_guides"].eq(4).all()


def test_remoteness_keeps_fans_from_programs():
    """Same programs, guides and people in both towns, only remoteness differs (0.1 against 0.9): the remote
    town's fans wish to attend offline programs nine times less often, so far fewer apply (paired over
    seeds; each seed's ratio is well below one)."""
    rows = "[{name:near,remoteness:0.1},{name:far,remoteness:0.9}]"
    ratios = []
    for seed in range(4):
        cfg = compose(["regions=two_towns", f"regions.table={rows}", "population.urban=4000",
                       "population.initial_fan_share=0.2", "engine=vectorized", "run.steps=40", f"seed={seed}"])
        wk = run_engine(cfg).query("step > 0")
        applied = wk.groupby("region")["applicants_offline"].sum()
        fans = wk.groupby("region")["fan"].sum()
        ratios.append((applied[1] / fans[1]) / (applied[0] / fans[0]))
    assert max(ratios) < 0.3, ratios  # expected 1/9 of the near town's rate


def test_regions_compete_for_the_same_people():
    """Raising one town's attraction takes urban residents, and so fans, from the other (paired seeds)."""
    diffs = []
    for seed in range(6):
        out = []
        for pull in (1.0, 4.0):
            rows = f"[{{name:a,attraction:{pull}}},{{name:b}}]"
            cfg = compose(["regions=two_towns", f"regions.table={rows}", "population.urban=4000",
                           "engine=vectorized", "run.steps=52", f"seed={seed}"])
            end = run_engine(cfg).query("step == 52").set_index("region")
            out.append(end["members"])
        diffs.append((out[1][0] - out[0][0], out[1][1] - out[0][1]))
    gain, loss = np.array(diffs).T
    assert (gain > 0).all() and (loss < 0).all(), diffs
    assert stats.ttest_1samp(loss, 0).pvalue < 0.01


def test_region_keys_name_declared_parameters():
    keys = dict(params.iter_params())
    assert all(dotted in keys for dotted in params.REGION_KEYS.values())
