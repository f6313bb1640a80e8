"""Group-relative episode advantages (GRPO's, and the episode term of GiGPO and SERL), in two normalizations.

``step_rows`` — as the official SERL code (veRL / verl-agent ``compute_grpo_outcome_advantage`` with
``compute_mean_std_cross_steps``) computes it: every step is a training row carrying its episode's score
(``won_scale`` x won, or the env's return) minus ``invalid_penalty`` where that step's response had no
valid action format; each row is normalized by the mean and unbiased standard deviation over *all step
rows of its group* (so long episodes weigh more); a group of one row gets mean 0 and std 1.

``trajectory`` — one value per episode: its reward normalized over the group's episodes (sample standard
deviation); a single-episode group gets 0. Every step of an episode carries its episode's advantage.

Example: 2 wins of 10 steps and 6 failures of 50 steps give +3.87 / -0.26 by step rows and +1.62 / -0.54
by trajectory.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from serl_bench.errors import UnknownNameError
from serl_bench.trajectories import Group, StepRecord

from ._method import group_normalized

EPS = 1e-6
_CJK = re.compile(r"[\u4e00-\u9fff]")


class AdvantageNorm(StrEnum):
    STEP_ROWS = "step_rows"  #: official: mean/std over every step row of the group
    TRAJECTORY = "trajectory"  #: one value per episode, normalized over the group's episodes


class EpisodeReward(StrEnum):
    WON = "won"  #: official: won_scale if the episode was won, else 0 (ALFWorld 10/0, WebShop 10 at reward 1)
    ENV = "env"  #: the env's own return (WebShop: the purchase's score in [0, 1])


class FormatCheck(StrEnum):
    THINK_AND_ACTION = "think_and_action"  #: official: <think>..</think> and <action>..</action>, no CJK text
    ACTION = "action"  #: a usable action (tags, or a bare admissible action), as the agents' parser reads it


def _choice(kind: type[StrEnum], value: str, what: str) -> StrEnum:
    if value not in kind._value2member_map_:
        raise UnknownNameError(what, value, [m.value for m in kind])
    return kind(value)


@dataclass(frozen=True)
class EpisodeAdvantage:
    """The episode advantage of every step of a group, as a method's settings configure it."""

    norm: AdvantageNorm = AdvantageNorm.STEP_ROWS
    reward: EpisodeReward = EpisodeReward.WON
    won_scale: float = 10.0
    invalid_penalty: float = 0.1
    format_check: FormatCheck = FormatCheck.THINK_AND_ACTION
    divide_by_std: bool = True  #: False: mean-centred only (GiGPO's ``mean_norm`` mode)

    @classmethod
    def of(cls, norm: str, reward: str, won_scale: float, invalid_penalty: float, format_check: str,
           divide_by_std: bool = True) -> EpisodeAdvantage:
        return cls(_choice(AdvantageNorm, norm, "advantage_norm"), _choice(EpisodeReward, reward, "episode_reward"),
                   float(won_scale), float(invalid_penalty), _choice(FormatCheck, format_check, "format_check"),
                   bool(divide_by_std))

    def __call__(self, group: Group) -> list[list[float]]:
        """``[rollout][step]`` advantages."""
        scores = [self.episode_score(t) for t in group.trajectories]
        if self.norm == AdvantageNorm.TRAJECTORY:
            per_episode = [s - self.invalid_penalty * sum(map(self.invalid, t.steps))
                           for s, t in zip(scores, group.trajectories, strict=True)]
            normalized = group_normalized(per_episode) if self.divide_by_std else _centred(per_episode)
            return [[a] * t.length for a, t in zip(normalized, group.trajectories, strict=True)]
        rows = [[score - self.invalid_penalty * self.invalid(step) for step in t.steps]
                for score, t in zip(scores, group.trajectories, strict=True)]
        return normalize_rows(rows, self.divide_by_std)

    def step_rewards(self, trajectory) -> list[float]:
        """Each step's reward as these settings score it (GiGPO discounts them into step returns)."""
        rewards = [s.reward for s in trajectory.steps] if self.reward == EpisodeReward.ENV else (
            [0.0] * (trajectory.length - 1) + [self.won_scale * float(trajectory.won)] if trajectory.length else [])
        return [r - self.invalid_penalty * self.invalid(s) for r, s in zip(rewards, trajectory.steps, strict=True)]

    def episode_score(self, trajectory) -> float:
        """An episode's score before penalties: ``won_scale`` x won, or the env's return."""
        if self.reward == EpisodeReward.WON:
            return self.won_scale * float(trajectory.won)
        return trajectory.total_reward

    def invalid(self, step: StepRecord) -> bool:
        """Whether the step's response had no valid action format (steps of scripted policies never do)."""
        if step.response is None:
            return False
        if self.format_check == FormatCheck.ACTION:
            return step.parse_error is not None
        text = step.response
        lowered = text.lower()
        return ("<action>" not in lowered or "</action>" not in lowered or "<think>" not in text
                or "</think>" not in text or bool(_CJK.search(text)))


def normalize_rows(rows: list[list[float]], divide_by_std: bool = True) -> list[list[float]]:
    """Rows normalized by the mean (and unbiased std) over all of them; one row alone: mean 0, std 1."""
    flat = [r for episode in rows for r in episode]
    if not flat:
        return [[] for _ in rows]
    if len(flat) == 1:
        mean, std = 0.0, 1.0
    elif max(flat) == min(flat):  # all equal: no signal, exactly (a float mean would leave 1e-17 residues)
        return [[0.0] * len(episode) for episode in rows]
    else:
        mean = math.fsum(flat) / len(flat)
        std = math.sqrt(math.fsum((r - mean) ** 2 for r in flat) / (len(flat) - 1))
    scale = (std + EPS) if divide_by_std else 1.0
    return [[(r - mean) / scale for r in episode] for episode in rows]


def _centred(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [0.0] * len(values)
    mean = sum(values) / len(values)
    return [v - mean for v in values]
