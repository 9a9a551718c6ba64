"""Every model parameter, declared once: name, default, unit, allowed range, source.

The Hydra schema (``sim.config``), the input validation and the parameter table of
``docs/ODD.md`` are all derived from the dataclasses below, so a parameter cannot
exist in one place and be missing in another.

Sources are the seed documents in ``shared/seeds`` cited as ``file:line``
(000 = 総務省 2020 deck, 001 = 国交省 懇談会 2021, 002 = 内閣官房 2026, 003 = 内閣府
対流促進事業, 004 = 先進自治体の取組) or the word "assumption" when no seed gives a
figure; assumptions are the first candidates for calibration.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from functools import partial
from typing import Any

S000 = "000_475218e7bb58dd1d.txt"
S001 = "001_72d7cff740033f52.txt"
S002 = "002_d6942fad72b73f3c.txt"
S003 = "003_4e4434baa06d92c3.txt"
S004 = "004_9627f798140353c8.txt"

STAGES = ("indifferent", "fan", "partner", "migrant")
STAGES_JA = ("無関心", "ファン", "パートナー", "移住")
ENGINES = ("mesa", "vectorized")


def P(
    default: Any,
    unit: str,
    lo: float | None = None,
    hi: float | None = None,
    source: str = "assumption",
    doc: str = "",
    ja: str = "",
    plausible: tuple[float, float, str] | str | None = None,
) -> Any:
    """Declare one parameter: its default plus the metadata that validation, docs and experiments read.

    ``lo`` and ``hi`` are validation limits (what the model accepts at all); ``plausible`` is the range a
    sensitivity analysis varies it over (``plausible_range``): ``(low, high, why)`` where the generic rule
    (``generic_range``) is wrong, a sentence saying why there is none, or omitted for the generic rule.
    """
    meta = {"unit": unit, "lo": lo, "hi": hi, "source": source, "doc": doc, "ja": ja, "plausible": plausible}
    if isinstance(default, list):
        return field(default_factory=partial(list, default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class PopulationParams:
    """Who lives where at week 0."""

    urban: int = P(2000, "persons", 1, 100_000_000, "assumption (small default; preset three_metros = 46,780,000 from "
                   f"{S000}:1446)", "urban residents (都市住民), real people; population.urban / population.scale "
                   "of them are simulated", "都市住民数")
    scale: int = P(1, "people/agent", 1, 1_000_000, "assumption-free sampling choice, as Covasim's and Starsim's "
                   "pop_scale: outputs are in real people whatever the scale (tested)",
                   "real urban residents each simulated urban resident stands for (1 = one agent per person); "
                   "seats, guides, events and locals stay in real units", "1エージェントが表す都市住民数")
    roots_share: float = P(0.08, "share", 0, 1, f"{S000}:1569 (5.6% visit kin/roots regions) plus roots among the "
                           "relationship population; assumption 8%", "urban residents with roots (ゆかり) in their "
                           "candidate region", "ゆかりのある人の割合")
    theme_share: float = P(0.15, "share", 0, 1, f"assumption; theme fans as targets in {S004}:502 (rockets), "
                           f"{S000}:531 (castles)", "urban residents whose theme interest matches their candidate "
                           "region's theme", "テーマ関心の合う人の割合")
    skilled_share: float = P(0.2, "share", 0, 1, f"assumption; skills regions lack in {S002}:39-65",
                             "urban residents with a skill a region lacks (marketing, accounting, ...)",
                             "地域に不足するスキルを持つ人の割合")
    donor_share: float = P(0.026, "share", 0, 1, f"assumption; {S000}:1555-1557 gives 2.6% of metro adults as "
                           "non-visiting relationship population (ふるさと納税等) of any region, not donors of one "
                           "region",
                           "urban residents who donate (ふるさと納税-like) to their candidate region",
                           "寄附者の割合")
    online_affinity_mean: float = P(0.5, "0-1", 0.01, 0.99, "assumption",
                                    "mean of the Beta(4m, 4(1-m)) online affinity", "オンライン親和性の平均",
                                    plausible=(0.3, 0.7, "symmetric about an even split"))
    life_stage_shares: list[float] = P([0.18, 0.33, 0.24, 0.25], "shares (young, family, midlife, senior)", 0, 1,
                                       "assumption (approximate adult age structure of the metro areas)",
                                       "life-stage mix of urban residents; drives the life-event hazard",
                                       "ライフステージ構成")
    initial_fan_share: float = P(0.02, "share", 0, 1, "assumption", "urban residents who are fans at week 0",
                                 "初期ファン割合")
    initial_partner_share: float = P(0.002, "share", 0, 1, "assumption",
                                     "urban residents who are partners at week 0", "初期パートナー割合")
    locals_per_region: int = P(1000, "persons", 1, 10_000_000, "assumption",
                               "local residents (地域住民) per region at week 0", "地域住民数（地域あたり）")
    local_age_shares: list[float] = P([0.35, 0.27, 0.38], "shares (youth <40, middle 40-64, elder 65+)", 0, 1,
                                      "assumption (ageing rural municipality)", "age mix of local residents",
                                      "地域住民の年齢構成")


@dataclass
class RegionParams:
    """The destination regions: capacity to host and absorb, remoteness, demography."""

    count: int = P(1, "regions", 1, 1000, "assumption", "number of destination regions R (the rows of "
                   "regions.table when it is given)", "地域数")
    table: list[dict[str, Any]] = P([], "rows", None, None, "assumption (the shipped tables: conf/regions/*.yaml)",
                                    "one row per region: `name`, `name_ja` and any regional key of REGION_KEYS, "
                                    "which overrides the declared value for that region only; empty: every "
                                    "region takes the declared values", "地域表（地域ごとの値）")
    attraction: float = P(1.0, "relative weight", 0, 1e9, "assumption; calibration candidate",
                          "weight of a region in the urban residents' choice of the region they relate to "
                          "(its share of their attention: regions compete for the same people)", "地域の誘引度")
    remoteness: float = P(0.3, "0-1", 0, 1, "assumption", "travel cost from the city; scales down the wish to "
                          "attend offline programs by (1 - remoteness)", "遠隔度（移動コスト）")
    host_willingness: float = P(0.3, "probability/week", 0, 1, f"assumption; hosting burden {S000}:784, {S001}:69",
                                "chance a rested local resident is willing to host in a given week",
                                "受け入れ意向（負担ゼロ時）")
    key_person_share: float = P(0.03, "share of locals", 0, 1, f"assumption (calibration candidate); キーパーソン "
                                f"{S001}:89, the load on the local side {S001}:69",
                                "share of locals who host visitors on their own (key persons); the others host "
                                "only when an active local guide brings them in", "キーパーソンの割合")
    visitors_per_host: float = P(2.0, "visitors/host/week", 0, 1000, "assumption",
                                 "visitors one willing local can host in a week (hosting capacity)",
                                 "ホスト一人当たり受入人数")
    needs_per_1000_locals: float = P(40.0, "partner roles/1000 locals", 0, 1_000_000,
                                     f"assumption; 関わりしろ {S001}:62, ヒダスケ 236 programs/yr {S002}:168",
                                     "concurrent partner roles (関わりしろ) the region can offer",
                                     "関わりしろ（千人当たり）")
    openings_per_1000_locals: float = P(4.0, "openings/1000 locals/year", 0, 1_000_000, "assumption",
                                        "housing/job openings for newcomers per year", "移住の受け皿（年・千人当たり）")
    max_openings_stock: float = P(20.0, "openings", 0, 1_000_000, "assumption",
                                  "openings that can accumulate unused (vacant houses, jobs)", "受け皿の上限")
    youth_leave_rate: float = P(0.02, "1/year", 0, 10, f"assumption; decline {S000}:56", "out-migration of local "
                                "youth", "若年層の転出率")
    migrant_leave_rate: float = P(0.05, "1/year", 0, 10, f"assumption (calibration candidate); moving without "
                                  f"a mismatch is what makes newcomers stay (定着, {S002}:280)",
                                  "yearly chance that a local who moved in as a migrant leaves again, on top of "
                                  "the exits of their age group", "移住者の再転出率")
    elder_death_rate: float = P(0.045, "1/year", 0, 10, "assumption", "mortality of local elders", "高齢者の死亡率")
    birth_rate: float = P(0.007, "1/year per local", 0, 10, f"assumption; birth decline {S000}:19",
                          "births per local resident per year (new youth)", "出生率（住民一人当たり）")
    ageing_rate: float = P(0.04, "1/year", 0, 10, "assumption (about 25 years per age group)",
                           "rate of moving to the next age group", "加齢率")


@dataclass
class NetworkParams:
    """Who knows whom: the social network's families and sizes."""

    urban_k: int = P(8, "ties/person", 2, 1000, "assumption", "mean urban friendship degree (Watts-Strogatz k, even)",
                     "都市側の友人数")
    urban_rewire: float = P(0.1, "probability", 0, 1, "assumption", "Watts-Strogatz rewiring of urban ties "
                            "(clustered with short paths)", "都市ネットワークの張り替え確率")
    local_k: int = P(12, "ties/person", 2, 1000, "assumption", "mean local community degree (dense)",
                     "地域側のつながり数")
    local_rewire: float = P(0.05, "probability", 0, 1, "assumption", "Watts-Strogatz rewiring of local ties",
                            "地域ネットワークの張り替え確率")
    kin_ties: int = P(2, "ties/person", 0, 100, f"assumption; 地縁・血縁 {S000}:1569",
                      "ties from each rooted urban resident to locals of the roots region", "地縁・血縁のつながり数")
    guide_urban_ties: int = P(50, "ties/guide", 0, 100_000, "assumption", "urban residents in an urban guide's "
                              "community", "都市側案内人のつながり数")
    guide_local_ties: int = P(30, "ties/guide", 0, 100_000, "assumption", "locals in a local guide's community",
                              "地域側案内人のつながり数")
    migrant_ties: int = P(5, "ties/person", 0, 1000, "assumption", "ties a migrant forms to locals on arrival",
                          "移住者が地域で結ぶつながり数")


