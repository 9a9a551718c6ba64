"""Composition on the schema of sim/params.py, and validation of every kind of bad input."""

from __future__ import annotations

import math
from dataclasses import asdict

import pytest
import yaml
from hydra import compose as hydra_compose

import sim.config
from sim import params
from sim.__main__ import sweep_combinations, validate_args
from sim.config import CONF_DIR, ConfigError, _hydra_context, check_value, compose, compose_many, options, validate
from sim.params import Config


def test_defaults_come_from_the_dataclasses():
    assert compose([]) == Config()


def test_scenario_is_a_plain_string_and_top_level_keys_exist():
    cfg = compose(["scenario=funding_cliff"])
    assert type(cfg.scenario) is str and cfg.scenario == "funding_cliff"
    assert type(cfg.engine) is str and type(cfg.seed) is int
    assert isinstance(cfg.population.urban, int) and isinstance(cfg.run.steps, int)


def test_overrides_apply_with_their_declared_types():
    cfg = compose(["population.urban=1234", "run.steps=7", "seed=9", "engine=vectorized", "policy.targeting=1",
                   "regions=three", "population.life_stage_shares=[0.25,0.25,0.25,0.25]"])
    assert (cfg.population.urban, cfg.run.steps, cfg.seed, cfg.engine) == (1234, 7, 9, "vectorized")
    assert cfg.policy.targeting == 1.0 and isinstance(cfg.policy.targeting, float)
    assert cfg.regions.count == 3
    assert cfg.population.life_stage_shares == [0.25] * 4


def test_population_presets():
    sizes = {name: compose([f"population={name}", "engine=vectorized"]).population.urban
             for name in options("population")}
    assert sizes["small"] == Config().population.urban
    assert sizes["tiny"] < sizes["small"] < sizes["medium"] == 100_000 < sizes["large"] == 1_000_000
    assert sizes["three_metros"] == 46_780_000  # 000_475218e7bb58dd1d.txt:1446


def test_group_files_do_not_retype_the_dataclass_defaults():
    """A value in conf/ that equals its declared default would be a second, drifting copy of it."""
    defaults = {key: params.default_of(f) for key, f in params.iter_params()}
    for path in sorted(CONF_DIR.glob("*/*.yaml")):
        group = path.parent.name
        if group == "scenario":  # a scenario may state a default on purpose (fanclub_low_bar: entry_bar 0)
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        is_global = path.read_text(encoding="utf-8").startswith("# @package _global_")
        flat = _flatten(data if is_global else {group: data})
        for key, value in flat.items():
            if key in ("scenario", "engine"):  # the name a scenario/engine file gives itself
                continue
            assert key in defaults, f"{path.name}: unknown key {key}"
            assert value != defaults[key], f"{path.relative_to(CONF_DIR)}: {key}={value!r} repeats the default"


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


BAD = [
    (["population.foo=1"], "population.foo", "1"),
    (["+population.foo=1"], "population.foo", "1"),
    (["foo=1"], "foo", "1"),
    (["population.urban=abc"], "population.urban", "abc"),
    (["population.urban=1.5"], "population.urban", "1.5"),
    (["population.urban=-5"], "population.urban", "-5"),
    (["population.locals_per_region=0"], "population.locals_per_region", "0"),
    (["policy.targeting=1.5"], "policy.targeting", "1.5"),
    (["policy.targeting=-0.1"], "policy.targeting", "-0.1"),
    (["policy.donor_path=maybe"], "policy.donor_path", "maybe"),
    (["regions.count=0"], "regions.count", "0"),
    (["scenario=nope"], "scenario", "nope"),
    (["engine=nope"], "engine", "nope"),
    (["population=nope"], "population", "nope"),
    (["network.urban_k=7"], "network.urban_k", "7"),
    (["population.life_stage_shares=[0.5,0.5,0.5,0.5]"], "population.life_stage_shares", "0.5"),
    (["population.life_stage_shares=[0.5,0.5]"], "population.life_stage_shares", "0.5"),
    (["run.progress=sometimes"], "run.progress", "sometimes"),
    (["seed=1,2"], "seed", "1,2"),
    (["~policy"], "policy", "policy"),
    (["hydra.foo=1"], "hydra.foo", "1"),
    (["population=three_metros"], "population.urban", "46,780,000"),  # Mesa objects for 46.78M: over memory
    # Non-finite numbers: NaN compares false with both ends of a range, so each is refused on its own.
    (["policy.targeting=nan"], "policy.targeting", "nan"),
    (["behaviour.engagement_decay=nan"], "behaviour.engagement_decay", "nan"),
    (["regions.remoteness=nan"], "regions.remoteness", "nan"),
    (["regions.birth_rate=nan"], "regions.birth_rate", "nan"),
    (["network.urban_rewire=nan"], "network.urban_rewire", "nan"),
    (["network.urban_rewire=inf"], "network.urban_rewire", "inf"),
    (["costs.guide_year_yen=-inf"], "costs.guide_year_yen", "-inf"),
    (["population.life_stage_shares=[nan,0.5,0.5,0]"], "population.life_stage_shares", "[nan, 0.5, 0.5, 0"),
    (["behaviour.life_event_rates=[0.1,inf,0.03,0.06]"], "behaviour.life_event_rates", "inf"),
    (["run.max_memory_gib=nan"], "run.max_memory_gib", "nan"),
    (["run.max_memory_gib=inf"], "run.max_memory_gib", "inf"),
    (["population.urban=inf"], "population.urban", "inf"),
    (["seed=nan"], "seed", "nan"),
]


