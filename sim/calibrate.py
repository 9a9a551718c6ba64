"""Calibration: a posterior over the free parameters given the seeds' figures (``python -m sim.calibrate``).

Command line::

    python -m sim.calibrate [--simulations 512] [--sbc-cases 40] [--seed 1] [--jobs N]
        [--spec sim/calibration/calibration.yaml] [--out sim/calibration] [key=value ...]

What it does. The free parameters and their priors are declared in the calibration file (each with why it is
free and what bounds its prior); every other parameter keeps its declared value, for the reason the file
gives. The targets are those of ``sim.validate`` (``sim/calibration/targets.yaml``: the 2020 survey's shares
and the registries of real programs), computed from each run's table by the same functions, so the fit and
the validation report measure the same thing. ``--simulations`` parameter sets are drawn from the prior, each
run once on the vectorized engine with its own seed (child of ``SeedSequence(--seed)``: independent noise, as
the posterior needs), in parallel (joblib). A neural posterior estimator (sbi's NPE, a normalising flow) is
trained on them: the posterior for any targets is then a forward pass, so the same network gives the
posterior for the real targets and for every held-out synthetic case of the coverage check.

Why NPE and not ABC-SMC. Each run of the national configuration takes seconds; ABC-SMC spends its budget on
one observation and would have to start again for every synthetic case of a simulation-based-calibration
check (at least 20 here), which a 2-core machine cannot afford. NPE is amortised: one training set serves the
real fit and the coverage check (Cranmer, Brehmer and Louppe 2020, PNAS 117:30055; Talts et al. 2018 for SBC).

The coverage check. ``--sbc-cases`` of the simulations are held out of training; for each, the posterior given
its outputs is sampled and the central 90% interval of every free parameter checked against the value that
made it. The share of intervals that hold the truth is the method's coverage (nominal 0.90).

Output, in ``--out`` (each file written atomically): ``posterior.parquet`` (draws from the posterior given the
real targets, one column per free parameter), ``calibrated.yaml`` (the posterior median of each free parameter
as overrides, with provenance: date, targets, method, budget, coverage, code version), ``simulations.parquet``
(the training set: parameters, seed, outputs). The path of ``calibrated.yaml`` is printed last. Bad input
stops with one line on stderr and exit status 2, before anything runs or is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.cli import OneLineParser, whole
from sim.config import ConfigError
from sim.validate import TARGETS, Program, Target, load_programs, load_targets, national_shares, program_members

HERE = Path(__file__).resolve().parent / "calibration"
SPEC = HERE / "calibration.yaml"
PROG = "python -m sim.calibrate"
LEVEL = 0.9  # nominal level of the intervals whose coverage is checked


@dataclass(frozen=True)
class Free:
    """A free parameter: its key, prior bounds and scale (``log``: log-uniform), and why it is free."""

    key: str
    low: float
    high: float
    log: bool
    why: str

    def value(self, z: np.ndarray) -> np.ndarray:
        """The parameter at unit-cube coordinate ``z`` (0 = low, 1 = high; geometric when ``log``)."""
        z = np.asarray(z, dtype=float)
        if self.log:
            return np.asarray(self.low * (self.high / self.low) ** z)
        return np.asarray(self.low + (self.high - self.low) * z)

    def unit(self, value: np.ndarray) -> np.ndarray:
        """The unit-cube coordinate of ``value`` (inverse of ``value``)."""
        v = np.asarray(value, dtype=float)
        if self.log:
            return np.asarray(np.log(v / self.low) / np.log(self.high / self.low))
        return np.asarray((v - self.low) / (self.high - self.low))


@dataclass(frozen=True)
class Spec:
    """What is fitted: the configuration the targets are measured in, the weeks, the candidate parameters
    (screened), the free ones among them (fitted), the targets file and why everything else is fixed."""

    configuration: tuple[str, ...]
    steps: int
    candidates: tuple[Free, ...]
    free: tuple[Free, ...]
    targets: Path
    fixed: str

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.free]


def load_spec(path: str | Path = SPEC) -> Spec:
    """The calibration file ``path``; a wrong key, bound or parameter is a ``ConfigError`` naming it."""
    from sim.config import check_value, is_parameter

    path = Path(path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    allowed = {"configuration", "steps", "candidates", "free", "targets", "fixed"}
    if not isinstance(doc, dict) or not set(doc) <= allowed or not {"candidates", "free"} <= set(doc):
        got = sorted(doc) if isinstance(doc, dict) else doc
        raise ConfigError(f"{path}: keys {got!r}; allowed: {', '.join(sorted(allowed))} (candidates, free "
                          "required)")
    candidates = []
    for i, row in enumerate(doc["candidates"] or []):
        where = f"candidates[{i}]"
        keys = {"key", "prior", "why"}
        if not isinstance(row, dict) or set(row) != keys:
            raise ConfigError(f"{where}: keys {sorted(row) if isinstance(row, dict) else row!r}; allowed: exactly "
                              f"{', '.join(sorted(keys))}")
        key, prior = row["key"], row["prior"]
        if not isinstance(key, str) or not is_parameter(key):
            raise ConfigError(f"{where}.key: {key!r}; allowed: a parameter key such as behaviour.engagement_decay "
                              "or a regions-table row's key such as regions.table.0.attraction")
        if (not isinstance(prior, dict) or set(prior) - {"low", "high", "scale"} or not {"low", "high"} <= set(prior)
                or prior.get("scale", "log") not in ("log", "linear")):
            raise ConfigError(f"{where}.prior: {prior!r}; allowed: {{low: a, high: b, scale: log|linear}}")
        low, high, log = float(prior["low"]), float(prior["high"]), prior.get("scale", "log") == "log"
        if not (np.isfinite(low) and np.isfinite(high) and low < high) or (log and low <= 0):
            raise ConfigError(f"{where}.prior: low {low}, high {high}; allowed: finite low < high (low > 0 if log)")
        for v in (low, high):
            check_value(key, v)  # the model's one line when a bound is outside what the parameter accepts
        candidates.append(Free(str(key), low, high, log, " ".join(str(row["why"]).split())))
    by_key = {c.key: c for c in candidates}
    chosen = doc["free"] if isinstance(doc["free"], list) else []
    unknown = [k for k in chosen if k not in by_key]
    if not chosen or unknown or len(set(chosen)) != len(chosen):
        raise ConfigError(f"{path}: free {doc['free']!r}; allowed: distinct keys of the candidates "
                          f"({', '.join(by_key)})")
    free = [by_key[k] for k in chosen]
    targets = Path(doc.get("targets") or TARGETS)
    if not targets.is_absolute():
        targets = (path.parent / targets).resolve()
    steps = doc.get("steps", 520)
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"{path}: steps {steps!r}; allowed: a whole number of weeks >= 1")
    configuration = doc.get("configuration")
    if configuration is None:
        configuration = load_targets(targets)[0]
    return Spec(tuple(str(o) for o in configuration), steps, tuple(candidates), tuple(free), targets,
                " ".join(str(doc.get("fixed", "")).split()))


def target_set(spec: Spec) -> tuple[list[Target], list[Program]]:
    """The national and program targets the spec fits (national ones marked ``not_fitted`` left out: the
    validation report shows them and says why)."""
    return [t for t in load_targets(spec.targets)[1] if not t.not_fitted], load_programs(spec.targets)


def summaries(table: pd.DataFrame, region_names: Sequence[str], targets: Sequence[Target],
              programs: Sequence[Program]) -> np.ndarray:
    """A run's outputs in the targets' terms: each survey share (percent), then each program's registry
    members as log10(1 + members) (counts span orders of magnitude; shares do not)."""
    shares = national_shares(table, targets)
    members = program_members(table, region_names, programs)
    return np.array([shares[t.name] for t in targets] + [np.log10(1.0 + members[p.name]) for p in programs])


def observed(targets: Sequence[Target], programs: Sequence[Program]) -> np.ndarray:
    """The targets' values in the terms of ``summaries``."""
    return np.array([t.value for t in targets] + [np.log10(1.0 + p.value) for p in programs])


