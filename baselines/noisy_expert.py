"""``noisy-expert``: the env's expert, with a random admissible action now and then.

Groups played by it hold successes and failures and visit the same states with different actions —
what the feedback engine and anchor-state methods need to have something to compare.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from serl_bench.errors import ConfigError
from serl_bench.methods import Agent, AgentStep, register_method

from .expert import ExpertAgent


@register_method("noisy-expert", kind="non-learning")
class NoisyExpertAgent(Agent):
    """The env's expert, but a uniformly random admissible action with probability epsilon.

    Args:
        epsilon: probability of a random admissible action instead of the expert's.
    """

    def __init__(self, epsilon: float = 0.3) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ConfigError(f"noisy-expert: epsilon is a probability, in [0, 1]; got {epsilon}")
        self.epsilon = float(epsilon)
        self._expert = ExpertAgent()
        self._rng = random.Random(0)

    def reset(self, env: gym.Env, observation: str, info: Mapping[str, Any], *, seed: int) -> None:
        self._expert.reset(env, observation, info, seed=seed)
        self._rng = random.Random(seed)

    def act(self, observation: str, info: Mapping[str, Any]) -> AgentStep:
        actions = info.get("admissible_actions")
        if actions and self._rng.random() < self.epsilon:
            return AgentStep(self._rng.choice(actions))
        return self._expert.act(observation, info)
