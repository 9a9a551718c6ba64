"""What the workshop page and its slide export show, without any web framework: the levers a municipality
decides and their values in a chosen scenario, the focus region's network as a fixed, seeded picture, the
ladder over time, the panel of current figures, and the "what if" comparison of the current settings with
the scenario's own over a few seeds on the vectorized engine.

Every text exists in Japanese and English (``TEXT``; Japanese first, the page's default), every figure is
drawn with the Japanese font matplotlib-fontja ships (``sim.report.pyplot``). The page (``sim.app``) and the
export (``sim.animate``) both draw through the functions here, so what a room sees live and what goes on a
slide are the same pictures.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import rules
from sim.params import REGION_KEYS, STAGES, Config, region_name, region_values
from sim.table import LIMIT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.model import RelationshipModel

LANGS = ("ja", "en")
WEEKS_PER_YEAR = rules.WEEKS_PER_YEAR
LIVE_LOCALS = 20_000  # regions tables whose locals sum to more are left off the live page: the Mesa engine
# would take minutes a year (the regions=japan table has 150,000 locals); sim.compare runs them
WHATIF_YEARS = 10
WHATIF_SEEDS = (1, 2, 3)

# key -> (Japanese, English): every text the page and the export show
TEXT: dict[str, tuple[str, str]] = {
    "title": ("関係人口ワークショップ", "Relationship population workshop"),
    "subtitle": ("都市の人々が地域とどう関わっていくか：無関心 → ファン → パートナー → 移住",
                 "How city people come to relate to a region: indifferent → fan → partner → migrant"),
    "language": ("言語", "Language"),
    "scenario": ("シナリオ", "Scenario"),
    "region": ("地域", "Region"),
    "levers": ("施策（自治体が決めるもの）", "Levers (what a municipality decides)"),
    "levers_note": ("施策を動かすとモデルは0週目からやり直します。初期値は選んだシナリオの値です。",
                    "Moving a lever restarts the model at week 0. Initial values are the chosen scenario's."),
    "in_effect": ("この実行の設定", "This run's settings"),
    "as_scenario": ("シナリオのまま", "as the scenario sets"),
    "reset": ("リセット", "Reset"),
    "play": ("再生", "Play"),
    "pause": ("一時停止", "Pause"),
    "step": ("1週進める", "Step one week"),
    "speed": ("速さ（週/秒）", "Speed (weeks/second)"),
    "week": ("週", "week"),
    "year": ("年", "year"),
    "years": ("経過年数", "years"),
    "network": ("関係のネットワーク", "The network of relations"),
    "ladder": ("関係人口の段階の推移", "The ladder over time"),
    "figures": ("現在の数値", "Current figures"),
    "whatif": ("もしも（今後10年）", "What if (next 10 years)"),
    "whatif_run": ("比べる", "Compare"),
    "whatif_note": ("今の設定とシナリオの設定を、高速エンジンで乱数系列{n}本ずつ10年間計算します（帯は最小〜最大）。",
                    "Runs the current settings and the scenario's for 10 years on the vectorized engine, {n} seeds "
                    "each (bands: lowest to highest)."),
    "whatif_same": ("今の設定はシナリオと同じです。施策を動かしてから比べてください。",
                    "The current settings are the scenario's: move a lever, then compare."),
    "current": ("今の設定", "current settings"),
    "scenario_band": ("シナリオの設定", "scenario's settings"),
    "difference": ("10年後の差（今の設定 − シナリオ）", "difference after 10 years (current − scenario)"),
    "running": ("計算中…", "Running…"),
    "urban": ("都市住民", "urban resident"),
    "local": ("地域住民", "local resident"),
    "guide": ("関係案内人", "guide (関係案内人)"),
    "moved": ("移住者（地域側へ移動）", "migrant (moved to the region's side)"),
    "city_side": ("都市側", "city side"),
    "region_side": ("地域側", "region side"),
    "sample_note": ("標本：都市住民{u}人（1点 ≈ {per}人）、地域住民{l}人（1点 ≈ {lper}人）、案内人{g}人",
                    "Sample: {u} urban residents (1 dot ≈ {per} people), {l} locals (1 dot ≈ {lper}), {g} guides"),
    "indifferent": ("無関心", "indifferent"),
    "fan": ("ファン", "fans"),
    "partner": ("パートナー", "partners"),
    "migrant": ("移住者（累計）", "migrants so far"),
    "members": ("登録会員", "registry members"),
    "local_population": ("地域の人口", "local population"),
    "host_burden": ("受け入れ負担（平均／キーパーソン）", "host burden (mean / key persons)"),
    "cost": ("公費（累計）", "public cost so far"),
    "binding": ("今週効いている上限", "limits binding this week"),
    "no_limit": ("なし", "none"),
    "people": ("人", "people"),
    # the capacity limits of sim.table.LIMIT_COLUMNS
    "bound_program_places": ("現地プログラムの定員", "program places"),
    "bound_hosts": ("受け入れ手", "hosts"),
    "bound_urban_seats": ("都市部イベントの定員", "urban event seats"),
    "bound_online_seats": ("オンラインの定員", "online seats"),
    "bound_guide_time": ("都市側案内人の時間", "urban guides' time"),
    "bound_local_guides": ("地域側案内人・プログラム", "local guides and programs"),
    "bound_roles": ("関わりしろ", "partner roles (関わりしろ)"),
    "bound_openings": ("移住の受け皿", "openings (housing, jobs)"),
    "bound_first_visits": ("初訪問の同行", "accompanied first visits"),
    "bound_budget": ("予算", "budget"),
}
STAGE_COLOURS = {"indifferent": "#b0b0b0", "fan": "#1f77b4", "partner": "#ff7f0e", "migrant": "#2ca02c"}
LOCAL_COLOUR = "#8c564b"
GUIDE_COLOUR = "#222222"


def t(key: str, lang: str, **fields: Any) -> str:
    """The text ``key`` in ``lang`` ("ja" or "en"), with ``fields`` filled in."""
    ja, en = TEXT[key]
    return (ja if lang == "ja" else en).format(**fields)


def fmt_people(n: float, lang: str) -> str:
    """A count of people: "1,234人" in Japanese, "1,234" in English."""
    return f"{round(n):,}人" if lang == "ja" else f"{round(n):,}"


def fmt_yen(yen: float, lang: str) -> str:
    """Yen in the units a budget is read in: 億円 / 万円 in Japanese, ¥ with M / bn in English."""
    if lang == "ja":
        if abs(yen) >= 1e8:
            return f"{yen / 1e8:,.2f}億円"
        if abs(yen) >= 1e4:
            return f"{yen / 1e4:,.0f}万円"
        return f"{yen:,.0f}円"
    if abs(yen) >= 1e9:
        return f"¥{yen / 1e9:,.2f}bn"
    if abs(yen) >= 1e6:
        return f"¥{yen / 1e6:,.2f}M"
    return f"¥{yen:,.0f}"


def page_font_css() -> str:
    """CSS that gives the page the project's shipped Japanese font (IPAexGothic, from matplotlib-fontja),
    cut to the characters the page can show and embedded, so Japanese renders in any browser, offline,
    with no system font (a browser without a Japanese font would show empty boxes)."""
    from sim.report import embedded_font_css

    return embedded_font_css(_page_characters(), ".v-application, .v-application *", "Roboto, ")


def _page_characters() -> str:
    from sim.scenarios import describe, list_scenarios

    texts = [s for pair in TEXT.values() for s in pair] + [lv.ja for lv in LEVERS]
    texts += [describe(n)["name_ja"] for n in list_scenarios()] + [ja for _, ja, _ in focus_options()]
    texts.append("日本語 English 0123456789,.%¥+-−/[]()（）：、。・…* 週年人円万億")
    return "".join(sorted(set("".join(texts))))


# --- levers ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lever:
    """One slider: the configuration key it sets, its labels and its span. ``lo``/``hi`` cover the plausible
    range of docs/ODD.md and every shipped scenario's value; a scenario value beyond them widens the span
    (``span``), never the other way round, so a slider can always show the scenario's value."""

    key: str
    ja: str
    en: str
    lo: float
    hi: float
    step: float
    integer: bool = False

    @property
    def short(self) -> str | None:
        """The regions-table key of this lever (set per region), or None (one value for every region)."""
        return next((k for k, v in REGION_KEYS.items() if v == self.key), None)

    def label(self, lang: str) -> str:
        """The slider's label in ``lang``."""
        return self.ja if lang == "ja" else self.en

    def span(self, value: float) -> tuple[float, float]:
        """The slider's (min, max) when the scenario sets ``value``."""
        return min(self.lo, value), max(self.hi, value)


