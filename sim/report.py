"""What a run says to its reader: a short summary and the ladder over time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from sim.io import atomic_write
from sim.params import STAGES, STAGES_JA
from sim.table import LIMIT_COLUMNS, totals


def summary(df: pd.DataFrame) -> str:
    """Final counts per stage, migrants, local population change, cost, cost per new partner."""
    t = totals(df)
    first, last = t.iloc[0], t.iloc[-1]
    weeks = int(last["step"])
    lines = [f"after {weeks} weeks ({weeks / 52:.1f} years), all regions:"]
    for en, ja in zip(STAGES, STAGES_JA):
        lines.append(f"  {en:<12} {ja:<6} {int(first[en]):>12,} -> {int(last[en]):>12,}")
    lines.append(f"  {'members':<12} {'登録会員':<6} {int(first['members']):>12,} -> {int(last['members']):>12,}")
    cost = float(t["cost_yen"].sum())
    partners = int(t["new_partners"].sum())
    lines.append(f"  new fans {int(t['new_fans'].sum()):,}, new partners {partners:,}, "
                 f"migrants {int(t['new_migrants'].sum()):,}, dropouts {int(t['dropouts'].sum()):,}")
    pop0, pop1 = int(first["local_population"]), int(last["local_population"])
    change = (pop1 - pop0) / pop0 * 100 if pop0 else 0.0
    lines.append(f"  local population {pop0:,} -> {pop1:,} ({change:+.1f}%)")
    per = f"{cost / partners:,.0f} yen per new partner" if partners else "no new partner"
    lines.append(f"  cost {cost:,.0f} yen ({per})")
    lines.append("  " + binding_summary(df))
    return "\n".join(lines)


def binding_summary(df: pd.DataFrame) -> str:
    """Which capacity limits bound, as the share of region-weeks each bound in (most frequent first)."""
    weeks = df[df["step"] > 0]
    shares = {c.removeprefix("bound_").replace("_", " "): float(weeks[c].mean()) for c in LIMIT_COLUMNS
              if c in weeks and len(weeks)}
    bound = sorted(((v, k) for k, v in shares.items() if v > 0), reverse=True)
    if not bound:
        return "limits that bound: none"
    return "limits that bound (share of weeks): " + ", ".join(f"{k} {v:.0%}" for v, k in bound)


# Plot labels: the Japanese stage name with the English one. Figures use the Japanese font that the
# matplotlib-fontja package ships (matplotlib's own DejaVu fonts have no kana or kanji).
LABELS = {en: f"{ja} {en}" for en, ja in zip(STAGES, STAGES_JA)}


def plot_ladder(df: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """PNG of the ladder over time (all regions summed), written atomically.

    Left: indifferent and fans on a linear scale (the bulk of the population); right: fans, partners and
    cumulative migrants on a symmetric log scale, so the small upper rungs stay visible.
    """
    plt = pyplot()

    t = totals(df)
    years = t["step"] / 52
    colours = {"indifferent": "0.6", "fan": "tab:blue", "partner": "tab:orange", "migrant": "tab:green"}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for stage in ("indifferent", "fan"):
        ax1.plot(years, t[stage], label=LABELS[stage], color=colours[stage])
    ax1.set_xlabel("年 year")
    ax1.set_ylabel("都市住民 urban residents")
    ax1.set_title("関係人口の段階 the ladder")
    ax1.legend()
    for stage in ("fan", "partner", "migrant"):
        label = LABELS[stage] + ("（累計 cumulative）" if stage == "migrant" else "")
        ax2.plot(years, t[stage], label=label, color=colours[stage])
    ax2.set_yscale("symlog", linthresh=10)
    ax2.set_xlabel("年 year")
    ax2.set_ylabel("都市住民 urban residents")
    ax2.set_title("上の段階（対数目盛） upper rungs (log scale)")
    ax2.legend()
    if title:
        fig.suptitle(title)
    return save_png(fig, path)


def pyplot() -> Any:
    """matplotlib's pyplot drawing off-screen (Agg), with the Japanese font matplotlib-fontja ships as the
    default family: every figure of the project is drawn through it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib_fontja  # noqa: F401  (registers its Japanese font as the default family)

    return plt


def save_png(fig: Any, path: str | Path) -> Path:
    """Write a matplotlib figure as PNG atomically, then close it (also when writing fails)."""
    import matplotlib.pyplot as plt

    try:
        atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    finally:
        plt.close(fig)
    return Path(path)


FONT_FAMILY = "KankeiJa"  # the family name the embedded font goes by in a page or a report


@lru_cache(maxsize=8)
def embedded_font_css(characters: str, selector: str = "body, body *", before: str = "") -> str:
    """CSS that gives the elements of ``selector`` the project's shipped Japanese font (IPAexGothic, from
    matplotlib-fontja), cut to ``characters`` and embedded as a data URL: Japanese renders in any browser
    and in a PDF printed from it, offline, with no system font. ``before``: families tried first (e.g. a
    Latin font the page already has)."""
    import base64
    import io

    import matplotlib_fontja
    from fontTools import subset

    font = Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    subsetter = subset.Subsetter(options)
    ft = subset.load_font(str(font), options)
    subsetter.populate(text=characters)
    subsetter.subset(ft)
    buf = io.BytesIO()
    ft.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"@font-face {{ font-family: '{FONT_FAMILY}'; src: url(data:font/ttf;base64,{data}) "
            f"format('truetype'); }}\n{selector} {{ font-family: {before}'{FONT_FAMILY}', sans-serif !important; }}\n")


if __name__ == "__main__":  # python -m sim.report: the planner's report (sim.planner)
    from sim.planner import main

    raise SystemExit(main())
