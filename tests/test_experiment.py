"""Experiments (sim.experiment): seeds, designs, validation, resume after a kill, backends, analysis, load.

Every experiment here runs the vectorized engine on the tiny population for 20 weeks (a quarter of a
second a run) and writes under pytest's tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim import experiment as ex
from sim import simulate
from sim.config import compose
from sim.paired import METRICS
from sim.table import COLUMNS

pytestmark = pytest.mark.xdist_group("experiment")  # one worker: the reference run is made once

ROOT = Path(__file__).resolve().parent.parent
BASE = "base: {engine: vectorized, population: tiny, run.steps: 20}\n"
GRID = BASE + """\
name: tgrid
design:
  method: grid
  parameters: {policy.guides: [1, 3.0], policy.targeting: [0, 0.8]}
replicates: 3
seed: 7
"""


def write(folder: Path, text: str, name: str = "exp.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry of a folder (hidden ones too) with its inode and modification time."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()} if folder.is_dir() else {}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The 2 x 2 grid x 3 replicates, run once in this process: (file, results root, report)."""
    tmp = tmp_path_factory.mktemp("grid")
    path = write(tmp, GRID)
    report = ex.run(path, out=tmp / "res", jobs=1)
    return path, tmp / "res", report


@pytest.fixture(scope="module")
def reference(grid):
    path, root, _ = grid
    return ex.load(path, out=root)


# ------------------------------------------------------------------------------------------ seeds, design


def test_replicate_seeds_are_seedsequence_children_shared_across_points():
    seeds = ex.replicate_seeds(7, 3)
    assert seeds == [int(np.random.SeedSequence(7).spawn(3)[k].generate_state(1)[0]) for k in range(3)]
    assert len(set(seeds)) == 3
    assert ex.replicate_seeds(7, 5)[:3] == seeds  # replicate k does not depend on how many there are
    assert ex.replicate_seeds(8, 3) != seeds
    exp = ex.parse(GRID)
    for run in exp.runs:
        assert run.seed == seeds[run.replicate]  # common random numbers: one seed per replicate, every point
        assert f"seed={run.seed}" in exp.overrides(run)


def test_grid_is_every_combination_with_integral_floats_as_integers():
    exp = ex.parse(GRID)
    assert exp.keys == ("policy.guides", "policy.targeting")
    assert exp.points == ((1, 0.0), (1, 0.8), (3, 0.0), (3, 0.8))
    assert all(type(p[0]) is int and type(p[1]) is float for p in exp.points)
    assert "policy.guides=3" in exp.overrides(exp.runs[2])  # 3.0 in the file, an integer for the model
    listed = ex.parse(BASE + "design: {method: list, points: [{policy.guides: 15.0}]}\nseed: 1\n")
    assert listed.points == ((15,),) and compose(listed.overrides(listed.runs[0])).policy.guides == 15


def test_fast_point_check_gives_the_configuration_compose_gives():
    exp = ex.parse(BASE + "design:\n  method: list\n  points:\n"
                   "    - {scenario: guides_high, policy.targeting: 0.5}\n"
                   "    - {scenario: funding_cliff, policy.targeting: 0.2}\nseed: 3\n")
    fast = list(ex.point_configs(exp))
    for cfg, run in zip(fast, exp.runs):
        assert cfg == compose(exp.overrides(run))
    assert fast[0].policy.guides != fast[1].policy.guides  # the scenario's own values are there


@pytest.mark.parametrize("method, extra, rows", [
    ("random", "samples: 5", 5), ("lhs", "samples: 6", 6), ("sobol", "samples: 4", 4 * 4),
    ("morris", "trajectories: 3", 3 * 3)])
def test_samplers_give_points_within_bounds_the_same_every_time(method, extra, rows):
    text = (BASE + f"design:\n  method: {method}\n  {extra}\n  parameters:\n"
            "    policy.guides: {bounds: [1, 9], integer: true}\n    behaviour.social_hazard: [0.001, 0.004]\n"
            "seed: 5\n")
    exp = ex.parse(text)
    assert len(exp.points) == rows
    guides = [p[0] for p in exp.points]
    hazard = [p[1] for p in exp.points]
    assert all(type(g) is int and 1 <= g <= 9 for g in guides)
    assert all(0.001 <= h <= 0.004 for h in hazard) and len(set(hazard)) > 1
    assert ex.parse(text).points == exp.points
    assert ex.parse(text.replace("seed: 5", "seed: 6")).points != exp.points


