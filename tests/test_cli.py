"""The command line and the Python API: outputs, bad input, where files go.

CLI runs happen in a fresh temporary working directory, so "nothing written" can be checked
strictly (the directory stays empty) and a run's files can only land in its results/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import simulate
from sim.io import atomic_write_text

from .test_config import BAD as CONFIG_BAD

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")} if d.exists() else set()


def check_run_dir(run_dir: Path, steps: int, seed: int) -> None:
    for name in ("table.parquet", "config.yaml", "ladder.png", "run.json"):
        assert (run_dir / name).stat().st_size > 0, name
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml", "ladder.png", "run.json", "table.parquet"]
    df = pd.read_parquet(run_dir / "table.parquet")
    assert df["step"].max() == steps
    assert f"seed: {seed}" in (run_dir / "config.yaml").read_text()
    assert (run_dir / "ladder.png").read_bytes()[:4] == b"\x89PNG"
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["seed"] == seed and meta["steps"] == steps and meta["engine"] == "mesa" and "wall_time_s" in meta


def test_run_writes_the_four_files_under_results_and_prints_the_directory_last(tmp_path):
    root_before = set(ROOT.iterdir())
    out = cli("population=tiny", "run.steps=20", "seed=3", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    run_dir = tmp_path / last
    assert run_dir.is_dir() and run_dir.parent == tmp_path / "results" / "runs"
    assert run_dir.name.endswith("_baseline_s3")
    check_run_dir(run_dir, steps=20, seed=3)
    assert [p.name for p in tmp_path.iterdir()] == ["results"], "only results/ in the working directory"
    assert "migrant" in out.stdout and "移住" in out.stdout and "yen" in out.stdout
    assert "calling model.step" not in out.stdout + out.stderr, "no per-step log noise"
    assert set(ROOT.iterdir()) == root_before and not (ROOT / "outputs").exists()


def test_multirun_sweep_writes_one_directory_per_combination(tmp_path):
    out = cli("-m", "population=tiny", "run.steps=5", "seed=1,2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    last = tmp_path / out.stdout.strip().splitlines()[-1]
    sweep = last.parent
    assert sweep.parent == tmp_path / "results" / "multirun"
    runs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["0_baseline_s1", "1_baseline_s2"] and last == runs[-1]
    for seed, run_dir in zip((1, 2), runs):
        check_run_dir(run_dir, steps=5, seed=seed)
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


BAD = [
    *CONFIG_BAD,  # every bad override of the configuration, here through the real command line
    (["behaviour.engagement_decay=-0.1"], "behaviour.engagement_decay", "-0.1"),
    (["-m", "seed=1,2,-4"], "seed", "-4"),
    (["-m", "engine=mesa,nope"], "engine", "nope"),
    (["-m", "policy.targeting=interval(0,1)"], "policy.targeting", "interval(0,1)"),
    (["-cn", "other"], "-cn", "other"),
]


@pytest.mark.parametrize(("args", "key", "value"), BAD, ids=[" ".join(a) for a, _, _ in BAD])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, key, value):
    results_before = listing(ROOT / "results")
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert key in lines[0] and value in lines[0] and "allowed" in lines[0]
    assert "Traceback" not in out.stderr + out.stdout
    assert listing(tmp_path) == set(), "nothing written"
    assert listing(ROOT / "results") == results_before


def test_population_too_large_for_memory_is_refused_up_front(tmp_path):
    out = cli("population=three_metros", cwd=tmp_path)  # the Mesa engine would need objects for 46.78M people
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "GiB" in lines[0] and "limit" in lines[0] and "46,780,000" in lines[0]
    assert listing(tmp_path) == set()


def test_list_scenarios_shows_names_descriptions_and_sources(tmp_path):
    out = cli("--list-scenarios", cwd=tmp_path)
    assert out.returncode == 0
    assert "funding_cliff" in out.stdout and "baseline" in out.stdout
    assert "000_475218e7bb58dd1d.txt:791" in out.stdout and "補助終了" in out.stdout
    assert listing(tmp_path) == set()


def test_simulate_writes_nothing_and_is_reproducible():
    pytest.importorskip("sim.model")
    before = listing(ROOT / "results")
    a = simulate(["population=tiny", "run.steps=15", "seed=5"])
    b = simulate(["population=tiny", "run.steps=15", "seed=5"])
    c = simulate(["population=tiny", "run.steps=15", "seed=6"])
    assert listing(ROOT / "results") == before
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not a.table.equals(c.table)
    assert a.config.seed == 5 and a.config.population.urban == 500
    assert "fan" in a.summary()


def test_simulate_saves_only_when_asked(tmp_path):
    res = simulate(["population=tiny", "run.steps=3"], out_dir=tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.yaml", "ladder.png", "run.json",
                                                                     "table.parquet"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["overrides"] == ["population=tiny", "run.steps=3"]
    assert res.table["step"].max() == 3


def test_same_seed_same_table_in_another_process(tmp_path):
    pytest.importorskip("sim.model")
    code = ("from sim import simulate; simulate(['population=tiny','run.steps=15','seed=9'])"
            f".table.to_parquet(r'{tmp_path / 't.parquet'}')")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
    here = simulate(["population=tiny", "run.steps=15", "seed=9"]).table
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), here)


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [q.name for q in tmp_path.iterdir()] == ["a.txt"]

    def boom(_):
        raise RuntimeError("disk full")

    from sim.io import atomic_write

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert p.read_text() == "two"
    assert [q.name for q in tmp_path.iterdir()] == ["a.txt"]
