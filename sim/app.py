"""The workshop page: a room moves the levers a municipality decides and watches the ladder change.

Start it with ``make app`` (or ``python -m sim.app [--port 8765]``); it prints its localhost address and
needs no internet (Solara's front-end comes from the ``solara-assets`` package, nothing from a CDN).

Built on Solara, the framework Mesa's SolaraViz is made of, rather than on SolaraViz itself: SolaraViz's
controls and captions are English only, and its model parameters are fixed sliders whose values override
whatever scenario is chosen (two scenarios come out identical). Here every control's initial value is read
from the chosen scenario and region (``sim.workshop.lever_values``), and every text exists in Japanese and
English. The model stepped live is the Mesa engine (``sim.model.RelationshipModel``), the readable
reference; "what if" runs the vectorized engine. What the page draws is ``sim.workshop``'s, shared with the
slide export (``sim.animate``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import solara

from sim import workshop as ws
from sim.scenarios import describe, list_scenarios

RENDER_EVERY = 0.3  # seconds between pictures while playing (drawing takes about a tenth of a second)


class Live:
    """One browser session's running model: built from a configuration, stepped and drawn under a lock so
    the play loop and the page never see a half-done week."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: Any = None
        self.view: ws.NetworkView | None = None
        self.focus: ws.Focus | None = None  # what the model was built for (the picker may already show another)
        self.network_png = b""
        self.ladder_png = b""
        self.figures: list[tuple[str, str]] = []
        self.lang = ""  # the language of the pictures and figures

    @property
    def region(self) -> int:
        """The row of the regions table the model looks at."""
        return self.focus.row if self.focus is not None else 0

    def build(self, cfg: Any, focus: ws.Focus, lang: str) -> None:
        """A new model of ``cfg`` at week 0 looking at ``focus``, its picture fixed, drawn in ``lang``."""
        from sim.model import RelationshipModel

        with self.lock:
            self.model = RelationshipModel(cfg)
            self.focus = focus
            self.view = ws.network_view(self.model, focus.row)
            self._draw(lang)

    def step(self, weeks: int, lang: str | None) -> None:
        """Advance ``weeks`` weeks; draw the result unless ``lang`` is None."""
        with self.lock:
            for _ in range(weeks):
                self.model.step()
            if lang is not None:
                self._draw(lang)

    def draw(self, lang: str) -> None:
        """Draw the current week in ``lang``."""
        with self.lock:
            self._draw(lang)

    def _draw(self, lang: str) -> None:
        from matplotlib.figure import Figure

        from sim.report import pyplot

        pyplot()
        assert self.view is not None
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        ws.draw_network(fig.subplots(), self.model, self.view, lang)
        self.network_png = ws.png(fig)
        table = self.model.table()
        fig = Figure(figsize=(5.6, 4.4), layout="constrained")
        ws.draw_ladder(fig.subplots(), ws.region_rows(table, self.region), lang)
        self.ladder_png = ws.png(fig)
        self.figures = ws.panel(table, self.region, lang)
        self.lang = lang


def _scenario_items(lang: str) -> list[dict[str, str]]:
    items = []
    for name in list_scenarios():
        d = describe(name)
        items.append({"text": f"{d['name_ja' if lang == 'ja' else 'name_en']} ({name})", "value": name})
    return items


def _focus_items(lang: str) -> list[dict[str, str]]:
    return [{"text": ja if lang == "ja" else en, "value": f.value} for f, ja, en in ws.focus_options()]


@solara.component
def Picker(label: str, items: list[dict[str, str]], value: str, on_value: Any, testid: str) -> None:
    """A select whose items show a display name and carry a value."""
    solara.v.Select(label=label, items=items, v_model=value, on_v_model=on_value, class_=f"picker-{testid}",
             attach=True, dense=True)


@solara.component
def LeverSlider(lever: ws.Lever, value: float, initial: float, lang: str, on_value: Any) -> None:
    """One lever's slider, its span from ``Lever.span`` of the scenario's value."""
    lo, hi = lever.span(initial)
    changed = value != initial
    with solara.Column(classes=[f"lever-{lever.key.split('.')[1]}"], gap="0px"):
        label = lever.label(lang) + ("" if not changed else " *")
        if lever.integer:
            solara.SliderInt(label, value=int(value), min=int(lo), max=int(hi), step=int(lever.step),
                             on_value=on_value)
        else:
            solara.SliderFloat(label, value=float(value), min=float(lo), max=float(hi), step=float(lever.step),
                               on_value=on_value)


