"""What the workshop page and its export show (sim.workshop, sim.animate), without a browser."""

from __future__ import annotations

import base64
import io
import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim import rules
from sim import workshop as ws
from sim.animate import main as animate_main
from sim.model import RelationshipModel
from sim.params import Config, region_config

BASELINE_ONE = ws.Focus("one", 0)
REMOTE = ws.Focus("two_towns", 1)  # the remote town: its own guides (2) and funding (half a year)


def test_sliders_start_at_the_chosen_scenario_and_regions_values() -> None:
    declared = Config().policy
    base = ws.lever_values(ws.compose(ws.base_overrides("baseline", BASELINE_ONE)), BASELINE_ONE)
    assert base["policy.guides"] == declared.guides and base["policy.entry_bar"] == declared.entry_bar
    high = ws.lever_values(ws.compose(ws.base_overrides("guides_high", BASELINE_ONE)), BASELINE_ONE)
    assert high["policy.guides"] != base["policy.guides"]
    assert high["policy.guides"] == ws.compose(["scenario=guides_high"]).policy.guides
    remote = ws.lever_values(ws.compose(ws.base_overrides("baseline", REMOTE)), REMOTE)
    near_town = ws.Focus("two_towns", 0)
    near = ws.lever_values(ws.compose(ws.base_overrides("baseline", near_town)), near_town)
    rows = ws.compose(["regions=two_towns"]).regions.table
    assert remote["policy.guides"] == rows[1]["guides"] and near["policy.guides"] == rows[0]["guides"]
    assert remote["policy.funding_years"] == rows[1]["funding_years"] != near["policy.funding_years"]
    for lever in ws.LEVERS:  # every slider can show the value it starts at
        lo, hi = lever.span(base[lever.key])
        assert lo <= base[lever.key] <= hi and lo <= remote[lever.key] <= max(hi, remote[lever.key])


def test_a_moved_lever_sets_the_focus_regions_row_and_nothing_else() -> None:
    base = ws.compose(ws.base_overrides("baseline", REMOTE))
    values = ws.lever_values(base, REMOTE)
    assert ws.lever_overrides(base, REMOTE, values) == []
    moved = {**values, "policy.guides": 7, "policy.targeting": 0.55}
    assert ws.lever_overrides(base, REMOTE, moved) == ["regions.table.1.guides=7", "policy.targeting=0.55"]
    cfg = ws.live_config("baseline", REMOTE, moved)
    assert region_config(cfg, 1).policy.guides == 7
    assert region_config(cfg, 0).policy.guides == region_config(base, 0).policy.guides != 7  # the other town
    assert cfg.policy.targeting == 0.55
    one = ws.compose(ws.base_overrides("baseline", BASELINE_ONE))  # no table rows: the declared value
    assert ws.lever_overrides(one, BASELINE_ONE, {**ws.lever_values(one, BASELINE_ONE), "policy.guides": 9}) == \
        ["policy.guides=9"]


def test_the_region_picker_offers_every_row_of_the_tables_the_live_engine_can_step() -> None:
    offered = {f.value for f, _, _ in ws.focus_options()}
    assert {"one:0", "two_towns:0", "two_towns:1", "three:2"} <= offered
    assert not any(v.startswith("japan:") for v in offered)  # 150,000 locals: too slow to step live
    names = {f.value: (ja, en) for f, ja, en in ws.focus_options()}
    assert names["two_towns:1"][0].startswith("遠い町") and names["two_towns:1"][1].startswith("remote_town")


def test_texts_exist_in_both_languages_and_numbers_read_as_in_each() -> None:
    for key, (ja, en) in ws.TEXT.items():
        assert ja and en and ja != en, key
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ja), key  # the Japanese text is Japanese
    assert ws.fmt_people(1234.4, "ja") == "1,234人" and ws.fmt_people(1234.4, "en") == "1,234"
    assert ws.fmt_yen(2.5e8, "ja") == "2.50億円" and ws.fmt_yen(2_310_000, "ja") == "231万円"
    assert ws.fmt_yen(2.5e9, "en") == "¥2.50bn" and ws.fmt_yen(2_310_000, "en") == "¥2.31M"