def tolerances(targets: Sequence[Target], programs: Sequence[Program]) -> np.ndarray:
    """Each target's tolerance in the terms of ``summaries``: percentage points, or log10(1 + relative
    tolerance) for members."""
    return np.array([t.tolerance for t in targets] + [np.log10(1.0 + p.tolerance) for p in programs])


def summary_names(targets: Sequence[Target], programs: Sequence[Program]) -> list[str]:
    return [t.name for t in targets] + [f"log10_members_{p.name}" for p in programs]


def overrides(params: Sequence[Free], z: np.ndarray) -> list[str]:
    """Hydra overrides setting ``params`` at unit-cube point ``z``."""
    return [f"{f.key}={float(f.value(np.asarray(zi))):.10g}" for f, zi in zip(params, z)]


def _simulate(spec: Spec, params: Sequence[Free], extra: Sequence[str], points: list[tuple[np.ndarray, int]],
              threads: int | None) -> list[np.ndarray]:
    """Outputs of each (unit point of ``params``, seed) of ``points``, one run each (a worker's batch)."""
    from sim import simulate
    from sim.parallel import limit_threads

    limit_threads(threads)  # several workers side by side: each on its share of the cores
    targets, programs = target_set(spec)
    out = []
    for z, seed in points:
        res = simulate([*spec.configuration, f"run.steps={spec.steps}", "run.plot=false", "run.progress=off",
                        *extra, *overrides(params, z), f"seed={seed}"])
        names = [str(r.get("name", "")) for r in res.config.regions.table]
        out.append(summaries(res.table, names, targets, programs))
    return out