LEVERS: tuple[Lever, ...] = (
    Lever("policy.guides", "関係案内人（人）", "guides (FTE)", 0, 30, 1, integer=True),
    Lever("policy.offline_programs_per_year", "現地プログラム（回/年）", "offline programs a year", 0, 60, 1),
    Lever("policy.online_events_per_year", "オンラインイベント（回/年）", "online events a year", 0, 60, 1),
    Lever("policy.targeting", "ターゲティング度（0=広報のみ）", "targeting (0 = broadcast)", 0, 1, 0.05),
    Lever("policy.entry_bar", "登録のハードル（0=いいね）", "entry bar (0 = a like)", 0, 1, 0.05),
    Lever("policy.funding_years", "補助の年数", "funding years", 0, 10, 0.5),
)
LEVER_BY_KEY = {lv.key: lv for lv in LEVERS}


@dataclass(frozen=True)
class Focus:
    """A region a room looks at: a regions table (``regions=<name>``) and the row of it."""

    table: str
    row: int

    @property
    def value(self) -> str:
        """The picker's value: ``<table>:<row>``."""
        return f"{self.table}:{self.row}"

    @staticmethod
    def parse(value: str) -> Focus:
        """The focus of a picker value ``<table>:<row>``."""
        table, _, row = value.partition(":")
        return Focus(table, int(row or 0))