def test_the_page_font_covers_every_character_the_page_can_show() -> None:
    from fontTools.ttLib import TTFont

    css = ws.page_font_css()
    data = re.search(r"base64,([A-Za-z0-9+/=]+)\)", css)
    assert data is not None and len(css) < 1_000_000  # a cut of the 6 MB font
    font = TTFont(io.BytesIO(base64.b64decode(data.group(1))))
    cmap = font.getBestCmap()
    missing = {c for c in ws._page_characters() if not c.isspace() and ord(c) not in cmap and ord(c) > 0x2000}
    assert not missing, missing


@pytest.fixture(scope="module")
def two_towns() -> RelationshipModel:
    model = RelationshipModel(ws.compose(["regions=two_towns", "population=tiny", "engine=mesa"]))
    for _ in range(30):
        model.step()
    return model


def test_the_network_picture_is_fixed_by_the_seed_and_states_its_scale(two_towns: RelationshipModel) -> None:
    a, b = ws.network_view(two_towns, 1), ws.network_view(two_towns, 1)
    assert np.array_equal(a.urban, b.urban) and a.pos == b.pos
    other = ws.network_view(RelationshipModel(replace(two_towns.cfg, seed=two_towns.cfg.seed + 1)), 1)
    assert not np.array_equal(a.urban, other.urban) or a.pos != other.pos
    regions = {two_towns.nodes[int(v)].region for v in np.concatenate([a.urban, a.locals, a.guides])}
    assert regions == {1}  # the focus region's people only
    pool = sum(1 for n in two_towns.nodes[:len(two_towns.urban)] if getattr(n, "region", -1) == 1)
    assert a.per_urban * a.urban.size == pytest.approx(pool * two_towns.cfg.population.scale)
    assert f"{a.urban.size}人" in a.sample_note("ja") and f"{a.urban.size} urban" in a.sample_note("en")


def test_a_migrants_dot_moves_to_the_regions_side(two_towns: RelationshipModel) -> None:
    view = ws.network_view(two_towns, 1)
    person = two_towns.nodes[int(view.urban[0])]
    stage = person.stage
    try:
        person.stage = rules.INDIFFERENT
        before = ws.network_state(two_towns, view)
        person.stage = rules.MIGRANT
        after = ws.network_state(two_towns, view)
    finally:
        person.stage = stage
    assert before["urban_xy"][0, 0] < 0 < after["urban_xy"][0, 0]  # from the city side to the region's
    assert after["urban_xy"][0, 1] == before["urban_xy"][0, 1]
    assert after["urban_colour"][0] == ws.STAGE_COLOURS["migrant"] != before["urban_colour"][0]
    assert np.array_equal(after["urban_xy"][1:], before["urban_xy"][1:])  # nobody else moves


def test_the_panel_reads_the_focus_regions_rows(two_towns: RelationshipModel) -> None:
    table = two_towns.table()
    rows = table[table["region"] == 1]
    last = rows.iloc[-1]
    shown = dict(ws.panel(table, 1, "en"))
    assert shown["fans"] == f"{int(last['fan']):,}" and shown["registry members"] == f"{int(last['members']):,}"
    assert shown["local population"] == f"{int(last['local_population']):,}"
    assert shown["public cost so far"] == ws.fmt_yen(float(rows["cost_yen"].sum()), "en")
    bound = [ws.t(c, "en") for c in ws.LIMIT_COLUMNS if bool(last[c])]
    assert shown["limits binding this week"] == (", ".join(bound) if bound else "none")
    other = dict(ws.panel(table, 0, "en"))
    assert other["public cost so far"] != shown["public cost so far"]  # the two towns differ
    assert list(dict(ws.panel(table, 1, "ja"))) == [ws.t(k, "ja") for k in ("fan", "partner", "members", "migrant",
                                                                             "local_population", "host_burden", "cost",
                                                                             "binding")]


