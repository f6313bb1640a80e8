"""Env workers as Ray actors on a real local cluster: a head and one more node, both started by the test
on 127.0.0.1 with ``ray start``. The actors spread over the two nodes, play the episodes envs in this
process play, and an actor killed mid-episode is replaced and its episode replayed."""

import os
import shutil
import socket
import subprocess
import sys

import pytest

from serl_bench.envworkers import EnvRecipe, start_envs
from serl_bench.harness import EvalConfig, evaluate
from tests.conftest import assert_same_episodes, play_random

pytestmark = pytest.mark.slow


def _ray(*args):
    command = shutil.which("ray") or shutil.which("ray", path=os.path.dirname(sys.executable))
    done = subprocess.run([command, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def cluster():
    import ray

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    _ray("start", "--head", f"--port={port}", "--include-dashboard=false", *common)
    try:
        _ray("start", f"--address=127.0.0.1:{port}", *common)
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False, configure_logging=False)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        _ray("stop", "--force")


def test_ray_actors_on_two_nodes_play_the_same_episodes(cluster, webshop_episodes):
    episodes, played_here = webshop_episodes
    envs = start_envs(EnvRecipe("webshop", "test", 15), count=2, workers=2, ray_address=cluster)
    try:
        assert len(set(envs[0]._pool.nodes)) == 2  # one actor on each node
        played = play_random(envs, episodes)
    finally:
        for env in envs:
            env.close()
    assert_same_episodes(played, played_here)


@pytest.mark.parametrize("count", [2, 4])  # 4: the killed actor holds two envs, both mid-episode
def test_a_ray_actor_killed_mid_episode_is_replaced_and_its_episode_replayed(cluster, webshop_episodes, count):
    import ray

    episodes, played_here = webshop_episodes
    envs = start_envs(EnvRecipe("webshop", "test", 15), count=count, workers=2, ray_address=cluster)
    try:
        pool = envs[0]._pool
        played = play_random(envs, episodes, on_round=lambda k: k == 2 and ray.kill(pool._actors[1], no_restart=True))
        assert pool.restarts == 1
    finally:
        for env in envs:
            env.close()
    assert_same_episodes(played, played_here)
    assert sum(t.extra.get("env_retries", 0) for t in played) == count // 2  # each episode it was playing


def test_eval_on_ray_writes_the_log_an_in_process_eval_writes(cluster, tmp_path):
    here = evaluate(EvalConfig(method="random", env="webshop", episodes=4, batch=2), out=tmp_path / "here",
                    progress=False)
    there = evaluate(EvalConfig(method="random", env="webshop", episodes=4, batch=2, env_workers=2,
                                ray_address=cluster), out=tmp_path / "ray", progress=False)
    assert (there.path / "episodes.jsonl").read_text() == (here.path / "episodes.jsonl").read_text()


def test_a_ray_address_without_workers_is_a_one_line_error(tmp_path):
    from serl_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="--env-workers N"):
        evaluate(EvalConfig(method="random", env="webshop", episodes=1, ray_address="auto"), out=tmp_path / "x",
                 progress=False)

