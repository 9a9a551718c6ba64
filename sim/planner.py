"""The planner's report: scenarios compared in the terms a municipality budgets in, as an HTML file that opens
offline and a PDF of the same content, in Japanese or English.

    python -m sim.report baseline guides_high funding_cliff [--lang ja|en] [--replicates 10] [key=value ...]
    python -m sim.report --init myplans      # a region and three scenarios of your own town to edit

The runs are ``sim.compare``'s (paired replicates, finished runs reused; ``--posterior`` runs replicate k
with posterior draw k so intervals include parameter uncertainty). The report folder holds ``report.html``
(figures and the Japanese font embedded), ``report.pdf`` (the same page printed by headless Chromium:
``make browser`` installs it), ``results.csv`` (the comparison table every number of the report is read
from, rounded only for display) and ``runs.csv`` (one row per run). The folder is written as a whole or not
at all and printed last. Bad input stops with one line naming the argument, its value and what is allowed,
exit status 2, before anything runs.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from sim.compare import Comparison, Request

PROG = "python -m sim.report"
DEFAULT_OUT = Path("results/reports")
VALIDATION = Path(__file__).resolve().parent.parent / "docs" / "VALIDATION.json"
TEMPLATES = Path(__file__).resolve().parent / "templates" / "mytown"
# the outcomes of the report, in its order: (outcome, more is better?)
OUTCOMES = ("fans", "members", "partners", "migrants", "local_population", "key_host_burden", "cost_yen",
            "cost_per_partner", "cost_per_migrant", "donations_yen", "visitor_spending_yen", "volunteer_days")
YEN = ("cost_yen", "cost_per_partner", "cost_per_migrant", "donations_yen", "visitor_spending_yen")
# the outcomes the summary speaks of, in its order
HEADLINE = ("partners", "members", "migrants", "fans", "cost_yen", "key_host_burden")
# levers shown side by side: key -> (Japanese, English)
LEVERS = {
    "policy.guides": ("関係案内人（人）", "guides (FTE)"),
    "policy.offline_programs_per_year": ("現地プログラム（回/年）", "offline programs a year"),
    "policy.urban_events_per_year": ("都市部イベント（回/年）", "urban events a year"),
    "policy.online_events_per_year": ("オンラインイベント（回/年）", "online events a year"),
    "policy.targeting": ("ターゲティング度", "targeting"),
    "policy.entry_bar": ("登録のハードル", "entry bar"),
    "policy.funding_years": ("補助の年数", "funding years"),
    "policy.self_running_share": ("自走する割合", "self-running share"),
    "policy.vacant_houses_per_year": ("空き家の受け皿（戸/年）", "vacant houses a year"),
    "policy.budget_yen_per_year": ("年間予算（0は上限なし）", "yearly budget (0: no cap)"),
    "policy.donor_path": ("寄附による関係", "donor path"),
    "policy.skill_matching": ("スキルマッチング", "skill matching"),
    "policy.offline_suspended_weeks": ("現地プログラム休止（週）", "offline suspension (weeks)"),
}
TEXT: dict[str, tuple[str, str]] = {
    "title": ("関係人口 施策比較レポート", "Relationship population: policy comparison"),
    "made": ("作成", "Made"),
    "summary": ("要約", "Summary"),
    "reference": ("基準", "reference"),
    "outcomes": ("成果と費用（{years}年間、{n}回の反復の平均と95%区間）",
                 "Outcomes and costs ({years} years, mean and 95% interval over {n} replicates)"),
    "outcome": ("項目", "outcome"),
    "scenario": ("シナリオ", "scenario"),
    "mean": ("平均 [95%区間]", "mean [95% interval]"),
    "diff": ("基準との差 [95%区間]", "difference to the reference [95% interval]"),
    "beats": ("基準より良かった反復の割合", "replicates better than the reference"),
    "trajectories": ("推移（平均と95%区間）", "Over time (mean and 95% interval)"),
    "cost_effect": ("費用対効果", "Cost and effect"),
    "cost_axis": ("公費（{years}年間、百万円）", "public cost over {years} years (million yen)"),
    "levers": ("各シナリオの施策", "The levers of each scenario"),
    "levers_note": ("地域表の行ごとに値が違う場合は「地域1 / 地域2 / …」の順に示します。基準と違う値は太字。",
                    "Where the rows of the regions table differ, values are given region by region (a / b / …). "
                    "Values that differ from the reference are in bold."),
    "limits": ("効いた上限（上限が効いた週の割合）", "Limits that bound (share of weeks)"),
    "limits_note": ("成果が施策ではなく容量の上限で決まっている場合、ここに現れます。",
                    "When an outcome is set by a capacity rather than by the policy, it shows here."),
    "no_limit": ("どの上限も効いていません。", "No limit bound."),
    "assumptions": ("前提と出典", "Assumptions and sources"),
    "calibration": ("較正の状況", "Calibration status"),
    "provenance": ("作成コマンドと版", "Command and version"),
    "same": ("はっきりした差はありません（95%区間が0を含む）", "no clear difference (the 95% interval includes 0)"),
    "sure": ("差ははっきりしています（95%区間が0を含まない）", "the difference is clear (the 95% interval excludes 0)"),
    "data": ("この報告の数値はすべて results.csv（比較表）と runs.csv（各実行）から読めます。",
             "Every number of this report can be read from results.csv (the comparison table) and runs.csv "
             "(each run)."),
    "regions_used": ("地域", "Regions"),
    "people_note": ("人数は実人数（1エージェント＝{scale}人）、金額は円です。",
                    "People are real people (each simulated resident stands for {scale}), money in yen."),
}


def t(key: str, lang: str, **fields: Any) -> str:
    """Text ``key`` in ``lang``."""
    ja, en = TEXT[key]
    return (ja if lang == "ja" else en).format(**fields)


# --------------------------------------------------------------------------------------------- numbers


def fmt(value: float, outcome: str, lang: str) -> str:
    """A value as the report prints it: yen in 万円/億円 (ja) or ¥ M/bn (en), burden to 3 significant digits
    (at least 3 decimals, at most 6, never in e-notation), counts as whole people with thousands separators;
    NaN as a dash."""
    from sim.workshop import fmt_yen

    if not math.isfinite(value):
        return "—"
    if outcome in YEN:
        return fmt_yen(value, lang)
    if outcome == "key_host_burden":
        decimals = 3 if value == 0 else min(6, max(3, 2 - math.floor(math.log10(abs(value)))))
        return f"{value:.{decimals}f}"
    return f"{value:,.0f}"


def fmt_diff(value: float, outcome: str, lang: str) -> str:
    """A difference, with its sign."""
    text = fmt(value, outcome, lang)
    return text if text == "—" or text.startswith("-") else f"+{text}"


def display_names(scenarios: Sequence[str], lang: str) -> dict[str, str]:
    """Each scenario's short display name in ``lang`` (a composition ``a+b``: both, joined)."""
    from sim.scenarios import describe

    key = "name_ja" if lang == "ja" else "name_en"
    return {s: " + ".join(describe(part)[key] for part in s.split("+")) for s in scenarios}