def test_shipped_experiment_files_are_valid():
    levers, morris, sobol = (ex.read(n) for n in ("levers", "morris", "sobol"))
    assert (len(levers.points), levers.replicates, levers.outputs) == (12, 3, "table")
    assert set(levers.keys) == {"policy.guides", "policy.online_events_per_year", "policy.offline_programs_per_year"}
    assert (morris.method, len(morris.keys), morris.outputs) == ("morris", 8, "summary")
    assert len(morris.points) == morris.settings["trajectories"] * (len(morris.keys) + 1)
    assert (sobol.method, sobol.outputs) == ("sobol", "summary")
    for exp in (levers, morris, sobol):
        assert "engine=vectorized" in exp.base


# ------------------------------------------------------------------------------------------ running


def test_grid_gives_twelve_distinct_runs_in_twelve_files(grid, reference):
    path, root, report = grid
    exp = ex.read(path)
    assert (report.total, report.ran, report.failed) == (12, 12, [])
    runs_dir = root / "tgrid" / "runs"
    assert sorted(files(runs_dir)) == sorted(r.file for r in exp.runs)
    assert len({(r.params, r.seed) for r in exp.runs}) == 12
    assert len(reference) == 12 * 21
    assert reference.groupby(["point", "replicate"]).ngroups == 12
    per_run = reference.groupby(["point", "replicate"])
    assert per_run["seed"].nunique().eq(1).all() and per_run["policy.guides"].nunique().eq(1).all()
    final = reference.loc[reference["step"] == 20].set_index(["point", "replicate"])
    assert final.loc[(0, 0), "cost_yen"] != final.loc[(2, 0), "cost_yen"]  # 1 guide or 3: the point applied
    assert not final.loc[[(0, 0), (0, 1), (0, 2)], ["fan", "members", "dropouts"]].duplicated().any()
    # one stored run is exactly the model's run with its point's values and its replicate's seed
    run = next(r for r in exp.runs if r.point == 3 and r.replicate == 2)
    assert run.params == (("policy.guides", 3), ("policy.targeting", 0.8)) and run.file == "p0003-r02.parquet"
    direct = simulate(["engine=vectorized", "population=tiny", "run.steps=20", "policy.guides=3",
                       "policy.targeting=0.8", f"seed={exp.seeds[2]}"]).table
    stored = pd.read_parquet(runs_dir / run.file)
    assert (stored["seed"] == exp.seeds[2]).all() and (stored["policy.guides"] == 3).all()
    pd.testing.assert_frame_equal(stored[list(COLUMNS)], direct)


def test_load_has_the_parameters_replicate_seed_and_outputs(grid, reference):
    path, root, _ = grid
    assert list(reference.columns) == ["point", "policy.guides", "policy.targeting", "replicate", "seed",
                                       *COLUMNS]
    assert reference["policy.guides"].dtype == np.int64 and reference["policy.targeting"].dtype == np.float64
    assert set(zip(reference["policy.guides"], reference["policy.targeting"])) == {(1, 0.0), (1, 0.8), (3, 0.0),
                                                                                 (3, 0.8)}
    pd.testing.assert_frame_equal(ex.load("tgrid", out=root), reference)
    with pytest.raises(FileNotFoundError, match="no results"):
        ex.load("nothing_here", out=root)


def test_manifest_records_the_file_code_and_every_run(grid):
    path, root, _ = grid
    m = json.loads((root / "tgrid" / "manifest.json").read_text(encoding="utf-8"))
    assert m["content"] == path.read_text(encoding="utf-8")
    assert m["design_hash"] == ex.read(path).design_hash
    assert m["code"]["version"] == sim.__version__ and "commit" in m["code"]
    assert m["counts"] == {"done": 12, "missing": 0, "failed": 0, "total": 12}
    seeds = ex.replicate_seeds(7, 3)
    for r in m["runs"]:
        assert r["status"] == "done" and r["seconds"] > 0 and r["seed"] == seeds[r["replicate"]]
        assert set(r["params"]) == {"policy.guides", "policy.targeting"}


