"""Configuration: Hydra composition on the schema of ``sim.params``, and input validation.

Validation happens before anything runs or is written: every override is checked against
the declared parameters (key, type, range), group choices against the files in ``conf/``,
and the composed configuration again as a whole (scenario files set values too). Every
problem is reported as one line naming the key, the value and what is allowed.

Scenarios compose: ``scenario=[a,b]`` (or ``scenario=a+b``) applies scenario ``a``, then ``b``, so
that a value both set is ``b``'s (Hydra's list of options of a config group); the run's
``scenario`` is then the string ``a+b``, which is itself a valid choice. Configuration folders of
one's own, laid out like ``conf/`` (``DIR/scenario/mine.yaml``, ``DIR/regions/mytown.yaml``), are
searched after ``conf/`` when named in ``$SIM_CONFIG_PATH`` (folders separated by ``:``); they are
handed to Hydra as its ``hydra.searchpath``.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf

from sim import params
from sim.params import ENGINES, Config

__all__ = ["CONFIG_PATH_ENV", "CONF_DIR", "ConfigError", "RunFolders", "check_override_value", "check_overrides",
           "check_value", "compose", "compose_many", "config_dirs", "hydra_overrides", "is_choice", "option_file",
           "register_schema", "scenario_name", "scenario_parts", "to_config", "validate"]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("population", "regions", "network", "policy", "behaviour", "costs", "run", "scenario", "engine")
CONFIG_PATH_ENV = "SIM_CONFIG_PATH"  # the user's configuration folders, searched after conf/
SCENARIO_JOIN = "+"  # scenario=a+b applies a, then b


class ConfigError(ValueError):
    """Bad input: the message is one line naming the key, the value and what is allowed."""


def register_schema() -> None:
    """Make the dataclasses of ``sim.params`` Hydra's schema (types and keys checked on merge), and register
    the ``scenario_name`` resolver that names run folders after composed scenarios."""
    ConfigStore.instance().store(name="schema", node=Config)
    OmegaConf.register_new_resolver("scenario_name", _job_scenario, replace=True)


def config_dirs() -> tuple[Path, ...]:
    """``conf/``, then the folders named in ``$SIM_CONFIG_PATH`` (separated by ``os.pathsep``), absolute.

    Each user folder is laid out like ``conf/`` (``DIR/scenario/NAME.yaml``) so that a planner keeps their
    own scenarios and regions outside the repository. A name that is not a folder is a ``ConfigError``.
    """
    extra: list[Path] = []
    for part in os.environ.get(CONFIG_PATH_ENV, "").split(os.pathsep):
        if not part.strip():
            continue
        path = Path(part).expanduser().resolve()
        if not path.is_dir():
            raise ConfigError(f"{CONFIG_PATH_ENV}: {part!r} is not a folder; allowed: folders laid out like conf/ "
                              f"(DIR/scenario/NAME.yaml), separated by {os.pathsep!r}")
        if path != CONF_DIR and path not in extra:
            extra.append(path)
    return (CONF_DIR, *extra)


def options(group: str) -> tuple[str, ...]:
    """The choices of a config group: the YAML files in ``<dir>/<group>/`` of every ``config_dirs()`` folder."""
    return tuple(sorted(_option_files(group, config_dirs())))


def option_file(group: str, name: str) -> Path:
    """The file of the choice ``name`` of ``group`` (in conf/ or a user folder); ConfigError if there is none."""
    files = _option_files(group, config_dirs())
    if name not in files:
        raise ConfigError(f"{group}: {name!r} is not an option of the {group} group (conf/{group}/); allowed: "
                          f"{', '.join(sorted(files))}")
    return files[name]


@cache
def _option_files(group: str, dirs: tuple[Path, ...]) -> dict[str, Path]:
    """Choice name -> file, over ``dirs`` in order; a user file named like an earlier one is refused (Hydra
    would silently take the first)."""
    found: dict[str, Path] = {}
    for d in dirs:
        for path in sorted((d / group).glob("*.yaml")):
            if path.stem in found:
                raise ConfigError(f"{CONFIG_PATH_ENV}: {str(path)!r} has the name of {str(found[path.stem])!r}; "
                                  f"allowed: another name for {group} {path.stem!r}")
            found[path.stem] = path
    return found


def scenario_parts(value: Any) -> list[str]:
    """The scenarios a ``scenario`` value applies, in order: ``a``, ``a+b`` or ``[a, b]``; ConfigError (one line
    naming the value) unless each is a known scenario."""
    items = list(value) if isinstance(value, list | tuple | ListConfig) else [value]
    known = options("scenario")
    allowed = (f"one of {', '.join(known)}, or several applied in order as [a,b] or a{SCENARIO_JOIN}b "
               "(a later one wins)")
    parts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"scenario: {_show(value)} is not allowed; allowed: {allowed}")
        parts += item.split(SCENARIO_JOIN)
    if not parts:
        raise ConfigError(f"scenario: {_show(value)} names no scenario; allowed: {allowed}")
    for name in parts:
        if name not in known:
            raise ConfigError(f"scenario: {name!r} is not an option of the scenario group (conf/scenario/); "
                              f"allowed: {allowed}")
    return parts


def scenario_name(overrides: Sequence[str]) -> str | None:
    """The name a run records for the scenarios its overrides compose (``a+b`` for ``scenario=[a,b]``), from the
    last ``scenario=`` override that is not a sweep; None if there is none."""
    parser = OverridesParser.create()
    name = None
    for text in overrides:
        if override_key(text) != "scenario":
            continue
        try:
            o = parser.parse_override(text)
        except Exception:  # refused elsewhere, with its one line
            continue
        if not o.is_sweep_override():
            name = SCENARIO_JOIN.join(scenario_parts(o.value()))
    return name


def override_key(text: str) -> str:
    """The dotted key a Hydra override such as ``+policy.guides@x=3`` sets (``policy.guides``)."""
    return text.lstrip("+~").split("=", 1)[0].split("@", 1)[0]


def set_key(cfg: Config, key: str, value: Any) -> None:
    """Set the dotted ``key`` of ``cfg`` to ``value`` (already checked by the caller)."""
    obj: Any = cfg
    *path, leaf = key.split(".")
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, leaf, value)


def _job_scenario(plain: str) -> str:
    """Resolver ``${scenario_name:${scenario}}`` of the run-folder names in conf/config.yaml: the running job's
    composed scenario name (its overrides ``scenario=[a,b]`` give ``a+b``), else ``plain``."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return plain
    return scenario_name(list(HydraConfig.get().overrides.task)) or plain