# --------------------------------------------------------------------------------------------- content


@dataclass
class Content:
    """Everything the report shows, as data (rendered to HTML by ``html_report``)."""

    lang: str
    scenarios: tuple[str, ...]
    names: dict[str, str]
    table: pd.DataFrame
    metrics: pd.DataFrame
    trajectories: pd.DataFrame
    replicates: int
    years: float
    command: str
    version: str
    levers: dict[str, dict[str, str]]  # lever key -> scenario -> value text
    regions: list[str]
    scale: int
    sources: dict[str, str]
    descriptions: dict[str, str]
    assumptions: tuple[int, int]  # parameters marked "assumption", all parameters
    validation: dict[str, Any] | None
    posterior: bool
    figures: dict[str, bytes] = field(default_factory=dict)


def lever_texts(scenarios: Sequence[str], base: Sequence[str], lang: str) -> tuple[dict[str, dict[str, str]],
                                                                                   list[str], int]:
    """Each lever's value in each scenario (region by region where the table's rows differ), the regions'
    names and the population scale."""
    from sim.config import compose
    from sim.experiment import hydra_value
    from sim.params import region_name, region_values

    out: dict[str, dict[str, str]] = {k: {} for k in LEVERS}
    regions: list[str] = []
    scale = 1
    for s in scenarios:
        cfg = compose([*base, f"scenario={hydra_value(s)}"])
        regions = [region_name(cfg, r, lang) for r in range(cfg.regions.count)]
        scale = cfg.population.scale
        for key in LEVERS:
            values = region_values(cfg, key)
            shown = [_lever_value(v) for v in values]
            out[key][s] = shown[0] if len(set(shown)) == 1 else " / ".join(shown)
    return out, regions, scale


