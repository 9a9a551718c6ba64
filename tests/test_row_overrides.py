"""A key of one row of the regions table set from the command line (regions.table.<row>.<key>=value), as the
calibration varies the example towns' attraction: checked like the row's key in the table, applied to that row
only."""

from __future__ import annotations

import pytest

from sim.config import ConfigError, check_overrides, compose, is_parameter


def test_sets_that_row_only():
    base = compose(["regions=japan"])
    cfg = compose(["regions=japan", "regions.table.2.attraction=0.05"])
    assert cfg.regions.table[2]["attraction"] == 0.05
    assert [r for i, r in enumerate(cfg.regions.table) if i != 2] == [r for i, r in enumerate(base.regions.table)
                                                                      if i != 2]


@pytest.mark.parametrize(("override", "words"), [
    ("regions.table.0.attractio=0.5", ["regions.table[0].attractio", "unknown key", "attraction"]),
    ("regions.table.0.attraction=-1", ["regions.table[0].attraction", "-1", "[0, 1,000,000,000]"]),
    ("regions.table.1.guides=many", ["regions.table[1].guides", "many"]),
])
def test_a_bad_row_key_or_value_is_one_line_naming_it(override, words):
    with pytest.raises(ConfigError) as err:
        check_overrides([override])
    text = str(err.value)
    assert len(text.splitlines()) == 1 and all(w in text for w in words), text


def test_a_row_the_table_does_not_have_is_refused():
    with pytest.raises(ConfigError, match="regions.table.7.attraction"):
        compose(["regions=japan", "regions.table.7.attraction=0.05"])


def test_row_keys_are_parameters():
    assert is_parameter("regions.table.0.attraction") and is_parameter("policy.guides")
    assert not is_parameter("regions.table.x.attraction") and not is_parameter("policy.nope")