@dataclass
class PolicyParams:
    """The levers a municipality or ministry can move (人・場・仕組み, 001)."""

    guides: int = P(4, "guides (FTE) per region", 0, 100_000,
                    f"assumption (no seed gives a number per region; model projects cost 2.5億円 for 30 bodies, "
                    f"about ¥8M a body a year, {S000}:333); 関係案内人 on both sides {S000}:946-954",
                    "guides (関係案内人, full-time equivalents) working for each region", "関係案内人数（地域あたり）",
                    plausible=(0, 8, "a lever: from none to twice the default"))
    guide_urban_share: float = P(0.5, "share", 0, 1, f"{S000}:947-953 (urban PR/matching vs local host-finding)",
                                 "share of guides working on the urban side", "都市側案内人の割合")
    guide_capacity_urban: float = P(5.0, "contacts/guide/week", 0, 10_000, "assumption",
                                    "people an urban guide can contact (PR, matching) per week",
                                    "都市側案内人の週当たり対応数")
    guide_followup_share: float = P(0.5, "share", 0, 1, f"assumption; urban-side guides do PR and matching "
                                    f"({S000}:953: 都市部での地域のＰＲ、マッチング等), i.e. recruit and follow up",
                                    "share of an urban guide's contacts spent following up fans rather than "
                                    "recruiting indifferent people", "都市側案内人のフォローアップ割合")
    guide_capacity_local: float = P(2.0, "matches/guide/week", 0, 10_000, "assumption",
                                    "fans a local guide can match to a local need per week",
                                    "地域側案内人の週当たりマッチング数")
    guide_accompany_capacity: float = P(3.0, "first visits/guide/week", 0, 10_000,
                                        f"assumption; local guides design the encounter of visitors and locals "
                                        f"({S001}:77: 地域の人と関係人口の出会いの必然性をデザインする)",
                                        "first-time program visitors a local guide can accompany per week "
                                        "(introducing them to the people and 関わりしろ of the place)",
                                        "地域側案内人が週に同行できる初訪問者数", plausible=(0.0, 10.0, "none to "
                                        "about two a working day"))
    guide_roles_local: float = P(10.0, "roles/local guide", 0, 1_000_000, f"assumption; local guides unearth what a "
                                 f"region can offer and design programs ({S000}:946-950: 受入れ地域の掘り起こし、"
                                 f"プログラムの策定等) and plan encounters with 関わりしろ ({S001}:75)",
                                 "partner roles (関わりしろ) each active local guide keeps open, on top of the "
                                 "region's own", "地域側案内人が開く関わりしろ")
    funding_years: float = P(10.0, "years", 0, 1000, f"assumption (no seed gives a duration); {S000}:791: the set-up "
                             "lasts only as long as the model project's funding",
                             "years the intermediary is funded; afterwards only self-running guides and events "
                             "stay, paid by themselves",
                             "委託・補助の年数", plausible=(1, 10, f"from a one-year model project ({S000}:333, "
                                                            f"{S000}:791) to the whole 10-year run"))
    self_running_share: float = P(0.3, "share", 0, 1, f"assumption; 自走化 {S000}:848, {S001}:88",
                                  "share of guides, programs and events that continue after funding ends",
                                  "補助終了後も自走する案内人・事業の割合")
    offline_programs_per_year: float = P(12.0, "programs/region/year", 0, 5200, f"assumption; ヒダスケ 236/yr "
                                         f"{S002}:168", "offline programs held in each region",
                                         "現地プログラム数（年）", plausible=(0, 24, "a lever: from none to twice the "
                                                                           "default"))
    offline_capacity: int = P(15, "participants/program", 0, 1_000_000, f"{S004}:1174 (定員15名)",
                              "seats per offline program", "現地プログラム定員",
                              plausible=(8, 23, f"about half of 定員15名 to the 23 who applied, {S004}:1174"))
    urban_events_per_year: float = P(4.0, "events/region/year", 0, 5200, f"608 bodies hold urban events {S002}:116",
                                     "events in the city (fairs, 相談会) per region", "都市部イベント数（年）",
                                     plausible=(0, 8, "a lever: from none to twice the default"))
    urban_event_capacity: int = P(40, "participants/event", 0, 1_000_000, "assumption", "seats per urban event",
                                  "都市部イベント定員")
    online_events_per_year: float = P(6.0, "events/region/year", 0, 5200,
                                      f"assumption; online relations {S003}:12, {S003}:28, {S001}:81",
                                      "online events per region", "オンラインイベント数（年）",
                                      plausible=(0, 12, "a lever: from none to twice the default"))
    online_capacity: int = P(50, "participants/event", 0, 1_000_000, "assumption", "seats per online event",
                             "オンラインイベント定員")
    online_effect: float = P(0.4, "relative to offline", 0, 1, f"assumption; online as complement {S001}:81",
                             "per-contact effect of an online event relative to an offline program",
                             "オンラインの相対効果")
    targeting: float = P(0.3, "0-1", 0, 1, f"{S000}:804-811 (untargeted PR reached few of the intended people)",
                         "share of outreach aimed at people with roots or a matching theme (0 = broadcast)",
                         "ターゲティング度", plausible=(0, 0.6, f"a lever: from broadcast (as in {S000}:804) to "
                                                          "twice the default"))
    target_roots: bool = P(True, "on/off", None, None, f"{S000}:321 (ゆかり型), {S004}:28 (度會県)",
                           "targeted outreach reaches people with roots in the region", "ゆかり層をターゲットに含む")
    target_theme: bool = P(True, "on/off", None, None, f"{S000}:811, {S004}:502 (肝付町 rocket fans)",
                           "targeted outreach reaches people with a matching theme interest",
                           "テーマ層をターゲットに含む")
    entry_bar: float = P(0.3, "0-1", 0, 1, f"assumption for the default (a registration form asking a few "
                         f"questions); the range: {S004}:406-408 (度會県: a high bar raises attachment), {S004}:688 "
                         f"(夕張Likers!: a like)",
                         "entry bar of the registration platform (0 = a like, 1 = demanding)", "登録のハードル",
                         plausible=(0, 1, f"both ends exist: no requirement (夕張Likers!, {S004}:696-699) to a "
                                          f"high bar (度會県, {S004}:406-408)"))
    donor_path: bool = P(False, "on/off", None, None, f"{S000}:323 (ふるさと納税型)",
                         "donors (ふるさと納税-like) can become fans without visiting", "寄附による関係（非訪問）")
    skill_matching: bool = P(False, "on/off", None, None, f"{S004}:101 (南小国町), {S002}:43",
                             "local guides prefer fans whose skills a region lacks", "スキルマッチング")
    offline_suspended_from_week: int = P(-1, "week", -1, 100_000, f"COVID {S000}:842",
                                         "first week offline programs are suspended (-1 = never)",
                                         "現地プログラム休止開始週",
                                         plausible=(-1, 260, "never, or from a week of the first five years"))
    offline_suspended_weeks: int = P(0, "weeks", 0, 100_000, f"COVID {S000}:842",
                                     "length of the suspension of offline programs", "現地プログラム休止期間",
                                     plausible=(0, 104, f"none to two years (COVID, {S000}:842; the length is an "
                                                        "assumption)"))
    vacant_houses_per_year: float = P(0.0, "openings/region/year", 0, 1_000_000,
                                      f"assumption (no seed gives a number); welcoming newcomers into unused "
                                      f"resources such as vacant houses (空き家等) {S000}:1226",
                                      "housing openings a region's vacant-house programme (空き家バンク, renovation) "
                                      "adds each year while funded, on top of the region's own openings",
                                      "空き家による受け皿づくり（年）",
                                      plausible=(0, 10, "none to ten houses a year, about twice the default region's "
                                                        "own openings"))
    budget_yen_per_year: float = P(0.0, "yen/region/year", 0, 1e13,
                                   "a municipality's own figure (no seed gives one); 0: no cap, the plan is paid as "
                                   "set",
                                   "public money a region sets aside a year for this work; when its funded plan (paid "
                                   "guides, events, vacant houses) costs more, every funded item is cut by the same "
                                   "share to fit (rules.budget_share)", "年間予算（0は上限なし）",
                                   plausible=(0.0, 1e9, "no cap to ¥10億 a year (model projects: 2.5億円 for "
                                                        f"16 bodies, {S000}:333-335)"))