def hydra_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides as Hydra is to get them: a scenario value ``a+b`` (also within a sweep) as Hydra's list
    ``[a,b]``, and the user's configuration folders (``config_dirs``) as ``hydra.searchpath``."""
    parser = OverridesParser.create()
    out = []
    for text in overrides:
        if override_key(text) == "scenario" and SCENARIO_JOIN in text:
            o = parser.parse_override(text)
            raw = list(o.sweep_string_iterator()) if o.is_discrete_sweep() else [text.partition("=")[2]]
            shown = []
            for item in raw:
                parts = scenario_parts(_parse_value(item))
                shown.append(f"[{','.join(parts)}]" if len(parts) > 1 else parts[0])
            text = f"{text.partition('=')[0]}={','.join(shown)}"
        out.append(text)
    extra = config_dirs()[1:]
    if extra:
        out.append("hydra.searchpath=[" + ",".join(f"'file://{d}'" for d in extra) + "]")
    return out


@cache
def leaf_fields() -> dict[str, Any]:
    """Dotted key -> dataclass field of every parameter."""
    return dict(params.iter_params())


@cache
def _leaf_types() -> dict[int, Any]:
    """id(field) -> declared type of every parameter (``get_type_hints`` is slow: resolve once)."""
    classes: list[Any] = [Config, *(f.default_factory for f in fields(Config) if is_dataclass(f.default_factory))]
    return {id(f): typing.get_type_hints(cls)[f.name] for cls in classes for f in fields(cls)}


def _type_of(f) -> Any:
    return _leaf_types()[id(f)]


