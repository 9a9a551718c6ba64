"""Shared fixtures and checks for the test suite."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from sim.params import Config


def tiny_config(**groups) -> Config:
    """A small, fast configuration: 300 urban residents, 300 locals, 2 guides (1 urban, 1 local).

    ``groups`` maps "group.key" (dots as double underscores are not needed: pass a dict per group)
    e.g. ``tiny_config(policy={"funding_years": 3})``.
    """
    cfg = Config()
    cfg.population.urban = 300
    cfg.population.locals_per_region = 300
    cfg.policy.guides = 2  # one urban-side, one local-side
    cfg.run.steps = 104
    for group, values in groups.items():
        if group in ("seed", "engine", "scenario"):
            setattr(cfg, group, values)
            continue
        obj = getattr(cfg, group)
        for k, v in values.items():
            if not hasattr(obj, k):
                raise AttributeError(f"{group}.{k}")
            setattr(obj, k, v)
    return copy.deepcopy(cfg)


def check_invariants(df: pd.DataFrame, cfg: Config) -> None:
    """Properties every table must have, whatever the engine, scenario or seed."""
    stages = df[["indifferent", "fan", "partner", "migrant"]]
    totals = stages.groupby(df["step"]).sum().sum(axis=1)
    assert (totals == cfg.population.urban).all(), "stage counts must sum to the urban population"
    numeric = df.drop(columns=["region"]).select_dtypes("number")
    assert (numeric >= 0).all().all(), "no negative counts or rates"
    for _, g in df.groupby("region"):
        assert np.all(np.diff(g["migrant"].to_numpy()) >= 0), "cumulative migrants never fall"
        mig = g["migrant"].to_numpy()
        assert np.array_equal(mig[1:] - mig[:-1], g["new_migrants"].to_numpy()[1:]), "migrant stock = sum of flows"
    for _, g in df.groupby("region"):
        members = g["members"].to_numpy()
        assert (members >= g[["fan", "partner", "migrant"]].sum(axis=1).to_numpy()).all(), "fans are members"
        assert (np.diff(members) >= 0).all(), "members stay registered"
        assert (np.diff(members) <= g["new_fans"].to_numpy()[1:]).all(), "only new fans join"
    assert df["mean_host_burden"].between(0, 1).all()
    assert df["guide_utilisation"].between(0, 1 + 1e-12).all()
    assert set(df["step"]) == set(range(cfg.run.steps + 1))
    assert (df.groupby("step").size() == cfg.regions.count).all()


@pytest.fixture
def tiny() -> Config:
    return tiny_config()
