"""``grpo``: every token of an episode gets the episode's group-normalized reward as its advantage."""

from __future__ import annotations

from serl_bench.methods import register_method
from serl_bench.training import TrainingMethod, episode_advantages


@register_method("grpo", kind="rl")
class GRPO(TrainingMethod):
    """GRPO: A_i = (R_i - mean_G R) / (std_G R + eps) on every response token of episode i."""

    def step_advantages(self, group):
        return episode_advantages(group)