def _allowed(key: str, f) -> str:
    m = f.metadata
    t = _type_of(f)
    if key == "engine":
        return f"one of {', '.join(ENGINES)}"
    if key == "scenario":
        return f"one of {', '.join(options('scenario'))}, or several joined by {SCENARIO_JOIN}"
    kind = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}.get(
        t, "a list of finite numbers")
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and hi is not None:
        return f"{kind} in [{params._fmt(lo)}, {params._fmt(hi)}]"
    if lo is not None:
        return f"{kind} >= {params._fmt(lo)}"
    if hi is not None:
        return f"{kind} <= {params._fmt(hi)}"
    return kind


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


ROW_KEY = re.compile(r"regions\.table\.(\d+)\.(\w+)")  # a regions-table row's key set from the command line


def is_parameter(key: str) -> bool:
    """Whether ``key`` names a value a run takes: a declared parameter or a key of a regions-table row
    (``regions.table.<row>.<key>``, the row counted from 0)."""
    return key in leaf_fields() or bool(ROW_KEY.fullmatch(key))


def check_value(key: str, value: Any) -> Any:
    """Check one parameter value against its declaration; return it converted to the declared type.

    Numbers must be finite: NaN and infinities are refused for every float and list parameter, even
    where the declared range has no upper bound (a NaN compares false with both ends of any range).
    """
    fields_ = leaf_fields()
    row = ROW_KEY.fullmatch(key)
    if row:  # one key of one row of the regions table: regions.table.2.attraction=0.05
        return check_table([{row.group(2): value}], first=int(row.group(1)))[0][row.group(2)]
    if key not in fields_:
        group, _, leaf = key.rpartition(".")
        known = [k.rpartition(".")[2] for k in fields_ if k.rpartition(".")[0] == group]
        if not group:
            where = f"top-level keys: {', '.join(known)} and groups {', '.join(params.GROUPS)}"
        elif known:
            where = f"keys of {group}: {', '.join(known)}"
        else:
            where = f"groups: {', '.join(params.GROUPS)}"
        raise ConfigError(f"{key}: unknown key (value {value!r}); allowed {where}")
    if key == "regions.table":
        return check_table(value)
    f = fields_[key]
    t = _type_of(f)
    allowed = _allowed(key, f)
    bad = ConfigError(f"{key}: {_show(value)} is not allowed; allowed: {allowed}")
    if t is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if t is int:
        if not _is_int(value):
            raise bad
        value = int(value)
    elif t is float:
        if not _is_real(value) or not math.isfinite(value):
            raise bad
        value = float(value)
    elif t is str:
        if not isinstance(value, str):
            raise bad
    else:  # list[float]
        if not isinstance(value, list | tuple) or not all(_is_real(v) and math.isfinite(v) for v in value):
            raise bad
        if len(value) != len(params.default_of(f)):
            raise ConfigError(f"{key}: {_show(value)} has {len(value)} entries; allowed: "
                              f"{len(params.default_of(f))} numbers ({f.metadata.get('unit')})")
        value = [float(v) for v in value]
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    items = value if isinstance(value, list) else [value]
    if t is not str and any((lo is not None and v < lo) or (hi is not None and v > hi) for v in items):
        raise bad
    if key == "engine" and value not in ENGINES:
        raise bad
    if key == "run.progress" and value not in ("auto", "on", "off"):
        raise ConfigError(f"run.progress: {value!r} is not allowed; allowed: auto, on, off")
    return value


def _show(value: Any) -> str:
    """A value as the message shows it: lists as plain lists of plain numbers (``[nan, 0.5]``)."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if _is_int(value):
        return repr(int(value))
    if _is_real(value):
        return repr(float(value))
    return repr(value)


def is_choice(key: str) -> bool:
    """Whether ``key`` picks a file of its config group (``population=tiny``) rather than a parameter's value."""
    return key in GROUPS and key not in leaf_fields() or key in ("scenario", "engine")


def check_override_value(key: str, value: Any) -> Any:
    """Check one override's value: a group choice against the files of ``conf/<key>/`` (a scenario may be a
    composition, ``scenario_parts``), any other key with ``check_value``; return it (a parameter's converted
    to its declared type)."""
    if key == "scenario":
        scenario_parts(value)
        return value
    if is_choice(key):
        if not isinstance(value, str) or value not in options(key):
            raise ConfigError(f"{key}: {value!r} is not an option of the {key} group (conf/{key}/); allowed: "
                              f"{', '.join(options(key))}")
        return value
    return check_value(key, value)


