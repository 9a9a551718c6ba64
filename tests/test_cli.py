"""The command line and the Python API: outputs, bad input, where files go.

CLI runs happen in a fresh temporary working directory, so "nothing written" can be checked
strictly (the directory stays empty) and a run's files can only land in its results/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import simulate
from sim.io import atomic_write_text

from .test_config import BAD as CONFIG_BAD

ROOT = Path(__file__).resolve().parent.parent


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
RUN_FILES = ["config.yaml", "ladder.png", "run.json", "table.parquet"]


def cli(*args: str, cwd: Path = ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=ENV, **kw)


def cli_patched(patch: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command line run in a process where ``patch`` (Python code) has replaced part of sim first."""
    code = f"{patch}\nfrom sim.__main__ import main\nraise SystemExit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=ENV)


def stderr_lines(out) -> list[str]:
    return [ln for ln in out.stderr.splitlines() if ln.strip()]


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
    (["-m", "seed=1", "policy.targeting=0.5,nan"], "policy.targeting", "nan"),
    (["--foo"], "--foo", "unknown flag"),
    (["-x", "seed=1"], "-x", "unknown flag"),
    (["--mult", "seed=1,2"], "--mult", "unknown flag"),  # no abbreviations
    (["--cfg", "nope"], "--cfg", "nope"),
    (["--cfg"], "--cfg", "no value"),
    (["-m", "--cfg", "job"], "--cfg", "--multirun"),
    (["--resolve"], "--resolve", "--cfg"),
    (["--multirun=yes"], "--multirun", "yes"),
    (["hydra.run.dir=."], "hydra.run.dir", "'.'"),
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


# --- non-finite numbers, unknown flags, unwritable output: one line, exit 2, nothing written -------------------


