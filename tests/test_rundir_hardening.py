"""A run directory is owned: config first and atomic, one writer at a time, no foreign or damaged logs adopted,
no temporary files left, and a full disk is one line that keeps what was written."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from serl_bench.errors import ConfigError, RunDirError
from serl_bench.rundir import RunDir

LOCK_FILE = ".lock"

CONFIG = {"command": "eval", "method": "random", "seed": 0}


def one_line(info) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


def full_disk_at(path):
    """``path`` becomes a link to /dev/full: every write to it fails with ENOSPC, as on a full disk."""
    path.symlink_to("/dev/full")
    return path


def test_config_is_written_atomically_and_a_failed_write_leaves_nothing(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    tmp = full_disk_at(folder / f".config.json.tmp{os.getpid()}")
    with pytest.raises(RunDirError) as info:
        RunDir.open(folder, CONFIG, resume=False)
    assert "No space left on device" in one_line(info) and "config.json" in one_line(info)
    assert not tmp.is_symlink() and not (folder / "config.json").exists()
    assert sorted(p.name for p in folder.iterdir()) == []  # no temp file, no lock left behind


def test_a_results_file_that_cannot_be_written_leaves_no_temp_file(tmp_path):
    run = RunDir.open(tmp_path / "r", CONFIG, resume=False)
    full_disk_at(run.path / f".results.json.tmp{os.getpid()}")
    with pytest.raises(RunDirError, match="No space left on device") as info:
        run.write_results("{}")
    assert "--resume" in one_line(info)
    assert not (run.path / f".results.json.tmp{os.getpid()}").is_symlink()
    assert not run.results_path.exists()


def test_a_full_disk_mid_run_is_one_line_and_keeps_the_log(tmp_path):
    run = RunDir.open(tmp_path / "r", CONFIG, resume=False)
    run.append_episode({"episode": 0, "won": True})
    kept = run.episodes_path.read_text()
    full_disk_at(run.metrics_path)
    with pytest.raises(RunDirError, match="metrics.jsonl: No space left on device; everything written before is kept"):
        run.append_metrics({"update": 0})
    assert run.episodes_path.read_text() == kept


HOLDER = textwrap.dedent("""
    import sys, time
    from serl_bench.rundir import RunDir
    run = RunDir.open(sys.argv[1], {"command": "eval", "method": "random", "seed": 0}, resume=False)
    print("holding", flush=True)
    time.sleep(120)