@dataclass
class BehaviourParams:
    """Response coefficients of people to contact; the calibration targets."""

    broadcast_hazard: float = P(0.0002, "1/week", 0, 1, f"assumption; weak untargeted PR {S000}:804",
                                "hazard of becoming a fan from broadcast PR", "一般広報による関心化")
    targeted_reach: float = P(0.00044, "1/week", 0, 1, f"assumption; {S000}:804-811 (a targeted approach reaches "
                              f"the intended people, broadcast PR few of them)",
                              "weekly fans per urban resident that targeted outreach makes at full targeting, spread "
                              "over the people it aims at (roots and/or theme): aiming at fewer people reaches each "
                              "of them more", "ターゲット広報による関心化（対象層に配分）")
    social_hazard: float = P(0.003, "1/week", 0, 1, "assumption", "hazard times the share of engaged neighbours",
                             "知人からの影響")
    donor_hazard: float = P(0.004, "1/week", 0, 1, "assumption", "hazard for donors with donor_path on",
                            "寄附者の関心化")
    tie_weight: float = P(4.0, "relative weight", 1, 1000, f"assumption; {S000}:811",
                          "how much more targeted outreach weighs people with roots or theme", "ゆかり・テーマの重み")
    guide_conversion: float = P(0.1, "probability", 0, 1, "assumption",
                                "chance a guide contact turns an indifferent person into a fan", "案内人接触の効果")
    event_conversion: float = P(0.3, "probability", 0, 1, "assumption",
                                "chance an urban event turns an indifferent attendee into a fan (online: times "
                                "online_effect)", "イベント参加による関心化")
    entry_bar_cut: float = P(0.7, "share", 0, 1, f"assumption; {S004}:406-408 (度會県)",
                             "reduction of conversion at entry_bar = 1", "ハードルによる登録減")
    entry_engagement_low: float = P(0.3, "0-1", 0, 1, "assumption", "engagement of a new fan at entry_bar = 0",
                                    "登録時エンゲージメント（低ハードル）",
                                    plausible=(0.15, 0.45, "kept below entry_engagement_high's range"))
    entry_engagement_high: float = P(0.6, "0-1", 0, 1, f"assumption; {S004}:406-408 (度會県: attachment)",
                                     "engagement of a new fan at entry_bar = 1", "登録時エンゲージメント（高ハードル）",
                                     plausible=(0.45, 0.8, f"kept above entry_engagement_low's range (a high bar "
                                                           f"raises attachment, {S004}:406-408)"))
    tie_attachment: float = P(0.15, "0-1", 0, 1, f"assumption; {S000}:811 (approaching people with a "
                              f"matching theme or an existing relation works)",
                              "extra engagement of a new fan with roots in the region or its theme",
                              "ゆかり・テーマ層の登録時エンゲージメント加算")
    apply_urban_indifferent: float = P(0.002, "probability/week", 0, 1, "assumption",
                                       "wish of an indifferent person to attend an urban event, times outreach weight",
                                       "無関心層の都市イベント参加希望")
    apply_online_indifferent: float = P(0.002, "probability/week", 0, 1, "assumption",
                                        "wish of an indifferent person to attend an online event, times online "
                                        "affinity and outreach weight", "無関心層のオンライン参加希望")
    own_visit_share: float = P(0.77, "share/year", 0, 1, f"{S000}:1544-1557: (4.0% + 4.9%) / (4.0% + 4.9% + "
                               "2.6%), the visiting share of relationship people who neither contribute nor work "
                               "there; calibration candidate", "share of fans who took part in no program of their "
                               "region in the past year but visited it on their own (参加・交流型, 趣味・消費型 "
                               "outside programs), drawn at each yearly survey: it sets the survey's rows only",
                               "ファンの自主的な訪問の割合（年）")
    apply_offline: float = P(0.15, "probability/week", 0, 1, "assumption", "wish of a fan to attend an offline "
                             "program (partners: twice), times (1 - remoteness)", "ファンの現地参加希望")
    apply_urban: float = P(0.05, "probability/week", 0, 1, "assumption", "wish of a fan or partner to attend an "
                           "urban event", "ファンの都市イベント参加希望")
    apply_online: float = P(0.08, "probability/week", 0, 1, "assumption", "wish of a fan or partner to attend an "
                            "online event, times online affinity", "ファンのオンライン参加希望")
    gain_offline: float = P(0.3, "0-1", 0, 1, "assumption", "engagement gain from an offline program",
                            "現地参加の効果")
    gain_accompanied: float = P(0.2, "0-1", 0, 1, f"assumption; {S001}:77 (関係案内人 design the encounter "
                                f"between locals and visitors)", "extra engagement gain of a first visit on which a "
                                "local guide accompanies the visitor", "案内人同行による初訪問の効果")
    gain_urban: float = P(0.15, "0-1", 0, 1, "assumption", "engagement gain from an urban event",
                          "都市イベントの効果")
    gain_match: float = P(0.3, "0-1", 0, 1, "assumption", "engagement gain from a guide match to a local need",
                          "マッチングの効果")
    gain_followup: float = P(0.15, "0-1", 0, 1, "assumption (as much as an urban event)",
                             "engagement gain of a fan from an urban guide's follow-up (advice, introductions)",
                             "案内人フォローアップの効果")
    gain_social: float = P(0.005, "0-1", 0, 1, "assumption", "weekly engagement gain times the share of engaged "
                           "neighbours", "知人からの効果")
    gain_donor: float = P(0.004, "0-1", 0, 1, "assumption", "weekly engagement gain of a fan who still donates "
                          "(donor_path on): the gift and the thanks and news that follow it", "寄附の継続効果")
    donor_lapse_rate: float = P(0.3, "1/year", 0, 100, f"assumption (ふるさと納税 is chosen anew each year, "
                                f"{S000}:323); calibration candidate",
                                "rate at which a donor stops donating (drawn once per donor at week 0)",
                                "寄附をやめる率")
    engagement_decay: float = P(0.01, "1/week", 0, 1, f"assumption: relationships fade over years without contact "
                                f"(a new fan with no contact at all stays a fan about two years); that they fade "
                                f"at all: {S000}:827 (継続的に関わってくれることが約束されたものではありません)",
                                "weekly relative loss of engagement", "エンゲージメントの減衰")
    partner_threshold: float = P(0.5, "0-1", 0, 1, "assumption", "engagement a fan needs to be matched as a partner",
                                 "パートナー化に必要なエンゲージメント",
                                 plausible=(0.35, 0.7, "above partner_floor's range, so any draw stays ordered"))
    fan_floor: float = P(0.1, "0-1", 0, 1, "assumption", "below this a fan drifts back to indifferent",
                         "ファンの下限", plausible=(0.05, 0.15, "below partner_floor's range, so any draw stays "
                                                            "ordered"))
    partner_floor: float = P(0.25, "0-1", 0, 1, "assumption", "below this a partner drifts back to fan",
                             "パートナーの下限", plausible=(0.15, 0.35, "between fan_floor's and partner_threshold's "
                                                                 "ranges, so any draw stays ordered"))
    role_end_rate: float = P(0.5, "1/year", 0, 100, "assumption (a role is a project or a task that ends: two "
                             "years on average); calibration candidate",
                             "rate at which a partner's role ends; the partner is a fan again, with its engagement, "
                             "and may be matched to a new role", "関わりしろ（役割）の終了率")
    roles_per_program: float = P(1.0, "roles per yearly program", 0, 1_000_000, f"assumption; ヒダスケ turns "
                                 f"local tasks (地域の困りごと) into programs {S002}:152, 236 a year {S002}:168",
                                 "partner roles kept open per offline program the region runs a year (none while "
                                 "programs are suspended)", "プログラム一つ当たりの関わりしろ")
    roles_per_partner: float = P(0.5, "roles/partner", 0, 0.99, f"assumption; partners draw in locals and other "
                                 f"relationship people ({S001}:64 地域住民及び他の関係人口を触発)",
                                 "partner roles each partner opens beyond its own (below 1, so roles stay finite)",
                                 "パートナーが生む関わりしろ",
                                 plausible=(0.25, 0.6, "with skill_roles_per_partner's range, below 1 in total"))
    skill_roles_per_partner: float = P(0.3, "roles/partner", 0, 0.99, f"assumption; skills the region lacks "
                                       f"({S002}:43); creators working with locals gave birth to several businesses "
                                       f"({S002}:45)", "extra partner roles each skilled partner opens when local "
                                       "guides match by skill (with roles_per_partner below 1)",
                                       "スキル人材が生む関わりしろ",
                                       plausible=(0.15, 0.35, "with roles_per_partner's range, below 1 in total"))
    program_role_rate: float = P(0.2, "roles/participant", 0, 1, f"assumption; 関わりしろ found at programs "
                                 f"{S001}:75", "partner roles an offline program surfaces per participant",
                                 "プログラムで見つかる関わりしろ")
    online_role_rate: float = P(0.05, "roles/participant", 0, 1, f"assumption (a quarter of program_role_rate); "
                                f"online relationship population that does not visit {S003}:12, relations kept "
                                f"online {S003}:28", "remote partner roles (remote work, 副業, online tasks) an "
                                "online event surfaces per participant", "オンラインで見つかる関わりしろ")
    skill_role_share: float = P(0.3, "share", 0, 1, f"assumption; regions seek partners to bring skills they "
                                f"lack ({S002}:43 地域に不足するスキル等の補完)",
                                "share of partner roles that need a skill the region lacks; an unskilled fan sent "
                                "to one does not take it up", "スキルを要する関わりしろの割合")
    skill_weight: float = P(3.0, "relative weight", 1, 1000, "assumption",
                            "match priority of skilled fans when skill_matching is on", "スキル保有者の優先度")
    life_event_rates: list[float] = P([0.10, 0.04, 0.03, 0.06], "1/year (young, family, midlife, senior)", 0, 10,
                                      f"assumption; life stage {S000}:137, {S000}:1376",
                                      "rate of a life event that makes moving possible", "ライフイベント発生率")
    roots_move_factor: float = P(2.0, "multiplier", 1, 100, f"assumption; {S000}:296-298 (the roots-type model "
                                 f"project expects 定住人口 to grow in the long run)",
                                 "how many times more often a partner with roots (ゆかり) in the region moves there "
                                 "when a life event comes (a U-turn)", "Uターンのしやすさ")
    migrate_engagement_power: float = P(1.0, "exponent", 0, 100, f"assumption; 鹿角家 90% intend to move "
                                        f"{S004}:1055", "migration wish = life event x engagement^power",
                                        "移住意向のエンゲージメント依存")
    burden_per_visitor: float = P(0.1, "0-1 per visitor", 0, 1, f"assumption; {S000}:784",
                                  "burden a host gains per visitor hosted", "受入一人当たりの負担")
    burden_recovery: float = P(0.05, "1/week", 0, 1, "assumption", "weekly relative recovery of burden",
                               "負担の回復")
    burden_sensitivity: float = P(2.0, "exponent", 0, 100, "assumption",
                                  "willingness to host = host_willingness x (1 - burden)^sensitivity",
                                  "負担による受入意向の低下")