def test_bad_input_line_names_key_value_and_range_for_nan(tmp_path):
    out = cli("population=tiny", "regions.birth_rate=nan", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert stderr_lines(out) == ["error: regions.birth_rate: nan is not allowed; allowed: a finite number in [0, 10]"]
    assert listing(tmp_path) == set()


def test_unknown_flag_lists_the_supported_flags(tmp_path):
    out = cli("--foo", "population=tiny", cwd=tmp_path)
    assert out.returncode == 2
    [line] = stderr_lines(out)
    assert line.startswith("error: --foo: unknown flag; allowed: ")
    for flag in ("-m/--multirun", "--list-scenarios", "-h/--help", "--cfg job|hydra|all"):
        assert flag in line
    assert listing(tmp_path) == set()


@pytest.mark.parametrize("args", [["-m", "seed=1,2"], ["seed=1"]], ids=["sweep", "run"])
def test_a_file_where_the_results_folder_should_be_is_refused_up_front(tmp_path, args):
    (tmp_path / "results").write_text("not a folder")
    out = cli("population=tiny", "run.steps=2", *args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    [line] = stderr_lines(out)
    assert line.startswith("error: results: ") and "not a folder" in line and "allowed: " in line
    assert "Traceback" not in out.stderr
    assert listing(tmp_path) == {"results"} and (tmp_path / "results").read_text() == "not a folder"


def test_a_read_only_results_folder_is_refused_up_front(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results").chmod(0o555)
    try:
        if os.access(tmp_path / "results", os.W_OK):
            pytest.skip("permissions do not bind this user (root); the file-in-the-way test covers the refusal")
        out = cli("population=tiny", "run.steps=2", cwd=tmp_path)
        assert out.returncode == 2
        [line] = stderr_lines(out)
        assert line.startswith("error: results: not writable") and "allowed: " in line
        assert listing(tmp_path) == {"results"}
    finally:
        (tmp_path / "results").chmod(0o755)


def test_run_folder_given_on_the_command_line_is_replaced_only_if_it_holds_a_run(tmp_path):
    out = cli("population=tiny", "run.steps=2", "hydra.run.dir=out/x", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "out/x" and sorted(os.listdir(tmp_path / "out")) == ["x"]
    check_run_dir(tmp_path / "out" / "x", steps=2, seed=42)
    out = cli("population=tiny", "run.steps=3", "hydra.run.dir=out/x", cwd=tmp_path)  # an earlier run: replaced
    assert out.returncode == 0, out.stderr
    check_run_dir(tmp_path / "out" / "x", steps=3, seed=42)
    assert sorted(os.listdir(tmp_path / "out")) == ["x"]
    (tmp_path / "out" / "x" / "notes.txt").write_text("mine")
    out = cli("population=tiny", "run.steps=2", "hydra.run.dir=out/x", cwd=tmp_path)  # someone's folder: refused
    assert out.returncode == 2
    [line] = stderr_lines(out)
    assert line.startswith("error: out/x: exists") and "notes.txt" in line and "allowed: " in line
    assert sorted(os.listdir(tmp_path / "out")) == ["x"]
    assert sorted(os.listdir(tmp_path / "out" / "x")) == sorted([*RUN_FILES, "notes.txt"])
    earlier = pd.read_parquet(tmp_path / "out" / "x" / "table.parquet")
    assert earlier["step"].max() == 3, "the earlier run is untouched"


def test_error_while_saving_is_one_line_exit_2_and_leaves_no_folder(tmp_path):
    patch = ("import errno, sim.io\n"
             "def full(path, write):\n"
             "    raise OSError(errno.ENOSPC, 'No space left on device', str(path))\n"
             "sim.io.atomic_write = full")
    out = cli_patched(patch, "population=tiny", "run.steps=2", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    [line] = stderr_lines(out)
    assert line.startswith("error: results/runs/") and "No space left on device" in line and "allowed: " in line
    assert "Traceback" not in out.stderr
    assert listing(tmp_path / "results" / "runs") == set(), "neither the run folder nor its staging folder"


@pytest.mark.parametrize("sweep", [False, True], ids=["run", "sweep"])
def test_a_failing_run_leaves_no_folder(tmp_path, sweep):
    patch = ("import sim.engines\n"
             "def broken(cfg, progress=False):\n"
             "    raise RuntimeError('engine failure')\n"
             "sim.engines.run_engine = broken")
    args = ["-m", "seed=1,2"] if sweep else ["seed=1"]
    out = cli_patched(patch, "population=tiny", "run.steps=2", *args, cwd=tmp_path)
    assert out.returncode == 1
    assert "engine failure" in out.stderr
    assert listing(tmp_path / "results" / "runs") == set()
    assert listing(tmp_path / "results" / "multirun") == set(), "no sweep folder without a finished run"


# --- what a run writes: modes, where, the last line ---------------------------------------------------------------


def test_output_files_get_the_users_normal_permissions(tmp_path):
    out = cli("population=tiny", "run.steps=2", cwd=tmp_path, preexec_fn=lambda: os.umask(0o027))
    assert out.returncode == 0, out.stderr
    run_dir = tmp_path / out.stdout.splitlines()[-1]
    assert run_dir.stat().st_mode & 0o777 == 0o750
    assert {name: (run_dir / name).stat().st_mode & 0o777 for name in RUN_FILES} == dict.fromkeys(RUN_FILES, 0o640)


def test_atomic_write_creates_files_as_open_would(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        os.umask(0o002)
        atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o664


@pytest.mark.parametrize("sweep", [False, True], ids=["run", "sweep"])
def test_with_chdir_the_last_line_is_still_the_run_folder_relative_to_the_start(tmp_path, sweep):
    args = ["-m", "seed=1,2"] if sweep else ["seed=1"]
    out = cli("population=tiny", "run.steps=2", "hydra.job.chdir=true", *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    last = out.stdout.splitlines()[-1]
    assert last.startswith("results/runs/" if not sweep else "results/multirun/")
    assert last.endswith("_baseline_s2" if sweep else "_baseline_s1")
    check_run_dir(tmp_path / last, steps=2, seed=2 if sweep else 1)
    assert listing(tmp_path / last) == set(RUN_FILES)


# --- interrupts: one line, 130/143, nothing left of the unfinished run ---------------------------------------------


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(pattern: str, where: Path, proc: subprocess.Popen, timeout: float = 120) -> Path:
    """Wait until a path matching ``pattern`` exists under ``where`` (the run has started writing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(where.glob(pattern)) if where.exists() else []
        if found:
            return found[0]
        if proc.poll() is not None:
            pytest.fail(f"ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"{pattern} never appeared")


def _check_one_line(err: str, code: int, rc: int) -> str:
    assert rc == code, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "leaked semaphore" not in err and "resource_tracker" not in err
    return lines[0]


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_during_a_run_one_line_conventional_status_no_folder(tmp_path, sig, code, name):
    proc = _start(tmp_path, "population=tiny", "run.steps=100000", "seed=5")
    staging = _wait_for("results/runs/.*.partial", tmp_path, proc)
    time.sleep(0.5)  # into the weekly loop
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    line = _check_one_line(err, code, proc.returncode)
    final = staging.name[1:-len(".partial")]
    assert line.startswith(f"interrupted ({name}): ") and final in line and "nothing written" in line
    assert listing(tmp_path / "results" / "runs") == set(), "no folder at all, visible or hidden"


def test_signal_during_a_sweep_keeps_the_finished_runs_only(tmp_path):
    proc = _start(tmp_path, "-m", "population=tiny", "seed=1", "run.steps=3,100000,4")
    _wait_for("results/multirun/*/.1_baseline_s1.partial", tmp_path, proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    line = _check_one_line(err, 130, proc.returncode)
    assert "1 finished run kept" in line and "1_baseline_s1" in line
    [sweep] = (tmp_path / "results" / "multirun").iterdir()
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0_baseline_s1"], "no staging, no job 2"
    assert {p.name for p in sweep.iterdir() if not p.is_dir()} <= {"multirun.yaml"}
    check_run_dir(sweep / "0_baseline_s1", steps=3, seed=1)
    assert out.splitlines()[-1] != str((sweep / "1_baseline_s1").relative_to(tmp_path))


# --- folder-atomic saving from Python ---------------------------------------------------------------------------


def _result():
    from sim import Result
    from sim.params import Config

    from .test_report import table

    return Result(table=table(), config=Config(), seconds=0.5)


@pytest.mark.parametrize("error", [RuntimeError("plot failed"), KeyboardInterrupt()], ids=["error", "interrupt"])
def test_an_exception_while_saving_leaves_neither_folder_nor_staging(tmp_path, monkeypatch, error):
    import sim.report

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(sim.report, "plot_ladder", failing)
    with pytest.raises(type(error)):
        _result().save(tmp_path / "run")
    assert listing(tmp_path) == set()


def test_simulate_out_dir_error_while_saving_leaves_nothing(tmp_path, monkeypatch):
    pytest.importorskip("sim.model")
    import sim.io

    def full(path, write):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(sim.io, "atomic_write", full)
    with pytest.raises(sim.io.OutputError, match=r"run: cannot write \(No space left on device\); allowed: "):
        simulate(["population=tiny", "run.steps=2"], out_dir=tmp_path / "run")
    assert listing(tmp_path) == set()


def test_save_replaces_an_earlier_run_and_refuses_any_other_folder(tmp_path):
    from sim.io import OutputError

    res = _result()
    res.save(tmp_path / "run")
    (tmp_path / "run" / "table.parquet").write_text("stale")
    assert res.save(tmp_path / "run") == tmp_path / "run"
    assert listing(tmp_path) == {f"run/{n}" for n in RUN_FILES} | {"run"}
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "run" / "table.parquet"), res.table)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep")
    with pytest.raises(OutputError, match=r"mine: exists and holds other files \(thesis.tex\); allowed: "):
        res.save(tmp_path / "mine")
    (tmp_path / "file").write_text("keep")
    with pytest.raises(OutputError, match="file: exists and is not a folder"):
        res.save(tmp_path / "file")
    assert listing(tmp_path) == {f"run/{n}" for n in RUN_FILES} | {"run", "mine", "mine/thesis.tex", "file"}


def test_save_into_a_place_that_cannot_hold_a_folder_is_one_line(tmp_path):
    from sim.io import OutputError

    (tmp_path / "results").write_text("a file")
    with pytest.raises(OutputError) as exc:
        _result().save(tmp_path / "results" / "run")
    assert "\n" not in str(exc.value) and "results/run: cannot write" in str(exc.value)
    assert listing(tmp_path) == {"results"}


def test_run_folders_given_on_the_command_line_are_staged():
    from sim.__main__ import output_root, stage_run_dirs

    assert stage_run_dirs(["seed=1", "hydra.run.dir=out/x", "hydra.sweep.subdir=${hydra.job.num}"]) == [
        "seed=1", "hydra.run.dir=out/.x.partial", "hydra.sweep.subdir=.${hydra.job.num}.partial"]
    assert stage_run_dirs(["hydra.run.dir=a/${now:%H/%M}_x/"]) == ["hydra.run.dir=a/.${now:%H/%M}_x.partial"]
    assert stage_run_dirs(["hydra.run.dir='my runs/x'"]) == ["hydra.run.dir='my runs/.x.partial'"]
    assert output_root([], multirun=False) == Path("results/runs")
    assert output_root([], multirun=True) == Path("results/multirun")
    assert output_root(["hydra.sweep.dir=sweeps/today"], multirun=True) == Path("sweeps/today")


def test_plot_false_composed_scenario_and_own_config_dir(tmp_path):
    """run.plot=false writes the run without ladder.png; scenario=[a,b] names the run a+b; --config-dir finds a
    scenario file kept outside the repository."""
    mine = tmp_path / "planner" / "scenario" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# @package _global_\n# Mine\n# 私の\n# Source: assumption\nscenario: mine\npolicy:\n"
                    "  funding_years: 1.0\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    out = cli("--config-dir", str(mine.parent.parent), "scenario=[guides_high,mine]", "run.plot=false",
              "population=tiny", "run.steps=5", "engine=vectorized", cwd=work)
    assert out.returncode == 0, out.stderr
    run_dir = work / out.stdout.strip().splitlines()[-1]
    assert run_dir.name.endswith("_guides_high+mine_s42")
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml", "run.json", "table.parquet"]
    assert json.loads((run_dir / "run.json").read_text())["scenario"] == "guides_high+mine"
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["scenario"] == "guides_high+mine" and cfg["policy"]["guides"] == 12
    assert cfg["policy"]["funding_years"] == 1.0
    bad = cli("run.plot=maybe", cwd=work)
    assert bad.returncode == 2 and stderr_lines(bad) == [
        "error: run.plot: 'maybe' is not allowed; allowed: true or false"]