def model_value(key: str, value: Any) -> Any:
    """A sampled or written value for ``key`` as the model takes it (ConfigError, one line, if it does not):
    numpy scalars as Python's, integral floats as ints for an integer key (samplers and YAML give 15.0 for
    15), then ``check_override_value``'s check and conversion."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    f = leaf_fields().get(key)
    if isinstance(value, float) and value.is_integer() and f is not None and _type_of(f) is int:
        value = int(value)
    return check_override_value(key, value)


def check_overrides(overrides: list[str], sweep: bool = False) -> None:
    """Check command-line overrides before Hydra sees them; with ``sweep`` (``-m``), each value of a sweep."""
    parser = OverridesParser.create()
    for text in overrides:
        try:
            o = parser.parse_override(text)
        except Exception as exc:  # hydra's grammar errors are multi-line
            key, _, value = text.partition("=")
            raise ConfigError(f"{key}: {value!r} cannot be parsed ({str(exc).strip().splitlines()[0]}); allowed: "
                              "key=value in Hydra's override syntax") from None
        key = o.key_or_group
        if key == "hydra.searchpath":  # validation would not see the folders: one way to name them
            raise ConfigError(f"{key}: {text.partition('=')[2]!r} is not allowed; allowed: configuration folders "
                              f"in ${CONFIG_PATH_ENV} (or --config-dir DIR), laid out like conf/")
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):  # Hydra's own settings: Hydra checks them
            continue
        if o.is_delete():
            raise ConfigError(f"{key}: deleting keys is not allowed; allowed: set a value with {key}=VALUE")
        if o.package:
            raise ConfigError(f"{key}@{o.package}: package overrides are not allowed; allowed: {key}=VALUE")
        if o.is_sweep_override():
            raw = text.partition("=")[2]
            if not sweep:
                raise ConfigError(f"{key}: {raw!r} is a sweep; allowed: one value "
                                  "(add -m to run a sweep)")
            if not o.is_discrete_sweep():
                raise ConfigError(f"{key}: {raw!r} cannot be enumerated; allowed: a list "
                                  "a,b,c or range(start,stop,step)")
            values = [_parse_value(s) for s in o.sweep_string_iterator()]
        else:
            values = [o.value()]
        for v in values:
            check_override_value(key, v)


def _parse_value(text: str) -> Any:
    return OverridesParser.create().parse_override(f"x={text}").value()


def _get(cfg: Config, key: str) -> Any:
    """The value at a dotted key; a missing group or key (a hand-built object) is a ``ConfigError``."""
    obj: Any = cfg
    for i, part in enumerate(parts := key.split(".")):
        if not hasattr(obj, part):
            where = ".".join(parts[:i]) or "config"
            raise ConfigError(f"{key}: missing from {where} ({type(obj).__name__}); allowed: a sim.params.Config "
                              "with every declared parameter")
        obj = getattr(obj, part)
    return obj


def check_table(rows: Any, first: int = 0) -> list[dict[str, Any]]:
    """Check the rows of ``regions.table``: each a mapping of known keys (``params.REGION_KEYS``, ``name``,
    ``name_ja``) to values allowed for the key it overrides; return them converted. Errors name the row
    (counted from ``first``: the rows given may be part of a table)."""
    allowed_keys = ", ".join((*params.REGION_NAMES, *params.REGION_KEYS))
    if not isinstance(rows, list | tuple):
        raise ConfigError(f"regions.table: {_show(rows)} is not allowed; allowed: a list of rows, each a mapping "
                          f"of {allowed_keys}")
    out = []
    for i, row in enumerate(rows, start=first):
        where = f"regions.table[{i}]"
        if not isinstance(row, Mapping):
            raise ConfigError(f"{where}: {_show(row)} is not allowed; allowed: a mapping of {allowed_keys}")
        checked: dict[str, Any] = {}
        for k, value in row.items():
            if k in params.REGION_NAMES:
                if not isinstance(value, str) or not value:
                    raise ConfigError(f"{where}.{k}: {_show(value)} is not allowed; allowed: a non-empty string")
                checked[k] = value
                continue
            if k not in params.REGION_KEYS:
                raise ConfigError(f"{where}.{k}: unknown key (value {value!r}); allowed: {allowed_keys}")
            dotted = params.REGION_KEYS[k]
            try:
                checked[k] = check_value(dotted, value)
            except ConfigError as exc:
                raise ConfigError(f"{where}.{k} ({exc})") from None
        out.append(checked)
    return out


def validate(cfg: Config) -> Config:
    """Check a whole configuration and return it unchanged, or raise ``ConfigError`` (one line).

    First every leaf against its declaration (type, finite, range), then the rules that span keys
    (shares summing to one, ordered floors, even degrees, memory), which therefore only ever see
    checked, finite numbers. Composition calls it on every configuration; call it on a hand-built
    ``Config`` before running it.
    """
    from sim.memory import check_memory

    if not isinstance(cfg, Config):
        raise ConfigError(f"config: {type(cfg).__name__} is not allowed; allowed: a sim.params.Config")
    v = {key: check_value(key, _get(cfg, key)) for key, _ in params.iter_params()}
    for key, f in params.iter_params():
        if str(f.metadata.get("unit", "")).startswith("shares") and abs(sum(v[key]) - 1.0) > 1e-6:
            raise ConfigError(f"{key}: {_show(v[key])} sums to {sum(v[key]):g}; allowed: shares summing to 1 "
                              "(within 1e-6)")
    rows = v["regions.table"]
    if rows and len(rows) != v["regions.count"]:
        raise ConfigError(f"regions.count: {v['regions.count']!r} differs from the {len(rows)} rows of regions.table; "
                          "allowed: the number of rows (or an empty table)")
    for i, row in enumerate(rows):
        shares = row.get("local_age_shares")
        if shares is not None and abs(sum(shares) - 1.0) > 1e-6:
            raise ConfigError(f"regions.table[{i}].local_age_shares: {_show(shares)} sums to {sum(shares):g}; "
                              "allowed: shares summing to 1 (within 1e-6)")
    scenario_parts(v["scenario"])
    fan, partner = v["population.initial_fan_share"], v["population.initial_partner_share"]
    if fan + partner > 1:
        raise ConfigError(f"population.initial_fan_share: {fan!r} plus initial_partner_share {partner!r} exceeds 1; "
                          "allowed: shares summing to at most 1")
    if v["population.scale"] > v["population.urban"]:
        raise ConfigError(f"population.scale: {v['population.scale']!r} exceeds population.urban "
                          f"{v['population.urban']!r}; allowed: at most population.urban (each simulated resident "
                          "stands for population.scale real ones)")
    opened = v["behaviour.roles_per_partner"] + v["behaviour.skill_roles_per_partner"]
    if opened >= 1:
        raise ConfigError(f"behaviour.skill_roles_per_partner: {v['behaviour.skill_roles_per_partner']!r} plus "
                          f"roles_per_partner {v['behaviour.roles_per_partner']!r} is {opened:g}; allowed: below 1 "
                          "(else roles grow without end)")
    for key in ("network.urban_k", "network.local_k"):
        if v[key] % 2:
            raise ConfigError(f"{key}: {v[key]!r} is odd; allowed: an even integer (Watts-Strogatz ring lattice)")
    fan_floor, floor, threshold = (v[f"behaviour.{k}"] for k in ("fan_floor", "partner_floor", "partner_threshold"))
    if not fan_floor <= floor <= threshold:
        raise ConfigError(f"behaviour.partner_floor: {floor!r} must lie between fan_floor {fan_floor!r} and "
                          f"partner_threshold {threshold!r}; allowed: fan_floor <= partner_floor <= partner_threshold")
    try:
        check_memory(cfg)
    except ValueError as exc:  # already one line naming population.urban, the estimate and the limit
        raise ConfigError(str(exc)) from None
    return cfg


def to_config(node: Any, overrides: Sequence[str] = ()) -> Config:
    """Turn a composed OmegaConf node into the validated ``Config`` dataclass; ``scenario`` is the name of the
    scenarios ``overrides`` composed (``a+b``), not only the last one's."""
    cfg = OmegaConf.to_object(node)
    if not isinstance(cfg, Config):  # pragma: no cover - the schema guarantees it
        raise ConfigError(f"config: composed object is {type(cfg).__name__}; allowed: Config")
    cfg.scenario = scenario_name(overrides) or cfg.scenario
    return validate(cfg)


