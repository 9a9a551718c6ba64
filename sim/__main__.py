"""Command line: ``python -m sim [overrides]`` runs one simulation (``-m`` for a Hydra sweep).

Input is validated before Hydra starts (flags, every override, for a sweep every combination, and
that the output folder can be written), so bad input exits with status 2, one line on stderr and
nothing written. Each run writes its table, resolved config, ladder plot and run.json into a hidden
staging folder (``results/runs/.<name>.partial``; in a sweep ``.<num>_<name>.partial``), renames it
to its final name when every file is complete, and prints that folder last. A run that fails or is
stopped (Ctrl-C, SIGTERM) leaves no folder: its staging folder is removed, finished runs of a sweep
are kept. Exit status: 0 done, 2 bad input or output that cannot be written, 130 SIGINT,
143 SIGTERM, 1 a failure inside a run (Hydra prints the traceback: a bug to report).

``run.plot=false`` leaves out the ladder plot (drawing it takes about as long as a small run).
``--config-dir DIR`` adds a configuration folder of one's own, laid out like ``conf/`` (as
``$SIM_CONFIG_PATH`` does, see ``sim.config``), e.g. ``DIR/scenario/mine.yaml`` for ``scenario=mine``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

# Only the standard library here: main() installs the signal handlers first thing, and Hydra, numpy and
# the engines are imported after that (an interrupt during those imports is held until they are done).
if TYPE_CHECKING:
    from omegaconf import DictConfig

# Hydra flags that would point Hydra at another configuration than conf/: refused.
VALUE_FLAGS = ("--config-path", "-cp", "--config-name", "-cn", "--experimental-rerun")
# A folder of one's own configuration files searched after conf/ (sim.config.config_dirs).
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
# Flags passed on to Hydra: spelling -> canonical long name.
SWITCHES = {"-m": "--multirun", "--multirun": "--multirun", "-r": "--run", "--run": "--run", "-h": "--help",
            "--help": "--help", "--hydra-help": "--hydra-help", "--version": "--version", "--resolve": "--resolve",
            "-sc": "--shell-completion", "--shell-completion": "--shell-completion",
            "--list-scenarios": "--list-scenarios"}
WITH_VALUE = {"-c": "--cfg", "--cfg": "--cfg", "-p": "--package", "--package": "--package"}
WITH_OPTIONAL_VALUE = {"-i": "--info", "--info": "--info"}
CHOICES = {"--cfg": ("job", "hydra", "all"),
           "--info": ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")}
# Hydra's commands: at most one per command line.
COMMANDS = ("--run", "--multirun", "--cfg", "--info", "--shell-completion")
# Flags after which Hydra runs no job (help, printing the config): nothing to validate, nothing written.
NO_JOB = ("--help", "--hydra-help", "--version", "--cfg", "--info", "--shell-completion")
ALLOWED_FLAGS = ("-m/--multirun, -r/--run, --list-scenarios, -h/--help, --hydra-help, --version, "
                 "-c/--cfg job|hydra|all (with --resolve, -p/--package KEY), -i/--info [all|config|defaults|"
                 "defaults-tree|plugins|searchpath], -sc/--shell-completion, -cd/--config-dir DIR, and key=value "
                 "overrides")
# Hydra keys naming a run's own folder: a command line's value is turned into its staging name.
RUN_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.subdir")
EXIT_BAD_INPUT, EXIT_SIGINT, EXIT_SIGTERM = 2, 128 + signal.SIGINT, 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that it unwinds like Ctrl-C: the run's staging folder is
    removed and the interpreter shuts down normally (no leaked semaphores). A BaseException, so that
    neither Hydra (which reports an ``Exception`` as a failed job) nor a run catches it."""


class Refused(BaseException):
    """Output that cannot be written, found inside a run: one line, exit status 2. A BaseException so
    that it passes through Hydra's error report (which would print a traceback) and stops a sweep."""


_signalled: int | None = None  # the first SIGINT/SIGTERM acted on; later ones are ignored
_pending: int | None = None  # a signal that arrived at an unsafe point (see _safe_point), to act on soon
_stopping = False  # cleaning up: signals no longer interrupt
RETRY_S = 0.02  # how soon a held-back signal is looked at again