@dataclass
class CostParams:
    """Unit costs and benefits, so every run reports what its policy cost and what came of it in yen and days."""

    guide_year_yen: float = P(5_000_000, "yen/guide/year", 0, 1e12, f"assumption; model projects 2.5億円/30 bodies "
                              f"{S000}:333", "cost of one active guide for a year", "案内人一人の年間費用")
    offline_program_yen: float = P(300_000, "yen/program", 0, 1e12, f"assumption ({S004}:1165 is a participant fee of "
                                   "21,600円, income to a program, not its cost)",
                                   "cost of one offline program", "現地プログラム一回の費用")
    urban_event_yen: float = P(500_000, "yen/event", 0, 1e12, "assumption", "cost of one urban event",
                               "都市部イベント一回の費用")
    online_event_yen: float = P(50_000, "yen/event", 0, 1e12, "assumption", "cost of one online event",
                                "オンラインイベント一回の費用")
    vacant_house_yen: float = P(1_000_000, "yen/opening", 0, 1e12, "assumption (calibration candidate: a renovation "
                                "and matching subsidy per vacant house made ready)",
                                "public cost of one opening added by the vacant-house programme",
                                "空き家一戸の受け皿化費用")
    donation_yen_per_year: float = P(30_000, "yen/donor/year", 0, 1e12, f"assumption (ふるさと納税 donors {S000}:323 "
                                     "are named, no amount is given)", "what an active donor gives the region a year",
                                     "寄附者一人の年間寄附額")
    visitor_spend_yen: float = P(20_000, "yen/participation", 0, 1e12, f"assumption (for scale: a project fee "
                                 f"including lodging and travel, 21,600円, {S004}:1165)",
                                 "what a program participant spends in the region per visit", "参加者一人の地域内消費")
    partner_days_per_year: float = P(12.0, "days/partner/year", 0, 366, "assumption",
                                     "days a partner gives the region a year while holding a role",
                                     "パートナー一人の年間活動日数")