@contextmanager
def _hydra_context() -> Iterator[None]:
    """Hydra's compose API on ``conf/``; usable inside a running Hydra app (its global state is set aside)."""
    register_schema()
    gh = GlobalHydra.instance()
    was_initialized = gh.is_initialized()
    if was_initialized:
        gh.clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            yield
    finally:
        if was_initialized:
            gh.clear()


def _hydra_error(exc: Exception, overrides: list[str]) -> ConfigError:
    """One line from one of Hydra's (multi-line) errors, naming the override it is about."""
    text = str(exc)
    first = text.strip().splitlines()[0].rstrip(".") if text.strip() else type(exc).__name__
    culprit = next((o for o in overrides if o.lstrip("+~").split("=", 1)[0].split("@")[0] in text),
                   " ".join(overrides) or "config")
    key, _, value = culprit.partition("=")
    options_: list[str] = []
    for line in text.split("Available options", 1)[1].splitlines()[1:] if "Available options" in text else []:
        if not line.startswith("\t"):
            break
        options_.append(line.strip())
    allowed = ", ".join(options_) if options_ else "see python -m sim --help"
    return ConfigError(f"{key}: {value!r} rejected: {first}; allowed: {allowed}")


def compose_many(sweep: list[list[str]]) -> list[Config]:
    """Compose and validate several override lists (e.g. every combination of a sweep) in one Hydra context."""
    sweep = [list(o) for o in sweep]
    for overrides in sweep:
        check_overrides(overrides)
    out = []
    with _hydra_context():
        for overrides in sweep:
            try:
                node = hydra_compose(config_name="config", overrides=hydra_overrides(overrides))
            except Exception as exc:  # Hydra's own errors span several lines
                raise _hydra_error(exc, overrides) from None
            out.append(to_config(node, overrides))
    return out


