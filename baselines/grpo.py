"""``grpo``: every token of a step gets its group-relative episode advantage.

By default as the official SERL/veRL code computes it (``advantage_norm=step_rows``): every step is a row
scored ``won_scale`` x won minus ``invalid_penalty`` where its response had no valid action format,
normalized over all step rows of the group. ``advantage_norm=trajectory, episode_reward=env,
invalid_penalty=0`` is the textbook per-episode GRPO advantage.
"""

from __future__ import annotations

from serl_bench.methods import register_method
from serl_bench.training import EpisodeAdvantage, TrainingMethod


@register_method("grpo", kind="rl")
class GRPO(TrainingMethod):
    """GRPO: A = (R - mean_G R) / (std_G R + eps) on every response token (see advantage_norm).

    Args:
        advantage_norm: step_rows (official: mean and std over every step row of the group) or trajectory (one
            value per episode, normalized over the group's episodes).
        episode_reward: won (official: won_scale if won, else 0) or env (the env's return, e.g. WebShop's score).
        won_scale: score of a won episode with episode_reward=won (official: 10).
        invalid_penalty: subtracted from a step's score where its response had no valid action format (official
            0.1).
        format_check: what a valid format is: think_and_action (official: <think> and <action> tags, no CJK) or
            action (a usable action, as the agents' parser reads it).
    """

    def __init__(self, advantage_norm: str = "step_rows", episode_reward: str = "won", won_scale: float = 10.0,
                 invalid_penalty: float = 0.1, format_check: str = "think_and_action") -> None:
        self.advantage = EpisodeAdvantage.of(advantage_norm, episode_reward, won_scale, invalid_penalty, format_check)

    def step_advantages(self, group):
        return self.advantage(group)
