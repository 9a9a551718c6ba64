"""Experiments: many runs of the model described in one YAML file, run in parallel, resumable, one table.

Command line::

    python -m sim.experiment run experiments/levers.yaml [--jobs N] [--backend local|ray|slurm]
        [--cluster auto|slurm|local|debug] [--batch N] [--out DIR] [--force] [--progress auto|on|off]
    python -m sim.experiment status experiments/levers.yaml [--out DIR]
    python -m sim.experiment analyse experiments/morris.yaml [--out DIR]

and from Python ``sim.experiment.load("levers")`` (one DataFrame of every finished run) and
``sim.experiment.analyse("morris")``.

The file (``experiments/*.yaml``) says what to run::

    name: levers                      # the results folder (default: the file's name)
    base: {engine: vectorized, population.urban: 20000, run.steps: 260}   # Hydra overrides for every run
    design:
      method: grid                    # grid | list | random | lhs | sobol | morris
      parameters: {policy.guides: [2, 4, 8], policy.online_events_per_year: [0, 12]}
    replicates: 3
    seed: 2024                        # the experiment seed
    outputs: table                    # table (the per-week table) | summary (end-of-run metrics)

``grid`` takes a list of values per parameter (every combination), ``list`` a list ``points`` of
mappings; ``random`` and ``lhs`` take bounds ``[low, high]`` per parameter and ``samples``; ``sobol``
takes bounds, ``samples`` (a power of 2) and ``second_order``; ``morris`` bounds, ``trajectories`` and
``levels``. A bound may be written ``{bounds: [low, high], integer: true}`` to round sampled values to
whole numbers (for integer keys such as ``policy.guides``). Instead of ``[low, high]`` a parameter may
say ``plausible`` (``policy.guides: plausible``, or ``{bounds: plausible, integer: true}``): it then
varies over its plausible range, ``sim.params.plausible_range`` (listed per parameter in docs/ODD.md,
section 8; lists, flags and names have none and are refused), and its sampled values are rounded to
whole numbers when the key is declared ``int``. Integral floats are accepted for integer keys (15.0 is
15); any other float for an integer key is refused with the model's one-line error.

Seeds. Replicate k of every point runs with the seed ``SeedSequence(seed).spawn(replicates)[k]`` turned
into an integer: a run's seed depends on the experiment seed and k only, so a run is the same wherever it
executes (any process, worker or backend), and the points share their replicates' random numbers
(common random numbers: differences between points are paired, as in ``sim.compare``).

Validation. The whole file, every point included, is checked against the model before anything runs or
is written: a bad key or value stops with one line naming it, its value and what is allowed (exit 2).

Storage and resume. Each finished run is one Parquet file ``<out>/<name>/runs/p<point>-r<replicate>.parquet``
(default ``<out>`` is ``results/experiments``, or ``$SIM_EXPERIMENTS_DIR``), written by the worker that ran
it to a temporary name and renamed, so a file is complete or absent; the files form one Parquet dataset
with the point's parameters, ``replicate`` and ``seed`` as columns. ``manifest.json`` beside it holds the
file's text, a hash of the design (base, points, seeds, outputs), the code version and every run's point,
replicate, seed, status and seconds. Running again runs only what is missing (leftover temporary files are
removed first); a finished experiment does nothing. An experiment file whose design no longer matches its
results is refused unless ``--force`` (which discards the old results) or a new name.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import hashlib
import itertools
import json
import math
import numbers
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from sim.config import ConfigError, model_value, override_key, set_key

if TYPE_CHECKING:
    import pandas as pd

    from sim.params import Config

__all__ = ["Experiment", "ExperimentError", "DesignChanged", "Run", "Task", "analyse", "execute", "load", "main",
           "parse", "read", "replicate_seeds", "run", "status"]

PROG = "python -m sim.experiment"
ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS_DIR = ROOT / "experiments"
DEFAULT_OUT = Path("results/experiments")
OUT_ENV = "SIM_EXPERIMENTS_DIR"
RUNS_DIR, ANALYSIS_DIR, MANIFEST, LOCK = "runs", "analysis", "manifest.json", ".lock"
META_KEY = b"kankei_sim.run"  # Parquet key-value metadata of a run file: its point, replicate, seed, seconds

METHODS = ("grid", "list", "random", "lhs", "sobol", "morris")
OUTPUTS = ("table", "summary")
BACKENDS = ("local", "ray", "slurm")
CLUSTERS = ("auto", "slurm", "local", "debug")
TOP_KEYS = ("name", "description", "base", "design", "replicates", "seed", "outputs", "backend", "ray", "slurm")
DESIGN_KEYS = {"grid": ("method", "parameters"), "list": ("method", "points"),
               "random": ("method", "parameters", "samples"), "lhs": ("method", "parameters", "samples"),
               "sobol": ("method", "parameters", "samples", "second_order"),
               "morris": ("method", "parameters", "trajectories", "levels")}
RAY_KEYS = ("address", "num_cpus")
PLAUSIBLE = "plausible"  # design.parameters.<key>: plausible -- the key's plausible range as its bounds
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RUN_FILE_RE = re.compile(r"p\d+-r\d+\.parquet")
MANIFEST_EVERY_S = 2.0  # the manifest is rewritten at most this often while runs finish (and at the end)
MAX_SEED = 2**63 - 1


class ExperimentError(ConfigError):
    """A bad experiment file or request: one line naming the key (or flag), the value and what is allowed."""


class DesignChanged(ExperimentError):
    """The results folder holds runs of another design than the file's: refused unless forced."""


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that it stops like Ctrl-C (finished runs are kept)."""


# ------------------------------------------------------------------------------------------ the file


def _one_line(exc: BaseException) -> str:
    """An error's message on one line (white space, newlines included, folded)."""
    return " ".join(str(exc).split())