def seeds_of(seed: int, n: int) -> list[int]:
    """``n`` run seeds, children of ``SeedSequence(seed)``: independent, the same on any machine."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2)[1].spawn(n)]


def run_points(spec: Spec, params: Sequence[Free], z: np.ndarray, seeds: Sequence[int], jobs: int = 1,
               extra: Sequence[str] = ()) -> np.ndarray:
    """The outputs (``summaries``) of one run per row of ``z`` (unit points of ``params``) with its seed, spread
    over ``jobs`` processes (joblib); rows in the order of ``z``."""
    from joblib import Parallel, delayed

    from sim.parallel import cores

    jobs = max(1, min(jobs, len(z)))
    points = list(zip(np.asarray(z), seeds))
    chunks = [points[i::jobs] for i in range(jobs)]
    threads = None if jobs == 1 else max(1, cores() // jobs)
    results = Parallel(n_jobs=jobs)(delayed(_simulate)(spec, params, list(extra), c, threads) for c in chunks)
    x = np.empty((len(points), len(results[0][0])))
    for k, part in enumerate(results):
        x[k::jobs] = np.asarray(part)
    return x


def simulate_prior(spec: Spec, n: int, seed: int, jobs: int = 1, extra: Sequence[str] = ()
                   ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``n`` draws from the prior of the free parameters (uniform on the unit cube, from ``seed``), each run
    once with its own seed: (unit points, outputs, seeds)."""
    z = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0]).random((n, len(spec.free)))
    seeds = seeds_of(seed, n)
    return z, run_points(spec, spec.free, z, seeds, jobs, extra), seeds


class _NoLog:
    """A training tracker that keeps nothing (sbi's default writes TensorBoard logs into the working folder)."""

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_params(self, params: dict[str, Any]) -> None:
        pass

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        pass

    def flush(self) -> None:
        pass


def train(z: np.ndarray, x: np.ndarray, seed: int) -> Any:
    """A neural posterior estimator of the unit-cube parameters given the outputs (sbi NPE, a masked
    autoregressive flow on a uniform prior over the cube), trained deterministically from ``seed``."""
    import torch
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    torch.manual_seed(seed)
    d = z.shape[1]
    prior = BoxUniform(low=torch.zeros(d), high=torch.ones(d))
    inference = NPE(prior=prior, show_progress_bars=False, tracker=_NoLog())
    inference.append_simulations(torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(x, dtype=torch.float32))
    inference.train(show_train_summary=False)
    return inference.build_posterior()


def sample(posterior: Any, x: np.ndarray, draws: int, seed: int, bounds: np.ndarray | None = None) -> np.ndarray:
    """``draws`` unit-cube draws from the posterior given outputs ``x``; with ``bounds`` (a ``box``), only
    draws inside it (the truncated posterior), drawn until there are enough."""
    import torch

    torch.manual_seed(seed)
    kept: list[np.ndarray] = []
    n = 0
    for _ in range(50):
        s = posterior.sample((draws,), x=torch.as_tensor(x, dtype=torch.float32), show_progress_bars=False)
        u = np.asarray(s.numpy(), dtype=float)
        if bounds is not None:
            u = u[inside(u, bounds)]
        kept.append(u)
        n += len(u)
        if n >= draws:
            break
    return np.concatenate(kept)[:draws]