def base_overrides(scenario: str, focus: Focus) -> list[str]:
    """The overrides of a live run: the scenario and the regions table on the Mesa engine, default size."""
    return [f"scenario={scenario}", f"regions={focus.table}", "engine=mesa"]


@lru_cache(maxsize=64)
def _compose(overrides: tuple[str, ...]) -> Config:
    from sim.config import compose

    return compose(list(overrides))


def compose(overrides: Sequence[str]) -> Config:
    """The validated configuration of ``overrides`` (cached: Hydra takes a third of a second)."""
    return _compose(tuple(overrides))


@lru_cache(maxsize=1)
def focus_options() -> tuple[tuple[Focus, str, str], ...]:
    """Every region the live page offers, with its Japanese and English name: each row of each regions table
    whose locals sum to at most ``LIVE_LOCALS`` (the shipped ones and those of the user's configuration
    folders)."""
    from sim.config import options

    found = []
    for table in options("regions"):
        cfg = compose(["scenario=baseline", f"regions={table}"])
        if sum(region_values(cfg, "population.locals_per_region")) > LIVE_LOCALS:
            continue
        for r in range(cfg.regions.count):
            named = bool(cfg.regions.table)
            ja = region_name(cfg, r, "ja") if named else f"地域{r + 1}"
            en = region_name(cfg, r, "en") if named else f"region {r + 1}"
            if cfg.regions.count > 1:
                ja, en = f"{ja}（{table}、{cfg.regions.count}地域）", f"{en} ({table}, {cfg.regions.count} regions)"
            found.append((Focus(table, r), ja, en))
    return tuple(found)


def lever_values(cfg: Config, focus: Focus) -> dict[str, float]:
    """Each lever's value in ``cfg`` for the focus region (its row's value, else the declared one): the
    sliders' initial values, never a hard-coded default."""
    out = {}
    for lv in LEVERS:
        value = region_values(cfg, lv.key)[focus.row] if lv.short else _get(cfg, lv.key)
        out[lv.key] = int(value) if lv.integer else float(value)
    return out


def _get(cfg: Config, key: str) -> Any:
    group, leaf = key.split(".")
    return getattr(getattr(cfg, group), leaf)


