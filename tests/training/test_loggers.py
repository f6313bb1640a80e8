"""--logger tensorboard | wandb | trackio: every update's numbers reach the logger's own offline files, read
back with each tool's own reader; and one console line per update."""

import json
import sqlite3
import subprocess
import sys

import pytest

from serl_bench.training import TrainConfig, train
from tests.conftest import CLASSIC_LOOP

LOG_THREE_UPDATES = """
import sys
from pathlib import Path
from serl_bench.training._loggers import LoggerKind, MetricsLogger
logger = MetricsLogger(LoggerKind(sys.argv[1]), Path(sys.argv[2]), name="r1", config={"lr": 1e-5, "method": "grpo"})
for k in range(3):
    logger.log({"charts/success_rate": 0.25 * k, "update": k, "skipped": "text is not logged"}, k)
logger.close()
"""


def log_three_updates(kind, path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(path), "PYTHONPATH": ":".join(sys.path)}  # nothing of ours leaks
    done = subprocess.run([sys.executable, "-c", LOG_THREE_UPDATES, kind, str(path)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done


def test_tensorboard_gets_every_update(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_three_updates("tensorboard", tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("charts/success_rate")] == [(0, 0.0), (1, 0.25), (2, 0.5)]


def test_wandb_writes_an_offline_run_in_the_run_directory(tmp_path):
    log_three_updates("wandb", tmp_path)
    runs = list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1 and runs[0].read_bytes().count(b"charts/success_rate") >= 3


def test_trackio_writes_its_local_database_in_the_run_directory(tmp_path):
    done = log_three_updates("trackio", tmp_path)
    assert "project initialized" not in done.stdout  # its banner is kept off the console
    rows = sqlite3.connect(tmp_path / "trackio" / "serl-bench.db").execute(
        "select step, metrics from metrics order by step").fetchall()
    assert [(step, json.loads(m)["charts/success_rate"]) for step, m in rows] == [(0, 0.0), (1, 0.25), (2, 0.5)]


def test_a_training_run_logs_to_tensorboard_and_prints_a_line_per_update(small_split, random_model, tmp_path,
                                                                           capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    settings = dict(**CLASSIC_LOOP, split="procgen-test", eval_split="procgen-test", env_args={"games_per_type": 2},
                    updates=2, tasks_per_update=1, group_size=2, max_steps=2, max_new_tokens=4, eval_episodes=1,
                    minibatch=8, micro_batch=4, history=1)
    run = train(TrainConfig(method="grpo", model=str(random_model), logger="tensorboard", **settings),
                out=tmp_path / "tb", progress=False)
    events = EventAccumulator(str(run.path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("charts/valid_action_rate")] == [0, 1]
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("update ")]
    assert [x.split()[1] for x in lines] == ["1/2", "2/2"] and all("valid " in x and " s" in x for x in lines)


def test_a_logger_that_is_not_installed_is_one_line_before_any_work(tmp_path, monkeypatch):
    import importlib.util

    from serl_bench.errors import ConfigError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ConfigError, match=r"--logger wandb needs wandb, which is not installed"):
        train(TrainConfig(method="grpo", env="alfworld", logger="wandb"), out=tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
