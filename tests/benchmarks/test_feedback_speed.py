"""Building hindsight contexts for 8 groups x 8 rollouts x 50 steps (3,200 real ALFWorld step records).

Target: <= 50 ms with exact anchors. Measure with ``pytest tests/benchmarks --benchmark-enable``.
"""

import pytest

from serl_bench.feedback import FeedbackSpec, build_contexts
from serl_bench.methods import build_method
from serl_bench.rollouts import GroupPlan, collect_groups
from serl_bench.trajectories import Batch

ALL = "immediate_feedback+next_observation+future_trajectory+successful_trajectory+current_trajectory"


@pytest.fixture(scope="module")
def batch(alfworld_env, tmp_path_factory):
    """Random rollouts (they run the full 50 steps) and an expert demonstration per task, played on 8 envs in
    2 worker processes (the episodes are those of one env in this process, in half the time)."""
    from serl_bench.envworkers import EnvRecipe, start_envs

    expert = build_method("expert")[0]
    envs = start_envs(EnvRecipe("alfworld", "procgen-test", 50, {"games_per_type": 2}), count=8, workers=2)
    try:
        agents = [build_method("random")[0] for _ in envs]
        groups = tuple(collect_groups(envs, agents, GroupPlan((k,), 8, 100 * k), max_steps=50, policies=["random"],
                                      expert=expert)[0] for k in range(8))
    finally:
        for env in envs:
            env.close()
    return Batch(groups=groups)


@pytest.mark.parametrize("feedback, granularity, similarity", [
    ("successful_trajectory|immediate_feedback", "anchor", 1.0),
    ("successful_trajectory|immediate_feedback", "anchor", 0.9),
    (ALL, "anchor", 1.0),
    (ALL, "step", 1.0),
])
def test_build_contexts(benchmark, batch, feedback, granularity, similarity):
    assert 3100 <= batch.steps <= 3200  # a random rollout ends early only if it wins
    spec = FeedbackSpec.parse(feedback, granularity, anchor_similarity=similarity, expert_fallback=True)
    benchmark.group = f"feedback contexts, {batch.steps} steps"
    contexts = benchmark(lambda: [build_contexts(g, spec) for g in batch.groups])
    expected = batch.steps
    if granularity == "step" and "+future_trajectory" in feedback:  # '+' needs every source: last steps have no future
        expected -= sum(len(g.trajectories) for g in batch.groups)
    assert sum(c is not None for g in contexts for row in g for c in row) == expected