def _lever_value(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float) and v.is_integer():
        return f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def rows_of(table: pd.DataFrame, outcome: str) -> dict[str, dict[str, Any]]:
    """The comparison table's rows of ``outcome`` by scenario, as plain records."""
    records = table[table["outcome"] == outcome].to_dict("records")
    return {str(r["scenario"]): {str(k): v for k, v in r.items()} for r in records}


def summary_lines(content: Content) -> list[str]:
    """The plain-language summary: per headline outcome, which option does best and how sure the model is;
    then, per option, what it costs against the reference and whether it beats it on partners."""
    lang, table, names = content.lang, content.table, content.names
    ref = content.scenarios[0]
    out = []
    for outcome in HEADLINE:
        rows = rows_of(table, outcome)
        if not rows:
            continue
        better = next(iter(rows.values()))["better"]
        pick = max if better == "higher" else min
        best = pick(rows, key=lambda s: rows[s]["mean"])
        label = rows[best]["label"]
        r = rows[best]
        if best == ref:
            if lang == "ja":
                out.append(f"{label}：基準の「{names[ref]}」が最も{'多い' if better == 'higher' else '少ない'}"
                           f"（平均 {fmt(r['mean'], outcome, lang)}）。")
            else:
                out.append(f"{label}: the reference, {names[ref]}, does best (mean {fmt(r['mean'], outcome, lang)}).")
            continue
        clear = r["diff_lo"] > 0 or r["diff_hi"] < 0
        sure = t("sure" if clear else "same", lang)
        beats = f"{r['beats']:.0%}" if math.isfinite(r["beats"]) else "—"
        if lang == "ja":
            out.append(f"{label}：「{names[best]}」が最も{'多い' if better == 'higher' else '少ない'}"
                       f"（平均 {fmt(r['mean'], outcome, lang)}、基準との差 {fmt_diff(r['diff'], outcome, lang)} "
                       f"[{fmt_diff(r['diff_lo'], outcome, lang)}, {fmt_diff(r['diff_hi'], outcome, lang)}]、"
                       f"反復の{beats}で基準より良い）。{sure}。")
        else:
            out.append(f"{label}: {names[best]} does best (mean {fmt(r['mean'], outcome, lang)}, "
                       f"{fmt_diff(r['diff'], outcome, lang)} [{fmt_diff(r['diff_lo'], outcome, lang)}, "
                       f"{fmt_diff(r['diff_hi'], outcome, lang)}] against the reference, better in {beats} of the "
                       f"replicates): {sure}.")
    cost, partners = rows_of(table, "cost_yen"), rows_of(table, "partners")
    ref_cost = float(cost[ref]["mean"])
    for s in content.scenarios[1:]:
        if not ref_cost or not math.isfinite(ref_cost):
            break
        ratio = float(cost[s]["mean"]) / ref_cost
        p = partners[s]
        clear = p["diff_lo"] > 0 or p["diff_hi"] < 0
        if ratio > 1.05 and not (p["diff_lo"] > 0):
            interval = (f"{fmt_diff(p['diff'], 'partners', lang)} [{fmt_diff(p['diff_lo'], 'partners', lang)}, "
                        f"{fmt_diff(p['diff_hi'], 'partners', lang)}]")
            if lang == "ja":
                out.append(f"「{names[s]}」は基準の{ratio:.1f}倍の公費がかかりますが、パートナーは基準をはっきりとは"
                           f"上回りません（差 {interval}）。")
            else:
                out.append(f"{names[s]} costs {ratio:.1f} times the reference's public money without clearly more "
                           f"partners ({interval}).")
        elif clear and p["diff_lo"] > 0:
            per = float(rows_of(table, "cost_per_partner")[s]["mean"])
            if lang == "ja":
                out.append(f"「{names[s]}」は公費が基準の{ratio:.1f}倍で、パートナーがはっきり増えます"
                           f"（増えたパートナー1人当たり {fmt(per, 'cost_per_partner', lang)}）。")
            else:
                out.append(f"{names[s]} costs {ratio:.1f} times the reference and clearly adds partners "
                           f"({fmt(per, 'cost_per_partner', lang)} per added partner).")
    bound = _bound(content)
    if bound:
        top = ", ".join(f"{lbl} {share:.0%}" for lbl, share in bound[:3]) if lang == "en" else \
            "、".join(f"{lbl}（{share:.0%}）" for lbl, share in bound[:3])
        out.append(("最もよく効いた上限：" if lang == "ja" else "Limits that bound most often: ") + top +
                   ("。この上限が成果を決めている可能性があります。" if lang == "ja"
                    else ". Outcomes may be set by these limits rather than by the policies."))
    return out