def test_what_if_pairs_seeds_and_shows_two_bands_per_outcome() -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    focus = ws.Focus("one", 0)
    scenario = ws.compose(["population=tiny", "scenario=baseline"])
    same = ws.whatif(scenario, scenario, focus.row, seeds=(1, 2), years=1, jobs=1)
    assert same["current"].shape == (2, 53, len(ws.WHATIF_OUTCOMES))
    assert np.array_equal(same["current"], same["scenario"])  # paired seeds: no difference without a change
    more = ws.whatif(ws.compose(["population=tiny", "scenario=baseline", "policy.guides=20"]), scenario, 0,
                     seeds=(1, 2), years=1, jobs=1)
    assert np.array_equal(more["scenario"], same["scenario"]) and not np.array_equal(more["current"], same["current"])
    fig = Figure()
    ws.draw_whatif(fig, more, "ja")
    for ax in fig.axes:
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    diffs = dict(ws.whatif_differences(more, "en"))
    d = more["current"][:, -1, 1] - more["scenario"][:, -1, 1]
    assert diffs["partners"].startswith(f"{d.mean():+,.0f} [")


def test_what_if_answers_from_runs_made_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = ws._runs

    def counting(configs: list[Config], region: int, jobs: int) -> list[np.ndarray]:
        made.append(len(configs))
        return real(configs, region, 1)

    monkeypatch.setattr(ws, "_runs", counting)
    monkeypatch.setattr(ws, "_RUNS", {})
    seeds = (1, 2)
    scenario = ws.compose(["population=tiny", "scenario=baseline"])
    current = ws.compose(["population=tiny", "scenario=baseline", "policy.guides=9"])
    others = [ws.compose(["population=tiny", f"scenario={name}"]) for name in ("guides_high", "online_only",
                                                                                "targeted")]
    first = ws.prefetch([*others, scenario], 0, seeds, years=1)
    second = ws.prefetch([scenario, current], 0, seeds, years=1)  # supersedes the first
    first.join(120)
    second.join(120)
    # the first request stopped at its next configuration at the latest: at most one of the others was run
    assert sum(made) in (2 * len(seeds), 3 * len(seeds)), made
    before = sum(made)
    runs = ws.whatif(current, scenario, 0, seeds, years=1)
    assert sum(made) == before  # nothing left to run when "what if" is asked
    assert runs["current"].shape == (len(seeds), 53, len(ws.WHATIF_OUTCOMES))
    assert not np.array_equal(runs["current"], runs["scenario"])


def test_export_writes_an_animation_of_the_network_with_japanese_labels(tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    out = tmp_path / "run.gif"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")  # a missing kana or kanji fails
        assert animate_main(["population=tiny", "regions=two_towns", "--region", "1", "--years", "0.25",
                             "--every", "4", "--out", str(out)]) == 0
    gif = Image.open(out)
    assert gif.n_frames == len(range(0, 13, 4)) + 1  # weeks 0, 4, 8, 12 and the last (13)
    frames = []
    for i in range(gif.n_frames):
        gif.seek(i)
        frame = gif.convert("L")
        assert ImageStat.Stat(frame).stddev[0] > 20  # not blank
        frames.append(np.asarray(frame))
    assert not np.array_equal(frames[0], frames[-1])  # the picture moves


def test_export_text_uses_the_shipped_japanese_font() -> None:
    from matplotlib.font_manager import FontProperties, findfont

    model = RelationshipModel(ws.compose(["population=tiny", "engine=mesa"]))
    fig = ws.frame_figure(model, ws.network_view(model, 0), 0, "ja")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("関係のネットワーク") and titles[1] == "関係人口の段階の推移"
    family = fig.axes[0].title.get_fontfamily()
    assert "ipaex" in findfont(FontProperties(family=family)).lower()


@pytest.mark.parametrize("args, key", [(["--out", "x.png"], "--out"), (["--region", "3", "--out", "x.gif"], "--region"),
                                       (["--years", "0", "--out", "x.gif"], "--years"),
                                       (["scenario=nope", "--out", "x.gif"], "scenario")])
def test_export_refuses_bad_input_in_one_line(args: list[str], key: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert animate_main(["population=tiny", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and key in err and "allowed" in err
    assert list(tmp_path.iterdir()) == []  # nothing half-written
