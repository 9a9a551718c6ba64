"""The command line and the Python API: outputs, bad input, where files go."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import simulate
from sim.io import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def results_listing() -> set[str]:
    return {str(p.relative_to(ROOT)) for p in (ROOT / "results").rglob("*")}


def test_run_writes_the_four_files_and_prints_the_directory_last():
    before = set((ROOT).iterdir())
    out = cli("population=tiny", "run.steps=20", "seed=3")
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    run_dir = ROOT / last
    assert run_dir.is_dir() and run_dir.resolve().is_relative_to((ROOT / "results").resolve())
    for name in ("table.parquet", "config.yaml", "ladder.png", "run.json"):
        assert (run_dir / name).stat().st_size > 0, name
    df = pd.read_parquet(run_dir / "table.parquet")
    assert df["step"].max() == 20
    assert "seed: 3" in (run_dir / "config.yaml").read_text()
    assert (run_dir / "ladder.png").read_bytes()[:4] == b"\x89PNG"
    assert "migrant" in out.stdout and "yen" in out.stdout
    assert set(ROOT.iterdir()) == before, "nothing new at the repository root (no outputs/ folder)"
    assert not list(run_dir.glob(".*.tmp")), "no temporary files left"


BAD = [
    (["population.foo=1"], "population.foo"),
    (["+population.foo=1"], "population.foo"),
    (["foo=1"], "foo"),
    (["population.urban=abc"], "population.urban"),
    (["population.urban=1.5"], "population.urban"),
    (["population.urban=-5"], "population.urban"),
    (["policy.targeting=1.5"], "policy.targeting"),
    (["behaviour.engagement_decay=-0.1"], "behaviour.engagement_decay"),
    (["regions.count=0"], "regions.count"),
    (["scenario=nope"], "scenario"),
    (["engine=nope"], "engine"),
    (["population=nope"], "population"),
    (["policy.donor_path=maybe"], "policy.donor_path"),
    (["-m", "seed=1,2,-4"], "seed"),
]


@pytest.mark.parametrize(("args", "key"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_one_line_exit_2_nothing_written(args, key):
    before = results_listing()
    out = cli(*args)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert key in lines[0] and "allowed" in lines[0]
    value = args[-1].split("=", 1)[1].split(",")[-1]
    assert value in lines[0]
    assert "Traceback" not in out.stderr
    assert results_listing() == before


def test_population_too_large_for_memory_is_refused_up_front():
    before = results_listing()
    out = cli("population=three_metros")  # the Mesa engine would need objects for 46.78M people
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "GiB" in lines[0] and "limit" in lines[0] and "46,780,000" in lines[0]
    assert results_listing() == before


def test_list_scenarios():
    out = cli("--list-scenarios")
    assert out.returncode == 0
    assert "funding_cliff" in out.stdout and "baseline" in out.stdout


def test_simulate_writes_nothing_and_is_reproducible():
    before = results_listing()
    a = simulate(["population=tiny", "run.steps=15", "seed=5"])
    b = simulate(["population=tiny", "run.steps=15", "seed=5"])
    c = simulate(["population=tiny", "run.steps=15", "seed=6"])
    assert results_listing() == before
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not a.table.equals(c.table)
    assert a.config.seed == 5 and a.config.population.urban == 500
    assert "fan" in a.summary()


def test_same_seed_same_table_in_another_process(tmp_path):
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