def _bad(where: str, value: Any, allowed: str) -> ExperimentError:
    return ExperimentError(f"{where}: {value!r} is not allowed; allowed: {allowed}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_int(where: str, value: Any, minimum: int, maximum: int = MAX_SEED) -> int:
    """A whole number in [minimum, maximum]; integral floats (3.0) count as whole."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value) or not minimum <= value <= maximum:
        raise _bad(where, value, f"a whole number in [{minimum}, {maximum}]")
    return int(value)


def _as_number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _bad(where, value, "a finite number")
    return float(value)


def hydra_value(value: Any) -> str:
    """A value in Hydra's override syntax (``key=<this>``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if _is_int(value):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/]*", text) and text.lower() not in ("true", "false", "null"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _check_key(where: str, key: Any, value: Any, base_keys: Iterable[str]) -> str:
    from sim.config import GROUPS, check_value, leaf_fields

    if not isinstance(key, str) or not key:
        raise _bad(where, key, "a parameter key such as policy.guides")
    if key == "seed":
        raise ExperimentError(f"{where}: 'seed' is set by the experiment (its seed and replicates); allowed: "
                              "vary other keys")
    if key in base_keys:
        raise ExperimentError(f"{where}: {key!r} is also set in base; allowed: fix a key in base or vary it, "
                              "not both")
    if key not in leaf_fields() and key not in GROUPS:
        try:
            check_value(key, value)  # raises the model's one line: unknown key and the keys allowed
        except ConfigError as exc:
            raise ExperimentError(f"{where.rpartition('.' + key)[0] or where}: {exc}") from None
    return key


@cache
def _loader() -> Any:
    """PyYAML's safe loader that also reads ``1e-3`` as a float (YAML 1.2, as OmegaConf does)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
        list("-+0123456789."))
    return Loader


def _yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ExperimentError(f"{source}: not valid YAML ({problem}{where}); allowed: an experiment file "
                              "(see experiments/levers.yaml)") from None


def _mapping(where: str, value: Any, allowed_keys: Sequence[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(where, value, "a mapping of key: value")
    if allowed_keys is not None:
        for k, v in value.items():
            if k not in allowed_keys:
                raise ExperimentError(f"{where + '.' if where else ''}{k}: unknown key (value {v!r}); allowed keys: "
                                      f"{', '.join(allowed_keys)}")
    return value


def _base(value: Any) -> tuple[str, ...]:
    """The base overrides: a mapping ``key: value`` or a list of ``key=value`` strings (Hydra syntax)."""
    from sim.config import check_overrides

    if value is None:
        return ()
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if not isinstance(k, str) or not k:
                raise _bad("base", k, "Hydra overrides as key: value")
            out.append(f"{k}={hydra_value(v)}")
    elif isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value):
        out = list(value)
    else:
        raise _bad("base", value, "a mapping key: value or a list of key=value strings (Hydra overrides)")
    for text in out:
        key = override_key(text)
        if key == "seed":
            raise ExperimentError(f"base: {text!r} sets the seed; allowed: the experiment's seed key (replicate "
                                  "seeds derive from it)")
        try:
            check_overrides([text])
        except ConfigError as exc:
            raise ExperimentError(f"base: {exc}") from None
    return tuple(out)


@dataclass(frozen=True)
class Bound:
    """A sampled parameter: its key, range and whether sampled values are rounded to whole numbers."""

    key: str
    low: float
    high: float
    integer: bool = False


def _bound(where: str, key: str, spec: Any) -> Bound:
    """The sampled range of ``key`` from its spec: ``[low, high]``, ``plausible`` (its plausible range) or a
    mapping ``{bounds: <either>, integer: true}``. ``integer: true`` rounds sampled values; so does
    ``plausible`` for a key declared ``int`` (explicit bounds of an int key without ``integer: true`` keep
    refusing fractional values, as the model does)."""
    integer = False
    if isinstance(spec, dict):
        _mapping(where, spec, ("bounds", "integer"))
        if "bounds" not in spec:
            raise ExperimentError(f"{where}.bounds: missing; allowed: [low, high] or {PLAUSIBLE}")
        integer = spec.get("integer", False)
        if not isinstance(integer, bool):
            raise _bad(f"{where}.integer", integer, "true or false")
        spec = spec["bounds"]
        where = f"{where}.bounds"
    if isinstance(spec, str) and spec == PLAUSIBLE:
        from sim.config import leaf_fields
        from sim.params import RangeError, is_integer, plausible_range

        try:
            spec = list(plausible_range(key))
        except RangeError as exc:
            raise ExperimentError(f"{where}: {exc}") from None
        integer = integer or is_integer(leaf_fields()[key])
    if not isinstance(spec, list) or len(spec) != 2:
        raise _bad(where, spec, f"[low, high], {PLAUSIBLE} (the key's plausible range) or {{bounds: [low, high], "
                   "integer: true}")
    lo, hi = _as_number(where, spec[0]), _as_number(where, spec[1])
    if not lo < hi:
        raise _bad(where, spec, "[low, high] with low < high")
    for v in (lo, hi):
        try:
            model_value(key, v)
        except ConfigError as exc:
            raise ExperimentError(f"{where}: {exc}") from None
    return Bound(key, lo, hi, integer)


@dataclass(frozen=True)
class Run:
    """One run of an experiment: point ``point`` (its parameters ``params``) with replicate ``replicate``."""

    id: str
    point: int
    replicate: int
    seed: int
    params: tuple[tuple[str, Any], ...]

    @property
    def file(self) -> str:
        """The run's file name in the experiment's ``runs/`` folder."""
        return f"{self.id}.parquet"

    def describe(self) -> str:
        """``p0003-r01 seed=… key=value …`` (one line)."""
        return " ".join([self.id, f"seed={self.seed}", *(f"{k}={hydra_value(v)}" for k, v in self.params)])


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The model seed of each replicate: child k of ``SeedSequence(seed)`` as one 32-bit integer.

    Child k depends on the experiment seed and k only (not on how many replicates there are), so
    replicate k is the same run on any machine, in any process, whatever else the experiment holds.
    """
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(replicates)]