def lever_overrides(cfg: Config, focus: Focus, values: dict[str, float]) -> list[str]:
    """The overrides that set the levers to ``values`` where they differ from ``cfg`` (the scenario's own):
    a regional lever sets the focus region's row when the table has rows, else the declared value."""
    initial = lever_values(cfg, focus)
    out = []
    for lv in LEVERS:
        value = values.get(lv.key, initial[lv.key])
        if value == initial[lv.key]:
            continue
        text = str(int(value)) if lv.integer else repr(float(value))
        key = f"regions.table.{focus.row}.{lv.short}" if lv.short and cfg.regions.table else lv.key
        out.append(f"{key}={text}")
    return out


def live_config(scenario: str, focus: Focus, values: dict[str, float]) -> Config:
    """The configuration a live run uses: the scenario on the focus region's table with the levers set."""
    base = base_overrides(scenario, focus)
    return compose(base + lever_overrides(compose(base), focus, values))


# --- the network picture ----------------------------------------------------------------------------------

@dataclass
class NetworkView:
    """A fixed, seeded picture of the focus region's network: a sample of its urban residents, locals and
    guides placed once (urban residents and urban-side guides on the left, locals and local guides on the
    right), so that nothing jumps between steps; a migrant's dot moves to the mirror place on the region's
    side. ``per_urban``/``per_local``: real people each dot stands for."""

    urban: np.ndarray  # node ids of the sampled urban residents
    locals: np.ndarray  # node ids of the sampled locals
    guides: np.ndarray  # node ids of the sampled guides
    pos: dict[int, tuple[float, float]]
    edges: list[tuple[int, int]]
    per_urban: float
    per_local: float

    def sample_note(self, lang: str) -> str:
        """What the sample is, in ``lang``: how many dots and how many real people each stands for."""
        return t("sample_note", lang, u=self.urban.size, per=_round_per(self.per_urban), l=self.locals.size,
                 lper=_round_per(self.per_local), g=self.guides.size)


def _round_per(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:,.1f}"


def network_view(model: RelationshipModel, region: int, urban_sample: int = 150, local_sample: int = 60,
                 guide_sample: int = 20) -> NetworkView:
    """The picture of ``region``'s network in ``model``, sampled and laid out with generators seeded from
    the run's seed (``sim.streams``: purpose "view"), so the same run always gives the same picture."""
    import networkx as nx

    from sim.agents import Guide, LocalResident, UrbanResident

    rng = model.draws.generator(0, "view", region)
    urban = np.array([a.node for a in model.nodes if isinstance(a, UrbanResident) and a.region == region], np.int64)
    locals_ = np.array([a.node for a in model.nodes if isinstance(a, LocalResident) and a.region == region
                        and a.alive], np.int64)
    guides = np.array([a.node for a in model.nodes if isinstance(a, Guide) and a.region == region], np.int64)

    def pick(ids: np.ndarray, k: int) -> np.ndarray:
        return np.sort(rng.choice(ids, size=k, replace=False)) if ids.size > k else ids

    su, sl, sg = pick(urban, urban_sample), pick(locals_, local_sample), pick(guides, guide_sample)
    side = {int(g): model.nodes[int(g)].side for g in sg}
    left = [int(v) for v in su] + [g for g in side if side[g] == 0]
    right = [int(v) for v in sl] + [g for g in side if side[g] != 0]
    pos: dict[int, tuple[float, float]] = {}
    for nodes, x0 in ((left, -1.0), (right, 0.15)):
        if not nodes:
            continue
        sub = model.graph.subgraph(nodes)
        seed = int(rng.integers(2**31))
        layout = nx.spring_layout(sub, seed=seed, k=1.5 / np.sqrt(max(len(nodes), 1)))
        xy = np.array([layout[v] for v in nodes])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        xy = (xy - lo) / np.where(hi > lo, hi - lo, 1.0)
        for v, (x, y) in zip(nodes, xy):
            pos[v] = (x0 + 0.85 * float(x), float(y))
    chosen = set(pos)
    edges = [(int(a), int(b)) for a, b in model.graph.subgraph(chosen).edges()]
    scale = model.cfg.population.scale
    per_urban = urban.size * scale / su.size if su.size else 0.0
    per_local = locals_.size / sl.size if sl.size else 0.0
    return NetworkView(su, sl, sg, pos, edges, per_urban, per_local)