@dataclass
class RunParams:
    """How long to run and what to show."""

    steps: int = P(520, "weeks", 1, 100_000, "issue: 10-year horizon", "weeks simulated (one step = one week)",
                   "シミュレーション週数")
    progress: str = P("auto", "auto/on/off", None, None, "", "progress bar: auto shows it only on a terminal",
                      "進捗表示")
    plot: bool = P(True, "on/off", None, None, "", "draw the ladder plot of a run (ladder.png); false saves "
                   "about the time of a small run", "推移図を描く")
    max_memory_gib: float = P(16.0, "GiB", 0.1, 1e6, "issue 3 (16 GiB ceiling)",
                              "runs whose estimated memory exceeds this are refused up front", "メモリ上限")


@dataclass
class Config:
    """The whole resolved configuration of one run."""

    scenario: str = P("baseline", "name", None, None, "", "named scenario (file under conf/scenario)", "シナリオ")
    engine: str = P("mesa", "mesa/vectorized", None, None, "", "mesa = agent objects (the readable reference); "
                    "vectorized = arrays (large populations)", "計算エンジン")
    seed: int = P(42, "integer", 0, 2**63 - 1, "", "root of every random stream (numpy SeedSequence)", "乱数シード",
                   plausible="none: not a model parameter; an experiment sets it from its replicates")
    population: PopulationParams = field(default_factory=PopulationParams)
    regions: RegionParams = field(default_factory=RegionParams)
    network: NetworkParams = field(default_factory=NetworkParams)
    policy: PolicyParams = field(default_factory=PolicyParams)
    behaviour: BehaviourParams = field(default_factory=BehaviourParams)
    costs: CostParams = field(default_factory=CostParams)
    run: RunParams = field(default_factory=RunParams)


