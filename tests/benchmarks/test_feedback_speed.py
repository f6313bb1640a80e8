"""Building hindsight contexts for 8 groups x 8 rollouts x 50 steps (3,200 real ALFWorld step records).

Target: <= 50 ms with exact anchors. Measure with ``pytest tests/benchmarks --benchmark-enable``.
"""

import pytest

from serl_bench.feedback import FeedbackSpec, build_contexts
from serl_bench.methods import build_method
from serl_bench.rollouts import collect_group
from serl_bench.trajectories import Batch

ALL = "immediate_feedback+next_observation+future_trajectory+successful_trajectory+current_trajectory"


@pytest.fixture(scope="module")
def batch(alfworld_env, tmp_path_factory):
    """Random rollouts (they run the full 50 steps) and an expert demonstration per task."""
    rand, expert = build_method("random")[0], build_method("expert")[0]
    groups = tuple(collect_group(alfworld_env, [("random", rand)], task_id=k, group_size=8, seed=100 * k,
                                 max_steps=50, expert=expert) for k in range(8))
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