def coverage(posterior: Any, z: np.ndarray, x: np.ndarray, seed: int, draws: int = 400,
             level: float = LEVEL, bounds: np.ndarray | None = None) -> np.ndarray:
    """For each held-out case (rows of ``z``, ``x``) and parameter, whether the posterior's central ``level``
    interval (truncated to ``bounds`` if given) holds the value that made the case: a (cases, parameters)
    boolean array."""
    lo, hi = (1 - level) / 2, (1 + level) / 2
    hits = np.zeros(z.shape, dtype=bool)  # no cases: (0, parameters)
    for i in range(z.shape[0]):
        s = sample(posterior, x[i], draws, seed + i, bounds)
        q = np.quantile(s, [lo, hi], axis=0)
        hits[i] = (q[0] <= z[i]) & (z[i] <= q[1])
    return hits


def screen(spec: Spec, trajectories: int, seed: int, jobs: int = 1, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Morris screening of every candidate over its prior, on every target output (``sim.sensitivity``): all
    points run with one seed (the elementary effects are then differences of the parameter alone). One row per
    output and candidate; ``per_tolerance`` is ``mu_star`` in units of the target's tolerance (moving the
    parameter over its prior moves the output by that many tolerances, on average), so outputs in percent and in
    log10 members compare and an output that barely moves counts for nothing; ``importance`` is a candidate's
    largest ``per_tolerance``."""
    from sim import sensitivity

    names = [c.key for c in spec.candidates]
    prob = sensitivity.problem(names, [(0.0, 1.0)] * len(names))
    z = sensitivity.sample("morris", prob, trajectories, seed)
    x = run_points(spec, spec.candidates, z, [seeds_of(seed, 1)[0]] * len(z), jobs, extra)
    targets, programs = target_set(spec)
    outputs = {n: x[:, j] for j, n in enumerate(summary_names(targets, programs))}
    res = sensitivity.analyse("morris", prob, z, outputs, seed)
    tol = dict(zip(outputs, tolerances(targets, programs)))
    res["per_tolerance"] = [m / tol[o] for m, o in zip(res["mu_star"], res["output"])]
    res["importance"] = res.groupby("parameter")["per_tolerance"].transform("max")
    return res.sort_values(["importance", "parameter", "output"], ascending=[False, True, True])


@dataclass
class Fit:
    """A finished calibration: posterior draws (parameter values), the training set, the coverage check."""

    spec: Spec
    draws: pd.DataFrame
    simulations: pd.DataFrame
    hits: np.ndarray
    seed: int
    hits_truncated: np.ndarray | None = None  # coverage check of the second round, on its held-out runs
    bounds: np.ndarray | None = None  # the box of the second round (unit cube), if there was one

    @property
    def coverage(self) -> float:
        return float(self.hits.mean()) if self.hits.size else float("nan")

    @property
    def coverage_truncated(self) -> float:
        h = self.hits_truncated
        return float(h.mean()) if h is not None and h.size else float("nan")

    def medians(self) -> dict[str, float]:
        return {k: float(self.draws[k].median()) for k in self.spec.keys}


def fit(spec: Spec, simulations: int, sbc_cases: int, seed: int, jobs: int = 1, extra: Sequence[str] = (),
        draws: int = 2000, x_obs: np.ndarray | None = None, truncated: int = 0) -> Fit:
    """Simulate, train on all but ``sbc_cases`` runs, check coverage on those, and draw the posterior given the
    targets (or ``x_obs``, synthetic targets for a recovery check). With ``truncated`` runs, a second round
    draws them uniformly in the box that holds the first posterior (``box``), trains again on both rounds
    and keeps the draws inside the box (truncated sequential NPE, Deistler et al. 2022): the budget goes
    where the targets point, and the first-round loss stays valid because the proposal is flat in the box."""
    targets, programs = target_set(spec)
    z, x, seeds = simulate_prior(spec, simulations, seed, jobs, extra)
    test, train_rows = held_out_split(x, sbc_cases)
    posterior = train(z[train_rows], x[train_rows], seed)
    hits = coverage(posterior, z[test], x[test], seed)
    target = observed(targets, programs) if x_obs is None else np.asarray(x_obs, dtype=float)
    rounds = np.ones(simulations, np.int8)
    held_out = np.isin(np.arange(simulations), test)
    bounds, hits2 = None, None
    if truncated:
        bounds = box(sample(posterior, target, draws, seed))
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        z2 = bounds[0] + (bounds[1] - bounds[0]) * rng.random((truncated, len(spec.free)))
        seeds2 = [int(v) for v in np.random.SeedSequence([seed, 3]).generate_state(truncated)]
        x2 = run_points(spec, spec.free, z2, seeds2, jobs, extra)
        test2, train2 = held_out_split(x2, sbc_cases)
        posterior = train(np.r_[z[train_rows], z2[train2]], np.r_[x[train_rows], x2[train2]], seed)
        hits2 = coverage(posterior, z2[test2], x2[test2], seed, bounds=bounds)
        z, x, seeds = np.r_[z, z2], np.r_[x, x2], [*seeds, *seeds2]
        rounds = np.r_[rounds, np.full(truncated, 2, np.int8)]
        held_out = np.r_[held_out, np.isin(np.arange(truncated), test2)]
    u = sample(posterior, target, draws, seed, bounds)
    values = pd.DataFrame({f.key: f.value(u[:, j]) for j, f in enumerate(spec.free)})
    names = summary_names(targets, programs)
    sims = pd.DataFrame({"seed": seeds, "round": rounds, "held_out": held_out,
                         **{f.key: f.value(z[:, j]) for j, f in enumerate(spec.free)},
                         **{n: x[:, j] for j, n in enumerate(names)}})
    return Fit(spec, values, sims, hits, seed, hits2, bounds)


def held_out_split(x: np.ndarray, cases: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of outputs ``x`` held out for the coverage check (the first ``cases`` finite ones, at most half of
    them) and the finite rest, to train on."""
    ok = np.flatnonzero(np.all(np.isfinite(x), axis=1))
    n_test = min(cases, ok.size // 2)
    return ok[:n_test], ok[n_test:]


def box(u: np.ndarray, mass: float = 0.999, margin: float = 0.1) -> np.ndarray:
    """The box (2, parameters) in the unit cube holding ``mass`` of each parameter's draws ``u``, widened by
    ``margin`` of its width on each side and cut to the cube: where the second round looks."""
    q = np.quantile(u, [(1 - mass) / 2, (1 + mass) / 2], axis=0)
    pad = margin * (q[1] - q[0])
    return np.clip(np.stack([q[0] - pad, q[1] + pad]), 0.0, 1.0)


def inside(u: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Whether each row of ``u`` lies in ``bounds`` (a ``box``)."""
    return np.all((u >= bounds[0]) & (u <= bounds[1]), axis=1)


def provenance(result: Fit, command: str, simulations: int) -> dict[str, Any]:
    """What produced a calibration: date, targets, method, budget, coverage, code version."""
    from sim.experiment import code_version

    return {"date": dt.date.today().isoformat(), "command": command, "targets": str(result.spec.targets.name),
            "configuration": list(result.spec.configuration), "weeks": result.spec.steps,
            "method": "neural posterior estimation (sbi NPE, masked autoregressive flow), uniform prior on the "
                      "unit cube of the free parameters (log-uniform where declared)",
            "simulations": simulations, "held_out_for_coverage": int(result.hits.shape[0]), "seed": result.seed,
            "coverage_90": round(result.coverage, 3),
            "coverage_90_by_parameter": {k: round(float(v), 3) for k, v in
                                         zip(result.spec.keys, result.hits.mean(axis=0))} if result.hits.size else {},
            **({} if result.bounds is None else {"truncated_round": {
                "method": "truncated sequential NPE (Deistler et al. 2022): runs drawn uniformly in the box holding "
                          "99.9% of each parameter's first-round posterior (widened by a tenth of its width each "
                          "side), trained on both rounds with the first-round loss; draws kept inside the box",
                "simulations": int((result.simulations["round"] == 2).sum()),
                "held_out_for_coverage": int(0 if result.hits_truncated is None else result.hits_truncated.shape[0]),
                "coverage_90": round(result.coverage_truncated, 3),
                "box": {f.key: [float(f.value(result.bounds[0, j])), float(f.value(result.bounds[1, j]))]
                        for j, f in enumerate(result.spec.free)}}}),
            "code": code_version()}


def write(result: Fit, out: str | Path, command: str, simulations: int) -> Path:
    """The posterior draws, the training set and ``calibrated.yaml`` (medians and provenance), atomically."""
    from sim.io import atomic_write, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "posterior.parquet", lambda p: result.draws.to_parquet(p, index=False))
    atomic_write(out / "simulations.parquet", lambda p: result.simulations.to_parquet(p, index=False))
    doc = {"provenance": provenance(result, command, simulations),
           "overrides": [f"{k}={v:.6g}" for k, v in result.medians().items()],
           "free": [{"key": f.key, "prior": {"low": f.low, "high": f.high, "scale": "log" if f.log else "linear"},
                     "median": result.medians()[f.key],
                     "interval_90": [float(result.draws[f.key].quantile(0.05)),
                                     float(result.draws[f.key].quantile(0.95))]} for f in result.spec.free]}
    text = ("# Calibrated values of the free parameters (posterior medians) and how they were made.\n"
            "# 較正済みパラメータ（事後中央値）と作成方法。Generated by python -m sim.calibrate; do not edit.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return Path(atomic_write_text(out / "calibrated.yaml", text))


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m sim.calibrate``."""
    class _Parser(OneLineParser):
        error_type = ConfigError

    ap = _Parser(prog=PROG, allow_abbrev=False, description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--simulations", type=whole(20), default=512, help="runs drawn from the prior (default 512)")
    ap.add_argument("--truncated", type=whole(0), default=128,
                    help="runs of a second round in the box of the first posterior (default 128; 0: one round)")
    ap.add_argument("--sbc-cases", type=whole(0), default=40,
                    help="of those, held out to check the coverage of 90%% intervals (default 40)")
    ap.add_argument("--seed", type=whole(0), default=1, help="seed of the prior draws, runs and training")
    ap.add_argument("--jobs", type=whole(1), default=None, help="processes (default: the cores)")
    ap.add_argument("--screen", type=whole(1), default=None, metavar="TRAJECTORIES",
                    help="instead of fitting, screen the candidates (Morris, this many trajectories): screening.csv")
    ap.add_argument("--spec", default=str(SPEC), help="calibration file (default sim/calibration/calibration.yaml)")
    ap.add_argument("--out", default=str(HERE), help="folder of the results (default sim/calibration)")
    ap.add_argument("overrides", nargs="*", help="key=value overrides of the configuration (e.g. population.scale)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Check everything, fit, write atomically and print the path of ``calibrated.yaml`` last."""
    from sim.config import check_overrides
    from sim.io import check_writable

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
        spec = load_spec(args.spec)
        target_set(spec)
        if args.sbc_cases * 2 > args.simulations:
            raise ConfigError(f"--sbc-cases: {args.sbc_cases}; allowed: at most half of --simulations "
                              f"({args.simulations // 2})")
        for ends in (np.zeros(len(spec.candidates)), np.ones(len(spec.candidates))):
            check_overrides([*spec.configuration, *args.overrides, *overrides(spec.candidates, ends)])
        check_writable(args.out)
    except (ConfigError, OSError, yaml.YAMLError) as exc:
        print(f"{PROG}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    from sim.parallel import cores

    jobs = args.jobs or cores()
    if args.screen:
        from sim.io import atomic_write

        res = screen(spec, args.screen, args.seed, jobs, args.overrides)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        print(res.drop_duplicates("parameter")[["parameter", "importance"]].to_string(index=False))
        print(atomic_write(Path(args.out) / "screening.csv", lambda p: res.to_csv(p, index=False)))
        return 0
    result = fit(spec, args.simulations, args.sbc_cases, args.seed, jobs, args.overrides, truncated=args.truncated)
    shown = [a for i, a in enumerate(argv) if a != "--out" and (i == 0 or argv[i - 1] != "--out")
             and not a.startswith("--out=")]  # where the files go does not change them
    path = write(result, args.out, " ".join([PROG, *shown]), args.simulations)
    print(f"coverage of nominal 90% intervals: {result.coverage:.1%} over {result.hits.shape[0]} held-out cases "
          f"x {len(spec.free)} parameters")
    if result.bounds is not None:
        print(f"second round, in its box: {result.coverage_truncated:.1%} over "
              f"{0 if result.hits_truncated is None else result.hits_truncated.shape[0]} held-out cases")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