def _bound(content: Content) -> list[tuple[str, float]]:
    """Limits that bound in any scenario, by their largest share of weeks, most often first."""
    from sim.workshop import t as ws_t

    rows = content.table[content.table["outcome"].str.startswith("bound_")]
    shares = {str(k): float(v) for k, v in rows.groupby("outcome")["mean"].max().items() if float(v) > 0}
    ordered = sorted(shares, key=lambda k: -shares[k])
    return [(ws_t(k, content.lang) if k in _ws_keys() else k, shares[k]) for k in ordered]


def _ws_keys() -> set[str]:
    from sim.workshop import TEXT as WS

    return set(WS)


# --------------------------------------------------------------------------------------------- figures


def figures(content: Content) -> dict[str, bytes]:
    """PNG bytes of the trajectories and of cost against effect, labelled in the report's language with the
    shipped Japanese font."""
    from sim.compare import plot

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trajectories.png"
        plot(content.trajectories, content.scenarios, path, content.lang, content.replicates, content.names)
        out["trajectories"] = path.read_bytes()
    out["cost_effect"] = cost_effect_png(content)
    return out


def cost_effect_png(content: Content) -> bytes:
    """Public cost against partners and against migrants: each scenario a point with its 95% intervals."""
    from matplotlib.figure import Figure

    from sim.report import pyplot

    pyplot()
    lang, table = content.lang, content.table
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    cost = rows_of(table, "cost_yen")
    for ax, outcome in zip(axes, ("partners", "migrants")):
        rows = rows_of(table, outcome)
        for i, s in enumerate(content.scenarios):
            x, y = cost[s], rows[s]
            ax.errorbar(x["mean"] / 1e6, y["mean"], xerr=[[x["mean"] / 1e6 - x["mean_lo"] / 1e6],
                                                          [x["mean_hi"] / 1e6 - x["mean"] / 1e6]],
                        yerr=[[y["mean"] - y["mean_lo"]], [y["mean_hi"] - y["mean"]]], fmt="o", color=f"C{i % 10}",
                        capsize=4, label=content.names[s])
        ax.set_xlabel(t("cost_axis", lang, years=f"{content.years:g}"))
        ax.set_ylabel(str(rows[content.scenarios[0]]["label"]))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- HTML


def _e(text: Any) -> str:
    return html.escape(str(text))


