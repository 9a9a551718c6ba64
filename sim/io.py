"""Atomic output: a reader never sees a half-written file or a half-written run folder.

Files are written to a temporary name beside their place and renamed into it. A run folder is
written the same way one level up: its files go into a hidden staging folder beside the final
one (``.<name>.partial``), which is renamed to ``<name>`` only when every file is complete, and
removed on any failure or interrupt. Files and folders get the user's normal permissions
(``0666`` / ``0777`` less the umask), as ``open()`` and ``mkdir`` would give them.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

# The files of a run folder (sim.Result.save); a folder holding nothing else may be replaced by a new run.
RUN_FILES = frozenset({"table.parquet", "config.yaml", "ladder.png", "run.json",  # a run (sim.Result.save)
                       "report.html", "report.pdf", "results.csv", "runs.csv"})  # a report (sim.planner)
STAGING_SUFFIX = ".partial"


class OutputError(OSError):
    """Output cannot go where asked: the message is one line naming the path and what is allowed."""


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` on a new temporary file beside ``path``, then rename it into place.

    The temporary file is created with mode ``0666`` less the umask (what ``open(path, "w")`` gives),
    so the finished file has the user's normal permissions.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - 32 random bits already taken
            continue
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def staging_name(name: str) -> str:
    """The hidden name a run folder has while it is written: ``.<name>.partial``."""
    return f".{name}{STAGING_SUFFIX}"


def final_of(staging: str | Path) -> Path | None:
    """The final folder of a staging folder (``a/.b.partial`` -> ``a/b``); None if not a staging name."""
    p = Path(staging)
    name = p.name
    if len(name) > 1 + len(STAGING_SUFFIX) and name.startswith(".") and name.endswith(STAGING_SUFFIX):
        return p.with_name(name[1:-len(STAGING_SUFFIX)])
    return None


def describe_os_error(exc: OSError, path: str | Path) -> str:
    """One line for an OSError met while writing the run folder ``path``: the folder, the reason, what is
    allowed (the file that failed is a temporary name inside the folder, of no use to the reader)."""
    if isinstance(exc, OutputError):
        return str(exc)
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{path}: cannot write ({reason}); allowed: a folder you can write to, with free space"


def check_target(final: str | Path, shown: str | Path | None = None) -> None:
    """Refuse a final run folder that exists and is not an earlier run's folder (``OutputError``).

    An existing folder holding only run files (or nothing) may be replaced by a new run; anything
    else (another folder of the user's, a file) is left alone and refused. ``shown`` is how the
    message names the folder (default: as given).
    """
    final = Path(final)
    name = final if shown is None else shown
    if not os.path.lexists(final):
        return
    if not final.is_dir() or final.is_symlink():
        raise OutputError(f"{name}: exists and is not a folder; allowed: a new folder or an earlier run's folder "
                          "(replaced)")
    others = sorted(p.name for p in final.iterdir() if p.name not in RUN_FILES)
    if others:
        listed = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise OutputError(f"{name}: exists and holds other files ({listed}); allowed: a new folder or an earlier "
                          "run's folder (replaced)")


def check_writable(folder: str | Path) -> None:
    """Refuse (``OutputError``) a folder that cannot be created or written, before anything is written.

    Walks up to the nearest existing ancestor: every existing part must be a folder, and the deepest
    existing one must be writable (there the missing parts, then the run folders, will be created).
    """
    folder = Path(folder)
    p = folder
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise OutputError(f"{p}: is a file, not a folder; allowed: a folder you can write to for {folder} "
                          "(move the file away or run elsewhere)")
    if not os.access(p, os.W_OK | os.X_OK):
        raise OutputError(f"{p}: not writable (permission denied); allowed: a folder you can write to for {folder} "
                          "(change its permissions or run elsewhere)")


def make_staging(final: str | Path) -> Path:
    """Create a new, empty, uniquely named hidden staging folder beside ``final`` (parents as needed)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    while True:
        staging = final.parent / staging_name(f"{final.name}.{secrets.token_hex(4)}")
        try:
            staging.mkdir()
            return staging
        except FileExistsError:  # pragma: no cover - 32 random bits already taken
            continue


def remove_tree(path: str | Path) -> None:
    """Remove a staging folder and everything in it; a folder that is already gone is fine."""
    shutil.rmtree(path, ignore_errors=True)


def publish(staging: str | Path, final: str | Path, shown: str | Path | None = None) -> Path:
    """Rename a complete staging folder to its final name.

    If ``final`` exists and is an earlier run's folder (``check_target``), it is moved aside to a
    hidden name, the new folder renamed into place, and the old one deleted: a reader sees the old
    run or the new one, never a mixture. Raises ``OutputError`` if ``final`` may not be replaced;
    ``shown`` is how messages name ``final`` (default: as given).
    """
    staging, final = Path(staging), Path(final)
    check_target(final, shown)
    if not os.path.lexists(final):
        try:
            os.rename(staging, final)
            return final
        except OSError as exc:  # created meanwhile by someone else, and not empty
            raise OutputError(describe_os_error(exc, final if shown is None else shown)) from None
    old = final.parent / staging_name(f"{final.name}.old-{secrets.token_hex(4)}")
    os.rename(final, old)
    try:
        os.rename(staging, final)
    except BaseException:
        os.rename(old, final)
        raise
    remove_tree(old)
    return final


def write_folder(final: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(folder)`` on a new staging folder beside ``final``, then publish it as ``final``.

    On any exception (including KeyboardInterrupt) the staging folder is removed and ``final`` is
    untouched. OSErrors come out as ``OutputError`` with a one-line message naming the path.
    """
    final = Path(final)
    try:
        check_target(final)
        staging = make_staging(final)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(describe_os_error(exc, final)) from None
    try:
        write(staging)
        return publish(staging, final)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(describe_os_error(exc, final)) from None
    finally:
        if staging.exists():
            remove_tree(staging)