def test_same_runs_in_worker_processes_are_identical(grid, reference, tmp_path):
    path, _, _ = grid
    report = ex.run(path, out=tmp_path, jobs=2, batch=2)
    assert (report.ran, report.failed) == (12, [])
    pd.testing.assert_frame_equal(ex.load(path, out=tmp_path), reference)


def test_submitit_backend_gives_the_same_results(grid, reference, tmp_path):
    pytest.importorskip("submitit")
    path, _, _ = grid
    report = ex.run(path, out=tmp_path, backend="slurm", cluster="debug", batch=5)
    assert (report.ran, report.failed) == (12, [])
    pd.testing.assert_frame_equal(ex.load(path, out=tmp_path), reference)


@pytest.mark.slow
@pytest.mark.parametrize("backend, cluster", [("slurm", "local"), ("ray", None)])
def test_process_backends_give_the_same_results(grid, reference, tmp_path, backend, cluster):
    pytest.importorskip({"slurm": "submitit", "ray": "ray"}[backend])
    path, _, _ = grid
    report = ex.run(path, out=tmp_path, backend=backend, cluster=cluster, jobs=2)
    assert (report.ran, report.failed) == (12, [])
    pd.testing.assert_frame_equal(ex.load(path, out=tmp_path), reference)


def test_finished_experiment_does_nothing_and_says_so(grid, capsys):
    path, root, _ = grid
    before = {**files(root / "tgrid"), **files(root / "tgrid" / "runs")}
    assert ex.main(["run", str(path), "--out", str(root), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "all 12 runs already done; nothing to run" in out
    assert {**files(root / "tgrid"), **files(root / "tgrid" / "runs")} == before


def test_killed_experiment_resumes_to_one_file_per_run(grid, reference, tmp_path, capsys):
    path = write(tmp_path, GRID)
    root = tmp_path / "res"
    runs_dir = root / "tgrid" / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "sim.experiment", "run", str(path), "--out", str(root),
                             "--jobs", "1"], cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(ex._finished(runs_dir)) < 3:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # what a kill during a write leaves: a hidden temporary file
    (runs_dir / ".p0001-r00.parquet.0badf00d.tmp").write_bytes(b"PAR1 half a file")
    kept = {n: s for n, s in files(runs_dir).items() if not n.startswith(".")}
    assert 3 <= len(kept) < 12

    st = ex.status(path, out=root)
    assert (len(st.done), len(st.missing)) == (len(kept), 12 - len(kept))
    assert ex.main(["status", str(path), "--out", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"{len(kept)} of 12 runs done, {12 - len(kept)} missing" in out
    assert out.count("missing p") == 12 - len(kept)

    assert ex.main(["run", str(path), "--out", str(root), "--jobs", "1"]) == 0
    assert f"{12 - len(kept)} runs done now, 12 of 12" in capsys.readouterr().out
    after = files(runs_dir)
    assert sorted(after) == sorted(r.file for r in ex.read(path).runs)  # one file per run, no temporary file
    assert {n: after[n] for n in kept} == kept  # the finished runs were not run again
    m = json.loads((root / "tgrid" / "manifest.json").read_text(encoding="utf-8"))
    assert m["counts"]["done"] == 12 and all(r["seconds"] is not None for r in m["runs"])
    pd.testing.assert_frame_equal(ex.load(path, out=root), reference)  # another process, the same runs


def test_changed_design_is_refused_unless_forced(tmp_path, capsys):
    text = BASE + "name: small\ndesign: {method: list, points: [{policy.guides: 2}]}\nreplicates: 2\nseed: 1\n"
    path = write(tmp_path, text)
    root = tmp_path / "res"
    assert ex.main(["run", str(path), "--out", str(root), "--jobs", "1"]) == 0
    before = files(root / "small" / "runs")
    write(tmp_path, text.replace("seed: 1", "seed: 2"))
    capsys.readouterr()
    assert ex.main(["run", str(path), "--out", str(root), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another design" in err and "--force" in err
    assert files(root / "small" / "runs") == before
    assert ex.status(path, out=root).stale
    write(tmp_path, "# a comment changes no run\n" + text)
    assert ex.main(["run", str(path), "--out", str(root), "--jobs", "1"]) == 0
    assert "nothing to run" in capsys.readouterr().out
    assert json.loads((root / "small" / "manifest.json").read_text())["content"].startswith("# a comment")
    write(tmp_path, text.replace("seed: 1", "seed: 2"))
    assert ex.main(["run", str(path), "--out", str(root), "--jobs", "1", "--force"]) == 0
    loaded = ex.load(path, out=root)
    assert sorted(loaded["seed"].unique()) == sorted(ex.replicate_seeds(2, 2))


def test_one_run_of_an_experiment_at_a_time(tmp_path):
    path = write(tmp_path, GRID)
    folder = tmp_path / "res" / "tgrid"
    folder.mkdir(parents=True)
    with ex._Lock(folder), pytest.raises(ex.ExperimentError, match="another run of this experiment"):
        ex.run(path, out=tmp_path / "res", jobs=1)


# ------------------------------------------------------------------------------------------ bad input


BAD = [
    ("nam: x\n" + GRID, "nam"),
    (GRID.replace("policy.guides:", "policy.guidez:"), "policy.guidez"),
    (GRID.replace("[0, 0.8]", "[0, 1.5]"), "policy.targeting: 1.5"),
    (BASE + "design: {method: list, points: [{policy.guides: 7.5}]}\nseed: 1\n", "policy.guides: 7.5"),
    (GRID.replace("method: grid", "method: factorial"), "design.method"),
    (GRID.replace("replicates: 3", "replicates: 0"), "replicates"),
    (GRID.replace("seed: 7", "seed: -1"), "seed"),
    (GRID.replace("run.steps: 20}", "run.steps: 20, seed: 3}"), "seed"),
    (GRID.replace("run.steps: 20}", "run.steps: 20, policy.guides: 2}"), "also set in base"),
    (GRID.replace("population: tiny", "population: huge"), "population"),
    (GRID + "outputs: everything\n", "outputs"),
    (GRID + "  oops: [\n", "not valid YAML"),
    (BASE + "design: {method: sobol, samples: 10, parameters: {policy.targeting: [0, 1]}}\nseed: 1\n", "power of 2"),
    (BASE + "design: {method: lhs, samples: 4, parameters: {policy.targeting: [1, 1]}}\nseed: 1\n", "low < high"),
    (BASE + "design: {method: lhs, samples: 4, parameters: {policy.guides: [1, 9]}}\nseed: 1\n", "policy.guides"),
    (BASE + "design: {method: grid, parameters: {behaviour.fan_floor: [0.1, 0.4]}}\nseed: 1\n", "partner_floor"),
    (GRID + "backend: cloud\n", "backend"),
]


@pytest.mark.parametrize("text, needle", BAD)
def test_bad_file_is_refused_with_one_line_and_nothing_written(tmp_path, capsys, text, needle):
    path = write(tmp_path, text)
    assert ex.main(["run", str(path), "--out", str(tmp_path / "res")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and needle in captured.err and "allowed" in captured.err, captured.err
    assert not (tmp_path / "res").exists()


def test_command_line_exit_status_2_on_a_bad_file(tmp_path):
    path = write(tmp_path, GRID.replace("[0, 0.8]", "[0, 1.5]"))
    proc = subprocess.run([sys.executable, "-m", "sim.experiment", "run", str(path), "--out", str(tmp_path / "r")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(
        "python -m sim.experiment: design.parameters: policy.targeting: 1.5 is not allowed")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, needle", [
    (["run", "nowhere.yaml"], "not found"), (["run", "x", "--jobs", "0"], "--jobs"),
    (["run", "x", "--backend", "mpi"], "--backend"), (["frobnicate"], "invalid")])
def test_bad_arguments_one_line(args, needle, capsys):
    assert ex.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


# ------------------------------------------------------------------------------------------ analysis


def _sampled(method: str, extra: str) -> ex.Experiment:
    return ex.parse(BASE + f"design:\n  method: {method}\n  {extra}\n  parameters:\n"
                    "    behaviour.social_hazard: [0, 1]\n    behaviour.event_conversion: [0, 1]\n"
                    "    behaviour.guide_conversion: [0, 1]\nreplicates: 2\nseed: 11\n")


def _known(exp: ex.Experiment) -> pd.DataFrame:
    """y = 10 x1 + x2 (x3 does nothing) for every run, replicates scattered evenly around it, rows shuffled."""
    x = exp.matrix
    assert x is not None
    y = 10 * x[:, 0] + x[:, 1] + 0 * x[:, 2]
    rows = [{"point": p, "replicate": r, "y": y[p] + (0.05 if r else -0.05), "flat": 1.0}
            for p in range(len(y)) for r in range(2)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)


def test_morris_ranks_inputs_of_a_known_function():
    exp = _sampled("morris", "trajectories: 20")
    res = ex.sensitivity(exp, _known(exp)).set_index(["output", "parameter"])
    mu = res.loc["y", "mu_star"]
    assert list(mu.sort_values(ascending=False).index) == ["behaviour.social_hazard", "behaviour.event_conversion",
                                                           "behaviour.guide_conversion"]
    assert mu.to_numpy() == pytest.approx([10, 1, 0], abs=1e-9)
    assert res.loc["flat", "mu_star"].eq(0).all()


def test_sobol_indices_of_a_known_function():
    exp = _sampled("sobol", "samples: 512")
    res = ex.sensitivity(exp, _known(exp)).set_index(["output", "parameter"])
    expected = [100 / 101, 1 / 101, 0]
    assert res.loc["y", "S1"].to_numpy() == pytest.approx(expected, abs=0.06)
    assert res.loc["y", "ST"].to_numpy() == pytest.approx(expected, abs=0.06)
    assert res.loc["flat", "S1"].isna().all()  # no variance to share out


def test_analyse_a_small_morris_experiment(tmp_path):
    path = write(tmp_path, BASE + "name: tmorris\ndesign:\n  method: morris\n  trajectories: 2\n  parameters:\n"
                 "    policy.guides: {bounds: [0, 6], integer: true}\n    behaviour.social_hazard: [0.001, 0.01]\n"
                 "seed: 4\noutputs: summary\n")
    root = tmp_path / "res"
    with pytest.raises(ex.ExperimentError, match="6 of 6 runs not finished"):
        ex.analyse(path, out=root)
    assert ex.run(path, out=root, jobs=1).ran == 6
    loaded = ex.load(path, out=root)
    assert len(loaded) == 6 and {"fans", "partners", "members", "migrants", "local_population",
                                 "cost_yen"} <= set(loaded.columns)
    table = ex.analyse("tmorris", out=root)  # by name: the design comes from the manifest
    assert len(table) == len(METRICS) * 2 and {"mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    assert set(table["output"]) == set(METRICS)  # every per-run metric, each with both parameters
    cost = table.loc[table["output"] == "cost_yen"].set_index("parameter")["mu_star"]
    assert cost["policy.guides"] > 0 and cost["behaviour.social_hazard"] == 0  # guides cost, contagion does not
    folder = root / "tmorris" / "analysis"
    assert pd.read_parquet(folder / "morris.parquet").equals(table)
    assert len(pd.read_csv(folder / "morris.csv")) == len(table)
    assert (folder / "morris.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ex.ExperimentError, match="design.method"):
        ex.analyse(write(tmp_path, GRID, "grid.yaml"), out=root)


def test_bad_submitit_parameters_are_refused_before_anything_is_written(tmp_path, capsys):
    pytest.importorskip("submitit")
    path = write(tmp_path, GRID + "slurm: {timeout_min: soon}\n")
    assert ex.main(["run", str(path), "--out", str(tmp_path / "res"), "--backend", "slurm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "timeout_min" in err and "allowed" in err
    assert not (tmp_path / "res").exists()