def html_report(content: Content) -> str:
    """The report as one self-contained HTML page (figures and the Japanese font embedded)."""
    from sim.report import embedded_font_css

    lang = content.lang
    ref = content.scenarios[0]
    names = content.names
    body: list[str] = [f"<h1>{_e(t('title', lang))}</h1>",
                       f"<p class='meta'>{_e(t('made', lang))}: {datetime.date.today().isoformat()} · "
                       f"{_e(', '.join(names[s] for s in content.scenarios))} · "
                       f"{_e(t('reference', lang))}: {_e(names[ref])}</p>",
                       f"<p class='meta'>{_e(t('regions_used', lang))}: {_e(', '.join(content.regions))}. "
                       f"{_e(t('people_note', lang, scale=content.scale))}</p>",
                       f"<h2>{_e(t('summary', lang))}</h2>", "<ul class='summary'>"]
    body += [f"<li>{_e(line)}</li>" for line in summary_lines(content)]
    body += ["</ul>", f"<p class='meta'>{_e(t('data', lang))}</p>"]
    # outcomes
    body.append(f"<h2>{_e(t('outcomes', lang, years=f'{content.years:g}', n=content.replicates))}</h2>")
    heads = "".join(f"<th>{_e(t(k, lang))}</th>" for k in ("outcome", "scenario", "mean", "diff", "beats"))
    body.append(f"<table class='outcomes'><thead><tr>{heads}</tr></thead><tbody>")
    for outcome in OUTCOMES:
        rows = rows_of(content.table, outcome)
        for i, r in enumerate(rows_of(content.table, outcome).values()):
            mean = fmt(r["mean"], outcome, lang)
            if math.isfinite(r["mean_lo"]):
                mean += f" [{fmt(r['mean_lo'], outcome, lang)}, {fmt(r['mean_hi'], outcome, lang)}]"
            diff = "—" if r["scenario"] == ref or not math.isfinite(r["diff"]) else (
                f"{fmt_diff(r['diff'], outcome, lang)} [{fmt_diff(r['diff_lo'], outcome, lang)}, "
                f"{fmt_diff(r['diff_hi'], outcome, lang)}]")
            beats = f"{r['beats']:.0%}" if r["scenario"] != ref and math.isfinite(r["beats"]) else "—"
            label = f"<td rowspan='{len(rows)}'>{_e(r['label'])}</td>" if i == 0 else ""
            body.append(f"<tr data-outcome='{_e(outcome)}' data-scenario='{_e(r['scenario'])}'>{label}"
                        f"<td class='name'>{_e(names[r['scenario']])}</td><td class='num mean'>{_e(mean)}</td>"
                        f"<td class='num diff'>{_e(diff)}</td><td class='num beats'>{_e(beats)}</td></tr>")
    body.append("</tbody></table>")
    # figures
    for key, title in (("trajectories", "trajectories"), ("cost_effect", "cost_effect")):
        data = base64.b64encode(content.figures[key]).decode("ascii")
        body.append(f"<h2>{_e(t(title, lang))}</h2><img class='figure' alt='{_e(t(title, lang))}' "
                    f"src='data:image/png;base64,{data}'>")
    # levers
    body.append(f"<h2>{_e(t('levers', lang))}</h2><p class='meta'>{_e(t('levers_note', lang))}</p>")
    body.append("<table class='levers'><thead><tr><th></th>" + "".join(
        f"<th>{_e(names[s])}</th>" for s in content.scenarios) + "</tr></thead><tbody>")
    for key, (ja, en) in LEVERS.items():
        values = content.levers[key]
        cells = "".join(f"<td class='num'>{'<b>' if values[s] != values[ref] else ''}{_e(values[s])}"
                        f"{'</b>' if values[s] != values[ref] else ''}</td>" for s in content.scenarios)
        body.append(f"<tr data-lever='{_e(key)}'><td>{_e(ja if lang == 'ja' else en)}</td>{cells}</tr>")
    body.append("</tbody></table>")
    # limits
    body.append(f"<h2>{_e(t('limits', lang))}</h2><p class='meta'>{_e(t('limits_note', lang))}</p>")
    limits = content.table[content.table["outcome"].str.startswith("bound_")]
    shown = [o for o, g in limits.groupby("outcome", sort=False) if (g["mean"] > 0).any()]
    if shown:
        from sim.workshop import t as ws_t

        body.append("<table class='limits'><thead><tr><th></th>" + "".join(
            f"<th>{_e(names[s])}</th>" for s in content.scenarios) + "</tr></thead><tbody>")
        for o in shown:
            g = rows_of(limits, str(o))
            label = ws_t(str(o), lang) if o in _ws_keys() else str(o)
            body.append(f"<tr data-outcome='{_e(o)}'><td>{_e(label)}</td>" + "".join(
                f"<td class='num'>{float(g[s]['mean']):.0%}</td>" for s in content.scenarios) + "</tr>")
        body.append("</tbody></table>")
    else:
        body.append(f"<p>{_e(t('no_limit', lang))}</p>")
    # assumptions, calibration, provenance
    body.append(f"<h2>{_e(t('assumptions', lang))}</h2><ul>")
    n_assumed, n_all = content.assumptions
    body.append("<li>" + _e(
        f"モデルの{n_all}個のパラメータのうち{n_assumed}個は仮定です（出典のない値。docs/ODD.md のパラメータ表）。"
        if lang == "ja" else f"{n_assumed} of the model's {n_all} parameters are assumptions (no seed gives the "
                             "value; docs/ODD.md, parameter table).") + "</li>")
    for s in content.scenarios:
        body.append(f"<li><b>{_e(names[s])}</b> ({_e(s)}): {_e(content.descriptions[s])} "
                    f"<span class='meta'>{_e(content.sources[s])}</span></li>")
    body.append("</ul>")
    body.append(f"<h2>{_e(t('calibration', lang))}</h2><p>{_e(calibration_text(content))}</p>")
    body.append(f"<h2>{_e(t('provenance', lang))}</h2><pre>{_e(content.command)}</pre>"
                f"<p class='meta'>kankei-sim {_e(content.version)}</p>")
    text = "\n".join(body)
    chars = "".join(sorted(set(html.unescape(text)) | set("0123456789")))
    css = embedded_font_css(chars, "body, body *")
    style = ("body { max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }"
             "h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }"
             "table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }"
             "th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }"
             "th { background: #f3f3f3; } td.num { text-align: right; white-space: nowrap; }"
             "td.name { min-width: 7em; } table.outcomes th:last-child { min-width: 7em; }"
             ".meta { color: #555; font-size: 0.85em; } img.figure { max-width: 100%; }"
             "pre { white-space: pre-wrap; font-size: 0.85em; }"
             "@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }"
             " tr, img { break-inside: avoid; } }")
    return (f"<!doctype html>\n<html lang='{lang}'><head><meta charset='utf-8'><title>{_e(t('title', lang))}</title>"
            f"<style>{css}{style}</style></head><body>\n{text}\n</body></html>\n")


