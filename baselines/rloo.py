"""``rloo``: REINFORCE leave-one-out — each episode's reward minus the mean of the others in its group."""

from __future__ import annotations

from serl_bench.methods import register_method
from serl_bench.training import TrainingMethod


@register_method("rloo", kind="rl")
class RLOO(TrainingMethod):
    """RLOO: A_i = R_i - mean_{j != i} R_j on every response token of episode i."""

    def step_advantages(self, group):
        rewards = [t.total_reward for t in group.trajectories]
        n = len(rewards)
        advantages = [r - (sum(rewards) - r) / (n - 1) if n > 1 else 0.0 for r in rewards]
        return [[a] * t.length for a, t in zip(advantages, group.trajectories, strict=True)]
