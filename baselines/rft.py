"""``rft``: rejection-sampling fine-tuning — learn from the policy's own successful episodes only."""

from __future__ import annotations

from serl_bench.methods import register_method
from serl_bench.training import TrainingMethod


@register_method("rft", kind="distillation")
class RFT(TrainingMethod):
    """Rejection-sampling fine-tuning: likelihood of the policy's own successful episodes."""

    def step_advantages(self, group):
        return [[1.0 if t.won else 0.0] * t.length for t in group.trajectories]

    def keep(self, sample, batch):
        return batch.groups[sample.group].trajectories[sample.rollout].won