def calibration_text(content: Content) -> str:
    """What the calibration and validation say about the model these scenarios run (docs/VALIDATION.json)."""
    lang, v = content.lang, content.validation
    post = (" 区間には事後分布のパラメータの不確かさが含まれます（--posterior）。" if lang == "ja"
            else " Intervals include parameter uncertainty from the posterior draws (--posterior).") \
        if content.posterior else (" 区間は乱数による変動のみで、パラメータの不確かさは含みません。" if lang == "ja"
                                   else " Intervals are chance alone, not parameter uncertainty.")
    if v is None:
        return ("検証結果がありません（python -m sim.validate が docs/VALIDATION.json を書きます）。" if lang == "ja"
                else "No validation found (python -m sim.validate writes docs/VALIDATION.json).") + post
    d, c = v["declared"], v.get("calibrated")
    conf = " ".join(v["configuration"])
    if lang == "ja":
        text = (f"既定値のモデルは、全国の構成（{conf}）で調査の目標{d['national_total']}個のうち"
                f"{d['national_met']}個、事業の目標{d['program_total']}個のうち{d['program_met']}個を満たします")
        if c:
            text += (f"。較正値（事後中央値）では全国{c['national_met']}/{c['national_total']}個、事業"
                     f"{c['program_met']}/{c['program_total']}個です")
        text += (f"（docs/VALIDATION.md、{v['date']}）。この地域の値そのものは較正されていません。")
    else:
        text = (f"With its declared defaults the model meets {d['national_met']} of {d['national_total']} national "
                f"survey targets and {d['program_met']} of {d['program_total']} program targets in the national "
                f"configuration ({conf})")
        if c:
            text += (f"; with the calibrated values (posterior medians) {c['national_met']} of {c['national_total']} "
                     f"and {c['program_met']} of {c['program_total']}")
        text += f" (docs/VALIDATION.md, {v['date']}). The values of these regions themselves are not calibrated."
    return text + post


# --------------------------------------------------------------------------------------------- PDF


