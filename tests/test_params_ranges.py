"""Plausible ranges (sim.params.plausible_range): every int and float parameter has one that brackets its
default within the validation limits, any draw from them is a valid configuration, experiment designs take
them with ``key: plausible``, and docs/ODD.md lists them. Nothing here runs the model."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from sim import experiment as ex
from sim import params
from sim.config import ConfigError, compose, validate
from sim.params import P

ROOT = Path(__file__).resolve().parent.parent
BASE = "base: {engine: vectorized, population: tiny, run.steps: 20}\n"
NO_RANGE = ("seed",)  # numeric, but not a model parameter: the experiment sets it


def numeric_keys() -> list[str]:
    return [k for k, f in params.iter_params() if params.is_numeric_scalar(f) and k not in NO_RANGE]


def test_every_numeric_scalar_parameter_has_a_range_within_its_limits_around_its_default():
    assert params.range_problems() == {}
    fields = dict(params.iter_params())
    keys = numeric_keys()
    assert len(keys) > 90 and set(params.plausible_ranges()) == set(keys)
    for key in keys:
        f = fields[key]
        low, high = params.plausible_range(key)
        lo, hi, default = f.metadata["lo"], f.metadata["hi"], params.default_of(f)
        assert low < high and low <= default <= high, (key, low, high, default)
        assert (lo is None or lo <= low) and (hi is None or high <= hi), (key, low, high, lo, hi)
        if params.is_integer(f):
            assert type(low) is int and type(high) is int, key
        else:
            assert type(low) is float and type(high) is float, key
        assert params.plausible_note(key), key  # "generic" or the declared reason


def test_only_numeric_scalars_have_ranges_and_lists_flags_names_say_why_not():
    numeric = numeric_keys()
    for key, _ in params.iter_params():
        if key in numeric:
            continue
        with pytest.raises(params.RangeError) as err:
            params.plausible_range(key)
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith(f"{key}: no plausible range (") and "allowed:" in msg
        assert params.plausible_note(key).startswith("none: ")
    assert "(a list)" in str(pytest.raises(params.RangeError, params.plausible_range, "regions.table").value)
    assert "(on/off)" in str(pytest.raises(params.RangeError, params.plausible_range, "run.plot").value)
    assert "experiment" in params.plausible_note("seed")


@pytest.mark.parametrize("key", ["policy.nope", "nope", "policy", ""])
def test_unknown_keys_are_refused_with_one_line(key):
    with pytest.raises(params.RangeError) as err:
        params.plausible_range(key)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{key}: unknown key") and "policy.guides" in msg


def test_regional_keys_take_the_declared_parameters_range():
    for short, dotted in params.REGION_KEYS.items():
        if dotted in numeric_keys():
            assert params.plausible_range(short) == params.plausible_range(dotted)
    assert params.plausible_range("guides") == (0, 8)
    with pytest.raises(params.RangeError, match="local_age_shares: no plausible range"):
        params.plausible_range("local_age_shares")


def test_generic_rule():
    assert params.generic_range(0.5, 0, 1) == (0.25, 0.75)  # halfway to 1, not 1
    assert params.generic_range(0.3, 0, 1) == (0.15, 0.6)
    assert params.generic_range(0.7, 0, 1) == (0.35, 0.85)
    assert params.generic_range(4, 0, 100_000, integer=True) == (2, 8)
    assert params.generic_range(15, 0, 100, integer=True) == (7, 30)  # whole numbers around 7.5
    assert params.generic_range(1, 1, 1000, integer=True) == (1, 2)  # clipped to the lower limit
    assert params.generic_range(8, 2, 1000, integer=True) == (4, 16)
    assert params.generic_range(0.0002, 0, 1) == (0.0001, 0.0004)
    assert params.generic_range(5_000_000, 0, 1e12) == (2_500_000, 10_000_000)
    for nothing in (0, 0.0, -1):  # nothing to scale: an explicit range is needed
        assert params.generic_range(nothing, -1, 10) is None


def test_declared_exceptions():
    assert params.plausible_range("policy.offline_capacity") == (8, 23)  # 定員15名, 23 applied (004:1174)
    assert "1174" in params.plausible_note("policy.offline_capacity")
    assert params.plausible_range("policy.offline_suspended_weeks") == (0, 104)  # default 0
    assert params.plausible_range("policy.offline_suspended_from_week") == (-1, 260)  # default -1 = never
    assert params.plausible_range("population.online_affinity_mean") == (0.3, 0.7)
    assert params.plausible_note("policy.targeting") != "generic"
    assert params.plausible_note("behaviour.social_hazard") == "generic"


@pytest.mark.parametrize("low, high, default, lo, hi, integer, problem", [
    (0.0, 0.6, 0.3, 0, 1, False, None),
    (0.6, 0.6, 0.6, 0, 1, False, "low >= high"),
    (0.4, 0.6, 0.3, 0, 1, False, "does not bracket the default"),
    (0.1, 0.2, 0.3, 0, 1, False, "does not bracket the default"),
    (-0.1, 0.6, 0.3, 0, 1, False, "leaves the validation limits"),
    (0.1, 1.5, 0.3, 0, 1, False, "leaves the validation limits"),
    (2.5, 8, 4, 0, 100, True, "not whole numbers"),
    (float("nan"), 8, 4, 0, 100, True, "finite"),
])
def test_range_problem_catches_bad_ranges(low, high, default, lo, hi, integer, problem):
    found = params.range_problem(low, high, default, lo, hi, integer)
    assert found is None if problem is None else problem in found


@dataclass
class _Bad:
    """Declarations with every kind of wrong range, to show the check fails on them."""

    outside: float = P(0.3, "share", 0, 1, plausible=(0.1, 1.5, "x"))
    not_bracketing: float = P(0.3, "share", 0, 1, plausible=(0.4, 0.6, "x"))
    zero_default: int = P(0, "weeks", 0, 100)  # the generic rule gives none
    fractional: int = P(4, "guides", 0, 100, plausible=(1.5, 8, "x"))
    no_reason: float = P(0.3, "share", 0, 1, plausible=(0.1, 0.6))  # type: ignore[arg-type]
    on_a_list: list[float] = P([0.5, 0.5], "shares", 0, 1, plausible=(0, 1, "x"))
    fine: float = P(0.3, "share", 0, 1)
    fine_none: int = P(42, "integer", 0, 100, plausible="none: a seed")


def test_range_problems_reports_each_bad_declaration():
    problems = params.range_problems(_Bad)
    assert set(problems) == {"outside", "not_bracketing", "zero_default", "fractional", "no_reason", "on_a_list"}


def _draws(keys: list[str], n: int, seed: int) -> list[dict[str, float]]:
    """Both corners, the two crossed corners (low of one half, high of the other) and ``n`` uniform draws."""
    rng = np.random.default_rng(seed)
    ranges = [params.plausible_range(k) for k in keys]
    lows = {k: r[0] for k, r in zip(keys, ranges)}
    highs = {k: r[1] for k, r in zip(keys, ranges)}
    crossed = [{k: r[1] if i % 2 == flip else r[0] for i, (k, r) in enumerate(zip(keys, ranges))} for flip in (0, 1)]
    random = [{k: rng.uniform(*r) for k, r in zip(keys, ranges)} for _ in range(n)]
    return [lows, highs, *crossed, *random]


def test_any_draw_from_the_plausible_ranges_is_a_valid_configuration():
    """Ranges of parameters that validation ties together (floors below thresholds, roles per partner below 1
    in total, initial shares) stay compatible for any draw; the even network degrees are the exception."""
    base = compose(["population=tiny"])
    fields = dict(params.iter_params())
    keys = numeric_keys()
    for draw in _draws(keys, 40, seed=3):
        cfg = copy.deepcopy(base)
        for key, value in draw.items():
            if params.is_integer(fields[key]):
                value = round(value)
                if key in ("network.urban_k", "network.local_k"):
                    value += value % 2  # validation wants even degrees (within the even-ended ranges)
            group, leaf = key.split(".")
            setattr(getattr(cfg, group), leaf, value)
        try:
            validate(cfg)
        except ConfigError as exc:
            pytest.fail(f"a draw from the plausible ranges is invalid: {exc}")


# ------------------------------------------------------------------------------------------ experiments


def _design(method: str, extra: str, parameters: str) -> str:
    return BASE + f"design:\n  method: {method}\n  {extra}\n  parameters:\n{parameters}seed: 5\n"


@pytest.mark.parametrize("method, extra", [("morris", "trajectories: 4"), ("lhs", "samples: 12"),
                                           ("sobol", "samples: 4"), ("random", "samples: 8")])
def test_plausible_bounds_sample_inside_the_range_and_round_integer_keys(method, extra):
    exp = ex.parse(_design(method, extra,
                           "    policy.guides: plausible\n"
                           "    policy.offline_capacity: {bounds: plausible}\n"
                           "    behaviour.social_hazard: plausible\n"
                           "    policy.offline_programs_per_year: {bounds: plausible, integer: true}\n"))
    assert [(b.low, b.high, b.integer) for b in exp.bounds] == [(0, 8, True), (8, 23, True),
                                                                (0.0015, 0.006, False), (0, 24, True)]
    cols = list(zip(*exp.points))
    for key, values in zip(exp.keys, cols):
        low, high = params.plausible_range(key)
        assert all(low <= v <= high for v in values), key
    assert all(type(v) is int for v in cols[0] + cols[1])  # declared int: rounded without being asked
    assert all(type(v) is float and v.is_integer() for v in cols[3])  # integer: true on a float key
    assert all(type(v) is float for v in cols[2]) and len(set(cols[2])) > 1
    ex.check_points(exp)


def test_plausible_rounds_as_integer_true_does_and_explicit_bounds_keep_their_rule():
    """Samplers give floats: ``plausible`` on an int key rounds them as ``integer: true`` on [8, 23] does
    (integral floats such as 15.0 become 15); explicit bounds without ``integer: true`` still refuse 12.7."""
    exp = ex.parse(_design("lhs", "samples: 10", "    policy.offline_capacity: plausible\n"))
    assert all(type(p[0]) is int and 8 <= p[0] <= 23 for p in exp.points)
    explicit = ex.parse(_design("lhs", "samples: 10", "    policy.offline_capacity: {bounds: [8.0, 23.0], "
                                "integer: true}\n"))
    assert explicit.points == exp.points
    with pytest.raises(ex.ExperimentError, match="integer: true in design.parameters.policy.offline_capacity"):
        ex.parse(_design("lhs", "samples: 10", "    policy.offline_capacity: [8, 23]\n"))


@pytest.mark.parametrize("spec, expected", [
    ("population.life_stage_shares: plausible", "design.parameters.population.life_stage_shares: "
                                                "population.life_stage_shares: no plausible range (a list)"),
    ("run.plot: plausible", "run.plot: no plausible range (on/off)"),
    ("policy.guides: {integer: true}", "design.parameters.policy.guides.bounds: missing; allowed: [low, high] "
                                       "or plausible"),
    ("policy.guides: plausibel", "allowed: [low, high], plausible"),
    ("policy.gides: plausible", "policy.gides: unknown key"),
])
def test_keys_without_a_range_are_refused_with_one_line(spec, expected):
    with pytest.raises(ex.ExperimentError) as err:
        ex.parse(_design("morris", "trajectories: 2", f"    {spec}\n"))
    msg = str(err.value)
    assert "\n" not in msg and expected in msg and "allowed" in msg


def test_shipped_screening_varies_every_parameter_over_its_plausible_range():
    exp = ex.read("screening")  # every point checked against the model too
    assert (exp.method, exp.outputs, exp.replicates) == ("morris", "summary", 1)
    assert len(exp.keys) >= 30 and len(exp.points) == exp.settings["trajectories"] * (len(exp.keys) + 1)
    assert len(exp.runs) <= 400  # minutes on 2 cores, not hours
    assert all((b.low, b.high) == params.plausible_range(b.key) for b in exp.bounds)
    assert "engine=vectorized" in exp.base and "run.steps=260" in exp.base


# ------------------------------------------------------------------------------------------ docs


def test_the_odd_table_lists_each_range_or_why_there_is_none():
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    rows = {}
    for line in odd.split("<!-- params:start -->\n", 1)[1].split("\n<!-- params:end -->", 1)[0].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows[cells[0].strip("`")] = cells
    assert params.GENERIC_RULE in " ".join(odd.split())  # the rule the table's plain ranges follow
    header = odd.split("<!-- params:start -->\n", 1)[1].splitlines()[0]
    assert "| limits | analysis range |" in header
    assert set(rows) == {k for k, _ in params.iter_params()}
    for key in rows:
        cell = rows[key][4]
        if key in numeric_keys():
            low, high = params.plausible_range(key)
            assert cell.startswith(f"[{params._fmt(low)}, {params._fmt(high)}]"), (key, cell)
            note = params.plausible_note(key)
            assert cell.endswith(note) or note == "generic", (key, cell)
        else:
            assert cell.startswith("none ("), (key, cell)
    capacity = rows["policy.offline_capacity"][4]
    assert capacity.startswith("[8, 23]: ") and "定員15名" in capacity
