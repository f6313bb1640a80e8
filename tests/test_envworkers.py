"""Env worker processes: the same episodes as envs in this process, and a worker that dies or hangs costs
nothing (its episodes are replayed from their seeds, logged once, with the retry counted)."""

import json
import os
import signal

import pytest

from serl_bench.envworkers import EnvRecipe, start_envs
from serl_bench.errors import ConfigError
from serl_bench.harness import EvalConfig, eval_episodes, evaluate
from serl_bench.rollouts import MAX_ENV_RETRIES
from tests.conftest import assert_same_episodes, play_random


def _remote(count=2, workers=2, timeout=300.0):
    return start_envs(EnvRecipe("webshop", "test", 15), count=count, workers=workers, timeout=timeout)


def _kill(env, sig=signal.SIGKILL):
    os.kill(env._pool._procs[env._worker].pid, sig)


def test_envs_in_worker_processes_play_the_same_episodes(webshop_episodes):
    episodes, expected = webshop_episodes
    envs = _remote(count=3, workers=2)
    try:
        assert envs[0].unwrapped.task_ids[:6] == [e.task_id for e in episodes]
        assert envs[0].spec.id == "serl/WebShop-v0" and envs[0].unwrapped.split.name == "test"
        played = play_random(envs, episodes)
    finally:
        for env in envs:
            env.close()
    assert_same_episodes(played, expected)
    assert all("env_retries" not in t.extra for t in played)


def test_a_worker_killed_mid_episode_is_restarted_and_its_episodes_replayed(webshop_episodes):
    episodes, expected = webshop_episodes
    envs = _remote()
    try:
        played = play_random(envs, episodes, on_round=lambda k: k == 2 and _kill(envs[0]))
        assert envs[0]._pool.restarts == 1
    finally:
        for env in envs:
            env.close()
    assert_same_episodes(played, expected)  # nothing lost, nothing duplicated
    assert sum(t.extra.get("env_retries", 0) for t in played) == 1  # the one episode on the killed worker


def test_a_hung_worker_is_killed_after_the_timeout_and_its_episode_replayed(webshop_episodes):
    episodes, expected = webshop_episodes
    envs = _remote(timeout=2.0)
    try:
        played = play_random(envs, episodes, on_round=lambda k: k == 1 and _kill(envs[1], signal.SIGSTOP))
        assert envs[1]._pool.restarts == 1
    finally:
        for env in envs:
            env.close()
    assert_same_episodes(played, expected)
    assert sum(t.extra.get("env_retries", 0) for t in played) == 1


def test_an_episode_whose_worker_keeps_dying_fails_after_a_few_replays(webshop_episodes):
    episodes, _ = webshop_episodes
    envs = _remote(count=1, workers=1)
    try:
        played = play_random(envs, episodes[:1], on_round=lambda k: _kill(envs[0]))
    finally:
        envs[0].close()
    assert played[0].error and "giving up" in played[0].error and not played[0].won
    assert played[0].extra["env_retries"] == MAX_ENV_RETRIES + 1


def test_eval_with_env_workers_writes_the_log_an_in_process_eval_writes(tmp_path):
    logs = []
    for workers in (0, 2):
        run = evaluate(EvalConfig(method="random", env="webshop", episodes=6, batch=3, env_workers=workers),
                       out=tmp_path / f"w{workers}", progress=False)
        logs.append((run.path / "episodes.jsonl").read_text())
        config = json.loads((run.path / "config.json").read_text())
        assert config["env_workers"] == workers
    assert logs[0] == logs[1]
    assert all(json.loads(line)["env_retries"] == 0 for line in logs[1].splitlines())


def test_a_run_resumes_with_other_env_workers_and_from_before_they_existed(tmp_path):
    from serl_bench.rundir import RunDir

    config = {"command": "eval", "method": "random", "batch": 1}
    with RunDir.open(tmp_path / "run", config, resume=False):
        pass  # written before env workers existed
    with RunDir.open(tmp_path / "run", {**config, "env_workers": 2, "env_timeout": 300.0}, resume=True):
        pass
    from serl_bench.errors import RunDirError

    with pytest.raises(RunDirError, match=r"different configuration \(batch\)"):
        RunDir.open(tmp_path / "run", {**config, "batch": 2, "env_workers": 2}, resume=True)


@pytest.mark.parametrize("bad", [{"env_workers": -1}, {"env_timeout": 0}, {"env_timeout": float("nan")}])
def test_bad_env_worker_settings_are_one_line_errors(bad, tmp_path):
    with pytest.raises(ConfigError, match="--env-"):
        evaluate(EvalConfig(method="random", env="webshop", episodes=1, **bad), out=tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_alfworld_in_worker_processes_plays_the_same_episodes(small_split, alfworld_env):
    episodes = eval_episodes(alfworld_env.unwrapped.task_ids, 4, 0)
    expected = play_random([alfworld_env], episodes)
    envs = start_envs(EnvRecipe("alfworld", "procgen-test", 50, {"games_per_type": 2}), count=2, workers=2)
    try:
        played = play_random(envs, episodes, on_round=lambda k: k == 5 and _kill(envs[1]))
    finally:
        for env in envs:
            env.close()
    assert_same_episodes(played, expected)
    assert sum(t.extra.get("env_retries", 0) for t in played) == 1