GROUPS = ("population", "regions", "network", "policy", "behaviour", "costs", "run")

# The keys a row of ``regions.table`` may set (short name -> dotted key): what differs between regions and what
# a municipality decides for its own region (locals and their age mix, remoteness, who relates to it,
# programs, events, guides, funding, roles and openings).
REGION_KEYS = {
    "locals": "population.locals_per_region",
    "local_age_shares": "population.local_age_shares",
    "roots_share": "population.roots_share",
    "theme_share": "population.theme_share",
    "attraction": "regions.attraction",
    "remoteness": "regions.remoteness",
    "host_willingness": "regions.host_willingness",
    "key_person_share": "regions.key_person_share",
    "needs_per_1000_locals": "regions.needs_per_1000_locals",
    "openings_per_1000_locals": "regions.openings_per_1000_locals",
    "max_openings_stock": "regions.max_openings_stock",
    "guides": "policy.guides",
    "funding_years": "policy.funding_years",
    "offline_programs_per_year": "policy.offline_programs_per_year",
    "urban_events_per_year": "policy.urban_events_per_year",
    "online_events_per_year": "policy.online_events_per_year",
    "vacant_houses_per_year": "policy.vacant_houses_per_year",
    "budget": "policy.budget_yen_per_year",
}
REGION_NAMES = ("name", "name_ja")  # the text keys of a row


def _row_config(cfg: Config, r: int) -> Config:
    """Row ``r`` of ``regions.table`` applied over the declared values (``cfg`` itself when the table is
    empty). Only the groups a row changes are copied."""
    from dataclasses import replace

    if not cfg.regions.table:
        return cfg
    changes: dict[str, dict[str, Any]] = {}
    for short, value in cfg.regions.table[r].items():
        if short in REGION_NAMES:
            continue
        group, leaf = REGION_KEYS[short].split(".")
        changes.setdefault(group, {})[leaf] = value
    return replace(cfg, **{g: replace(getattr(cfg, g), **kv) for g, kv in changes.items()})


def budget_share(cfg: Config, r: int) -> float:
    """Share of region ``r``'s funded plan (its row applied) that its yearly budget pays for
    (``rules.budget_share``; 1 with no budget cap)."""
    from sim import rules

    rc = _row_config(cfg, r)
    p = rc.policy
    planned = rules.planned_yearly_cost(p.guides, p.offline_programs_per_year, p.urban_events_per_year,
                                        p.online_events_per_year, p.vacant_houses_per_year, rc.costs)
    return float(rules.budget_share(p.budget_yen_per_year, planned))


