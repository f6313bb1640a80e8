"""``gigpo``: GRPO's episode advantage plus a step advantage among the group's steps from the same state.

After Feng et al. (2025), as verl-agent runs it (``recipe/gigpo/core_gigpo.py``, the WebShop and ALFWorld
scripts): steps of the group that start from the same anchor state — the raw observation, by default —
form a step group; each step's discounted return (gamma 0.95) is compared within its step group and added
to the episode advantage with weight 1.0. In verl-agent's scripts both terms are mean-centred only
(``mode=mean_norm``); ``mode=mean_std_norm`` also divides by the standard deviation.
"""

from __future__ import annotations

from serl_bench.errors import UnknownNameError
from serl_bench.feedback._anchors import pool_by_anchor
from serl_bench.methods import register_method
from serl_bench.training import EpisodeAdvantage, TrainingMethod, normalize_rows

MODES = ("mean_norm", "mean_std_norm")
ANCHORS = ("observation", "state")


def step_advantages(group, gamma: float, *, anchor: str = "state", divide_by_std: bool = True,
                    rewards=None) -> list[list[float]]:
    """Anchor-state step advantages: discounted returns normalized within each pool of steps from one state.

    ``anchor``: ``state`` pools by the env's canonical state text (``info["anchor"]``), ``observation`` by the
    raw observation the step acted on. ``rewards(trajectory)`` gives each step's reward (default: the env's).
    """
    returns = [_returns(rewards(t) if rewards else [s.reward for s in t.steps], gamma) for t in group.trajectories]
    out = [[0.0] * t.length for t in group.trajectories]
    refs = [((i, s), step.anchor if anchor == "state" else step.observation)
            for i, t in enumerate(group.trajectories) for s, step in enumerate(t.steps)]
    for pool in pool_by_anchor(refs):
        normalized = normalize_rows([[returns[i][s]] for i, s in pool], divide_by_std) if len(pool) > 1 else [[0.0]]
        for (i, s), (a,) in zip(pool, normalized, strict=True):
            out[i][s] = a
    return out


def _returns(rewards: list[float], gamma: float) -> list[float]:
    out, running = [0.0] * len(rewards), 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


@register_method("gigpo", kind="rl")
class GiGPO(TrainingMethod):
    """GiGPO: episode advantage + weight x anchor-state step advantage (discounted step returns).

    Args:
        gamma: discount of the step returns compared within a step group.
        step_advantage_weight: weight of the step advantage added to the episode advantage.
        mode: mean_norm (verl-agent's scripts: both terms mean-centred) or mean_std_norm (also divided by std).
        anchor: what makes two steps "the same state": observation (verl-agent: the raw observation) or state
            (the env's canonical, history-free state text).
        advantage_norm: step_rows (verl-agent) or trajectory, for the episode term (see grpo).
        episode_reward: won (won_scale if won, else 0) or env (the env's return).
        won_scale: score of a won episode with episode_reward=won.
        invalid_penalty: subtracted from a step's score where its response had no valid action format.
        format_check: think_and_action or action (see grpo).
    """

    def __init__(self, gamma: float = 0.95, step_advantage_weight: float = 1.0, mode: str = "mean_norm",
                 anchor: str = "observation", advantage_norm: str = "step_rows", episode_reward: str = "won",
                 won_scale: float = 10.0, invalid_penalty: float = 0.1, format_check: str = "think_and_action") -> None:
        if mode not in MODES:
            raise UnknownNameError("gigpo mode", mode, MODES)
        if anchor not in ANCHORS:
            raise UnknownNameError("gigpo anchor", anchor, ANCHORS)
        self.gamma, self.step_advantage_weight = float(gamma), float(step_advantage_weight)
        self.mode, self.anchor = mode, anchor
        self.advantage = EpisodeAdvantage.of(advantage_norm, episode_reward, won_scale, invalid_penalty, format_check,
                                             divide_by_std=mode == "mean_std_norm")

    def step_advantages(self, group):
        episode = self.advantage(group)
        step = step_advantages(group, self.gamma, anchor=self.anchor, divide_by_std=self.advantage.divide_by_std,
                               rewards=self.advantage.step_rewards)
        w = self.step_advantage_weight
        return [[e + w * s for e, s in zip(es, ss, strict=True)] for es, ss in zip(episode, step, strict=True)]