@pytest.mark.parametrize(("overrides", "key", "value"), BAD, ids=[" ".join(o) for o, _, _ in BAD])
def test_bad_input_raises_one_line_naming_key_value_and_what_is_allowed(overrides, key, value):
    with pytest.raises(ConfigError) as exc:
        compose(overrides)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(key + ":") and value in msg and "allowed" in msg


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize(("key", "f"), [(k, f) for k, f in params.iter_params() if f.metadata.get("lo") is not None])
def test_every_declared_range_is_enforced(key, f):
    lo, hi = f.metadata["lo"], f.metadata["hi"]
    default = params.default_of(f)
    as_type = (lambda v: [float(v)] * len(default)) if isinstance(default, list) else type(default)
    check_value(key, as_type(lo))
    check_value(key, as_type(hi))
    for bad in (lo - _eps(lo, default), hi + _eps(hi, default)):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            check_value(key, as_type(bad))


def _eps(v: float, default: object) -> float:
    return 1 if isinstance(default, int) else 1e-6 * max(1.0, abs(v))


# Every parameter declared float or list[float] (by its type hint: some float defaults are written as ints).
NUMERIC = [(k, f) for k, f in params.iter_params() if sim.config._type_of(f) in (float, list[float])]


def test_the_numeric_parameters_are_all_covered():
    assert len(NUMERIC) > 60 and {"run.max_memory_gib", "population.life_stage_shares", "policy.targeting",
                                  "behaviour.life_event_rates", "costs.guide_year_yen"} <= {k for k, _ in NUMERIC}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("key", "f"), NUMERIC, ids=[k for k, _ in NUMERIC])
def test_non_finite_numbers_are_refused_in_every_float_and_list_parameter(key, f, bad):
    default = params.default_of(f)
    values = ([bad] if not isinstance(default, list)
              else [[bad, *default[1:]], [*default[:-1], bad], [bad] * len(default)])
    for value in values:
        with pytest.raises(ConfigError) as exc:
            check_value(key, value)
        msg = str(exc.value)
        assert "\n" not in msg and msg.startswith(f"{key}: ") and "allowed: " in msg and "finite" in msg
        assert repr(bad) in msg.split(";")[0], msg
    check_value(key, default)  # the declared default itself passes


def test_non_finite_is_refused_even_without_an_upper_bound(monkeypatch):
    key, f = next((k, f) for k, f in NUMERIC if not isinstance(params.default_of(f), list))
    unbounded = type(f)(f.default, f.default_factory, f.init, f.repr, f.hash, f.compare, {**f.metadata, "hi": None},
                        f.kw_only)
    unbounded.name = f.name
    monkeypatch.setitem(sim.config.leaf_fields(), key, unbounded)
    monkeypatch.setitem(sim.config._leaf_types(), id(unbounded), float)
    assert check_value(key, 1e300) == 1e300
    for bad in (math.inf, math.nan):
        with pytest.raises(ConfigError, match=r"allowed: a finite number >= "):
            check_value(key, bad)


def _hand_built(**values) -> Config:
    cfg = Config()
    for key, value in values.items():
        group, _, leaf = key.partition("__")
        setattr(getattr(cfg, group), leaf, value)
    return cfg


@pytest.mark.parametrize(("values", "key"), [
    ({"population__life_stage_shares": [math.nan, 0.5, 0.5, 0.0]}, "population.life_stage_shares"),  # sum check
    ({"population__initial_fan_share": math.nan}, "population.initial_fan_share"),  # fan + partner <= 1
    ({"behaviour__partner_floor": math.nan}, "behaviour.partner_floor"),  # floors in order
    ({"run__max_memory_gib": math.nan}, "run.max_memory_gib"),  # memory estimate
    ({"run__max_memory_gib": math.inf}, "run.max_memory_gib"),
    ({"regions__birth_rate": -math.inf}, "regions.birth_rate"),
])
def test_validate_refuses_non_finite_before_any_cross_key_check(values, key):
    with pytest.raises(ConfigError) as exc:
        validate(_hand_built(**values))
    msg = str(exc.value)
    assert msg.startswith(f"{key}: ") and " is not allowed; allowed: a " in msg and "\n" not in msg
    assert not any(w in msg for w in ("sums to", "exceeds", "must lie", "GiB", "integer")), msg