# Libraries whose state an exception raised at an arbitrary point can corrupt (their cleanup then fails
# with another error, and a traceback is printed instead of the one line), and weakref, whose finalizer
# callbacks, like __del__ methods, swallow any exception raised in them.
FRAGILE = ("hydra", "omegaconf", "antlr4", "weakref")


def _safe_point(frame: FrameType | None) -> bool:
    """Whether an interrupt may be raised where the program is now.

    Not inside an import (a C extension's initialisation turns any exception into an ImportError), not
    inside Hydra or OmegaConf (their half-changed state breaks the exception into another error), and
    not in a ``__del__`` method or finalizer (Python prints and drops an exception raised there).
    Only the frames above the command's own code count: the job, ``_main`` or ``main``. Elsewhere (the
    engine, numpy, pandas, writing files) an interrupt unwinds cleanly.
    """
    while frame is not None:
        code = frame.f_code
        if code in (_job.__code__, _main.__code__, main.__code__):
            return True
        if code.co_filename.startswith("<frozen importlib") or code.co_name == "__del__":
            return False
        if str(frame.f_globals.get("__name__", "")).split(".")[0] in FRAGILE:
            return False
        frame = frame.f_back
    return True


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Turn the first SIGINT or SIGTERM into an exception (KeyboardInterrupt, ``Terminated``) where the
    program is, if that is a safe point (else a timer brings the signal back shortly); ignore any that
    follow, so that cleanup finishes."""
    global _signalled, _pending
    if _signalled is not None or _stopping:
        return
    if not _safe_point(frame):
        _pending = _pending or signum
        signal.setitimer(signal.ITIMER_REAL, RETRY_S)
        return
    _signalled, _pending = signum, None
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    """The timer of a held-back signal: deliver it now (or wait again)."""
    if _pending is not None:
        _on_signal(_pending, frame)


def _progress(setting: str) -> bool:
    """``run.progress``: on, off, or auto = only when stdout is a terminal (not in logs or pipes)."""
    return setting == "on" or (setting == "auto" and sys.stdout.isatty())


def _shown(path: Path, start: Path) -> Path:
    """``path`` relative to the directory the command was started in (absolute if outside it)."""
    try:
        return path.resolve().relative_to(start.resolve())
    except ValueError:
        return path


def _job(node: DictConfig) -> None:
    """One Hydra job: run the engine, write the four files into the job's staging folder, rename it to its
    final name, print the summary and, last, the folder (relative to where the command was started)."""
    from hydra.core.hydra_config import HydraConfig

    from sim import Result
    from sim.config import RunFolders, to_config
    from sim.engines import run_engine
    from sim.io import OutputError, check_target, describe_os_error, final_of, publish, remove_tree, write_folder
    from sim.report import summary

    hc = HydraConfig.get()
    start = Path(hc.runtime.cwd)
    staging = Path(hc.runtime.output_dir)
    final = final_of(staging)
    if final is not None:
        RunFolders.staging.add(staging)
    try:
        cfg = to_config(node, list(hc.overrides.task))
        try:
            check_target(final or staging, shown=_shown(final or staging, start))
        except OutputError as exc:
            raise Refused(str(exc)) from None
        t0 = time.perf_counter()
        table = run_engine(cfg, progress=_progress(cfg.run.progress))
        res = Result(table=table, config=cfg, seconds=time.perf_counter() - t0,
                     meta={"overrides": list(hc.overrides.task)})
        try:
            if final is None:  # a folder named outside conf/config.yaml's scheme: staged by Result.save
                final = write_folder(staging, res.write_files)
            else:
                res.write_files(staging)
                publish(staging, final, shown=_shown(final, start))
        except OSError as exc:
            raise Refused(describe_os_error(exc, _shown(final or staging, start))) from None
    except BaseException:
        if staging in RunFolders.staging:
            remove_tree(staging)
            RunFolders.staging.discard(staging)
            RunFolders.stopped.append(staging)
        raise
    RunFolders.staging.discard(staging)
    RunFolders.finished.append(final)
    print(f"scenario {cfg.scenario}, engine {cfg.engine}, seed {cfg.seed}, {res.seconds:.1f} s")
    print(summary(table))
    print(_shown(final, start), flush=True)


def _hydra_app() -> Callable[[], None]:
    """The Hydra application (``hydra.main`` on conf/config.yaml) running ``_job``; built when needed, so
    that importing this module stays light."""
    import hydra

    from sim.config import CONF_DIR

    return hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(_job)


def sweep_combinations(overrides: list[str]) -> list[list[str]]:
    """Every combination of a multirun's overrides, expanded as Hydra's basic sweeper will run them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0] or [[]]


