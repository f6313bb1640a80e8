"""``gigpo``: GRPO's episode advantage plus a step advantage among the group's steps from the same state.

After Feng et al. (2025), as verl-agent runs it: steps of the group that start from the same anchor state
form a step group; each step's discounted return is normalized within its step group and added to the
episode advantage with a weight.
"""

from __future__ import annotations

from serl_bench.feedback._anchors import pool_by_anchor
from serl_bench.methods import register_method
from serl_bench.training import TrainingMethod, episode_advantages, group_normalized


def step_advantages(group, gamma: float) -> list[list[float]]:
    """Anchor-state step advantages: returns normalized within each pool of steps from the same state."""
    returns = [t.returns(gamma) for t in group.trajectories]
    out = [[0.0] * t.length for t in group.trajectories]
    refs = [((i, s), step.anchor) for i, t in enumerate(group.trajectories) for s, step in enumerate(t.steps)]
    for pool in pool_by_anchor(refs):
        for (i, s), a in zip(pool, group_normalized([returns[i][s] for i, s in pool]), strict=True):
            out[i][s] = a
    return out


@register_method("gigpo", kind="rl")
class GiGPO(TrainingMethod):
    """GiGPO: episode advantage + weight x anchor-state step advantage (discounted step returns).

    Args:
        gamma: discount of the step returns compared within a step group.
        step_advantage_weight: weight of the step advantage added to the episode advantage.
    """

    def __init__(self, gamma: float = 0.95, step_advantage_weight: float = 1.0) -> None:
        self.gamma, self.step_advantage_weight = float(gamma), float(step_advantage_weight)

    def step_advantages(self, group):
        episode = episode_advantages(group)
        step = step_advantages(group, self.gamma)
        w = self.step_advantage_weight
        return [[e + w * s for e, s in zip(es, ss, strict=True)] for es, ss in zip(episode, step, strict=True)]