@dataclass(frozen=True)
class Experiment:
    """A parsed experiment file: what to run (``runs``), how each run is configured (``overrides``)."""

    name: str
    text: str
    source: str
    base: tuple[str, ...]
    method: str
    keys: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]
    replicates: int
    seed: int
    outputs: str
    backend: str = "local"
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, compare=False)
    bounds: tuple[Bound, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict, compare=False)  # levels, second_order, samples
    matrix: np.ndarray | None = field(default=None, compare=False, repr=False)  # the sampled design

    @cached_property
    def seeds(self) -> list[int]:
        """The model seed of each replicate (``replicate_seeds``)."""
        return replicate_seeds(self.seed, self.replicates)

    @cached_property
    def runs(self) -> list[Run]:
        """Every run, replicate by replicate (all points of replicate 0 first), so that a stopped
        experiment holds whole replicates of the design."""
        wp, wr = max(4, len(str(len(self.points) - 1))), max(2, len(str(self.replicates - 1)))
        return [Run(f"p{p:0{wp}d}-r{r:0{wr}d}", p, r, self.seeds[r], tuple(zip(self.keys, values)))
                for r in range(self.replicates) for p, values in enumerate(self.points)]

    def overrides(self, run: Run) -> list[str]:
        """The Hydra overrides of one run: base, the point's values, its seed, no progress bar."""
        return [*self.base, *(f"{k}={hydra_value(v)}" for k, v in run.params), f"seed={run.seed}",
                "run.progress=off"]

    @cached_property
    def design_hash(self) -> str:
        """SHA-256 of what decides the runs and their files: base, points, seeds and outputs."""
        design = {"base": list(self.base), "keys": list(self.keys), "points": [list(p) for p in self.points],
                  "seeds": self.seeds, "outputs": self.outputs}
        return hashlib.sha256(json.dumps(design, sort_keys=True, default=repr).encode()).hexdigest()

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's description of the sampled parameters."""
        return _problem(self.bounds)


def _problem(bounds: Sequence[Bound]) -> dict[str, Any]:
    from sim import sensitivity

    return sensitivity.problem([b.key for b in bounds], [(b.low, b.high) for b in bounds])