def chromium() -> str | None:
    """Path of the Chromium that prints the PDF (Debian's, installed by ``make browser``), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def print_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (A4, no header or footer)."""
    exe = chromium()
    if exe is None:
        raise ConfigError("--pdf: Chromium is not installed; allowed: run `make browser` first, or --no-pdf")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
               html_path.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print the PDF (exit {done.returncode}): "
                           f"{(done.stderr or '').strip().splitlines()[-1:] or ''}")


# --------------------------------------------------------------------------------------------- making it


def content_of(req: Request, result: Comparison, command: str) -> Content:
    """The report's content from a finished comparison."""
    import json

    from sim import __version__
    from sim.params import iter_params
    from sim.scenarios import describe

    lang = req.lang
    levers, regions, scale = lever_texts(req.scenarios, req.base, lang)
    params = list(iter_params())
    assumed = sum(1 for _, f in params if str(f.metadata.get("source", "")).startswith("assumption"))
    steps = int(result.trajectories["step"].max()) if result.trajectories is not None else 0
    sources, descriptions = {}, {}
    for s in req.scenarios:
        parts = [describe(p) for p in s.split("+")]
        sources[s] = "; ".join(p["source"] for p in parts if p["source"])
        descriptions[s] = " / ".join(p["ja" if lang == "ja" else "en"] for p in parts)
    validation = json.loads(VALIDATION.read_text(encoding="utf-8")) if VALIDATION.exists() else None
    assert result.trajectories is not None
    content = Content(lang, req.scenarios, display_names(req.scenarios, lang), result.table, result.metrics,
                      result.trajectories, req.replicates, steps / 52, command, __version__, levers, regions, scale,
                      sources, descriptions, (assumed, len(params)), validation, req.posterior is not None)
    content.figures = figures(content)
    return content


def build(req: Request, *, jobs: int | None = None, pdf: bool = True, command: str = PROG,
          progress: bool = False) -> Path:
    """Run (or reuse) the comparison, then write the report folder ``<out>/<comparison>-<lang>`` as a whole;
    return it."""
    from sim.compare import compare
    from sim.io import atomic_write, atomic_write_text, write_folder

    if pdf and chromium() is None:
        raise ConfigError("--pdf: Chromium is not installed; allowed: run `make browser` first, or --no-pdf")
    result = compare(req, jobs=jobs, progress=progress)
    content = content_of(req, result, command)
    page = html_report(content)

    def write(folder: Path) -> None:
        atomic_write_text(folder / "report.html", page)
        atomic_write(folder / "results.csv", lambda p: result.table.to_csv(p, index=False))
        atomic_write(folder / "runs.csv", lambda p: result.metrics.to_csv(p, index=False))
        if pdf:
            print_pdf(folder / "report.html", folder / "report.pdf")

    return write_folder(req.out / f"{req.folder_name}-{req.lang}", write)


def init(folder: str | Path) -> Path:
    """Copy the templates of a town of one's own (a regions table and three scenarios, commented in Japanese
    and English) into ``folder`` (which must not exist yet); return it."""
    dest = Path(folder)
    if dest.exists():
        raise ConfigError(f"--init: {str(dest)!r} exists already; allowed: a new folder")
    shutil.copytree(TEMPLATES, dest)
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (exit status 0 done, 1 runs failed, 2 bad input)."""
    import argparse

    from sim.compare import parse_args, parser
    from sim.experiment import _one_line
    from sim.io import OutputError

    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--init", default=None)
    pre.add_argument("--no-pdf", action="store_true")
    known, rest = pre.parse_known_args(argv)
    try:
        if known.init is not None:
            print(init(known.init))
            return 0
        if "-h" in rest or "--help" in rest:
            print(__doc__)
            parser().print_help()
            print("  --no-pdf              write the HTML only\n  --init FOLDER         copy the templates of a town "
                  "of one's own into FOLDER")
            return 0
        req, ns = parse_args(rest)
        from dataclasses import replace

        if ns.out == str(parser().get_default("out")):
            req = replace(req, out=DEFAULT_OUT)
        progress = ns.progress == "on" or (ns.progress == "auto" and sys.stderr.isatty())
        folder = build(req, jobs=ns.jobs, pdf=not known.no_pdf, command=" ".join([PROG, *argv]), progress=progress)
    except (ConfigError, OutputError) as exc:
        print(f"{PROG}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0