def test_validate_checks_a_hand_built_config_and_returns_it():
    cfg = Config()
    assert validate(cfg) is cfg
    assert "validate" in sim.config.__all__
    cfg.policy.targeting = 2.0
    with pytest.raises(ConfigError, match=r"^policy\.targeting: 2\.0 is not allowed; allowed: a finite number in"):
        validate(cfg)
    with pytest.raises(ConfigError, match="^config: "):
        validate({"seed": 1})  # type: ignore[arg-type]
    broken = Config()
    broken.population = None  # type: ignore[assignment]
    with pytest.raises(ConfigError, match=r"^population\.urban: "):
        validate(broken)


def test_the_schema_itself_rejects_unknown_keys_and_wrong_types():
    """Struct mode and types are Hydra's/OmegaConf's own checks, under the pre-checks of sim.config.

    (``+key=value`` bypasses struct mode in Hydra; only the pre-checks of sim.config refuse it.)"""
    with _hydra_context():
        for bad in (["population.foo=1"], ["population.urban=abc"], ["population.urban=1.5"]):
            with pytest.raises(Exception):  # noqa: B017 - Hydra raises its own exception classes
                hydra_compose(config_name="config", overrides=bad)


def test_multirun_sweep_is_expanded_and_every_combination_checked():
    combos = sweep_combinations(["scenario=baseline,guides_high", "seed=1,2,3", "population=tiny"])
    assert len(combos) == 6 and ["scenario=guides_high", "seed=3", "population=tiny"] in combos
    validate_args(["-m", "scenario=baseline,guides_high", "seed=1,2,3", "population=tiny"])
    with pytest.raises(ConfigError, match="population.urban"):  # fine alone, too big in one combination
        validate_args(["-m", "population=tiny,three_metros"])
    with pytest.raises(ConfigError, match="cannot be enumerated"):
        validate_args(["-m", "policy.targeting=interval(0,1)"])


def test_compose_many_matches_compose():
    a, b = compose_many([["seed=1"], ["seed=2", "scenario=hybrid"]])
    assert a == compose(["seed=1"]) and b == compose(["seed=2", "scenario=hybrid"])


def test_resolved_config_round_trips_through_yaml():
    from omegaconf import OmegaConf

    cfg = compose(["scenario=covid_suspension", "seed=11"])
    text = OmegaConf.to_yaml(OmegaConf.structured(cfg))
    again = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.create(text)))
    assert asdict(again) == asdict(cfg)


# ------------------------------------------------------------------------------ composing scenarios, user folders


def test_scenarios_compose_in_order_later_wins_and_the_name_records_both():
    both = compose(["scenario=[guides_high,funding_cliff]"])
    assert both.policy.guides == compose(["scenario=guides_high"]).policy.guides  # from the first
    assert both.policy.funding_years == 3  # from the second
    assert type(both.scenario) is str and both.scenario == "guides_high+funding_cliff"
    assert compose(["scenario=guides_high+funding_cliff"]) == both  # the recorded name composes the same
    high, low = compose(["scenario=guides_high"]).policy.guides, compose(["scenario=guides_low"]).policy.guides
    later = compose(["scenario=[guides_high,guides_low]"])
    assert later.policy.guides == low and later.scenario == "guides_high+guides_low"
    assert compose(["scenario=[guides_low,guides_high]"]).policy.guides == high
    assert compose(["scenario=[guides_high,funding_cliff]", "policy.guides=2"]).policy.guides == 2


@pytest.mark.parametrize("override, value", [("scenario=[guides_high,nope]", "'nope'"), ("scenario=[]", "[]"),
                                             ("scenario=guides_high+", "''")])
def test_a_bad_composition_is_one_line_naming_the_scenario(override, value):
    with pytest.raises(ConfigError) as e:
        compose([override])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"scenario: {value}") and "[a,b]" in msg


def test_a_scenario_folder_outside_the_repository(tmp_path, monkeypatch):
    mine = tmp_path / "planner" / "scenario" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# @package _global_\n# My town's plan\n# 私の町の計画\n# Source: assumption\n"
                    "scenario: mine\npolicy:\n  guides: 7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="scenario: 'mine' is not an option"):
        compose(["scenario=mine"])
    monkeypatch.setenv("SIM_CONFIG_PATH", str(tmp_path / "planner"))
    cfg = compose(["scenario=mine"])
    assert cfg.scenario == "mine" and cfg.policy.guides == 7
    assert compose(["scenario=[funding_cliff,mine]"]).policy.funding_years == 3
    from sim.scenarios import describe, list_scenarios

    assert "mine" in list_scenarios() and describe("mine")["ja"] == "私の町の計画"
    assert describe("mine")["name_en"] == describe("mine")["name_ja"] == "mine"  # no Name: line
    clash = tmp_path / "clash" / "scenario" / "baseline.yaml"
    clash.parent.mkdir(parents=True)
    clash.write_text("# @package _global_\nscenario: baseline\n", encoding="utf-8")
    monkeypatch.setenv("SIM_CONFIG_PATH", str(tmp_path / "clash"))
    with pytest.raises(ConfigError, match="has the name of"):
        compose([])
    monkeypatch.setenv("SIM_CONFIG_PATH", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="SIM_CONFIG_PATH: .* is not a folder"):
        compose([])
