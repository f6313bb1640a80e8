"""Reset and step time: serl-bench's ALFWorld vs the stock alfworld stack, on the same games.

Measure with ``pytest tests/benchmarks --benchmark-enable``; by default each runs once, as a test.
"""

import itertools
import json
from pathlib import Path

import pytest
import textworld
from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
from textworld.envs import PddlEnv

from serl_bench.envs.alfworld import _engine
from serl_bench.envs.alfworld._engine import make_textworld_env


def stock_env():
    infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
    return AlfredInfos(AlfredDemangler(PddlEnv(infos), shuffle=False))


def receptacle_count(game):
    problem = json.loads(Path(game.path).read_text())["pddl_problem"]
    return problem.count(" - receptacle")


@pytest.fixture(scope="module")
def games(small_split):
    ranked = sorted(small_split.tasks, key=receptacle_count)
    return {"small": ranked[0], "large": ranked[-1]}


def _stepper(env, game):
    env.load(game.path)
    state = env.reset()
    tour = itertools.cycle(c for c in state["admissible_commands"] if c.startswith("go to"))
    return lambda: env.step(next(tour))


@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize("stack", ["stock", "serl-bench"])
def test_step(benchmark, games, size, stack):
    env = stock_env() if stack == "stock" else make_textworld_env()
    benchmark.group = f"alfworld step ({size} scene, {receptacle_count(games[size])} receptacles)"
    state = benchmark(_stepper(env, games[size]))[0]
    assert state.feedback.startswith("You arrive at")


@pytest.mark.parametrize("size", ["small", "large"])
def test_gym_step(benchmark, alfworld_env, games, size):
    """The whole gymnasium step, info keys and anchor included."""
    env = alfworld_env.unwrapped
    _, info = env.reset(seed=0, options={"task_id": games[size].task_id})
    tour = itertools.cycle(c for c in info["admissible_actions"] if c.startswith("go to"))
    benchmark.group = f"alfworld step ({size} scene, {receptacle_count(games[size])} receptacles)"
    obs = benchmark(lambda: env.step(next(tour)))[0]
    assert obs.startswith("You arrive at")


@pytest.mark.parametrize("stack", ["stock load+reset", "serl-bench first load+reset", "serl-bench reset"])
def test_reset(benchmark, games, stack):
    game = games["large"]
    benchmark.group = f"alfworld reset ({receptacle_count(game)} receptacles)"
    if stack.startswith("stock"):
        env = stock_env()

        def reset():
            env.load(game.path)
            return env.reset()
    else:
        env = make_textworld_env()
        env.load(game.path)
        cold = "first" in stack
        data = json.loads(Path(game.path).read_text())

        def reset():
            if cold:  # a game this process has not seen: forget its translation and its grammar
                _engine._TRANSLATIONS.pop(_engine._digest(data["pddl_domain"], data["pddl_problem"]))
                _engine._LOGICS.pop(_engine._digest(data["pddl_domain"], data["grammar"]))
                env.load(game.path)
            return env.reset()
    state = benchmark.pedantic(reset, rounds=5 if stack.endswith("reset") and "first" not in stack else 3,
                               warmup_rounds=1)
    assert "Your task is to" in state.feedback
