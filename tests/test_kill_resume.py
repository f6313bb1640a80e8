"""SIGKILL at a point of the test's choosing, of the whole process group (main process and env workers), then
``--resume``: the same episodes, the same metrics and the same weights as a run that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from serl_bench.harness import EvalConfig, evaluate
from serl_bench.training import TrainConfig, train
from tests.conftest import CLASSIC_LOOP, checkpoint_weights, metrics_without_times

pytestmark = pytest.mark.slow


def _start(args):
    return subprocess.Popen([sys.executable, "-m", "serl_bench", *map(str, args)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _lines(path):
    try:
        return len([line for line in path.read_text().splitlines() if line.endswith("}")])
    except FileNotFoundError:
        return 0


def _kill_when(proc, ready, deadline=600.0):
    """SIGKILL ``proc``'s whole process group (its env workers too) once ``ready()``; whether it was still
    running then (a run that finished first proves nothing)."""
    start = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            return False
        assert time.monotonic() - start < deadline, "the run never got there"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):  # every process of the group is gone: no orphaned env worker keeps running
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    raise AssertionError("a process of the killed run's group is still alive")


def test_an_eval_with_env_workers_killed_after_8_episodes_resumes_to_the_uninterrupted_log(small_split, tmp_path):
    args = dict(method="random", env="alfworld", split="procgen-test", episodes=24, seed=3,
                env_args={"games_per_type": 2})
    whole = evaluate(EvalConfig(**args), out=tmp_path / "whole", progress=False)  # no workers, batch 1
    out = tmp_path / "killed"
    proc = _start(["eval", "--method", "random", "--env", "alfworld", "--split", "procgen-test", "--episodes", 24,
                   "--seed", 3, "--env-arg", "games_per_type=2", "--env-workers", 2, "--batch", 2, "--out", out])
    assert _kill_when(proc, lambda: _lines(out / "episodes.jsonl") >= 8), proc.stderr.read()[-2000:]
    assert 8 <= _lines(out / "episodes.jsonl") < 24
    resumed = evaluate(EvalConfig(**args, batch=2, env_workers=2), out=out, resume=True, progress=False)
    assert (resumed.path / "episodes.jsonl").read_text() == (whole.path / "episodes.jsonl").read_text()
    transcripts = [json.loads(line)["episode"] for line in (out / "transcripts.jsonl").read_text().splitlines()]
    assert transcripts == list(range(24))  # one transcript per episode, none lost, none twice


def test_a_training_run_with_env_workers_killed_mid_run_resumes_to_the_same_model(small_split, random_model,
                                                                                  tmp_path):
    settings = {**CLASSIC_LOOP, "split": "procgen-test", "eval_split": "procgen-test",
                "env_args": {"games_per_type": 2}, "tasks_per_update": 1, "group_size": 2, "max_steps": 2,
                "max_new_tokens": 4, "eval_episodes": 2, "eval_batch": 2, "minibatch": 8, "micro_batch": 4,
                "history": 0, "checkpoint_every": 1, "method": "sft", "model": str(random_model), "updates": 3,
                "lr": 1e-3}
    whole = train(TrainConfig(**settings), out=tmp_path / "whole", progress=False)
    file = tmp_path / "run.json"
    file.write_text(json.dumps({**settings, "env_workers": 2}))
    out = tmp_path / "killed"
    proc = _start(["run", "--config", file, "--out", out])
    assert _kill_when(proc, lambda: _lines(out / "metrics.jsonl") >= 1), proc.stderr.read()[-2000:]
    resumed = train(TrainConfig(**settings, env_workers=2), out=out, resume=True, progress=False)

    a, b = checkpoint_weights(whole.path), checkpoint_weights(resumed.path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert metrics_without_times(whole.path) == metrics_without_times(resumed.path)
    assert (whole.path / "episodes.jsonl").read_text() == (resumed.path / "episodes.jsonl").read_text()
