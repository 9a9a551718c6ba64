"""The summary text and the ladder plot, from a hand-made table (no engine needed)."""

from __future__ import annotations

import json
import warnings

import pandas as pd

from sim import Result
from sim.params import STAGES, STAGES_JA, Config
from sim.report import LABELS, plot_ladder, summary
from sim.table import COLUMNS, from_records


def table(steps: int = 3, regions: int = 2, new_partners: int = 1) -> pd.DataFrame:
    """A small valid table: per region 100 urban residents, 10 fans gained per week, costs 1,000 yen a week."""
    rec: dict[str, list] = {c: [] for c in COLUMNS}
    for t in range(steps + 1):
        for r in range(regions):
            row = {c: 0 for c in COLUMNS}
            row.update(step=t, region=r, indifferent=100 - 10 * t, fan=10 * t - min(t, 1) * new_partners * t,
                       partner=min(t, 1) * new_partners * t, migrant=0, local_population=1000 - t,
                       new_fans=10 if t else 0, new_partners=new_partners if t else 0,
                       cost_yen=1000.0 if t else 0.0, mean_host_burden=0.1, guide_utilisation=0.5)
            for c, v in row.items():
                rec[c].append(v)
    return from_records(rec)


def test_summary_reports_stages_flows_population_and_cost():
    text = summary(table(steps=3, regions=2, new_partners=1))
    for ja in STAGES_JA:
        assert ja in text
    assert "after 3 weeks" in text and "登録会員" in text
    assert "new fans 60" in text and "new partners 6" in text
    assert "local population 2,000 -> 1,994 (-0.3%)" in text
    assert "cost 6,000 yen (1,000 yen per new partner)" in text


def test_summary_without_new_partners_says_so():
    assert "no new partner" in summary(table(new_partners=0))


def test_ladder_png_renders_every_label_without_missing_glyphs(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = plot_ladder(table(), tmp_path / "ladder.png", title="baseline (mesa, seed 1)")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert [p.name for p in tmp_path.iterdir()] == ["ladder.png"], "no temporary file left"
    assert all(en in LABELS[en] and ja in LABELS[en] for en, ja in zip(STAGES, STAGES_JA))


def test_result_save_writes_the_four_files(tmp_path):
    res = Result(table=table(), config=Config(), seconds=1.25, meta={"overrides": ["seed=42"]})
    res.save(tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["config.yaml", "ladder.png", "run.json", "table.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "run" / "table.parquet"), res.table)
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["seed"] == 42 and meta["engine"] == "mesa" and meta["scenario"] == "baseline"
    assert meta["steps"] == Config().run.steps and meta["wall_time_s"] == 1.25 and meta["version"]
    assert meta["overrides"] == ["seed=42"]
    assert "scenario: baseline" in (tmp_path / "run" / "config.yaml").read_text()
