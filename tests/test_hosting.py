"""The local side (ODD 7.3): hosting falls on a few key persons unless local guides bring in other hosts;
their burden can bind the offline seats."""

from __future__ import annotations

import numpy as np
import pytest

from sim.config import compose
from sim.engines import run_engine

SEEDS = (1, 2, 3)
BUSY = ["engine=vectorized", "policy.offline_programs_per_year=260", "run.steps=156", "run.progress=off"]


def weeks(*overrides: str) -> object:
    df = run_engine(compose([*BUSY, *overrides]))
    return df[df.step > 0]


def test_without_guides_only_key_persons_host_and_their_burden_binds_the_seats():
    """Five programs a week and no guides: the 3% key persons carry the load (their burden well above the
    locals' mean), few of them stay willing, and hosts bind the offline seats in most program weeks."""
    for seed in SEEDS:
        w = weeks("policy.guides=0", f"seed={seed}")
        assert w.key_host_burden.mean() > 10 * w.mean_host_burden.mean()
        assert w.bound_hosts.mean() > 0.5
        # willing hosts are at most the key persons: 3% of 1,000 locals, within four binomial sd
        assert w.willing_hosts.max() <= 30 + 4 * np.sqrt(1000 * 0.03 * 0.97)


def test_local_guides_spread_the_load_and_open_seats():
    """The same seeds with 20 guides (10 local, each bringing in its 30 locals): in every seed the key
    persons' burden is lower, hosts bind less often and more fans take part in programs."""
    for seed in SEEDS:
        none, many = weeks("policy.guides=0", f"seed={seed}"), weeks("policy.guides=20", f"seed={seed}")
        assert many.key_host_burden.mean() < none.key_host_burden.mean()
        assert many.bound_hosts.mean() < none.bound_hosts.mean()
        assert many.offline_participants.sum() > 2 * none.offline_participants.sum()


@pytest.mark.parametrize("engine", ["mesa", "vectorized"])
def test_no_key_persons_and_no_guides_means_no_hosts(engine):
    """With no key persons and no local guides nobody hosts: no offline participant ever, whatever the
    calendar."""
    w = weeks(f"engine={engine}", "policy.guides=0", "regions.key_person_share=0", "run.steps=20",
              "population=tiny")
    assert w.willing_hosts.sum() == 0 and w.offline_participants.sum() == 0 and w.events_held.sum() > 0