def region_config(cfg: Config, r: int) -> Config:
    """The configuration as seen by region ``r``: its row of ``regions.table`` applied over the declared
    values, and its funded plan cut to its yearly budget (``budget_share``, ``rules.within_budget``)."""
    from dataclasses import replace

    from sim import rules

    rc = _row_config(cfg, r)
    share = budget_share(cfg, r)
    if share >= 1.0:
        return rc
    p = rc.policy
    guides, per_year = rules.within_budget(p.guides, (p.offline_programs_per_year, p.urban_events_per_year,
                                                      p.online_events_per_year, p.vacant_houses_per_year), share)
    cut = replace(p, guides=guides, offline_programs_per_year=per_year[0], urban_events_per_year=per_year[1],
                  online_events_per_year=per_year[2], vacant_houses_per_year=per_year[3])
    return replace(rc, policy=cut)


def region_configs(cfg: Config) -> list[Config]:
    """``region_config`` of every region, in region order."""
    return [region_config(cfg, r) for r in range(cfg.regions.count)]


def budget_shares(cfg: Config) -> list[float]:
    """``budget_share`` of every region, in region order."""
    return [budget_share(cfg, r) for r in range(cfg.regions.count)]


def region_values(cfg: Config, key: str) -> list[Any]:
    """The value of dotted ``key`` in each region: its row's value in ``regions.table``, else the declared one
    (read from the rows directly, without building each region's configuration)."""
    group, leaf = key.split(".")
    declared = getattr(getattr(cfg, group), leaf)
    short = next((k for k, v in REGION_KEYS.items() if v == key), None)
    if not cfg.regions.table or short is None:
        return [declared] * cfg.regions.count
    return [row.get(short, declared) for row in cfg.regions.table]


def region_name(cfg: Config, r: int, lang: str = "en") -> str:
    """Display name of region ``r``: its row's ``name`` (``name_ja`` in Japanese), else "region r"."""
    row = cfg.regions.table[r] if cfg.regions.table else {}
    if lang == "ja":
        return str(row.get("name_ja", row.get("name", f"地域{r}")))
    return str(row.get("name", f"region {r}"))


def iter_params(cls: type = Config, prefix: str = ""):
    """Yield ``(dotted_key, field)`` for every leaf parameter, in declaration order."""
    for f in fields(cls):
        key = f"{prefix}{f.name}"
        sub = f.default_factory if f.default_factory is not MISSING else None
        if sub is not None and is_dataclass(sub):
            yield from iter_params(sub, key + ".")
        else:
            yield key, f


def default_of(f) -> Any:
    """The declared default of a leaf field."""
    if f.default is not MISSING:
        return f.default
    return f.default_factory()


# ------------------------------------------------------------------------------------------ analysis ranges

GENERIC_RULE = ("default ×½ to ×2, clipped to the validation limits and never more than halfway from the default "
                "to the upper limit (a share of 0.5 gets [0.25, 0.75]); integers widened to whole numbers")


class RangeError(ValueError):
    """A key without a plausible range (unknown, or not a numeric scalar): one line naming it and what is allowed."""


def is_integer(f: Any) -> bool:
    """Whether a leaf field is declared ``int`` (its sampled values must be whole numbers)."""
    return f.type in (int, "int")


def is_numeric_scalar(f: Any) -> bool:
    """Whether a leaf field is declared ``int`` or ``float``: the parameters a plausible range exists for
    (lists, flags and names have none)."""
    return f.type in (int, float, "int", "float")


def generic_range(default: float, lo: float | None, hi: float | None, integer: bool = False
                  ) -> tuple[float, float] | None:
    """The generic plausible range of a parameter (``GENERIC_RULE``), or None where the rule gives none.

    Most defaults are assumptions without a figure behind them: varying each by a factor of two either way
    is the usual screening range. The cap at halfway to the upper limit keeps shares and probabilities off
    their extremes (a share of 1 would mean everyone); integers take the whole numbers around the range
    (floor of the low end, ceiling of the high end), so the range still brackets the default. A default of
    zero or below has nothing to scale: such a parameter needs an explicit range.
    """
    if isinstance(default, bool) or not isinstance(default, int | float) or default <= 0:
        return None
    low, high = default / 2, default * 2
    if lo is not None:
        low = max(low, lo)
    if hi is not None:
        high = min(high, (default + hi) / 2)
    if integer:
        low, high = math.floor(low), math.ceil(high)
    else:
        low, high = float(f"{low:.12g}"), float(f"{high:.12g}")
    return (low, high) if low < high else None


def _declared(key: str) -> tuple[str, Any]:
    """The dotted key and field of ``key`` (a dotted key or a short name of ``REGION_KEYS``)."""
    leaves = dict(iter_params())
    dotted = REGION_KEYS.get(key, key)
    if dotted not in leaves:
        raise RangeError(f"{key}: unknown key; allowed: a numeric parameter such as policy.guides (or a regional "
                         f"key: {', '.join(REGION_KEYS)})")
    return dotted, leaves[dotted]


def _declared_range(f: Any) -> tuple[float, float] | None:
    """A field's range as declared (or by the generic rule), before conversion to its type; None if none."""
    m = f.metadata
    declared = m.get("plausible")
    if not is_numeric_scalar(f) or isinstance(declared, str):
        return None
    if declared is not None:
        return declared[0], declared[1]
    return generic_range(default_of(f), m.get("lo"), m.get("hi"), is_integer(f))


def _range_of(f: Any) -> tuple[float, float] | None:
    """A field's plausible range in its declared type (ints for int parameters), or None."""
    rng = _declared_range(f)
    if rng is None:
        return None
    kind = int if is_integer(f) else float
    return kind(rng[0]), kind(rng[1])


