"""Speed and memory of both engines on the baseline, measured in one run.

Usage::

    python -m benchmarks.run            # the full table (includes the 46.78M-person run, ~10 min)
    python -m benchmarks.run --quick    # skip the full-scale row

Each measurement runs in a fresh subprocess so that its peak memory (max RSS) is its own.
"Agent-steps" counts urban residents × weeks (locals and guides are a rounding error at these
sizes). Build time (population + network) is reported apart from the stepping time. The ratio
column divides the vectorized engine's speed by the Mesa engine's at the same N, both measured
in this run, so it compares across machines even though absolute figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CASES_QUICK = [
    ("mesa", 10_000, 10),
    ("vectorized", 10_000, 520),
    ("mesa", 100_000, 3),
    ("vectorized", 100_000, 520),
    ("vectorized", 1_000_000, 520),
]
CASE_FULL = ("vectorized", 46_780_000, 520)


def measure(engine: str, urban: int, steps: int) -> dict:
    """Build and run one baseline simulation in this process; return timings and peak memory."""
    from sim.config import compose
    from sim.engines import build_engine

    overrides = [f"engine={engine}", f"population.urban={urban}", f"run.steps={steps}", "run.progress=off"]
    if urban > 10_000_000:
        overrides.append("population=three_metros")
        overrides.append(f"population.urban={urban}")
    cfg = compose(overrides)
    t0 = time.perf_counter()
    eng = build_engine(cfg)
    t1 = time.perf_counter()
    eng.run(steps)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"engine": engine, "urban": urban, "steps": steps, "build_s": t1 - t0, "run_s": t2 - t1,
            "agent_steps_per_s": urban * steps / (t2 - t1), "peak_gib": peak / 2**30}


def run_case(engine: str, urban: int, steps: int) -> dict:
    """Measure one case in a fresh interpreter."""
    code = f"import json; from benchmarks.run import measure; print(json.dumps(measure({engine!r}, {urban}, {steps})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark table and the vectorized/Mesa ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the full-scale (46.78M) case")
    args = ap.parse_args(argv)
    cases = CASES_QUICK + ([] if args.quick else [CASE_FULL])
    rows = []
    print(f"{'engine':<11} {'urban':>11} {'weeks':>6} {'build s':>8} {'run s':>9} {'agent-steps/s':>14} "
          f"{'peak GiB':>9}", flush=True)
    for case in cases:
        r = run_case(*case)
        rows.append(r)
        print(f"{r['engine']:<11} {r['urban']:>11,} {r['steps']:>6} {r['build_s']:>8.2f} {r['run_s']:>9.2f} "
              f"{r['agent_steps_per_s']:>14,.0f} {r['peak_gib']:>9.2f}", flush=True)
    speed = {(r["engine"], r["urban"]): r["agent_steps_per_s"] for r in rows}
    for n in (10_000, 100_000):
        if ("mesa", n) in speed and ("vectorized", n) in speed:
            print(f"ratio vectorized/mesa at N={n:,}: {speed[('vectorized', n)] / speed[('mesa', n)]:,.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
