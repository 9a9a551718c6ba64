"""How quickly the workshop page answers, at its default (baseline, one region, the small population).

Usage::

    python -m benchmarks.workshop          # median of 3 of each

Prints: a live week on the Mesa engine, drawing the page's two pictures, and "what if" (10 years, 3 seeds,
vectorized engine, 2 worker processes) when both settings' runs are already made (the page makes them in
the background as soon as a scenario is chosen or a lever moves), when only the scenario's are, and when
neither is. The aim is about two seconds for "what if".
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

REPEATS = 3


def _median(f: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    from matplotlib.figure import Figure

    from sim import workshop as ws
    from sim.model import RelationshipModel
    from sim.report import pyplot

    pyplot()
    focus = ws.Focus("one", 0)
    base = ws.compose(ws.base_overrides("baseline", focus))
    model = RelationshipModel(base)
    for _ in range(52):
        model.step()
    view = ws.network_view(model, 0)
    week = _median(lambda: [model.step() for _ in range(10)]) / 10

    def draw() -> None:
        for draw_one in (lambda ax: ws.draw_network(ax, model, view, "ja"),
                         lambda ax: ws.draw_ladder(ax, ws.region_rows(model.table(), 0), "ja")):
            fig = Figure(figsize=(6, 4.4), layout="constrained")
            draw_one(fig.subplots())
            ws.png(fig)

    drawing = _median(draw)
    current = ws.live_config("baseline", focus, {**ws.lever_values(base, focus), "policy.guides": 8})
    ws.whatif(current, base, 0, seeds=(1,), years=1)  # start the worker processes

    def fresh(i: int) -> object:  # settings not run before
        return ws.live_config("baseline", focus, {**ws.lever_values(base, focus), "policy.guides": 20 + i})

    ws.whatif(current, base, 0)
    one = []
    for i in range(REPEATS):
        t0 = time.perf_counter()
        ws.whatif(fresh(i), base, 0)
        one.append(time.perf_counter() - t0)
    both = []
    for i in range(REPEATS):
        ws._RUNS.clear()
        t0 = time.perf_counter()
        ws.whatif(fresh(i), base, 0)
        both.append(time.perf_counter() - t0)
    warm = _median(lambda: ws.whatif(current, base, 0))
    print(f"live week (Mesa engine, {base.population.urban:,} urban residents): {week * 1000:.1f} ms")
    print(f"drawing the network and the ladder: {drawing * 1000:.0f} ms")
    print(f"what if, both made in the background (the page starts them when a lever moves): {warm:.3f} s")
    print(f"what if, the current settings' runs to make:  {statistics.median(one):.2f} s")
    print(f"what if, both to make:  {statistics.median(both):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