def plausible_range(key: str) -> tuple[float, float]:
    """The range a sensitivity analysis varies ``key`` over: ``(low, high)`` in the parameter's unit.

    ``key`` is dotted (``policy.guides``) or a short regional key (``guides``: the declared parameter it
    overrides). Unlike the validation limits (what the model accepts at all: guides 0 to 100,000) the range
    is what is plausible for a region: the declared ``plausible`` range where the generic rule is wrong, else
    ``generic_range``. Integer parameters have whole-number ends. ``RangeError`` (one line) for an unknown key
    or one without a range (lists, flags, names, the seed).
    """
    _, f = _declared(key)
    rng = _range_of(f)
    if rng is None:
        raise RangeError(f"{key}: no plausible range ({_no_range(f)}); allowed: an int or float parameter such as "
                         "policy.guides (lists, flags, names and the seed have none), or explicit bounds [low, high]")
    return rng


def _no_range(f: Any) -> str:
    """Why a parameter has no plausible range, in a few words."""
    declared = f.metadata.get("plausible")
    if isinstance(declared, str):
        return declared.removeprefix("none").lstrip(":; ")
    default = default_of(f)
    if not is_numeric_scalar(f):
        return "a list" if isinstance(default, list) else "on/off" if isinstance(default, bool) else "a name"
    return "the generic rule gives none for a default of zero or below"


def plausible_ranges() -> dict[str, tuple[float, float]]:
    """Dotted key -> plausible range of every parameter that has one, in declaration order."""
    return {key: rng for key, f in iter_params() if (rng := _range_of(f)) is not None}


def plausible_note(key: str) -> str:
    """Why ``key`` has its range: the declared phrase, ``generic`` for the generic rule, or why it has none."""
    _, f = _declared(key)
    declared = f.metadata.get("plausible")
    if _range_of(f) is None:
        return f"none: {_no_range(f)}"
    if declared is not None:
        return str(declared[2]) if len(declared) > 2 else ""
    return "generic"


def range_problem(low: float, high: float, default: float, lo: float | None, hi: float | None,
                  integer: bool) -> str | None:
    """What is wrong with a plausible range (``None`` if nothing): it must have ``low < high``, bracket the
    default, lie within the validation limits ``[lo, hi]`` and, for integer parameters, have whole ends."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)):
        return f"[{low!r}, {high!r}] is not a pair of finite numbers"
    if not low < high:
        return f"[{_fmt(low)}, {_fmt(high)}] has low >= high"
    if not low <= default <= high:
        return f"[{_fmt(low)}, {_fmt(high)}] does not bracket the default {_fmt(default)}"
    if (lo is not None and low < lo) or (hi is not None and high > hi):
        return f"[{_fmt(low)}, {_fmt(high)}] leaves the validation limits [{_fmt(lo)}, {_fmt(hi)}]"
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        return f"[{_fmt(low)}, {_fmt(high)}] has ends that are not whole numbers (an integer parameter)"
    return None


def range_problems(cls: type = Config) -> dict[str, str]:
    """Every declaration of ``cls`` whose plausible range is missing or wrong (``range_problem``): key -> what
    is wrong. Empty when every numeric scalar parameter has a good range; a test keeps it empty."""
    problems = {}
    for key, f in iter_params(cls):
        m = f.metadata
        declared = m.get("plausible")
        if not is_numeric_scalar(f):
            if declared is not None and not isinstance(declared, str):
                problems[key] = "a range on a parameter that is not a numeric scalar"
            continue
        if isinstance(declared, str):
            if not declared.startswith("none"):
                problems[key] = f"{declared!r}: a reason for no range must start with 'none'"
            continue
        if declared is not None and (not isinstance(declared, tuple) or len(declared) != 3 or not declared[2]):
            problems[key] = f"{declared!r}: allowed: (low, high, why) with a reason"
            continue
        rng = _declared_range(f)
        if rng is None:
            problems[key] = "no range: the generic rule gives none (default <= 0); declare plausible=(low, high, why)"
            continue
        problem = range_problem(rng[0], rng[1], default_of(f), m.get("lo"), m.get("hi"), is_integer(f))
        if problem:
            problems[key] = problem
    return problems


# ------------------------------------------------------------------------------------------ docs


def _analysis_cell(f: Any) -> str:
    """The analysis-range cell of the docs table: the range, with the reason where it is not the generic rule."""
    declared = f.metadata.get("plausible")
    rng = _range_of(f)
    if rng is None:
        return f"none ({_no_range(f)})"
    text = f"[{_fmt(rng[0])}, {_fmt(rng[1])}]"
    return f"{text}: {declared[2]}" if declared is not None else text


def markdown_table(group: str | None = None) -> str:
    """The parameter table for docs/ODD.md, generated from the declarations: validation limits and the
    plausible range of a sensitivity analysis side by side."""
    rows = ["| key | default | unit | limits | analysis range | meaning | 日本語 | source |",
            "|---|---|---|---|---|---|---|---|"]
    for key, f in iter_params():
        if group and not key.startswith(group + "."):
            continue
        m = f.metadata
        lo, hi = m.get("lo"), m.get("hi")
        rng = "" if lo is None and hi is None else f"[{_fmt(lo)}, {_fmt(hi)}]"
        rows.append(f"| `{key}` | {_fmt(default_of(f))} | {m.get('unit', '')} | {rng} | {_analysis_cell(f)} | "
                    f"{m.get('doc', '')} | {m.get('ja', '')} | {m.get('source', '')} |")
    return "\n".join(rows)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1e5:
        return f"{int(v):,}"
    if isinstance(v, int) and abs(v) >= 1e5:
        return f"{v:,}"
    return str(v)


def write_odd_table(path: str = "docs/ODD.md") -> None:
    """Replace the parameter table between the markers of docs/ODD.md with the generated one."""
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    start, end = "<!-- params:start -->", "<!-- params:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    p.write_text(f"{head}{start}\n{markdown_table()}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    import sys

    if "--write-odd" in sys.argv:
        write_odd_table()
    else:
        print(markdown_table())
