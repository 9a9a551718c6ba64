"""The engine-equivalence tests catch realistic bugs: each bug below is planted in a copy of the
project (one engine only), ``tests/test_equivalence.py`` is run on the copy, and it must fail.

A bug whose text is no longer found in the engine fails this test too, so the list follows the code:
change the snippet together with the line it mutates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (name, file, the line as it is, the line with the bug)
BUGS = [
    ("calendar one week late", "sim/vectorized.py",
     "self.wk = Week.start(self.week, self.rc,",
     "self.wk = Week.start(self.week + 1, self.rc,"),
    ("every region's fans as remote as the first region", "sim/vectorized.py",
     "self.remoteness[self.region[E]], b)",
     "self.remoteness[0], b)"),
    ("every region's guides contact region 0", "sim/vectorized.py",
     "contacted = self._contacts(r, agent_seats)",
     "contacted = self._contacts(0, agent_seats)"),
    ("social exposure halved (each tie counted twice in the degree)", "sim/vectorized.py",
     "return rules.exposure(self.cnt[ids], self.deg[ids])",
     "return rules.exposure(self.cnt[ids], 2 * self.deg[ids])"),
    ("contact seats sized as match seats", "sim/vectorized.py",
     'seats, agent_seats = self.agent_seats("contact", r)',
     'seats, agent_seats = self.agent_seats("match", r)'),
    ("follow-ups given to partners instead of fans", "sim/vectorized.py",
     'self._award("followup", r, in_r[uw.stage_e[in_r] == rules.FAN])',
     'self._award("followup", r, in_r[uw.stage_e[in_r] == rules.PARTNER])'),
    ("Mesa engine: every match holds (the fan's skill looked up as skilled)", "sim/agents/urban.py",
     'm.rng.random() < m.match_holds[self.skilled]',
     'm.rng.random() < m.match_holds[True]'),
    ("new fans' attachment read for the wrong people", "sim/vectorized.py",
     "rules.entry_engagement(p.entry_bar, self.attached[new_fans], b)",
     "rules.entry_engagement(p.entry_bar, self.attached[:new_fans.size], b)"),
    ("Mesa engine: every local hosts on its own, as if a key person", "sim/agents/local.py",
     "b.burden_sensitivity, self.key, tied)",
     "b.burden_sensitivity, True, tied)"),
    ("Mesa engine: a partner's roots forgotten when a life event comes (no U-turn)", "sim/agents/urban.py",
     "b.migrate_engagement_power, self.roots, b.roots_move_factor)",
     "b.migrate_engagement_power)"),
    ("Mesa engine: contact applications filed under region 0", "sim/agents/urban.py",
     'm.apply("contact", r, self, weight)',
     'm.apply("contact", 0, self, weight)'),
]


def planted_copy(tmp: Path, file: str, old: str, new: str) -> Path:
    """The project's code, configuration and tests copied to ``tmp`` with ``old`` replaced by ``new``
    in ``file``. Timestamps are kept, so compiled kernels cached beside unchanged modules are reused."""
    ignore = shutil.ignore_patterns(".pytest_cache", "results")
    for part in ("sim", "conf", "tests"):
        shutil.copytree(ROOT / part, tmp / part, ignore=ignore, copy_function=shutil.copy2)
    shutil.copy2(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    target = tmp / file
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{file}: the line to mutate is not found exactly once: {old!r}"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return tmp


@pytest.mark.parametrize(("name", "file", "old", "new"), BUGS, ids=[b[0] for b in BUGS])
def test_the_equivalence_tests_catch_a_planted_bug(tmp_path, name, file, old, new):
    copy = planted_copy(tmp_path, file, old, new)
    env = {**os.environ, "PYTHONPATH": str(copy)}
    out = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                          "tests/test_equivalence.py"], cwd=copy, env=env, capture_output=True, text=True,
                         timeout=900)
    # exit status 1: tests ran and at least one failed (2-4 would be a usage or collection error)
    assert out.returncode == 1, f"{name}: not caught (exit {out.returncode})\n{out.stdout[-3000:]}{out.stderr[-2000:]}"
    # and it failed on a check, not on an error of the planted copy
    assert "FAILED tests/test_equivalence.py::" in out.stdout and "AssertionError" in out.stdout, out.stdout[-3000:]
