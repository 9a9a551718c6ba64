"""The validation report (sim.validate): targets that cite their seed lines, the model's survey shares read
at the right week over every region, and a report whose numbers come from the runs."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sim import simulate
from sim import validate as v
from sim.table import STAGE_COLUMNS, SURVEY_COLUMNS

from .test_scenarios import SEEDS_DIR

TINY = ["population.scale=5000", "population.urban=46780000"]  # 9,356 simulated residents for the 46.78M


def test_targets_cite_existing_seed_lines_and_use_survey_columns():
    configuration, targets = v.load_targets()
    assert "regions=japan" in configuration and len(targets) >= 6
    for t in targets:
        assert set(t.columns) <= set(SURVEY_COLUMNS) and 0 < t.value < 100 and t.tolerance > 0
        cited = re.findall(r"(\d{3}_[0-9a-f]{16}\.txt):(\d+)", t.source)
        assert cited, t.source
        if SEEDS_DIR.is_dir():
            for file, line in cited:
                assert int(line) <= len((SEEDS_DIR / file).read_text(encoding="utf-8").splitlines())
    assert sum(t.value for t in targets if t.name != "visiting_relationship_population") < 100  # rows left out


def _table() -> pd.DataFrame:
    """Two regions at weeks 0, 52 and 60: the survey columns change only at the yearly surveys."""
    rows = []
    for step, scale in ((0, 1), (52, 2), (60, 3)):
        for region in (0, 1):
            row = {"step": step, "region": region, **dict.fromkeys(STAGE_COLUMNS, 0)}
            row["indifferent"] = 100 * (region + 1)
            row.update({c: (i + 1) * scale * (region + 1) for i, c in enumerate(SURVEY_COLUMNS)})
            rows.append(row)
    return pd.DataFrame(rows)


def test_shares_are_read_at_the_last_yearly_survey_over_every_region():
    _, targets = v.load_targets()
    shares = v.national_shares(_table(), targets)
    # week 52: region 0 has survey columns 2, 4, 6, ... and region 1 twice that; 300 residents in all
    col = {c: 3 * 2 * (i + 1) for i, c in enumerate(SURVEY_COLUMNS)}
    for t in targets:
        assert shares[t.name] == pytest.approx(100 * sum(col[c] for c in t.columns) / 300)


def test_the_report_shows_each_target_beside_the_runs_and_says_it_is_not_calibrated(tmp_path, capsys):
    out = tmp_path / "VALIDATION.md"
    assert v.main(["--seeds", "2", "--steps", "52", "--out", str(out), *TINY]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    text = out.read_text(encoding="utf-8")
    configuration, targets = v.load_targets()
    assert "not calibrated" in text
    got = [v.national_shares(simulate([*configuration, "run.steps=52", f"seed={s}", "run.plot=false", *TINY]).table,
                             targets) for s in (1, 2)]
    for t in targets:
        mean = (got[0][t.name] + got[1][t.name]) / 2
        row = next(line for line in text.splitlines() if line.startswith(f"| {t.name} "))
        assert f"| {t.value:.1f} | {mean:.2f} [" in row, (row, mean)
        assert ("| yes |" in row.split(f"±{t.tolerance:.1f}")[1][:8]) == (abs(mean - t.value) <= t.tolerance)
        assert (f"| no: {t.not_fitted} |" in row) if t.not_fitted else ("| yes | " in row)


@pytest.mark.parametrize("argv, words", [
    (["--seeds", "0"], ["seeds", "'0'"]),
    (["population.urbn=5"], ["population.urbn"]),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, words):
    out = tmp_path / "V.md"
    assert v.main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err
    assert not out.exists()


def test_a_wrong_targets_file_names_the_key(tmp_path, capsys):
    bad = tmp_path / "targets.yaml"
    bad.write_text("national:\n  targets:\n    - {name: x, name_ja: x, value: 1, tolerance: 1, columns: [survey_nope],"
                   " source: s}\n", encoding="utf-8")
    assert v.main(["--targets", str(bad), "--out", str(tmp_path / "V.md")]) == 2
    err = capsys.readouterr().err
    assert "national.targets[0].columns" in err and "survey_nope" in err


def test_programs_read_their_own_region_at_their_week():
    programs = v.load_programs()
    assert {p.region for p in programs} <= {"hida_like", "kashiwazaki_like", "kimotsuki_like"}
    names = ["hida_like", "kashiwazaki_like", "kimotsuki_like", "other_regions"]
    table = pd.DataFrame([{"step": s, "region": r, "members": 1000 * s + r} for s in (104, 156, 520)
                          for r in range(4)])
    got = v.program_members(table, names, programs)
    for p in programs:
        assert got[p.name] == 1000 * p.week + names.index(p.region)
    with pytest.raises(v.ConfigError, match="is not a row of the regions table; allowed: a, b"):
        v.program_members(table, ["a", "b"], programs)


def test_the_report_lists_each_program_beside_the_runs(tmp_path):
    out = tmp_path / "VALIDATION.md"
    assert v.main(["--seeds", "1", "--steps", "156", "--out", str(out), *TINY]) == 0
    text = out.read_text(encoding="utf-8")
    configuration, _ = v.load_targets()
    res = simulate([*configuration, "run.steps=156", "seed=1", "run.plot=false", *TINY])
    names = [r["name"] for r in res.config.regions.table]
    got = v.program_members(res.table, names, v.load_programs())
    for p in v.load_programs():
        row = next(line for line in text.splitlines() if line.startswith(f"| {p.name} "))
        if p.week <= 156:
            assert f"| {got[p.name]:,.0f} [" in row, (row, got[p.name])


def test_the_report_validates_a_calibration_beside_the_defaults(tmp_path):
    """With a calibration file, the report has a second table from runs with its overrides, the method's
    coverage, each free parameter pinned or loose by the width of its interval, and the pairwise figure."""
    import numpy as np
    import yaml

    cal = tmp_path / "cal"
    cal.mkdir()
    free = [{"key": "behaviour.broadcast_hazard", "prior": {"low": 0.0001, "high": 0.0016, "scale": "log"},
             "median": 0.0008, "interval_90": [0.0007, 0.0009]},  # a small share of the prior: pinned
            {"key": "population.roots_share", "prior": {"low": 0.02, "high": 0.3, "scale": "linear"},
             "median": 0.1, "interval_90": [0.03, 0.28]}]  # most of it: loose
    doc = {"provenance": {"date": "2026-01-01", "command": "python -m sim.calibrate", "targets": "targets.yaml",
                          "configuration": ["population=three_metros"], "weeks": 520, "method": "NPE",
                          "simulations": 10, "held_out_for_coverage": 4, "seed": 1, "coverage_90": 0.875,
                          "coverage_90_by_parameter": {"behaviour.broadcast_hazard": 1.0,
                                                       "population.roots_share": 0.75},
                          "truncated_round": {"method": "TSNPE", "simulations": 6, "held_out_for_coverage": 2,
                                              "coverage_90": 0.93, "box": {}},
                          "code": {"version": "0.1.0"}},
           "overrides": ["behaviour.broadcast_hazard=0.0008", "population.roots_share=0.1"], "free": free}
    (cal / "calibrated.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    rng = np.random.default_rng(1)
    pd.DataFrame({"behaviour.broadcast_hazard": rng.uniform(7e-4, 9e-4, 200),
                  "population.roots_share": rng.uniform(0.03, 0.28, 200)}).to_parquet(cal / "posterior.parquet")
    out = tmp_path / "VALIDATION.md"
    assert v.main(["--seeds", "1", "--steps", "52", "--out", str(out), "--calibration", str(cal / "calibrated.yaml"),
                   *TINY]) == 0
    text = out.read_text(encoding="utf-8")
    assert "87.5%" in text and "## Calibrated values" in text
    assert "**Second round:** TSNPE; 6 simulations" in text and "**93.0%**" in text
    assert re.search(r"`behaviour.broadcast_hazard`.*pinned", text)
    assert re.search(r"`population.roots_share`.*loose", text)
    assert (tmp_path / "calibration_pairs.png").stat().st_size > 5000
    configuration, targets = v.load_targets()
    res = simulate([*configuration, "run.steps=52", "seed=1", "run.plot=false", *TINY, *doc["overrides"]])
    kin = v.national_shares(res.table, targets)["kin_visits"]
    calibrated = text.split("## Calibrated values")[1]
    row = next(line for line in calibrated.splitlines() if line.startswith("| kin_visits "))
    assert f"| {kin:.2f} [" in row, (row, kin)


def test_a_file_that_is_not_a_calibration_is_one_line(tmp_path, capsys):
    bad = tmp_path / "calibrated.yaml"
    bad.write_text("overrides: []\n", encoding="utf-8")
    assert v.main(["--calibration", str(bad), "--out", str(tmp_path / "V.md")]) == 2
    assert "not a calibration" in capsys.readouterr().err
    assert not (tmp_path / "V.md").exists()