@solara.component
def Page() -> None:
    """The workshop page."""
    lang = solara.use_reactive("ja")
    scenario = solara.use_reactive("baseline")
    focus_value = solara.use_reactive(ws.focus_options()[0][0].value)
    focus = ws.Focus.parse(focus_value.value)
    base = solara.use_memo(lambda: ws.compose(ws.base_overrides(scenario.value, focus)),
                           [scenario.value, focus_value.value])
    initial = ws.lever_values(base, focus)
    values = solara.use_reactive(initial)
    tick = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(8)
    whatif_request = solara.use_reactive(0)
    live = solara.use_memo(Live, [])
    L = lang.value

    def choose(which: str, value: str) -> None:
        playing.set(False)
        (scenario if which == "scenario" else focus_value).set(value)
        f = ws.Focus.parse(focus_value.value)
        values.set(ws.lever_values(ws.compose(ws.base_overrides(scenario.value, f)), f))

    overrides = ws.lever_overrides(base, focus, values.value)

    def rebuild() -> None:
        cfg = ws.compose(ws.base_overrides(scenario.value, focus) + overrides)
        live.build(cfg, focus, lang.value)
        tick.set(tick.value + 1)
        ws.prefetch([base, cfg] if overrides else [base], focus.row)  # "what if" answers at once

    solara.use_effect(rebuild, [scenario.value, focus_value.value, tuple(overrides)])

    def loop(cancel: threading.Event) -> None:
        last = 0.0
        while playing.value and not cancel.is_set():
            t0 = time.perf_counter()
            draw = t0 - last >= RENDER_EVERY
            live.step(1, lang.value if draw else None)
            if draw:
                last = t0
                tick.set(tick.value + 1)
            time.sleep(max(0.0, 1.0 / speed.value - (time.perf_counter() - t0)))
        live.draw(lang.value)
        tick.set(tick.value + 1)

    solara.use_thread(loop, dependencies=[playing.value])

    def compute_whatif() -> Any:
        if whatif_request.value == 0 or not overrides:
            return None
        current = ws.compose(ws.base_overrides(scenario.value, focus) + overrides)
        return ws.whatif(current, base, focus.row)

    whatif = solara.use_thread(compute_whatif, dependencies=[whatif_request.value])

    if live.model is not None and live.lang != L:  # the pictures and figures follow the language switch
        live.draw(L)
    solara.Style(ws.page_font_css())
    solara.Title(ws.t("title", L))
    with solara.AppBar():
        solara.AppBarTitle(ws.t("title", L))
    with solara.Sidebar():
        with solara.Column():
            solara.ToggleButtonsSingle(value=lang, children=[solara.Button("日本語", value="ja", classes=["lang-ja"]),
                                                             solara.Button("English", value="en", classes=["lang-en"])])
            Picker(ws.t("scenario", L), _scenario_items(L), scenario.value, lambda v: choose("scenario", v),
                   "scenario")
            Picker(ws.t("region", L), _focus_items(L), focus_value.value, lambda v: choose("focus", v), "region")
            solara.Text(ws.t("levers", L), style={"font-weight": "bold"})
            for lever in ws.LEVERS:
                LeverSlider(lever, values.value[lever.key], initial[lever.key], L,
                            lambda v, k=lever.key: values.set({**values.value, k: v}))
            solara.Text(ws.t("levers_note", L), style={"font-size": "0.8em", "color": "#555"})
            # read from the model running; until it is rebuilt for a newly picked region, nothing to show
            ready = live.model is not None and live.focus == focus
            running = ws.lever_overrides(base, focus, ws.lever_values(live.model.cfg, focus)) if ready else []
            shown = ", ".join(running) if running else ws.t("as_scenario", L)
            solara.Text(f"{ws.t('in_effect', L)}: {scenario.value}; {shown}", classes=["in-effect"],
                        style={"font-size": "0.8em"})
    with solara.Column(style={"padding": "8px"}):
        solara.Text(ws.t("subtitle", L), classes=["subtitle"])
        with solara.Row(style={"align-items": "center"}):
            def reset() -> None:
                playing.set(False)
                rebuild()

            def step() -> None:
                live.step(1, lang.value)
                tick.set(tick.value + 1)

            solara.Button(ws.t("reset", L), on_click=reset, color="primary", classes=["btn-reset"])
            solara.Button(ws.t("pause" if playing.value else "play", L), color="primary", classes=["btn-play"],
                          on_click=lambda: playing.set(not playing.value))
            solara.Button(ws.t("step", L), color="primary", classes=["btn-step"], disabled=playing.value,
                          on_click=step)
            solara.SliderInt(ws.t("speed", L), value=speed, min=1, max=52)
            week = live.model.week if live.model is not None else 0
            solara.Text(f"{ws.t('week', L)} {week}（{week / 52:.1f}{ws.t('year', L)}）" if L == "ja"
                        else f"{ws.t('week', L)} {week} ({week / 52:.1f} {ws.t('year', L)}s)",
                        classes=["week-counter"], style={"font-weight": "bold"})
        with solara.Row():
            if live.network_png:
                solara.Image(live.network_png, classes=["network-chart"], width="560px")
                solara.Image(live.ladder_png, classes=["ladder-chart"], width="490px")
        with solara.Card(ws.t("figures", L), classes=["figures"]):
            with solara.Row(style={"flex-wrap": "wrap"}):
                for label, value in live.figures:
                    with solara.Column(gap="0px", style={"min-width": "150px"}):
                        solara.Text(label, style={"font-size": "0.8em", "color": "#555"})
                        solara.Text(value, style={"font-size": "1.1em", "font-weight": "bold"})
        with solara.Card(ws.t("whatif", L), classes=["whatif"]):
            solara.Text(ws.t("whatif_note", L, n=len(ws.WHATIF_SEEDS)), style={"font-size": "0.85em"})
            solara.Button(ws.t("whatif_run", L), color="secondary", classes=["btn-whatif"],
                          on_click=lambda: whatif_request.set(whatif_request.value + 1))
            if not overrides:
                solara.Text(ws.t("whatif_same", L), classes=["whatif-same"])
            elif whatif.state == solara.ResultState.RUNNING:
                solara.Text(ws.t("running", L))
            elif whatif.value is not None:
                from matplotlib.figure import Figure

                from sim.report import pyplot

                pyplot()
                fig = Figure(figsize=(10, 3.2), layout="constrained")
                ws.draw_whatif(fig, whatif.value, L)
                solara.Image(ws.png(fig), classes=["whatif-chart"], width="900px")
                solara.Text(ws.t("difference", L), style={"font-size": "0.85em"})
                with solara.Row():
                    for label, value in ws.whatif_differences(whatif.value, L):
                        solara.Text(f"{label}: {value}", classes=["whatif-diff"])
    _ = tick.value  # re-render when the model moves


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the page on localhost and print its address."""
    import sys

    from sim.cli import OneLineParser, whole

    parser = OneLineParser(prog="python -m sim.app", description="The workshop page (localhost, offline).")
    parser.add_argument("--port", type=whole(1), default=8765, help="port to serve on (default 8765)")
    parser.add_argument("--host", default="localhost", help="address to serve on (default localhost)")
    try:
        args = parser.parse_args(argv)
        if args.port > 65535:
            raise ValueError(f"--port: {args.port} is not allowed; allowed: a port number 1-65535")
    except ValueError as exc:
        print(f"python -m sim.app: {exc}", file=sys.stderr)
        return 2
    import solara.settings
    from solara.server import settings

    solara.settings.assets.proxy = True  # the server serves the front-end from solara-assets, not a CDN
    settings.telemetry.mixpanel_enable = False  # nor send usage statistics
    settings.theme.show_banner = False  # no English banner on a Japanese page
    settings.theme.title = ws.t("title", "ja")
    from solara.__main__ import main as solara_main

    print(f"workshop page: http://{args.host}:{args.port}/", flush=True)
    sys.argv = ["solara", "run", "sim.app:Page", "--host", args.host, "--port", str(args.port), "--production",
                "--no-open", "--no-check-version"]  # the version check asks PyPI
    try:
        solara_main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

