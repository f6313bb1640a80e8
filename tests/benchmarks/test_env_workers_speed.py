"""Env worker speed: one ALFWorld group of 8 rollouts (the random policy, 50 steps at most, the small
procgen-test split), played with its 8 envs in this process, in 1 worker process, and in 2.

Goal: 2 workers >= 1.8x 1 worker on 2 cores. The policy costs next to nothing, so the group's time is the
envs' time: with 2 workers, 4 envs step in each process at once. The workers are started once for the
module (their start-up is not timed). Measure with
``pytest tests/benchmarks/test_env_workers_speed.py --benchmark-enable``.
"""

import pytest

from serl_bench.envworkers import EnvRecipe, start_envs
from serl_bench.methods import build_method
from serl_bench.rollouts import GroupPlan, collect_groups

pytestmark = pytest.mark.slow
GROUP = 8


@pytest.fixture(scope="module")
def env_sets(small_split):
    import gymnasium as gym

    recipe = EnvRecipe("alfworld", "procgen-test", 50, {"games_per_type": 2})
    sets = {"in-process": [gym.make("serl/ALFWorld-v0", split="procgen-test", games_per_type=2)
                           for _ in range(GROUP)],
            "1 worker": start_envs(recipe, count=GROUP, workers=1),
            "2 workers": start_envs(recipe, count=GROUP, workers=2)}
    yield sets
    for envs in sets.values():
        for env in envs:
            env.close()


@pytest.mark.parametrize("where", ["in-process", "1 worker", "2 workers"])
def test_alfworld_group_of_8(benchmark, env_sets, where, request):
    from tests.conftest import benchmarks_disabled

    steps = 10 if benchmarks_disabled(request.config) else 50  # as a plain test: shorter episodes, same checks
    envs = env_sets[where]
    agents = [build_method("random")[0] for _ in range(GROUP)]
    task = envs[0].unwrapped.task_ids[0]
    plan = GroupPlan((task,), GROUP, seed=0)
    group = benchmark.pedantic(collect_groups, args=(envs, agents, plan), kwargs={"max_steps": steps}, rounds=3,
                               iterations=1)[0]
    assert len(group.trajectories) == GROUP and all(t.error is None for t in group.trajectories)
    assert sum(t.length for t in group.trajectories) >= GROUP * min(steps, 10)  # real episodes, not failures