def network_state(model: RelationshipModel, view: NetworkView) -> dict[str, Any]:
    """Where and what each sampled dot is now: urban residents by stage (a migrant at the mirror of its
    place, on the region's side), living locals, guides (working or not)."""
    xs, ys, colours = [], [], []
    moved = []
    for v in view.urban:
        a = model.nodes[int(v)]
        x, y = view.pos[int(v)]
        stage = STAGES[a.stage]
        if a.stage == rules.MIGRANT:
            x = -x
            moved.append(int(v))
        xs.append(x)
        ys.append(y)
        colours.append(STAGE_COLOURS[stage])
    alive = [int(v) for v in view.locals if model.nodes[int(v)].alive]
    return {"urban_xy": np.column_stack([xs, ys]) if xs else np.zeros((0, 2)), "urban_colour": colours,
            "locals_xy": np.array([view.pos[v] for v in alive]).reshape(-1, 2),
            "guides_xy": np.array([view.pos[int(g)] for g in view.guides]).reshape(-1, 2),
            "guides_active": [bool(model.guide_is_active.get(int(g), True)) for g in view.guides],
            "moved": moved}


def draw_network(ax: Axes, model: RelationshipModel, view: NetworkView, lang: str) -> None:
    """The network picture of ``view`` at the model's current week on ``ax``, with its legend and sample note."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    state = network_state(model, view)
    moved = set(state["moved"])
    def at(v: int) -> tuple[float, float]:
        x, y = view.pos[v]
        return (-x if v in moved else x, y)

    ax.add_collection(LineCollection([(at(a), at(b)) for a, b in view.edges], colors="0.85", linewidths=0.4,
                                     zorder=1))
    ax.axvline(0.075, color="0.7", lw=1, ls="--", zorder=0)
    if len(state["locals_xy"]):
        xy = state["locals_xy"]
        ax.scatter(xy[:, 0], xy[:, 1], marker="s", s=22, c=LOCAL_COLOUR, zorder=2)
    if len(state["urban_xy"]):
        xy = state["urban_xy"]
        ax.scatter(xy[:, 0], xy[:, 1], marker="o", s=22, c=state["urban_colour"], edgecolors="white",
                   linewidths=0.3, zorder=3)
    if len(state["guides_xy"]):
        face = [GUIDE_COLOUR if on else "white" for on in state["guides_active"]]
        xy = state["guides_xy"]
        ax.scatter(xy[:, 0], xy[:, 1], marker="^", s=60, c=face, edgecolors=GUIDE_COLOUR, zorder=4)
    ax.text(-0.575, 1.08, t("city_side", lang), ha="center", fontsize=10)
    ax.text(0.575, 1.08, t("region_side", lang), ha="center", fontsize=10)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-0.08, 1.15)
    ax.set_axis_off()
    handles = [Line2D([], [], marker="o", ls="", color=STAGE_COLOURS[s], label=f"{t('urban', lang)}：{t(s, lang)}"
                      if lang == "ja" else f"{t('urban', lang)}: {t(s, lang)}") for s in STAGES[:3]]
    handles += [Line2D([], [], marker="o", ls="", color=STAGE_COLOURS["migrant"], label=t("moved", lang)),
                Line2D([], [], marker="s", ls="", color=LOCAL_COLOUR, label=t("local", lang)),
                Line2D([], [], marker="^", ls="", color=GUIDE_COLOUR, label=t("guide", lang))]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=8, frameon=False)
    ax.set_title(f"{t('network', lang)}（{t('week', lang)} {model.week}）" if lang == "ja"
                 else f"{t('network', lang)} ({t('week', lang)} {model.week})", fontsize=11)
    ax.text(0.5, -0.2, view.sample_note(lang), ha="center", va="top", fontsize=8, color="0.3", transform=ax.transAxes)


# --- the ladder and the panel -----------------------------------------------------------------------------

def region_rows(table: pd.DataFrame, region: int) -> pd.DataFrame:
    """The focus region's rows of a per-week table, in step order."""
    return table[table["region"] == region].sort_values("step")


