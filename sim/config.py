"""Configuration: Hydra composition on the schema of ``sim.params``, and input validation.

Validation happens before anything runs or is written: every override is checked against
the declared parameters (key, type, range), group choices against the files in ``conf/``,
and the composed configuration again as a whole (scenario files set values too). Every
problem is reported as one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import typing
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from sim import params
from sim.params import ENGINES, Config

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("population", "regions", "network", "policy", "behaviour", "costs", "run", "scenario", "engine")


class ConfigError(ValueError):
    """Bad input: the message is one line naming the key, the value and what is allowed."""


def register_schema() -> None:
    """Make the dataclasses of ``sim.params`` Hydra's schema (types and keys checked on merge)."""
    ConfigStore.instance().store(name="schema", node=Config)


@cache
def options(group: str) -> tuple[str, ...]:
    """The choices of a config group: the YAML files in ``conf/<group>/``."""
    return tuple(sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")))


@cache
def leaf_fields() -> dict[str, Any]:
    """Dotted key -> dataclass field of every parameter."""
    return dict(params.iter_params())


def _type_of(f) -> Any:
    hints = typing.get_type_hints(_owner_of(f.name, f))
    return hints[f.name]


def _owner_of(name: str, f) -> type:
    for cls in [Config, *(ff.default_factory for ff in fields(Config) if is_dataclass(ff.default_factory))]:
        for g in fields(cls):
            if g is f:
                return cls
    raise KeyError(name)


def _allowed(key: str, f) -> str:
    m = f.metadata
    t = _type_of(f)
    if key == "engine":
        return f"one of {', '.join(ENGINES)}"
    if key == "scenario":
        return f"one of {', '.join(options('scenario'))}"
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(t, "a list of numbers")
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and hi is not None:
        return f"{kind} in [{params._fmt(lo)}, {params._fmt(hi)}]"
    return kind


def check_value(key: str, value: Any) -> Any:
    """Check one parameter value against its declaration; return it converted to the declared type."""
    fields_ = leaf_fields()
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
    f = fields_[key]
    t = _type_of(f)
    allowed = _allowed(key, f)
    bad = ConfigError(f"{key}: {value!r} is not allowed; allowed: {allowed}")
    if t is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif t is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        value = float(value)
    elif t is str:
        if not isinstance(value, str):
            raise bad
    else:  # list[float]
        if not isinstance(value, list | tuple) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise bad
        if len(value) != len(params.default_of(f)):
            raise ConfigError(f"{key}: {list(value)!r} has {len(value)} entries; allowed: "
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


def _check_override(key: str, value: Any) -> None:
    if key in GROUPS and key not in leaf_fields() or key in ("scenario", "engine"):
        if not isinstance(value, str) or value not in options(key):
            raise ConfigError(f"{key}: {value!r} is not a known {key}; allowed: {', '.join(options(key))}")
        return
    check_value(key, value)


def check_overrides(overrides: list[str]) -> None:
    """Check command-line overrides (sweeps element by element) before Hydra sees them."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception as exc:  # hydra's grammar errors are multi-line
        raise ConfigError(f"cannot parse overrides {' '.join(overrides)!r}: {str(exc).splitlines()[0]}") from None
    for o in parsed:
        key = o.key_or_group
        if key.startswith("hydra.") or key == "hydra":
            continue
        if o.is_delete():
            raise ConfigError(f"{key}: deleting keys is not allowed; allowed: set a value with {key}=VALUE")
        if o.package:
            raise ConfigError(f"{key}@{o.package}: package overrides are not allowed; allowed: {key}=VALUE")
        if o.is_sweep_override():
            values = [_parse_value(s) for s in o.sweep_string_iterator()]
        else:
            values = [o.value()]
        for v in values:
            _check_override(key, v)


def _parse_value(text: str) -> Any:
    return OverridesParser.create().parse_override(f"x={text}").value()


def validate(cfg: Config) -> Config:
    """Check a whole configuration: every leaf against its declaration, and cross-key rules."""
    for key, _ in params.iter_params():
        obj: Any = cfg
        for part in key.split("."):
            obj = getattr(obj, part)
        check_value(key, obj)
    if cfg.scenario not in options("scenario"):
        raise ConfigError(f"scenario: {cfg.scenario!r} is not a known scenario; allowed: "
                          f"{', '.join(options('scenario'))}")
    for key in ("population.life_stage_shares", "population.local_age_shares"):
        group, leaf = key.split(".")
        shares = getattr(getattr(cfg, group), leaf)
        if abs(sum(shares) - 1.0) > 1e-6:
            raise ConfigError(f"{key}: {shares!r} sums to {sum(shares):g}; allowed: shares summing to 1")
    p = cfg.population
    if p.initial_fan_share + p.initial_partner_share > 1:
        raise ConfigError(f"population.initial_fan_share: {p.initial_fan_share!r} plus initial_partner_share "
                          f"{p.initial_partner_share!r} exceeds 1; allowed: shares summing to at most 1")
    for key in ("network.urban_k", "network.local_k"):
        k = getattr(cfg.network, key.split(".")[1])
        if k % 2:
            raise ConfigError(f"{key}: {k!r} is odd; allowed: an even integer (Watts-Strogatz ring lattice)")
    b = cfg.behaviour
    if not b.fan_floor <= b.partner_floor <= b.partner_threshold:
        raise ConfigError(f"behaviour.partner_floor: {b.partner_floor!r} must lie between fan_floor {b.fan_floor!r} "
                          f"and partner_threshold {b.partner_threshold!r}; allowed: fan_floor <= partner_floor <= "
                          "partner_threshold")
    try:
        from sim.memory import check_memory
    except ImportError:  # pragma: no cover - the memory module ships with the package
        return cfg
    try:
        check_memory(cfg)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return cfg


def to_config(node: Any) -> Config:
    """Turn a composed OmegaConf node into the validated ``Config`` dataclass."""
    cfg = OmegaConf.to_object(node)
    if not isinstance(cfg, Config):  # pragma: no cover - the schema guarantees it
        raise ConfigError(f"config: composed object is {type(cfg).__name__}; allowed: Config")
    return validate(cfg)


def compose(overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Compose ``conf/config.yaml`` with ``overrides`` and return the validated configuration."""
    overrides = list(overrides)
    check_overrides(overrides)
    register_schema()
    gh = GlobalHydra.instance()
    was_initialized = gh.is_initialized()
    if was_initialized:  # inside a running Hydra app: compose with a fresh context
        gh.clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            try:
                node = hydra_compose(config_name="config", overrides=overrides)
            except Exception as exc:
                raise ConfigError(f"{' '.join(overrides)}: {str(exc).splitlines()[0]}") from None
        return to_config(node)
    finally:
        if was_initialized:
            gh.clear()