def compose(overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Compose ``conf/config.yaml`` with ``overrides`` (Hydra syntax) and return the validated configuration.

    Raises ``ConfigError`` (one line: key, value, what is allowed) on any bad input.
    """
    return compose_many([list(overrides)])[0]


class RunFolders(Callback):
    """Hydra callback (``hydra.callbacks`` in conf/config.yaml): the folders this process's runs write into.

    Hydra creates a run's folder (its hidden staging name, see conf/config.yaml) before the job
    starts; noting the name here first, when the run or sweep starts, lets the command line remove
    that folder whenever the run is stopped, however early. Class attributes: one process runs one
    command line.
    """

    staging: ClassVar[set[Path]] = set()  # staging folders that may exist and are not published yet
    finished: ClassVar[list[Path]] = []  # run folders published by this process
    stopped: ClassVar[list[Path]] = []  # staging folders removed because their run failed or was stopped
    sweep_dir: ClassVar[Path | None] = None  # the sweep's folder (-m), if this process created it
    sweep_dir_is_new: ClassVar[bool] = False

    @classmethod
    def reset(cls) -> None:
        """Forget every folder (a new command line starts)."""
        cls.staging, cls.finished, cls.stopped, cls.sweep_dir, cls.sweep_dir_is_new = set(), [], [], None, False

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Note the single run's folder (``hydra.run.dir``, resolved as run_job will resolve it)."""
        path = Path(os.path.abspath(str(OmegaConf.select(config, "hydra.run.dir"))))
        if not path.exists():  # never remove a folder this process did not create
            RunFolders.staging.add(path)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Note the sweep's folder: its jobs' staging folders are created inside it."""
        path = Path(os.path.abspath(str(OmegaConf.select(config, "hydra.sweep.dir"))))
        RunFolders.sweep_dir, RunFolders.sweep_dir_is_new = path, not path.exists()