def draw_ladder(ax: Axes, rows: pd.DataFrame, lang: str, weeks: int | None = None) -> None:
    """Fans, registry members, partners and migrants so far over the years on ``ax`` (symmetric log scale,
    so the thin upper rungs stay visible); ``weeks`` fixes the x-axis (an animation's last week)."""
    years = rows["step"] / WEEKS_PER_YEAR
    for key, colour, style in (("fan", STAGE_COLOURS["fan"], "-"), ("members", "#9467bd", "--"),
                               ("partner", STAGE_COLOURS["partner"], "-"), ("migrant", STAGE_COLOURS["migrant"], "-")):
        ax.plot(years, rows[key], style, color=colour, label=t(key, lang), lw=1.8)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel(t("years", lang))
    ax.set_ylabel(t("people", lang) if lang == "ja" else "people (real)")
    ax.set_title(t("ladder", lang), fontsize=11)
    ax.set_xlim(0, max(weeks or 0, int(rows["step"].max()), WEEKS_PER_YEAR) / WEEKS_PER_YEAR)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def panel(table: pd.DataFrame, region: int, lang: str) -> list[tuple[str, str]]:
    """The current figures of the focus region, as (label, value) pairs in ``lang``: fans, partners, members,
    migrants so far, local population, host burden, public cost so far and the limits binding this week."""
    rows = region_rows(table, region)
    last = rows.iloc[-1]
    bound = [t(c, lang) for c in LIMIT_COLUMNS if c in rows and bool(last[c])] if last["step"] > 0 else []
    sep = "、" if lang == "ja" else ", "
    return [
        (t("fan", lang), fmt_people(last["fan"], lang)),
        (t("partner", lang), fmt_people(last["partner"], lang)),
        (t("members", lang), fmt_people(last["members"], lang)),
        (t("migrant", lang), fmt_people(last["migrant"], lang)),
        (t("local_population", lang), fmt_people(last["local_population"], lang)),
        (t("host_burden", lang), f"{last['mean_host_burden']:.3f} / {last['key_host_burden']:.3f}"),
        (t("cost", lang), fmt_yen(float(rows["cost_yen"].sum()), lang)),
        (t("binding", lang), sep.join(bound) if bound else t("no_limit", lang)),
    ]


def frame_figure(model: RelationshipModel, view: NetworkView, region: int, lang: str,
                 weeks: int | None = None) -> Figure:
    """The network and the ladder side by side at the model's current week (a slide or a GIF frame)."""
    from matplotlib.figure import Figure

    from sim.report import pyplot

    pyplot()  # the Japanese font as the default family
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    ax_net, ax_lad = fig.subplots(1, 2, width_ratios=[1.25, 1])
    draw_network(ax_net, model, view, lang)
    draw_ladder(ax_lad, region_rows(model.table(), region), lang, weeks)
    return fig