def _grid(design: dict[str, Any], base_keys: Sequence[str]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    params = _mapping("design.parameters", design.get("parameters"))
    if not params:
        raise _bad("design.parameters", params, "at least one key: [values]")
    keys, lists = [], []
    for key, values in params.items():
        where = f"design.parameters.{key}"
        keys.append(_check_key(where, key, values, base_keys))
        if not isinstance(values, list) or not values:
            raise _bad(where, values, "a non-empty list of values")
        lists.append(values)
    return tuple(keys), [tuple(p) for p in itertools.product(*lists)]


def _list(design: dict[str, Any], base_keys: Sequence[str]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    points = design.get("points")
    if not isinstance(points, list) or not points:
        raise _bad("design.points", points, "a non-empty list of mappings key: value")
    first = _mapping("design.points[0]", points[0])
    if not first:
        raise _bad("design.points[0]", first, "a mapping with at least one key: value")
    keys = tuple(_check_key(f"design.points[0].{k}", k, v, base_keys) for k, v in first.items())
    out = []
    for i, point in enumerate(points):
        point = _mapping(f"design.points[{i}]", point)
        if tuple(point) != keys and set(point) != set(keys):
            raise ExperimentError(f"design.points[{i}]: keys {', '.join(map(str, point))} differ from the first "
                                  f"point's; allowed: the same keys in every point ({', '.join(keys)})")
        out.append(tuple(point[k] for k in keys))
    return keys, out


def _sampled(method: str, design: dict[str, Any], base_keys: Sequence[str], seed: int
             ) -> tuple[tuple[Bound, ...], dict[str, Any], np.ndarray]:
    from sim import sensitivity

    params = _mapping("design.parameters", design.get("parameters"))
    if not params:
        raise _bad("design.parameters", params, f"at least one key: [low, high] (or {PLAUSIBLE})")
    bounds = tuple(_bound(f"design.parameters.{k}", _check_key(f"design.parameters.{k}", k, v, base_keys), v)
                   for k, v in params.items())
    settings: dict[str, Any] = {}
    if method == "morris":
        settings["trajectories"] = _as_int("design.trajectories", design.get("trajectories", 10), 2, 100_000)
        settings["levels"] = _as_int("design.levels", design.get("levels", 4), 2, 1000)
        if settings["levels"] % 2:
            raise _bad("design.levels", settings["levels"], "an even number of levels (4 is usual)")
        n = settings["trajectories"]
    else:
        if "samples" not in design:
            raise ExperimentError("design.samples: missing; allowed: a whole number of samples")
        n = settings["samples"] = _as_int("design.samples", design["samples"], 1, 10_000_000)
        if method == "sobol":
            if n < 2 or n & (n - 1):
                raise _bad("design.samples", n, "a power of 2 (the base sample size N of Saltelli's scheme)")
            second = design.get("second_order", False)
            if not isinstance(second, bool):
                raise _bad("design.second_order", second, "true or false")
            settings["second_order"] = second
    matrix = sensitivity.sample(method, _problem(bounds), n, design_seed(seed), levels=settings.get("levels", 4),
                                second_order=settings.get("second_order", False))
    return bounds, settings, matrix


def design_seed(seed: int) -> int:
    """The samplers' seed: the root of ``SeedSequence(seed)`` as one integer (the replicates use its children)."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0])


def parse(text: str, source: str = "<experiment>", default_name: str = "experiment") -> Experiment:
    """Parse and check an experiment file's text (its structure, keys and values; ``check_points`` checks
    every point against the model as a whole). ExperimentError (one line) if anything is wrong."""
    data = _yaml(text, source)
    if not isinstance(data, dict):
        raise ExperimentError(f"{source}: {type(data).__name__} is not allowed; allowed: a mapping with the keys "
                              f"{', '.join(TOP_KEYS)}")
    _mapping("", data, TOP_KEYS)
    name = data.get("name", default_name)
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise _bad("name", name, "letters, digits, '_', '-' or '.', starting with a letter or digit")
    if not isinstance(data.get("description", ""), str):
        raise _bad("description", data["description"], "text")
    base = _base(data.get("base"))
    base_keys = [override_key(o) for o in base]
    replicates = _as_int("replicates", data.get("replicates", 1), 1, 1_000_000)
    if "seed" not in data:
        raise ExperimentError("seed: missing; allowed: a whole number (the experiment seed)")
    seed = _as_int("seed", data["seed"], 0)
    outputs = data.get("outputs", "table")
    if outputs not in OUTPUTS:
        raise _bad("outputs", outputs, " or ".join(OUTPUTS))
    backend = data.get("backend", "local")
    if backend not in BACKENDS:
        raise _bad("backend", backend, ", ".join(BACKENDS))
    options = {"ray": dict(_mapping("ray", data.get("ray", {}), RAY_KEYS)),
               "slurm": dict(_mapping("slurm", data.get("slurm", {})))}
    if "num_cpus" in options["ray"]:
        options["ray"]["num_cpus"] = _as_int("ray.num_cpus", options["ray"]["num_cpus"], 1, 1_000_000)
    if not isinstance(options["ray"].get("address", ""), str):
        raise _bad("ray.address", options["ray"]["address"], "a Ray cluster address such as ray://host:10001")
    cluster = options["slurm"].get("cluster", "auto")
    if cluster not in CLUSTERS:
        raise _bad("slurm.cluster", cluster, ", ".join(CLUSTERS))
    design = _mapping("design", data.get("design"))
    method = design.get("method")
    if method not in METHODS:
        raise _bad("design.method", method, ", ".join(METHODS))
    _mapping("design", design, DESIGN_KEYS[method])
    bounds: tuple[Bound, ...] = ()
    settings: dict[str, Any] = {}
    matrix = None
    if method == "grid":
        keys, raw = _grid(design, base_keys)
    elif method == "list":
        keys, raw = _list(design, base_keys)
    else:
        bounds, settings, matrix = _sampled(method, design, base_keys, seed)
        keys = tuple(b.key for b in bounds)
        raw = [tuple(round(float(x)) if b.integer else float(x) for x, b in zip(row, bounds)) for row in matrix]
    cache: dict[tuple[str, str], Any] = {}
    points = []
    for i, values in enumerate(raw):
        point = []
        for key, value in zip(keys, values):
            memo = (key, repr(value))
            if memo not in cache:
                try:
                    cache[memo] = model_value(key, value)
                except ConfigError as exc:
                    where = {"grid": "design.parameters", "list": f"design.points[{i}]"}.get(method,
                                                                                          f"design point {i}")
                    hint = (f" (or integer: true in design.parameters.{key} rounds sampled values)"
                            if bounds and "an integer" in str(exc) else "")
                    raise ExperimentError(f"{where}: {exc}{hint}") from None
            point.append(cache[memo])
        points.append(tuple(point))
    return Experiment(name=name, text=text, source=source, base=base, method=method, keys=keys,
                      points=tuple(points), replicates=replicates, seed=seed, outputs=outputs, backend=backend,
                      options=options, bounds=bounds, settings=settings, matrix=matrix)


def point_configs(exp: Experiment) -> Iterator[Config]:
    """The validated configuration of every point (seed of replicate 0), ConfigError at the first bad one.

    Hydra composes base plus the point's group choices (scenario, engine, population, ...) once per
    distinct choice; the point's other values are then set on a copy and the whole checked with
    ``sim.config.validate``: the same configuration as composing the run's overrides, in a millisecond.
    """
    from sim.config import compose_many, is_choice, validate

    groups = [i for i, k in enumerate(exp.keys) if is_choice(k)]
    combos = list(dict.fromkeys(tuple(p[i] for i in groups) for p in exp.points))
    try:
        composed = compose_many([[*exp.base, *(f"{exp.keys[i]}={hydra_value(v)}" for i, v in zip(groups, c)),
                                  "run.progress=off"] for c in combos])
    except ConfigError as exc:
        raise ExperimentError(f"base: {exc}") from None
    by_combo = dict(zip(combos, composed))
    for n, point in enumerate(exp.points):
        cfg = copy.deepcopy(by_combo[tuple(point[i] for i in groups)])
        for i, (key, value) in enumerate(zip(exp.keys, point)):
            if i not in groups:
                set_key(cfg, key, value)
        cfg.seed = exp.seeds[0]
        try:
            yield validate(cfg)
        except ConfigError as exc:
            values = " ".join(f"{k}={hydra_value(v)}" for k, v in zip(exp.keys, point))
            raise ExperimentError(f"design point {n} ({values}): {exc}") from None


def check_points(exp: Experiment) -> None:
    """Check every point of the design against the model (``point_configs``); ExperimentError if one fails."""
    for _ in point_configs(exp):
        pass


def find_file(arg: str | Path) -> Path | None:
    """The experiment file ``arg`` names: a path, or the name of ``experiments/<name>.yaml``; None if neither."""
    p = Path(arg)
    if p.is_file():
        return p
    if NAME_RE.fullmatch(str(arg)):
        for suffix in (".yaml", ".yml"):
            if (EXPERIMENTS_DIR / f"{arg}{suffix}").is_file():
                return EXPERIMENTS_DIR / f"{arg}{suffix}"
    return None


def read(arg: str | Path, check: bool = True) -> Experiment:
    """Read, parse and (with ``check``) validate every point of the experiment file ``arg`` (``find_file``)."""
    path = find_file(arg)
    if path is None:
        raise ExperimentError(f"file: {str(arg)!r} not found; allowed: an experiment file (experiments/*.yaml) "
                              "or the name of one")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentError(f"file: {str(path)!r} cannot be read ({exc}); allowed: a readable UTF-8 YAML "
                              "file") from None
    exp = parse(text, str(arg), default_name=path.stem)
    if check:
        check_points(exp)
    return exp


# ------------------------------------------------------------------------------------------ one run


@dataclass(frozen=True)
class Task:
    """What a worker needs to make one run's file (picklable, self-contained: any backend can run it)."""

    run: Run
    overrides: tuple[str, ...]
    outputs: str
    path: str
    design_hash: str
    threads: int | None = None  # numba threads of the run (None: numba's default, every core)


@dataclass(frozen=True)
class Outcome:
    """What became of a task: done (its file written) or failed (a one-line error), and how long it took."""

    id: str
    ok: bool
    seconds: float
    error: str = ""


def run_frame(task: Task, table: pd.DataFrame) -> pd.DataFrame:
    """The run's rows as stored: ``point``, the point's parameters, ``replicate`` and ``seed``, then the
    outputs (the per-week table, or with ``summary`` one row of ``sim.paired.metrics_of``)."""
    import pandas as pd

    r = task.run
    keys = {"point": r.point, **dict(r.params), "replicate": r.replicate, "seed": r.seed}
    if task.outputs == "summary":
        from sim.paired import metrics_of

        return pd.DataFrame([{**keys, **metrics_of(table)}])
    front = pd.DataFrame({k: [v] * len(table) for k, v in keys.items()})
    return pd.concat([front, table.reset_index(drop=True)], axis=1)


def write_run(path: str | Path, frame: pd.DataFrame, meta: Mapping[str, Any]) -> Path:
    """Write a run's frame as Parquet atomically (temporary file, then renamed), ``meta`` in its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.io import atomic_write

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           META_KEY: json.dumps(dict(meta)).encode()})
    return atomic_write(path, lambda p: pq.write_table(table, str(p)))


def run_meta(path: str | Path) -> dict[str, Any]:
    """The metadata ``write_run`` stored in a run file ({} if none)."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(str(path)).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def execute(task: Task) -> Outcome:
    """Run one task and write its file; a failure inside the run is reported, not raised (the other runs go
    on), as one line. Interrupts (KeyboardInterrupt) propagate and leave no file."""
    from sim import simulate
    from sim.parallel import limit_threads

    limit_threads(task.threads)  # several runs side by side: each on its share of the cores, not all of them
    r = task.run
    t0 = time.perf_counter()
    try:
        table = simulate(list(task.overrides)).table
        seconds = time.perf_counter() - t0
        meta = {"id": r.id, "point": r.point, "replicate": r.replicate, "seed": r.seed,
                "seconds": round(seconds, 3), "design_hash": task.design_hash}
        write_run(task.path, run_frame(task, table), meta)
    except Exception as exc:  # a bug or a full disk: recorded as this run's failure
        text = _one_line(exc) or type(exc).__name__
        return Outcome(r.id, False, time.perf_counter() - t0, f"{type(exc).__name__}: {text}")
    return Outcome(r.id, True, seconds)


def execute_batch(tasks: Sequence[Task]) -> list[Outcome]:
    """Several tasks one after the other in one worker (small runs share a worker's start-up)."""
    return [execute(t) for t in tasks]


# ------------------------------------------------------------------------------------------ backends


def _chunks(tasks: Sequence[Task], size: int) -> list[list[Task]]:
    return [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def _chunk_size(n: int, workers: int, batch: int | None) -> int:
    """Runs per worker task: as asked, or about four tasks per worker (balance against start-up cost)."""
    return batch if batch is not None else max(1, math.ceil(n / (4 * max(1, workers))))


def _local(tasks: Sequence[Task], jobs: int, batch: int | None) -> Iterator[Outcome]:
    """joblib processes (loky); ``batch`` runs per dispatch or joblib's automatic batching. jobs=1: here."""
    from sim.parallel import spread

    return spread(execute, [(t,) for t in tasks], jobs, batch or "auto")


def _ray(tasks: Sequence[Task], jobs: int, batch: int | None, options: Mapping[str, Any]) -> Iterator[Outcome]:
    """Ray tasks of several runs each: on the cluster at ``ray.address`` (or $RAY_ADDRESS), else on a local
    one of ``ray.num_cpus`` (default ``jobs``) CPUs started for the experiment and stopped after it."""
    import ray

    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if options.get("address"):
            kwargs["address"] = options["address"]
        elif not os.environ.get("RAY_ADDRESS"):
            kwargs["num_cpus"] = int(options.get("num_cpus", jobs))
        ray.init(**kwargs)
    try:
        remote = ray.remote(num_cpus=1)(execute_batch)
        pending = [remote.remote(chunk) for chunk in _chunks(tasks, _chunk_size(len(tasks), jobs, batch))]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield from ray.get(done[0])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()


def _slurm(tasks: Sequence[Task], jobs: int, batch: int | None, options: Mapping[str, Any], folder: Path,
           cluster: str | None) -> Iterator[Outcome]:
    """An array of submitit jobs of several runs each. ``cluster`` (or ``slurm.cluster``): ``slurm``, ``local``
    (processes here), ``debug`` (this process) or ``auto`` (slurm where sbatch exists); the other keys of
    ``slurm:`` are submitit's parameters (``timeout_min``, ``slurm_partition``, ``mem_gb``, ...)."""
    import submitit

    executor = _slurm_executor(folder / "submitit", options, cluster, jobs)
    handles = executor.map_array(execute_batch, _chunks(tasks, _chunk_size(len(tasks), jobs, batch)))
    try:
        if executor.cluster == "debug":  # runs at .result(), in order
            for job in handles:
                yield from job.result()
        else:
            for job in submitit.helpers.as_completed(handles, poll_frequency=1):
                yield from job.result()
    except BaseException:
        for job in handles:
            if not job.done():
                job.cancel(check=False)
        raise


def _slurm_executor(folder: Path, options: Mapping[str, Any], cluster: str | None, jobs: int) -> Any:
    """submitit's AutoExecutor for ``cluster`` (else ``slurm.cluster``) with the ``slurm:`` parameters."""
    import submitit

    which = cluster or options.get("cluster", "auto")
    params = {k: v for k, v in options.items() if k != "cluster"}
    params.setdefault("slurm_array_parallelism", jobs)
    executor = submitit.AutoExecutor(folder=folder, cluster=None if which == "auto" else which)
    executor.update_parameters(**params)
    return executor


def _check_backend(backend: str, exp: Experiment, cluster: str | None, jobs: int) -> None:
    """The backend's package must be importable (its optional extra installed) and, for slurm, submitit must
    take the ``slurm:`` parameters; ExperimentError (one line) if not, before anything is written."""
    module = {"ray": "ray", "slurm": "submitit"}.get(backend)
    if module is None:
        return
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ExperimentError(f"backend: {backend!r} needs the package {module!r}, which is not installed; "
                              f"allowed: local, or install the extra: pip install -e '.[{backend}]'")
    if backend == "slurm":
        import tempfile

        options = exp.options.get("slurm", {})
        with tempfile.TemporaryDirectory() as tmp:
            try:
                _slurm_executor(Path(tmp), options, cluster, jobs)
            except Exception as exc:  # submitit's NameError, AssertionError, ValueError: several lines
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise ExperimentError(f"slurm: {dict(options)!r} refused by submitit ({first}); allowed: submitit's "
                                      "parameters (timeout_min, mem_gb, cpus_per_task, slurm_partition, ...) and "
                                      "cluster") from None


# ------------------------------------------------------------------------------------------ storage


def out_root(out: str | Path | None = None) -> Path:
    """The results root: ``out``, else $SIM_EXPERIMENTS_DIR, else results/experiments (relative to the
    working directory, like results/runs)."""
    if out is not None:
        return Path(out)
    return Path(os.environ.get(OUT_ENV) or DEFAULT_OUT)


def code_version() -> dict[str, Any]:
    """``sim.__version__`` and, if the code is a git checkout, its commit and whether it had uncommitted
    changes (None where git or the repository is not there)."""
    import sim

    out: dict[str, Any] = {"version": sim.__version__, "commit": None, "dirty": None}
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode == 0:
            out["commit"] = head.stdout.strip()
            st = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
            out["dirty"] = bool(st.stdout.strip()) if st.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def _finished(runs_dir: Path) -> set[str]:
    """The ids of the run files present (temporary files, hidden names, are not runs)."""
    try:
        names = os.listdir(runs_dir)
    except FileNotFoundError:
        return set()
    return {n.removesuffix(".parquet") for n in names if RUN_FILE_RE.fullmatch(n)}


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ExperimentError(f"{folder / MANIFEST}: cannot be read ({exc}); allowed: the manifest this "
                              "program wrote (or run with --force to start the experiment anew)") from None


class _Manifest:
    """manifest.json of one experiment folder, kept in memory and written atomically (at most every
    ``MANIFEST_EVERY_S`` while runs finish)."""

    def __init__(self, exp: Experiment, folder: Path, previous: Mapping[str, Any] | None) -> None:
        self.exp, self.folder = exp, folder
        old = {r["id"]: r for r in (previous or {}).get("runs", [])}
        self.code = code_version()
        self.entries: dict[str, dict[str, Any]] = {}
        for r in exp.runs:
            entry = {"id": r.id, "point": r.point, "replicate": r.replicate, "seed": r.seed,
                     "params": {k: v for k, v in r.params}, "status": "missing", "seconds": None,
                     "file": f"{RUNS_DIR}/{r.file}"}
            prev = old.get(r.id)
            if prev and prev.get("status") in ("done", "failed"):
                entry.update(status=prev["status"], seconds=prev.get("seconds"), error=prev.get("error"),
                             code=prev.get("code"))
            self.entries[r.id] = entry
        self.last = 0.0

    def sync(self, finished: set[str]) -> None:
        """Make the statuses agree with the files on disk (the files are the truth)."""
        for rid, e in self.entries.items():
            if rid in finished and e["status"] != "done":
                meta = run_meta(self.folder / e["file"])
                e.update(status="done", seconds=meta.get("seconds"), error=None, code=self.code.get("commit"))
            elif rid not in finished and e["status"] == "done":
                e.update(status="missing", seconds=None)

    def record(self, o: Outcome) -> None:
        e = self.entries[o.id]
        e.update(status="done" if o.ok else "failed", seconds=round(o.seconds, 3), error=o.error or None,
                 code=self.code.get("commit"))

    def counts(self) -> dict[str, int]:
        statuses = [e["status"] for e in self.entries.values()]
        return {s: statuses.count(s) for s in ("done", "missing", "failed")} | {"total": len(statuses)}

    def write(self, force: bool = True) -> None:
        from sim.io import atomic_write_text

        now = time.monotonic()
        if not force and now - self.last < MANIFEST_EVERY_S:
            return
        self.last = now
        doc = {"name": self.exp.name, "file": self.exp.source, "content": self.exp.text,
               "design_hash": self.exp.design_hash, "method": self.exp.method, "outputs": self.exp.outputs,
               "seed": self.exp.seed, "replicates": self.exp.replicates, "points": len(self.exp.points),
               "code": self.code, "counts": self.counts(),
               "runs": [{k: v for k, v in e.items() if v is not None or k in ("seconds",)}
                        for e in self.entries.values()]}
        atomic_write_text(self.folder / MANIFEST, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


class _Lock:
    """An exclusive lock on the experiment folder: one run of an experiment at a time."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise ExperimentError(f"{self.path.parent}: another run of this experiment is under way; allowed: one "
                                  "at a time (wait for it, or stop it and run again to resume)") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


def _clean_temporary(runs_dir: Path) -> int:
    """Remove the temporary files a stopped run left (hidden ``.*.tmp`` names); how many."""
    n = 0
    if runs_dir.is_dir():
        for p in runs_dir.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)
                n += 1
    return n


def _other_design(exp: Experiment, folder: Path, manifest: Mapping[str, Any] | None) -> bool:
    """Whether the folder holds results of another design than ``exp``'s (runs without a manifest count as
    another design: what they were made of is unknown)."""
    if manifest is not None:
        return str(manifest.get("design_hash")) != exp.design_hash
    return bool(_finished(folder / RUNS_DIR))


def _changed(exp: Experiment, folder: Path) -> DesignChanged:
    return DesignChanged(f"{folder}: holds runs of another design than {exp.source} (its base, points, seeds or "
                         "outputs changed); allowed: the same design, a new name, or --force to discard the old runs")


# ------------------------------------------------------------------------------------------ run


@dataclass
class Report:
    """What a call of ``run`` did."""

    name: str
    folder: Path
    total: int
    done_before: int
    ran: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def done(self) -> int:
        """Runs finished in all, before and now."""
        return self.done_before + self.ran


def run(experiment: Experiment | str | Path, *, out: str | Path | None = None, jobs: int | None = None,
        backend: str | None = None, cluster: str | None = None, batch: int | None = None, force: bool = False,
        progress: bool = False) -> Report:
    """Run every missing run of an experiment and store each as its file; return what was done.

    ``experiment`` is an ``Experiment`` or an experiment file (checked entirely first). ``jobs`` is the
    number of processes (default: the cores), ``backend`` local, ray or slurm (default: the file's, else
    local), ``batch`` the runs per worker task. Runs already finished are not run again; ``force``
    discards results of another design instead of refusing them (``DesignChanged``). Interrupts
    (KeyboardInterrupt) stop it after the manifest is brought up to date: finished runs are kept.
    """
    from tqdm import tqdm

    from sim.io import check_writable
    from sim.parallel import cores

    exp = experiment if isinstance(experiment, Experiment) else read(experiment)
    backend = backend or exp.backend
    if backend not in BACKENDS:
        raise _bad("--backend", backend, ", ".join(BACKENDS))
    jobs = jobs or cores()
    _check_backend(backend, exp, cluster, jobs)
    root = out_root(out)
    check_writable(root)
    folder = root / exp.name
    runs_dir = folder / RUNS_DIR
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    with _Lock(folder):
        previous = _read_manifest(folder)
        if _other_design(exp, folder, previous):
            if not force:
                raise _changed(exp, folder)
            _discard(folder)
            previous = None
        _clean_temporary(runs_dir)
        runs_dir.mkdir(exist_ok=True)
        manifest = _Manifest(exp, folder, previous)
        finished = _finished(runs_dir)
        manifest.sync(finished)
        todo = [r for r in exp.runs if r.id not in finished]
        report = Report(exp.name, folder, len(exp.runs), len(exp.runs) - len(todo))
        if not todo:
            if previous is None or previous.get("content") != exp.text or previous.get("counts") != manifest.counts():
                manifest.write()
            return report
        manifest.write()
        threads = {"local": max(1, cores() // jobs) if jobs > 1 else None, "ray": 1}.get(backend)
        tasks = [Task(r, tuple(exp.overrides(r)), exp.outputs, str((runs_dir / r.file).resolve()), exp.design_hash,
                      threads) for r in todo]
        if backend == "local":
            outcomes = _local(tasks, jobs, batch)
        elif backend == "ray":
            outcomes = _ray(tasks, jobs, batch, exp.options.get("ray", {}))
        else:
            outcomes = _slurm(tasks, jobs, batch, exp.options.get("slurm", {}), folder, cluster)
        bar = tqdm(total=report.total, initial=report.done_before, unit="run", desc=exp.name, file=sys.stderr,
                   disable=not progress, dynamic_ncols=True, smoothing=0.05)
        try:
            for o in outcomes:
                manifest.record(o)
                if o.ok:
                    report.ran += 1
                else:
                    report.failed.append((o.id, o.error))
                bar.update()
                manifest.write(force=False)
        finally:
            bar.close()
            if hasattr(outcomes, "close"):
                outcomes.close()
            finished = _finished(runs_dir)
            manifest.sync(finished)
            manifest.write()
            report.ran = len(finished & {r.id for r in todo})
            report.seconds = time.perf_counter() - t0
    return report


def _discard(folder: Path) -> None:
    """Remove an experiment folder's runs, analysis and manifest (``--force`` on a changed design)."""
    from sim.io import remove_tree

    for sub in (RUNS_DIR, ANALYSIS_DIR, "submitit"):
        remove_tree(folder / sub)
    (folder / MANIFEST).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ status, load


@dataclass
class Status:
    """How far an experiment has got: the runs done and missing (``stale``: the results are of another
    design, so none of them counts)."""

    name: str
    folder: Path
    done: list[Run]
    missing: list[Run]
    stale: bool = False


def _experiment_of(arg: str | Path | Experiment, root: Path) -> Experiment:
    """The experiment a file or a name means: the file if there is one, else the text its manifest stored (an
    ``Experiment`` is itself)."""
    if isinstance(arg, Experiment):
        return arg
    if find_file(arg) is not None:
        return read(arg, check=False)
    name = str(arg)
    manifest = _read_manifest(root / name) if NAME_RE.fullmatch(name) else None
    if manifest is None:
        raise ExperimentError(f"experiment: {name!r} not found (no file, no results under {root}); allowed: an "
                              "experiment file or the name of one with results")
    return parse(manifest["content"], str(manifest.get("file", name)), default_name=name)


def status(experiment: str | Path | Experiment, *, out: str | Path | None = None) -> Status:
    """Which runs of an experiment (a file, its name, or a parsed ``Experiment``) are finished and which are
    missing; nothing is written, and the points are not checked against the model."""
    root = out_root(out)
    exp = _experiment_of(experiment, root)
    folder = root / exp.name
    if _other_design(exp, folder, _read_manifest(folder)):
        return Status(exp.name, folder, [], list(exp.runs), stale=True)
    finished = _finished(folder / RUNS_DIR)
    return Status(exp.name, folder, [r for r in exp.runs if r.id in finished],
                  [r for r in exp.runs if r.id not in finished])


def _name_of(arg: str | Path | Experiment) -> str:
    if isinstance(arg, Experiment):
        return arg.name
    path = find_file(arg)
    if path is None:
        return str(arg)
    return parse(path.read_text(encoding="utf-8"), str(arg), default_name=path.stem).name


def load(experiment: str | Path | Experiment, *, out: str | Path | None = None) -> pd.DataFrame:
    """Every finished run of an experiment (a file, its name or a parsed ``Experiment``) as one DataFrame,
    ordered by point and replicate: ``point``, the point's parameters, ``replicate``, ``seed``, then the
    outputs (the per-week table's columns, or the summary metrics). Empty if no run has finished."""
    import pandas as pd
    import pyarrow.dataset as ds

    root = out_root(out)
    name = _name_of(experiment)
    folder = root / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no results of experiment {name!r}; allowed: an experiment that has "
                                f"been run (python -m sim.experiment run ...)")
    files = sorted(folder / RUNS_DIR / f"{rid}.parquet" for rid in _finished(folder / RUNS_DIR))
    if not files:
        return pd.DataFrame()
    df = ds.dataset([str(f) for f in files], format="parquet").to_table().to_pandas()
    order = [c for c in ("point", "replicate", "step", "region") if c in df.columns]
    return df.sort_values(order, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ analysis


def summaries(frame: pd.DataFrame, outputs: str) -> pd.DataFrame:
    """One row per run (point, replicate) with the end-of-run metrics, from a loaded frame of either kind."""
    import pandas as pd

    from sim.paired import METRICS, metrics_of

    if outputs == "summary":
        return frame[["point", "replicate", *METRICS]]
    rows = [{"point": p, "replicate": r, **metrics_of(g)} for (p, r), g in frame.groupby(["point", "replicate"])]
    return pd.DataFrame(rows, columns=["point", "replicate", *METRICS])


def sensitivity(exp: Experiment, per_run: pd.DataFrame) -> pd.DataFrame:
    """SALib's analysis of a morris or sobol experiment from one row per run (``point``, ``replicate`` and
    an output per further column): each output averaged over the replicates of a point, in point order."""
    from sim import sensitivity as sa

    matrix = _analysed_matrix(exp)
    columns = [c for c in per_run.columns if c not in ("point", "replicate", "seed")]
    means = per_run.groupby("point")[columns].mean().sort_index()
    if list(means.index) != list(range(len(exp.points))):
        raise ExperimentError(f"{exp.name}: results of {len(means)} of {len(exp.points)} points; allowed: every "
                              "point of the design")
    return sa.analyse(exp.method, exp.problem, matrix, {c: means[c].to_numpy() for c in columns},
                      design_seed(exp.seed), levels=exp.settings.get("levels", 4),
                      second_order=exp.settings.get("second_order", False))


def _analysed_matrix(exp: Experiment) -> np.ndarray:
    """The sampled design of a morris or sobol experiment; ExperimentError for any other (no analysis)."""
    from sim import sensitivity as sa

    if exp.method not in sa.ANALYSED or exp.matrix is None:
        raise _bad("design.method", exp.method, f"{' or '.join(sa.ANALYSED)} for a sensitivity analysis")
    return exp.matrix


def labels() -> tuple[dict[str, str], dict[str, str]]:
    """Figure labels, Japanese with English: of the outputs and of every model parameter."""
    from sim import params
    from sim.paired import METRICS

    outputs = {m: f"{ja} {en}" for m, (en, ja, _) in METRICS.items()}
    keys = {k: f"{f.metadata.get('ja', '')} {k}".strip() for k, f in params.iter_params()}
    return outputs, keys


def analyse(experiment: str | Path | Experiment, *, out: str | Path | None = None) -> pd.DataFrame:
    """Sensitivity analysis of a finished morris or sobol experiment (a file, its name or a parsed
    ``Experiment``): returns the table and writes it as ``analysis/<method>.csv`` and ``.parquet``, with the
    figure ``analysis/<method>.png``, in its folder."""
    from sim import sensitivity as sa
    from sim.io import atomic_write

    root = out_root(out)
    exp = _experiment_of(experiment, root)
    _analysed_matrix(exp)  # refuse a design without an analysis before looking for its runs
    st = status(exp, out=root)
    if st.stale or st.missing:
        raise ExperimentError(f"{exp.name}: {len(st.missing)} of {len(exp.runs)} runs not finished; allowed: a "
                              f"finished experiment (python -m sim.experiment run {exp.source})")
    table = sensitivity(exp, summaries(load(exp, out=root), exp.outputs))
    folder = root / exp.name / ANALYSIS_DIR
    atomic_write(folder / f"{exp.method}.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(folder / f"{exp.method}.parquet", lambda p: table.to_parquet(p, index=False))
    out_labels, key_labels = labels()
    sa.plot(table, exp.method, folder / f"{exp.method}.png", outputs=out_labels, parameters=key_labels,
            title=f"{exp.name}: {sa.TITLES[exp.method]}")
    return table


# ------------------------------------------------------------------------------------------ command line


class _Parser(argparse.ArgumentParser):
    """argparse that raises ExperimentError (one line) instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ExperimentError(f"{message}; allowed: see {PROG} --help")


def _whole(flag: str, minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"\d+", text.strip()) or int(text) < minimum:
            raise ExperimentError(f"{flag}: {text!r} is not allowed; allowed: a whole number >= {minimum}")
        return int(text)
    return parse


def _batch(text: str) -> int | None:
    return None if text == "auto" else _whole("--batch", 1)(text)


def _choice(flag: str, choices: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ExperimentError(f"{flag}: {text!r} is not allowed; allowed: {', '.join(choices)}")
        return text
    return parse


def parser() -> argparse.ArgumentParser:
    """The command line: run, status, analyse."""
    ap = _Parser(prog=PROG, description="Run, follow and analyse experiments described in YAML files.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    out_help = f"results root (default ${OUT_ENV} or {DEFAULT_OUT})"
    r = sub.add_parser("run", help="run what is missing of an experiment")
    r.add_argument("file", help="experiment file, or the name of experiments/<name>.yaml")
    r.add_argument("--jobs", type=_whole("--jobs", 1), default=None, help="processes (default: the cores)")
    r.add_argument("--backend", type=_choice("--backend", BACKENDS), default=None,
                   help="local (joblib), ray or slurm (submitit); default: the file's backend, else local")
    r.add_argument("--cluster", type=_choice("--cluster", CLUSTERS), default=None,
                   help="with --backend slurm: slurm, local, debug or auto (default: the file's, else auto)")
    r.add_argument("--batch", type=_batch, default=None, help="runs per worker task (default auto)")
    r.add_argument("--out", default=None, help=out_help)
    r.add_argument("--force", action="store_true", help="discard results of another design instead of refusing")
    r.add_argument("--progress", type=_choice("--progress", ("auto", "on", "off")), default="auto",
                   help="progress bar: auto (when stderr is a terminal), on, off")
    for name, text in (("status", "done and missing runs of an experiment"),
                       ("analyse", "Morris or Sobol sensitivity analysis of a finished experiment")):
        s = sub.add_parser(name, help=text)
        s.add_argument("file", help="experiment file, its name, or the name of an experiment with results")
        s.add_argument("--out", default=None, help=out_help)
    return ap


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


def _main(args: argparse.Namespace) -> int:
    if args.command == "status":
        st = status(args.file, out=args.out)
        total = len(st.done) + len(st.missing)
        if st.stale:
            print(f"{st.name}: the results in {st.folder} are of another design; all {total} runs missing "
                  "(run with --force to replace them)")
        else:
            print(f"{st.name}: {len(st.done)} of {total} runs done, {len(st.missing)} missing ({st.folder})")
        for r in st.missing if not st.stale else []:
            print(f"  missing {r.describe()}")
        return 0
    if args.command == "analyse":
        root = out_root(args.out)
        exp = _experiment_of(args.file, root)
        table = analyse(exp, out=root)
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print(f"{exp.name}: analysis written to {root / exp.name / ANALYSIS_DIR}")
        return 0
    exp = read(args.file)
    progress = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
    try:
        rep = run(exp, out=args.out, jobs=args.jobs, backend=args.backend, cluster=args.cluster, batch=args.batch,
                  force=args.force, progress=progress)
    except (KeyboardInterrupt, Terminated) as exc:
        st = status(exp, out=args.out)
        print(f"{PROG}: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}: {len(st.done)} of "
              f"{len(exp.runs)} runs done and kept; run the same command again to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    if rep.ran == 0 and not rep.failed:
        print(f"{exp.name}: all {rep.total} runs already done; nothing to run ({rep.folder})")
        return 0
    for rid, error in rep.failed:
        print(f"{PROG}: run {rid} failed: {error}", file=sys.stderr)
    print(f"{exp.name}: {rep.ran} runs done now, {rep.done} of {rep.total} in all, {len(rep.failed)} failed "
          f"({rep.seconds:.0f} s); results in {rep.folder}")
    return 1 if rep.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; the exit status (0 done, 1 runs failed, 2 bad input, 130/143 interrupted)."""
    from sim.io import OutputError

    argv = sys.argv[1:] if argv is None else list(argv)
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (called from a test runner's thread): leave signals alone
        pass
    try:
        return _main(parser().parse_args(argv))
    except (ConfigError, OutputError, FileNotFoundError) as exc:
        print(f"{PROG}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as exc:
        print(f"{PROG}: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    # Run the importable module's functions (not __main__'s), so that workers find them by name.
    from sim.experiment import main as _entry

    sys.exit(_entry())
