"""The simulation as an EMA Workbench model: exploratory modelling and scenario discovery (PRIM) without glue.

What. ``model(...)`` returns an ``ema_workbench.Model`` (a ``ReplicatorModel`` with ``replications > 1``)
whose function runs the simulation for one experiment and returns its end-of-run outcomes. Its
uncertainties and levers are the model's own parameters, named by their dotted keys, with the ranges
or choices the caller gives::

    from sim.ema import model
    m = model(uncertainties={"policy.guides": (0, 12), "behaviour.engagement_decay": (0.005, 0.02)},
              urban=2000, steps=104)

and ``ema_workbench.perform_experiments(m, scenarios=50)`` returns the experiments (one column per
parameter) and the outcomes, ready for ``ema_workbench.analysis.prim.Prim``.

Why. EMA Workbench samples parameters, runs the experiments (sequentially or in processes) and finds,
with PRIM, the region of the inputs where an outcome is high or low (scenario discovery: "which
combinations of guides and programs give many partners?"). The model here is the one ``python -m sim``
runs, validated the same way, so that a sampled experiment is a configuration the project itself accepts
and its outcomes are those ``sim.experiment`` and ``sim.compare`` report.

Names. EMA's names must be valid Python identifiers (they are keyword arguments of the model function,
columns of the experiments table and PRIM's box limits), the model's keys are dotted. The mapping is
explicit and goes both ways (``ema_name``, ``dotted_key``): a dot is ``__`` (``policy.guides`` is
``policy__guides``; no declared key holds ``__`` or ends with ``_``), and the keys that would take one of
the experiments table's own columns (``scenario``, ``policy``, ``model``; PRIM drops a ``scenario`` column)
get a trailing ``_`` (``scenario`` is ``scenario_``).

Parameters. Each varied key is given as ``{dotted_key: spec}``, the EMA parameter chosen from the key's
declared type: a number key takes ``(low, high)`` (an ``IntegerParameter`` for an integer key, whose
bounds must be whole, a ``RealParameter`` for a float key), a true/false key ``(False, True)`` (a
``BooleanParameter``), a text key or a configuration group (``scenario``, ``population``, ``regions``...)
a list of at least two choices (a ``CategoricalParameter``; ``"guides_high+funding_cliff"`` composes
scenarios). Every bound and choice is checked against the model's own validation (``sim.config``), also
with the base configuration and with each other varied key's ends (``validate``), before anything runs: a
bad key or value is a ``sim.config.ConfigError``, one line naming the key, the value and what is allowed. A
varied key overrides the same key in ``base``. A number key given ``None`` (or ``"plausible"``) varies over
its declared plausible range (``sim.params.plausible_range``, the analysis range of the ODD table).

Outcomes. ``outcomes`` are the end-of-run metrics of ``sim.paired.metrics_of`` (``ScalarOutcome``: final
fans, partners, members and local population, migrants and public cost over the run, and the share of
weeks each capacity limit bound, ``bound_*``); ``series`` are per-week columns of the table summed over
the regions (``ArrayOutcome`` named ``weekly_<column>``, one value per week from step 0).

Seeds. Every experiment runs with the same seed (common random numbers, as in ``sim.experiment`` and
``sim.compare``): the differences between experiments are the parameters', not the noise's, and an
experiment gives the same outcomes in any process and on any evaluator. Replicate k runs with
``sim.experiment.replicate_seeds(seed, replications)[k]`` (child k of ``numpy.random.SeedSequence(seed)``),
so ``model(seed=S)`` runs what an experiment file with ``seed: S`` runs, replicate by replicate. With
``replications > 1`` each scalar outcome is ``aggregate`` of the replicates (the mean by default; with
``aggregate=None`` every replicate is kept, as the ``ArrayOutcome`` ``<metric>_replicates``: EMA allows one
kind of outcome per name in a process), and each series keeps every replicate (replicates x weeks). EMA's
LHS and Monte Carlo samplers draw from numpy's global random state: seed it (``numpy.random.seed``) for the
same design each time.

Processes. ``MultiprocessingEvaluator`` forks its workers: start it before this process runs the model
itself (numba's OpenMP threads do not survive a fork: the workers stop with "fork() called from a process
already using GNU OpenMP"), or set ``multiprocessing.set_start_method("spawn")`` first.

Command line. ``python -m sim.ema prim -u policy.guides=0:12 -u scenario=baseline,online_only --outcome
partners --below median [--n 50] [--steps N] [--jobs N] [key=value ...]`` samples ``--n`` experiments (Latin
hypercube, ``--design-seed``), runs them and prints PRIM's box for the cases of interest (``--below`` or
``--above`` a number, ``median`` or a percentile ``qNN``), each restricted key with its quasi-p-values.

PRIM. EMA Workbench 2.5.3 cannot paste a box along an integer column under pandas 3 (its issue #448, fixed
after that release): importing this module gives its PRIM the fixed pasting for integer columns
(``_whole_paste``) while the installed release is older than the fix, so that ``prim.Prim(experiments, y,
...)`` works on the experiments as EMA returns them.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import keyword
import math
import numbers
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.cli import OneLineParser, whole
from sim.config import ConfigError, model_value, override_key, set_key

try:
    with warnings.catch_warnings():  # EMA warns on import about evaluators whose packages are absent
        warnings.filterwarnings("ignore", message=".*not installed.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*not available.*", category=ImportWarning)
        import ema_workbench as ema
except ImportError as exc:  # pragma: no cover - the optional extra is not installed
    raise ImportError(f"sim.ema needs the package ema_workbench ({exc}); install it with pip install -e "
                      "'.[ema]'") from None

if TYPE_CHECKING:
    import pandas as pd

    from sim.params import Config

__all__ = ["RESERVED", "SEPARATOR", "Simulation", "discover", "dotted_key", "ema_name", "main", "model", "parameter"]

SEPARATOR = "__"  # a dot of a dotted key in an EMA name
RESERVED = ("scenario", "policy", "model")  # the experiments table's own columns: these keys take a trailing "_"
SERIES_PREFIX = "weekly_"  # the EMA name of a per-week outcome is this and the table's column
REPLICATES_SUFFIX = "_replicates"  # with aggregate=None, a metric's outcome of every replicate: partners_replicates
DEFAULT_SEED = 1
NOT_VARIED = ("seed", "engine")  # set by the model's arguments (seed=, replications=, engine=), never sampled


# ------------------------------------------------------------------------------------------ PRIM and integers

LAST_UNFIXED = (2, 5, 3)  # the last EMA Workbench release before the fix of its issue #448 (pull request #451)


def _whole_paste(prim: Any, box: Any, u: str, x: Any, resdim: Any) -> list[tuple[Any, Any]]:
    """PRIM's pasting of an integer column, as EMA Workbench does after its fix of issue #448.

    EMA Workbench 2.5.3 pastes an integer column like a real one: the pasted limit is a quantile such as
    8.5, which pandas 3 refuses to put into the box's integer column (``TypeError: Invalid value '8.5' for
    dtype 'int64'``), so PRIM stops on any experiment with an ``IntegerParameter``. Here the limit is found
    as before on a float copy of the box, then made whole the way that keeps the same points inside (a lower
    limit rounded up, an upper limit down: the column's values are whole), so the box's limits stay integers.
    """
    limits = box.box_lims[-1]
    dtype = limits[u].dtype
    box.box_lims[-1] = limits.astype({u: float})
    try:
        pastes = _REAL_PASTE(prim, box, u, x, resdim)
    finally:
        box.box_lims[-1] = limits
    out = []
    for (indices, pasted), (row, round_to) in zip(pastes, ((0, math.ceil), (1, math.floor))):
        pasted.loc[row, u] = float(round_to(pasted.loc[row, u]))
        out.append((indices, pasted.astype({u: dtype})))
    return out


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*not available.*", category=ImportWarning)
    from ema_workbench.analysis import prim as _prim

_REAL_PASTE = _prim.Prim._real_paste
if _version(ema.__version__) <= LAST_UNFIXED:  # a later release has the fix: EMA's own pasting again
    _prim.Prim._pastes["int"] = _whole_paste


# ------------------------------------------------------------------------------------------ names


def _keys() -> set[str]:
    """Every key a parameter may vary: each declared parameter and each configuration group."""
    from sim.config import GROUPS, leaf_fields

    return set(leaf_fields()) | set(GROUPS)


def _unknown(key: str, where: str = "") -> ConfigError:
    """One line for an unknown key, listing the keys of its group as the model's validation does."""
    from sim.config import GROUPS, leaf_fields

    group = key.rpartition(".")[0]
    known = [k.rpartition(".")[2] for k in leaf_fields() if k.rpartition(".")[0] == group]
    if not group:
        allowed = f"top-level keys {', '.join(known)} and groups {', '.join(GROUPS)}"
    elif known:
        allowed = f"keys of {group}: {', '.join(known)}"
    else:
        allowed = f"groups {', '.join(GROUPS)}"
    return ConfigError(f"{where}{key}: unknown key; allowed: {allowed}")


def ema_name(key: str) -> str:
    """The EMA name of the dotted ``key`` (``policy.guides`` -> ``policy__guides``, ``scenario`` -> ``scenario_``);
    ConfigError (one line) for a key the model does not declare."""
    if not isinstance(key, str) or key not in _keys():
        raise _unknown(str(key))
    name = key.replace(".", SEPARATOR)
    return f"{name}_" if name in RESERVED else name


def dotted_key(name: str) -> str:
    """The dotted key of the EMA name ``name`` (the inverse of ``ema_name``); ConfigError (one line) for a name
    that is not the EMA name of a declared key."""
    if not isinstance(name, str):
        raise ConfigError(f"name: {name!r} is not allowed; allowed: the EMA name of a parameter, such as "
                          "policy__guides")
    if name in RESERVED:
        raise ConfigError(f"{name}: {name!r} is EMA's own column of the experiments table; allowed: {name}_ (the "
                          f"EMA name of the key {name})")
    bare = name[:-1] if name.endswith("_") and name[:-1] in RESERVED else name
    key = bare.replace(SEPARATOR, ".")
    if key not in _keys():
        raise _unknown(key, f"{name}: not the EMA name of a parameter: ")
    if ema_name(key) != name:  # a dotted key itself, say
        raise ConfigError(f"{name}: not an EMA name; allowed: {ema_name(key)} (the EMA name of the key {key})")
    return key


# ------------------------------------------------------------------------------------------ parameters


def _declared_type(key: str) -> Any:
    """The declared type of a parameter (``str`` for a configuration group: its value names a file)."""
    from sim.config import _type_of, is_choice, leaf_fields

    return str if is_choice(key) else _type_of(leaf_fields()[key])


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def parameter(key: str, spec: Any, where: str = "uncertainties") -> Any:
    """The EMA parameter that varies ``key`` over ``spec``, chosen from the key's declared type: ``(low, high)``
    for a number key (``IntegerParameter`` or ``RealParameter``), ``(False, True)`` for a true/false key
    (``BooleanParameter``), a list of choices for a text key or group (``CategoricalParameter``).

    Each bound or choice is checked with the model's validation (``sim.config``); ConfigError (one line: where,
    key, value and what is allowed) otherwise. Cross-key rules (``validate``) are checked by ``model``.
    """
    from sim.config import leaf_fields

    if not isinstance(key, str) or key not in _keys():
        raise _unknown(str(key), f"{where}: ")
    if key in NOT_VARIED:
        raise ConfigError(f"{where}: {key!r} is set by the model's arguments ({key}=, and replications= for the "
                          "seed); allowed: vary other keys")
    if key == "regions.table" or (key in leaf_fields() and _declared_type(key) not in (int, float, bool, str)):
        raise ConfigError(f"{where}: {key!r} holds a list; allowed: a key of a number, true/false or text (or a "
                          "configuration group)")
    name, kind = ema_name(key), _declared_type(key)
    if spec is None or spec == "plausible":
        if kind not in (int, float):
            raise ConfigError(f"{where}: {key}: no range given; allowed: (False, True) for a true/false key, a "
                              "list of choices for a text key")
        from sim.params import plausible_range

        try:
            spec = plausible_range(key)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if kind in (int, float):
        if (not isinstance(spec, tuple | list) or len(spec) != 2 or not all(_is_number(v) for v in spec)
                or not all(math.isfinite(v) for v in spec)):
            raise ConfigError(f"{where}: {key}: {spec!r} is not allowed; allowed: (low, high), two finite numbers")
        try:
            low, high = (model_value(key, v) for v in spec)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not low < high:
            raise ConfigError(f"{where}: {key}: {tuple(spec)!r} is not allowed; allowed: (low, high) with low < high")
        if kind is int:
            return ema.IntegerParameter(name, low, high)
        return ema.RealParameter(name, low, high)
    if kind is bool:
        if (not isinstance(spec, tuple | list) or not all(isinstance(v, bool | np.bool_) for v in spec)
                or sorted(bool(v) for v in spec) != [False, True]):
            raise ConfigError(f"{where}: {key}: {spec!r} is not allowed; allowed: (False, True) (a true/false key)")
        return ema.BooleanParameter(name)
    if isinstance(spec, str) or not isinstance(spec, tuple | list) or len(spec) < 2:
        raise ConfigError(f"{where}: {key}: {spec!r} is not allowed; allowed: a list of at least two choices")
    choices = []
    for v in spec:
        try:
            choices.append(model_value(key, v))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if len(set(choices)) != len(choices):
        raise ConfigError(f"{where}: {key}: {list(spec)!r} repeats a choice; allowed: distinct choices")
    return ema.CategoricalParameter(name, choices)


# ------------------------------------------------------------------------------------------ the function


def _outcome_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The scalar outcomes (``metrics_of``'s keys) and the per-week columns a series may take."""
    from sim.paired import METRICS
    from sim.table import COLUMNS, LIMIT_COLUMNS

    return (*METRICS, *LIMIT_COLUMNS), tuple(c for c in COLUMNS if c not in ("step", "region"))


@dataclass
class Simulation:
    """The function of the EMA model: one simulation per call, its outcomes as a dict.

    Called with the experiment's values by EMA name (``policy__guides=5``) and ``seed``; ``overrides`` are the
    base (Hydra syntax), ``keys`` maps the EMA name of every varied parameter to its dotted key. The base is
    composed once per process (and per choice of the varied configuration groups), the values then set on a
    copy and the whole validated, as ``sim.experiment`` does: the configuration composing every override
    would give. Picklable, so that EMA's ``MultiprocessingEvaluator`` can send it to its processes.
    """

    overrides: tuple[str, ...]
    keys: dict[str, str]
    metrics: tuple[str, ...]
    series: tuple[str, ...] = ()
    _composed: dict[tuple[str, ...], Config] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_composed": {}}

    def config(self, seed: int, **values: Any) -> Config:
        """The validated configuration of one experiment (values by EMA name); ConfigError (one line) if the
        model refuses it."""
        from sim.experiment import hydra_value

        by_key: dict[str, Any] = {}
        for name, value in values.items():
            key = self.keys.get(name)
            if key is None:
                raise ConfigError(f"{name}: {value!r} is not a parameter of this model; allowed: "
                                  f"{', '.join(self.keys) or 'none (nothing is varied)'}")
            by_key[key] = value
        try:
            return self.configure(seed, by_key)
        except ConfigError as exc:
            shown = " ".join(f"{k}={hydra_value(v)}" for k, v in by_key.items())
            raise ConfigError(f"experiment ({shown}): {exc}") from None

    def configure(self, seed: int, values: Mapping[str, Any]) -> Config:
        """The validated configuration of the base with ``values`` by dotted key and ``seed`` (ConfigError)."""
        from sim.config import compose_many, is_choice, validate
        from sim.experiment import hydra_value

        checked = {k: model_value(k, v) for k, v in values.items()}
        choices = tuple(f"{k}={hydra_value(v)}" for k, v in checked.items() if is_choice(k))
        if choices not in self._composed:
            self._composed[choices] = compose_many([[*self.overrides, *choices]])[0]
        cfg = copy.deepcopy(self._composed[choices])
        for key, value in checked.items():
            if not is_choice(key):
                set_key(cfg, key, value)
        cfg.seed = model_value("seed", seed)
        return validate(cfg)

    def outputs(self, table: pd.DataFrame) -> dict[str, Any]:
        """The outcomes of one run's per-week table: the metrics (``sim.paired.metrics_of``) and the series
        (each column summed over the regions, one value per week from step 0)."""
        from sim.paired import metrics_of
        from sim.table import totals

        metrics = metrics_of(table)
        out: dict[str, Any] = {m: metrics[m] for m in self.metrics}
        if self.series:
            tot = totals(table).sort_values("step")
            out.update({f"{SERIES_PREFIX}{c}": tot[c].to_numpy(dtype=float) for c in self.series})
        return out

    def __call__(self, seed: int, **values: Any) -> dict[str, Any]:
        """Run the experiment ``values`` (by EMA name) with ``seed``; its outcomes by EMA name."""
        from sim.engines import run_engine

        return self.outputs(run_engine(self.config(seed, **values)))


# ------------------------------------------------------------------------------------------ the model


def _base(base: Sequence[str] | Mapping[str, Any]) -> list[str]:
    """The base as Hydra overrides (a mapping ``{key: value}`` or ``key=value`` strings), checked; the seed is
    the model's (``seed=``), not the base's."""
    from sim.config import check_overrides
    from sim.experiment import hydra_value

    if isinstance(base, Mapping):
        out = [f"{k}={hydra_value(v)}" for k, v in base.items()]
    elif isinstance(base, str) or not all(isinstance(o, str) and "=" in o for o in base):
        raise ConfigError(f"base: {base!r} is not allowed; allowed: a list of key=value overrides (Hydra syntax) "
                          "or a mapping {key: value}")
    else:
        out = list(base)
    for text in out:
        key = override_key(text)
        if key in NOT_VARIED:
            raise ConfigError(f"base: {text!r} sets {key}, which the model's arguments set; allowed: {key}=")
        check_overrides([text])
    return out


def _outcomes(outcomes: Sequence[str], series: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    scalars, columns = _outcome_names()
    for where, names, allowed in (("outcomes", outcomes, scalars), ("series", series, columns)):
        if isinstance(names, str):
            raise ConfigError(f"{where}: {names!r} is not allowed; allowed: a list of names ({', '.join(allowed)})")
        for n in names:
            if n not in allowed:
                raise ConfigError(f"{where}: {n!r} is not allowed; allowed: {', '.join(allowed)}")
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: {list(names)!r} names an outcome twice; allowed: each once")
    if not outcomes and not series:
        raise ConfigError("outcomes: [] and series: [] leave the model without outcomes; allowed: at least one")
    return tuple(outcomes), tuple(series)


def model(name: str = "relationship", *, base: Sequence[str] | Mapping[str, Any] = ("scenario=baseline",),
          uncertainties: Mapping[str, Any] | None = None, levers: Mapping[str, Any] | None = None,
          outcomes: Sequence[str] | None = None, series: Sequence[str] = (), steps: int | None = None,
          urban: int | None = None, engine: str = "vectorized", seed: int = DEFAULT_SEED, replications: int = 1,
          aggregate: Callable[..., Any] | None = np.mean) -> Any:
    """The simulation as an EMA Workbench model (``ema_workbench.Model``; ``ReplicatorModel`` with
    ``replications > 1``), checked against the model's validation before anything runs.

    ``base``: Hydra overrides every experiment starts from (a list of ``key=value`` or a mapping), then
    ``engine``, ``steps`` (``run.steps``) and ``urban`` (``population.urban``) when given. ``uncertainties`` and
    ``levers``: ``{dotted_key: spec}`` (see ``parameter``), a key in one of them only. ``outcomes``: names of
    ``sim.paired.metrics_of`` (default: ``sim.paired.METRICS``, and ``bound_*`` limit shares on request);
    ``series``: per-week columns (outcomes ``weekly_<column>``). ``seed``: the seed the replicate seeds derive
    from (``sim.experiment.replicate_seeds``); ``aggregate``: how the replicates of a scalar outcome are
    combined (``None``: every replicate kept). Raises ``sim.config.ConfigError`` (one line) on bad input: a bad
    key, bound or choice, alone, with the base or with another varied key's bound or choice (every pair of
    ends is validated: one composition per pair of configuration-group choices, a millisecond otherwise).
    """
    from sim.experiment import MAX_SEED, hydra_value, replicate_seeds
    from sim.paired import METRICS
    from sim.params import ENGINES

    if not isinstance(name, str) or not name.isalnum():
        raise ConfigError(f"name: {name!r} is not allowed; allowed: letters and digits only (EMA's model names)")
    if engine not in ENGINES:
        raise ConfigError(f"engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed: {seed!r} is not allowed; allowed: a whole number in [0, {MAX_SEED}]")
    if isinstance(replications, bool) or not isinstance(replications, numbers.Integral) or replications < 1:
        raise ConfigError(f"replications: {replications!r} is not allowed; allowed: a whole number >= 1")
    if aggregate is not None and not callable(aggregate):
        raise ConfigError(f"aggregate: {aggregate!r} is not allowed; allowed: a function of the replicates' values "
                          "(such as numpy.mean) or None")
    metrics, columns = _outcomes(tuple(METRICS) if outcomes is None else outcomes, series)

    given = _base(base)
    fixed = {"engine": "engine=", **{k: a for k, v, a in (("run.steps", steps, "steps="),
                                                          ("population.urban", urban, "urban=")) if v is not None}}
    varied: dict[str, tuple[str, Any]] = {}  # dotted key -> (where, EMA parameter)
    for where, specs in (("uncertainties", uncertainties), ("levers", levers)):
        if specs is None:
            continue
        if not isinstance(specs, Mapping):
            raise ConfigError(f"{where}: {specs!r} is not allowed; allowed: a mapping {{dotted_key: spec}}")
        for key, spec in specs.items():
            if key in fixed:
                raise ConfigError(f"{where}: {key!r} is set by the argument {fixed[key]}; allowed: vary it or set "
                                  "it, not both")
            if key in varied:
                raise ConfigError(f"{where}: {key!r} is also in {varied[key][0]}; allowed: a key in uncertainties "
                                  "or in levers, not both")
            varied[key] = (where, parameter(key, spec, where))
    # a varied key replaces the base's value of it (a varied group also its choice: Hydra takes one per group)
    overrides = [o for o in given if override_key(o) not in varied]
    overrides.append(f"engine={engine}")
    overrides += [f"{key}={hydra_value(value)}" for key, value in (("run.steps", steps), ("population.urban", urban))
                  if value is not None]
    overrides.append("run.progress=off")

    # the base, then every bound and choice with it, then every pair of them: the rules across keys (ordered
    # floors, shares summing to at most one, memory) are linear or monotone, so a range that breaks one
    # somewhere breaks it at a pair of ends
    sim = Simulation(tuple(overrides), {p.name: key for key, (_, p) in varied.items()}, metrics, columns)
    try:
        sim.configure(0, {})
    except ConfigError as exc:
        raise ConfigError(f"base: {exc}") from None
    ends = {key: ([c.value for c in p.categories] if isinstance(p, ema.CategoricalParameter)
                  else [p.lower_bound, p.upper_bound]) for key, (_, p) in varied.items()}
    for key, values in ends.items():
        for v in values:
            try:
                sim.configure(0, {key: v})
            except ConfigError as exc:
                raise ConfigError(f"{varied[key][0]}: {key}={hydra_value(v)} with the base: {exc}") from None
    for a, b in itertools.combinations(ends, 2):
        for va, vb in itertools.product(ends[a], ends[b]):
            try:
                sim.configure(0, {a: va, b: vb})
            except ConfigError as exc:
                raise ConfigError(f"{varied[a][0]}: {a}={hydra_value(va)} with {b}={hydra_value(vb)}: {exc}") from None

    if replications == 1:
        m = ema.Model(name, function=sim)
        m.constants = [ema.Constant("seed", replicate_seeds(seed, 1)[0])]
    else:
        m = ema.ReplicatorModel(name, function=sim)
        m.replications = [{"seed": s} for s in replicate_seeds(seed, int(replications))]
    for _, p in varied.values():
        _check_name(m, p.name)
    m.uncertainties = [p for where, p in varied.values() if where == "uncertainties"]
    m.levers = [p for where, p in varied.values() if where == "levers"]
    outs: list[Any] = []
    for metric in metrics:
        if replications == 1:
            outs.append(ema.ScalarOutcome(metric))
        elif aggregate is not None:
            outs.append(ema.ScalarOutcome(metric, function=aggregate))
        else:  # another name: EMA holds one outcome class per name in a process
            outs.append(ema.ArrayOutcome(f"{metric}{REPLICATES_SUFFIX}", variable_name=metric))
    outs += [ema.ArrayOutcome(f"{SERIES_PREFIX}{column}") for column in columns]
    m.outcomes = outs
    return m


def _check_name(m: Any, name: str) -> None:
    """EMA sets a lever whose name is an attribute of the model object on that object instead of passing it to
    the function: refuse such a name (none of the model's keys has one; a guard should EMA grow attributes)."""
    if hasattr(m, name) or not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError(f"{name}: not usable as an EMA name (an attribute of EMA's model, or not an identifier); "
                          "allowed: another key")


# ------------------------------------------------------------------------------------------ command line

PROG = "python -m sim.ema"
DEFAULT_EXPERIMENTS = 50


class _Parser(OneLineParser):
    error_type = ConfigError


def _number(text: str) -> int | float:
    """A number as written: whole (``12``) as an int, else a float (``0.005``, ``1e4``)."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    value = float(text)  # ValueError for anything else
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _uncertainty(text: str) -> tuple[str, Any]:
    """``KEY=LOW:HIGH`` (a range) or ``KEY=A,B,...`` (choices; ``true``/``false`` are true and false)."""
    key, sep, value = text.partition("=")
    try:
        if not sep or not key:
            raise ValueError(text)
        if ":" in value:
            low, high = value.split(":")
            return key, (_number(low), _number(high))
        words = {"true": True, "false": False}
        return key, [words.get(v.strip().lower(), v.strip()) for v in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: KEY=LOW:HIGH (a number key) or "
                                         "KEY=A,B,... (choices)") from None


def _cut(text: str) -> tuple[str, float]:
    """``median``, ``qNN`` (the NN-th percentile of the outcome) or a number: the kind and its value."""
    bad = argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: a number, median, or qNN (the NN-th "
                                     "percentile, 0 < NN < 100)")
    if text == "median":
        return "q", 50.0
    try:
        if text.startswith("q"):
            q = float(text[1:])
            if not 0 < q < 100:
                raise bad
            return "q", q
        return "value", float(_number(text))
    except ValueError:
        raise bad from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: a share in (0, 1]")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line: ``prim``."""
    ap = _Parser(prog=PROG, allow_abbrev=False, description="Scenario discovery (PRIM) on the simulation with "
                                                              "EMA Workbench.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("prim", allow_abbrev=False, help="sample, run and find the box where an outcome is below "
                                                         "or above a cut")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="Hydra overrides: the base of every run")
    p.add_argument("--uncertainty", "-u", type=_uncertainty, action="append", required=True,
                   metavar="KEY=LOW:HIGH|KEY=A,B", help="a parameter to vary, with its range or choices (repeat)")
    p.add_argument("--outcome", required=True, help=f"an end-of-run outcome ({', '.join(_outcome_names()[0])})")
    cut = p.add_mutually_exclusive_group(required=True)
    cut.add_argument("--below", type=_cut, help="cases of interest: outcome below this (a number, median, qNN)")
    cut.add_argument("--above", type=_cut, help="cases of interest: outcome above this (a number, median, qNN)")
    p.add_argument("--n", type=whole(2), default=DEFAULT_EXPERIMENTS,
                   help=f"experiments, a Latin hypercube sample (default {DEFAULT_EXPERIMENTS})")
    p.add_argument("--seed", type=whole(0), default=DEFAULT_SEED, help="the runs' seed (default 1)")
    p.add_argument("--design-seed", type=whole(0), default=DEFAULT_SEED, help="the sample's seed (default 1)")
    p.add_argument("--replications", type=whole(1), default=1, help="replicates per experiment, outcome their mean")
    p.add_argument("--steps", type=whole(1), default=None, help="weeks (run.steps; default the configuration's)")
    p.add_argument("--urban", type=whole(1), default=None, help="urban residents (population.urban)")
    p.add_argument("--engine", default="vectorized", help="engine (default vectorized)")
    p.add_argument("--jobs", type=whole(1), default=1, help="processes (default 1)")
    p.add_argument("--threshold", type=_share, default=0.8, help="the density a box must reach (default 0.8)")
    return ap


def discover(ns: argparse.Namespace) -> list[str]:
    """Run the command ``prim`` of the parsed arguments ``ns``; the lines to print."""
    from ema_workbench.analysis import prim

    if ns.outcome not in _outcome_names()[0]:
        raise ConfigError(f"--outcome: {ns.outcome!r} is not allowed; allowed: {', '.join(_outcome_names()[0])}")
    specs = dict(ns.uncertainty)
    if len(specs) != len(ns.uncertainty):
        raise ConfigError("--uncertainty: a key given twice; allowed: each key once")
    try:
        m = model(base=["scenario=baseline", *ns.overrides], uncertainties=specs, outcomes=[ns.outcome],
                  steps=ns.steps, urban=ns.urban, engine=ns.engine, seed=ns.seed, replications=ns.replications)
    except ConfigError as exc:  # the flag's name for the argument's
        text = str(exc)
        raise ConfigError(f"--uncertainty: {text.removeprefix('uncertainties: ')}" if text.startswith(
            "uncertainties: ") else text) from None
    if ns.jobs > 1:  # started before this process runs the model: numba's threads would not survive a fork
        evaluator: Any = ema.MultiprocessingEvaluator(m, n_processes=ns.jobs)
    else:
        evaluator = ema.SequentialEvaluator(m)
    state = np.random.get_state()
    np.random.seed(ns.design_seed)
    try:
        with evaluator:
            experiments, outcomes = evaluator.perform_experiments(scenarios=ns.n, log_progress=not sys.stderr.isatty())
    finally:
        np.random.set_state(state)
    values = np.asarray(outcomes[ns.outcome], dtype=float)
    below = ns.below is not None
    kind, number = ns.below if below else ns.above
    cut = float(np.percentile(values, number)) if kind == "q" else number
    y = values < cut if below else values > cut
    named = "median" if number == 50 else f"q{number:g}"
    what = f"{ns.outcome} {'below' if below else 'above'} {cut:g}" + (f" (its {named})" if kind == "q" else "")
    head = f"{len(values)} experiments (seed {ns.seed}, design seed {ns.design_seed}), {int(y.sum())} with {what}"
    if not y.any() or y.all():
        raise RuntimeError(f"{head}; no box to find: every experiment or none is of interest")
    box = prim.Prim(experiments, y, threshold=ns.threshold).find_box()
    # read from the box itself: EMA 2.5.3's box.inspect() fails under pandas 3 when a category is restricted
    qp = box.qp[box._cur_box]  # quasi-p-values (-1: none) of the restricted dimensions, by EMA name
    lines = [head, f"box: coverage {box.coverage:.2f}, density {box.density:.2f}, mass {box.mass:.2f}"
                   + ("" if qp else " (no box reaches the threshold)")]
    for name in sorted(qp, key=lambda n: min(p for p in qp[n] if p >= 0) if max(qp[n]) >= 0 else 1.0):
        low, high = box.box_lim[name]
        shown = f"one of {', '.join(map(str, sorted(low)))}" if isinstance(low, set) else f"{low:g} .. {high:g}"
        ps = ", ".join(f"{p:.2g}" for p in qp[name] if p >= 0)
        lines.append(f"  {dotted_key(str(name))}: {shown}" + (f" (quasi-p {ps})" if ps else ""))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; the exit status (0 done, 1 no box could be looked for, 2 bad input, 130 interrupted)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        lines = discover(parser().parse_args(argv))
    except ConfigError as exc:
        print(f"{PROG}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    # the importable module's functions (not __main__'s), so that worker processes find the model's by name
    from sim.ema import main as _entry

    sys.exit(_entry())
