"""``reset(options=...)`` is checked in one shared place, the same way by every env: an index out of range or
options that are not a dict are one-line errors, never a silently different task or an AttributeError."""

import gymnasium as gym
import numpy as np
import pytest

from serl_bench.errors import ConfigError


@pytest.fixture(scope="module")
def webshop():
    env = gym.make("serl/WebShop-v0", num_products=300)
    yield env
    env.close()


@pytest.fixture(params=["alfworld", "webshop"])
def env(request, alfworld_env):
    return alfworld_env if request.param == "alfworld" else request.getfixturevalue("webshop")


@pytest.mark.parametrize("options, message", [
    ({"task_id": 10**18}, r"task index 1000000000000000000 is out of range: split \S+ has \d+ tasks \(0-\d+\)"),
    ({"task_id": -1}, "task index -1 is out of range"),
    ("x", r"reset options must be a dict such as \{'task_id': 3\}, got str 'x'"),
    ({"task": 3}, "reset options take only 'task_id', got 'task'"),
    ({"task_id": 2.5}, "task_id must be a task id \\(text\\) or an index \\(a whole number\\), got float 2.5"),
    ({"task_id": True}, "task_id must be a task id"),
])
def test_bad_reset_options_are_one_line_errors(env, options, message):
    with pytest.raises(ConfigError, match=message) as info:
        env.reset(seed=0, options=options)
    assert "\n" not in str(info.value)


def test_numpy_and_python_indices_pick_the_same_task(env):
    n = len(env.unwrapped.task_ids)
    for index in (0, 3, n - 1):
        expected = env.unwrapped.task_ids[index]
        assert env.reset(seed=0, options={"task_id": np.int64(index)})[1]["task_id"] == expected
        assert env.reset(seed=0, options={"task_id": index})[1]["task_id"] == expected
    assert env.reset(seed=0, options={"task_id": None})[1]["task_id"] in env.unwrapped.task_ids
    assert env.reset(seed=0, options={})[1]["task_id"] in env.unwrapped.task_ids