""")


def test_a_second_writer_is_refused_naming_the_holders_pid(tmp_path):
    folder = tmp_path / "r"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        for check in (lambda: RunDir(folder).check_available(resume=True),
                      lambda: RunDir.open(folder, CONFIG, resume=True)):
            with pytest.raises(RunDirError, match=f"being written by another process \\(pid {holder.pid}\\)") as info:
                check()
            one_line(info)
    finally:
        holder.kill()
        holder.wait()
    with RunDir.open(folder, CONFIG, resume=True) as run:  # its lock died with it: taken over
        assert int((run.path / LOCK_FILE).read_text()) == os.getpid()
    assert not (folder / LOCK_FILE).exists()  # released and removed on close


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / LOCK_FILE).write_text(dead.stdout)
    with RunDir.open(folder, CONFIG, resume=False) as run:
        assert run.config_path.exists()


@pytest.mark.parametrize("log", ["episodes.jsonl", "metrics.jsonl"])
@pytest.mark.parametrize("resume", [False, True])
def test_leftover_logs_without_a_config_are_refused(tmp_path, log, resume):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / log).write_text('{"episode": 0, "update": 0, "won": true}\n')
    with pytest.raises(RunDirError, match=f"holds {log} but no config.json") as info:
        RunDir.open(folder, CONFIG, resume=resume)
    assert "choose a new --out or delete that folder" in one_line(info)
    assert sorted(p.name for p in folder.iterdir()) == [log]


def test_a_mismatching_config_is_refused_with_what_to_do(tmp_path):
    RunDir.open(tmp_path / "r", CONFIG, resume=False).close()
    with pytest.raises(RunDirError, match=r"different configuration \(seed\); choose another --out or delete it"):
        RunDir.open(tmp_path / "r", {**CONFIG, "seed": 1}, resume=True)


def test_a_config_that_is_not_an_object_is_refused(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "config.json").write_text("[1, 2]\n")
    with pytest.raises(RunDirError, match="config.json is not a run configuration \\(a JSON list") as info:
        RunDir.open(folder, CONFIG, resume=True)
    one_line(info)


@pytest.mark.parametrize("line, problem", [
    ("[]", "is an array, not a JSON object"),
    ("{}", "has no valid"),
    ("NaN", "is a number, not a JSON object"),
    ('{"episode": "x", "update": "x"}', "has no valid"),
    ('{"episode": NaN, "update": NaN}', "has no valid"),
    ('{"episode": -1, "update": -1}', "has no valid"),
    ("{broken", "is not a JSON line"),
])
@pytest.mark.parametrize("log", ["episodes", "metrics"])
def test_a_damaged_line_in_a_log_being_resumed_is_named(tmp_path, log, line, problem):
    run = RunDir.open(tmp_path / "r", CONFIG, resume=False)
    path = run.path / f"{log}.jsonl"
    path.write_text('{"episode": 0, "update": 0}\n' + line + "\n")
    with pytest.raises(RunDirError, match=f"{log}.jsonl:2 {problem}") as info:
        run.read_episodes() if log == "episodes" else run.read_metrics()
    assert "cannot be resumed" in one_line(info)


def test_a_torn_last_metrics_line_is_cut_on_resume(tmp_path):
    run = RunDir.open(tmp_path / "r", CONFIG, resume=False)
    run.append_metrics({"update": 0, "loss": 1.0})
    run.append_metrics({"update": 1, "loss": float("nan")})  # a diverged update's value is kept, not damage
    with open(run.metrics_path, "a") as f:
        f.write('{"update": 2, "lo')  # killed mid-write
    assert [m["update"] for m in run.read_metrics()] == [0, 1]
    run.trim_metrics(5)
    run.append_metrics({"update": 2})
    assert [json.loads(line)["update"] for line in run.metrics_path.read_text().splitlines()] == [0, 1, 2]
    assert not [p for p in run.path.iterdir() if ".tmp" in p.name]


def test_a_new_run_that_fails_before_any_work_leaves_nothing(tmp_path):
    with pytest.raises(ConfigError), RunDir.open(tmp_path / "new", CONFIG, resume=False):
        raise ConfigError("bad env argument")
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError), RunDir.open(tmp_path / "mine", CONFIG, resume=False):
        raise ConfigError("bad env argument")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigError), RunDir.open(tmp_path / "mine", CONFIG, resume=False) as run:
        run.append_episode({"episode": 0})
        raise ConfigError("later")
    assert (tmp_path / "mine" / "config.json").exists()  # a run that did work is never discarded


def test_a_disk_that_fills_up_mid_eval_is_one_line_and_the_run_resumes(tmp_path, small_split):
    import shutil

    from tests.filesystems import small_filesystem

    def eval_(out, *extra):
        return subprocess.run([sys.executable, "-m", "serl_bench", "eval", "--method", "random", "--episodes", "12",
                               "--env-arg", "games_per_type=2", "--no-progress", "--out", str(out), *extra],
                              capture_output=True, text=True, timeout=600)

    disk = tmp_path / "disk"
    disk.mkdir()
    with small_filesystem(disk, "128k"):  # room for the config and a few episodes with their transcripts
        full = eval_(disk / "run")
        copy = shutil.copytree(disk / "run", tmp_path / "run")
    assert full.returncode == 2 and len(full.stderr.strip().splitlines()) == 1, full.stderr
    assert "No space left on device; everything written before is kept" in full.stderr
    kept = [json.loads(line) for line in (copy / "episodes.jsonl").read_bytes().split(b"\n")[:-1]]  # whole lines
    assert 0 < len(kept) < 12 and not (copy / "results.json").exists()
    resumed = eval_(copy, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    episodes = [json.loads(line) for line in (copy / "episodes.jsonl").read_text().splitlines()]
    assert [e["episode"] for e in episodes] == list(range(12)) and episodes[: len(kept)] == kept
    assert not [p.name for p in copy.iterdir() if p.name.startswith(".")]


EPISODE = {"episode": 0, "task_id": "t0", "task_type": "pick", "seed": 0, "steps": 1, "won": False, "score": 0.0,
           "total_reward": 0.0, "truncated": False, "actions": ["look"], "error": None, "trials": 1}


@pytest.mark.parametrize("lines, problem", [
    ([{**EPISODE, "won": "yes"}], "episodes.jsonl:1 is not an episode record \\(won: "),
    ([{k: v for k, v in EPISODE.items() if k != "task_id"}], "episodes.jsonl:1 is not an episode record \\(task_id"),
    ([{**EPISODE, "score": 2.0}], "episodes.jsonl:1 is not an episode record \\(score: "),
    ([EPISODE, EPISODE], "episodes.jsonl:2 repeats an episode \\(episode 0\\)"),
    ([{**EPISODE, "episode": 7}], "episodes.jsonl:1 is beyond the run's 2 episodes \\(episode 7\\)"),
])
def test_an_episode_log_being_resumed_is_checked_line_by_line(tmp_path, lines, problem):
    from serl_bench.harness import play_into
    from serl_bench.rollouts import EpisodeSpec

    run = RunDir.open(tmp_path / "r", CONFIG, resume=False)
    run.episodes_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(RunDirError, match=problem) as info:
        play_into(run, [], [], [EpisodeSpec("t0", 0), EpisodeSpec("t1", 1)], max_steps=1, progress=False, desc="")
    assert "cannot be resumed" in one_line(info)