def parse_args(args: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """Split a command line into flags (canonical name -> value) and overrides; one-line ConfigError on a flag
    that is unknown, refused, missing its value or combined with one it excludes."""
    from sim.config import ConfigError

    flags: dict[str, str | None] = {}
    overrides: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            overrides.append(arg)
            continue
        flag, eq, value = arg.partition("=")
        if flag in CONFIG_DIR_FLAGS:
            if not eq:
                if i >= len(args) or args[i].startswith("-"):
                    raise ConfigError(f"{flag}: no value given; allowed: {flag} DIR (a folder laid out like conf/)")
                value = args[i]
                i += 1
            if "--config-dir" in flags:
                raise ConfigError(f"{flag}: {value!r} is a second folder; allowed: one --config-dir (more in "
                                  "$SIM_CONFIG_PATH)")
            flags["--config-dir"] = value
            continue
        if flag in VALUE_FLAGS:
            value = value if eq else (args[i] if i < len(args) else "")
            raise ConfigError(f"{flag}: {value!r} is not supported (the configuration is conf/); allowed: key=value "
                              "overrides, -m for a sweep")
        if flag in SWITCHES:
            if eq:
                raise ConfigError(f"{flag}: {value!r} is not allowed (the flag takes no value); allowed: {flag} alone")
            flags[SWITCHES[flag]] = None
            continue
        if flag in WITH_VALUE or flag in WITH_OPTIONAL_VALUE:
            name = WITH_VALUE.get(flag) or WITH_OPTIONAL_VALUE[flag]
            if not eq and i < len(args) and not args[i].startswith("-") and (
                    flag in WITH_VALUE or args[i] in CHOICES[name]):
                value, eq = args[i], "="
                i += 1
            if not eq and flag in WITH_VALUE:
                raise ConfigError(f"{flag}: no value given; allowed: {flag} " + (
                    "|".join(CHOICES[name]) if name in CHOICES else "KEY"))
            if eq and name in CHOICES and value not in CHOICES[name]:
                raise ConfigError(f"{flag}: {value!r} is not allowed; allowed: {', '.join(CHOICES[name])}")
            flags[name] = value if eq else None
            continue
        raise ConfigError(f"{arg}: unknown flag; allowed: {ALLOWED_FLAGS}")
    commands = [c for c in COMMANDS if c in flags]
    if len(commands) > 1:
        raise ConfigError(f"{commands[1]}: cannot be combined with {commands[0]}; allowed: one of -r/--run, "
                          "-m/--multirun, -c/--cfg, -i/--info, -sc/--shell-completion")
    if "--resolve" in flags and not ({"--cfg", "--help"} & flags.keys()):
        raise ConfigError("--resolve: given without --cfg; allowed: --cfg job|hydra|all --resolve")
    if "--package" in flags and "--cfg" not in flags:
        raise ConfigError(f"--package: {flags['--package']!r} given without --cfg; allowed: --cfg job|hydra|all "
                          "--package KEY")
    return flags, overrides


def _is_multirun(flags: dict[str, str | None], overrides: list[str]) -> bool:
    return "--multirun" in flags or any(o.lstrip("+").replace(" ", "") == "hydra.mode=MULTIRUN" for o in overrides)


def validate_args(args: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """Check a command line before Hydra runs anything: its flags, its overrides (for ``-m``, every sweep
    combination) and that its output folder can be written. Raises ``ConfigError`` or ``OutputError``.

    Returns the flags and the overrides to hand to Hydra (run folders given on the command line turned
    into their staging names). With a flag that runs no job (``--help``, ``--cfg``, ...) only the flags
    are checked."""
    from sim.config import compose_many
    from sim.io import check_writable

    flags, overrides = parse_args(args)
    if any(f in flags for f in NO_JOB):
        return flags, overrides
    multirun = _is_multirun(flags, overrides)
    if multirun:
        from sim.config import check_overrides

        check_overrides(overrides, sweep=True)  # value by value first: a clear message before expanding
        compose_many(sweep_combinations(overrides))
    else:
        compose_many([overrides])
    staged = stage_run_dirs(overrides)
    check_writable(output_root(staged, multirun=multirun))
    return flags, staged


def _split_last_part(path: str) -> tuple[str, str]:
    """``a/b/${now:%H/%M}`` -> (``a/b/``, ``${now:%H/%M}``): split at the last ``/`` outside ``${...}``."""
    depth, cut = 0, -1
    for j, ch in enumerate(path):
        if path.startswith("${", j):
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif ch == "/" and not depth:
            cut = j
    return path[:cut + 1], path[cut + 1:]


def stage_run_dirs(overrides: list[str]) -> list[str]:
    """Overrides with a command line's ``hydra.run.dir`` / ``hydra.sweep.subdir`` turned into staging names
    (``out/x`` -> ``out/.x.partial``): a run writes there and is renamed to ``out/x`` when complete."""
    from sim.config import ConfigError
    from sim.io import final_of, staging_name

    out = []
    for o in overrides:
        key, eq, value = o.partition("=")
        if eq and key.lstrip("+") in RUN_DIR_KEYS:
            quote = value[0] if len(value) >= 2 and value[0] in "'\"" and value[-1] == value[0] else ""
            inner = value[1:-1] if quote else value
            head, tail = _split_last_part(inner.rstrip("/") or inner)
            if tail in ("", ".", ".."):
                raise ConfigError(f"{key.lstrip('+')}: {value!r} is not allowed; allowed: a path ending in the name "
                                  "of a new folder")
            if final_of(tail) is None:
                o = f"{key}={quote}{head}{staging_name(tail)}{quote}"
        out.append(o)
    return out


def output_root(overrides: list[str], multirun: bool) -> Path:
    """The folder that will hold the run folders (or the sweep's folder): its fixed part, before any
    ``${...}`` (e.g. ``results/runs``), from the command line or conf/config.yaml."""
    from omegaconf import OmegaConf

    from sim.config import CONF_DIR

    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    hydra_conf: Any = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml").hydra, resolve=False)
    template = str(hydra_conf["sweep" if multirun else "run"]["dir"])
    for o in overrides:
        k, eq, v = o.partition("=")
        if eq and k.lstrip("+") == key:
            template = v[1:-1] if len(v) >= 2 and v[0] in "'\"" and v[-1] == v[0] else v
    fixed = template.split("${", 1)[0]
    return Path((fixed if "${" not in template else os.path.dirname(fixed)) or ".")


def _cleanup() -> None:
    """Remove what an unfinished run left: its staging folder, any staging folder in this process's new
    sweep folder, and that sweep folder itself if no run in it finished. Removed folders are noted in
    ``RunFolders.stopped``."""
    if "sim.config" not in sys.modules:  # stopped before any run was set up: nothing to remove
        return
    from sim.config import RunFolders
    from sim.io import final_of, remove_tree

    for path in sorted(RunFolders.staging):
        if path.exists():
            remove_tree(path)
            RunFolders.stopped.append(path)
        RunFolders.staging.discard(path)
    sweep = RunFolders.sweep_dir
    if sweep is not None and RunFolders.sweep_dir_is_new and sweep.is_dir():
        for p in sorted(sweep.iterdir()):
            if p.is_dir() and final_of(p) is not None:
                remove_tree(p)
                RunFolders.stopped.append(p)
        if not any(p.is_dir() for p in sweep.iterdir()):  # only Hydra's multirun.yaml: no result
            remove_tree(sweep)


def _interrupted_line(signame: str, start: Path) -> str:
    """The one line an interrupted command prints: what was stopped, what was kept, what was not written."""
    if "sim.config" not in sys.modules:
        return f"interrupted ({signame}): stopped before the run started, nothing written"
    from sim.config import RunFolders
    from sim.io import final_of

    sweep, done = RunFolders.sweep_dir, RunFolders.finished
    # In a sweep the runs are named inside the sweep's folder (named once, with what was kept).
    runs = [final_of(p) or p for p in RunFolders.stopped]
    names = ", ".join(dict.fromkeys(str(p.name if sweep is not None else _shown(p, start)) for p in runs))
    if sweep is not None:
        kept = (f"{len(done)} finished run{'s' if len(done) != 1 else ''} kept in {_shown(sweep, start)}" if done
                else "no run finished")
        return f"interrupted ({signame}): sweep stopped, {kept}" + (f", nothing written for {names}" if names else "")
    if names:
        return f"interrupted ({signame}): run stopped, nothing written for {names}"
    if done:
        return f"interrupted ({signame}): stopped after the run was written to {_shown(done[-1], start)}"
    return f"interrupted ({signame}): stopped before the run started, nothing written"


def use_config_dir(folder: str) -> None:
    """Search ``folder`` for configuration files after conf/ (put first in ``$SIM_CONFIG_PATH``, which this
    process's composition and Hydra read); ConfigError (one line) if it is not a folder."""
    from sim.config import CONFIG_PATH_ENV, ConfigError

    if not Path(folder).expanduser().is_dir():
        raise ConfigError(f"--config-dir: {folder!r} is not a folder; allowed: a folder laid out like conf/ "
                          "(DIR/scenario/NAME.yaml)")
    os.environ[CONFIG_PATH_ENV] = os.pathsep.join(
        p for p in (str(Path(folder).expanduser().resolve()), os.environ.get(CONFIG_PATH_ENV, "")) if p)


def _main(args: list[str]) -> int:
    """List scenarios, or validate the command line and hand it to Hydra (overrides first, then flags)."""
    from sim.config import ConfigError, RunFolders, hydra_overrides, register_schema
    from sim.io import OutputError

    RunFolders.reset()
    try:
        flags = parse_args(args)[0]
        if "--config-dir" in flags:
            use_config_dir(str(flags["--config-dir"]))
        if "--list-scenarios" in flags:
            return _list_scenarios()
        flags, overrides = validate_args(args)
        flags.pop("--config-dir", None)
        overrides = hydra_overrides(overrides)
    except (ConfigError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    register_schema()
    # Flags last, as --flag=value: Hydra's parser can then not take an override for a flag's value.
    sys.argv = [sys.argv[0], *overrides, *(f if v is None else f"{f}={v}" for f, v in flags.items())]
    _hydra_app()()
    return 0


def _list_scenarios() -> int:
    from sim.scenarios import describe, list_scenarios

    try:
        for name in list_scenarios():
            d = describe(name)
            print(f"{name:<20} {d['name_en']} | {d['name_ja']}\n{'':<20} {d['en']}\n{'':<20} {d['ja']}\n"
                  f"{'':<20} source: {d['source']}")
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: list scenarios, or validate and hand over to Hydra. Returns the exit status.

    SIGINT and SIGTERM stop the run with one line on stderr and status 130 or 143; the run's staging
    folder is removed (a sweep keeps its finished runs).
    """
    global _signalled, _pending, _stopping
    args = list(sys.argv[1:] if argv is None else argv)
    start = Path.cwd()
    _signalled, _pending, _stopping = None, None, False
    handlers: dict[signal.Signals, Any] = {}
    try:
        for sig, handler in ((signal.SIGINT, _on_signal), (signal.SIGTERM, _on_signal), (signal.SIGALRM, _on_alarm)):
            handlers[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        try:
            return _main(args)
        except (KeyboardInterrupt, Terminated) as exc:
            _stopping = True
            sigterm = isinstance(exc, Terminated)
            _cleanup()
            print(_interrupted_line("SIGTERM" if sigterm else "SIGINT", start), file=sys.stderr, flush=True)
            return EXIT_SIGTERM if sigterm else EXIT_SIGINT
        except Refused as exc:
            _stopping = True
            _cleanup()
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return EXIT_BAD_INPUT
        finally:
            _stopping = True
            _cleanup()
    finally:
        if signal.SIGALRM in handlers:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    raise SystemExit(main())