def png(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (for the page)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# --- what if ----------------------------------------------------------------------------------------------

WHATIF_OUTCOMES = ("members", "partner", "migrant")


def _whatif_run(cfg: Config, region: int) -> np.ndarray:
    """One vectorized run's focus-region trajectories of ``WHATIF_OUTCOMES`` (weeks+1, outcomes)."""
    from sim.engines import run_engine

    table = run_engine(cfg)
    return region_rows(table, region)[list(WHATIF_OUTCOMES)].to_numpy(np.float64)


def whatif_configs(cfg: Config, seeds: Sequence[int] = WHATIF_SEEDS, years: int = WHATIF_YEARS) -> list[Config]:
    """``cfg`` on the vectorized engine for ``years`` years, once per seed."""
    run = replace(cfg.run, steps=years * WEEKS_PER_YEAR, plot=False)
    return [replace(cfg, engine="vectorized", seed=int(s), run=run) for s in seeds]


def whatif(current: Config, scenario: Config, region: int, seeds: Sequence[int] = WHATIF_SEEDS,
           years: int = WHATIF_YEARS, jobs: int = 2) -> dict[str, np.ndarray]:
    """The focus region's trajectories under the current settings and the scenario's own, paired seeds:
    {"current": (seeds, weeks+1, outcomes), "scenario": ...}. Runs already made (``prefetch``) are reused."""
    return {"current": cached_runs(current, region, seeds, years, jobs),
            "scenario": cached_runs(scenario, region, seeds, years, jobs)}


def cached_runs(cfg: Config, region: int, seeds: Sequence[int] = WHATIF_SEEDS, years: int = WHATIF_YEARS,
                jobs: int = 2) -> np.ndarray:
    """The what-if runs of ``cfg``, kept once made (at most ``CACHE_SIZE`` configurations): a room compares
    many settings with one scenario and comes back to settings it tried."""
    configs = whatif_configs(cfg, seeds, years)
    keys = [_key(c, region) for c in configs]
    with _RUNS_LOCK:  # one computation at a time: a run asked for twice is made once
        todo = [(k, c) for k, c in zip(keys, configs) if k not in _RUNS]
        for (k, _), res in zip(todo, _runs([c for _, c in todo], region, jobs)):
            _RUNS[k] = res
        out = np.stack([_RUNS[k] for k in keys])
        while len(_RUNS) > CACHE_SIZE * len(configs):
            _RUNS.pop(next(iter(_RUNS)))  # the oldest first
        return out


def prefetch(configs: Sequence[Config], region: int, seeds: Sequence[int] = WHATIF_SEEDS,
             years: int = WHATIF_YEARS) -> threading.Thread:
    """Make the what-if runs of ``configs`` in the background (the thread returned), so "what if" answers at
    once: the page asks for the scenario's and the current settings' each time the model is rebuilt. Only
    the newest request is worked on; an older one stops at its next configuration (a slider dragged across
    many values)."""
    global _WANTED
    wanted = (tuple(configs), region, tuple(seeds), years)
    with _PREFETCH_LOCK:
        _WANTED = wanted
    thread = threading.Thread(target=_prefetch, args=(wanted,), daemon=True)
    thread.start()
    return thread


def _prefetch(wanted: tuple[tuple[Config, ...], int, tuple[int, ...], int]) -> None:
    configs, region, seeds, years = wanted
    for cfg in configs:
        with _PREFETCH_LOCK:
            if _WANTED is not wanted:  # superseded
                return
        cached_runs(cfg, region, seeds, years)


def _runs(configs: list[Config], region: int, jobs: int) -> list[np.ndarray]:
    if not configs:
        return []
    from joblib import Parallel, delayed

    return list(Parallel(n_jobs=min(jobs, len(configs)), backend="loky")(delayed(_whatif_run)(c, region)
                                                                          for c in configs))


CACHE_SIZE = 32  # configurations whose what-if runs are kept
_RUNS: dict[str, np.ndarray] = {}
_RUNS_LOCK = threading.Lock()
_PREFETCH_LOCK = threading.Lock()
_WANTED: tuple[tuple[Config, ...], int, tuple[int, ...], int] | None = None


def _key(cfg: Config, region: int) -> str:
    from omegaconf import OmegaConf

    return f"{region}:{OmegaConf.to_yaml(OmegaConf.structured(cfg))}"


def draw_whatif(fig: Figure, runs: dict[str, np.ndarray], lang: str) -> None:
    """The two bands side by side per outcome (lowest to highest over seeds, mean as a line)."""
    axes = fig.subplots(1, len(WHATIF_OUTCOMES))
    for i, (ax, key) in enumerate(zip(np.atleast_1d(axes), WHATIF_OUTCOMES)):
        for which, colour in (("scenario", "0.45"), ("current", "#d62728")):
            a = runs[which][:, :, i]
            years = np.arange(a.shape[1]) / WEEKS_PER_YEAR
            ax.fill_between(years, a.min(axis=0), a.max(axis=0), color=colour, alpha=0.25, lw=0)
            ax.plot(years, a.mean(axis=0), color=colour, lw=1.8,
                    label=t("current" if which == "current" else "scenario_band", lang))
        ax.set_title(t(key, lang), fontsize=10)
        ax.set_xlabel(t("years", lang))
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8, loc="upper left")


def whatif_differences(runs: dict[str, np.ndarray], lang: str) -> list[tuple[str, str]]:
    """Per outcome, the mean paired difference at the last week (current − scenario) and its range over
    seeds, in ``lang``."""
    out = []
    for i, key in enumerate(WHATIF_OUTCOMES):
        d = runs["current"][:, -1, i] - runs["scenario"][:, -1, i]
        unit = "人" if lang == "ja" else ""
        out.append((t(key, lang), f"{d.mean():+,.0f}{unit} [{d.min():+,.0f}, {d.max():+,.0f}]"))
    return out
