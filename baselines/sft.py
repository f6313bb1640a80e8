"""``sft``: behaviour cloning on expert trajectories, written in the LLM agents' action format.

The env's expert plays each task; every step becomes a sample whose prompt is what an LLM agent would
have seen and whose response is the expert's action in ``<action>...</action>`` tags.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from serl_bench.agents import LLMAgent
from serl_bench.errors import ConfigError
from serl_bench.methods import AgentStep, register_method
from serl_bench.training import TrainingMethod
from serl_bench.trajectories import Batch


class ExpertInLLMFormat(LLMAgent):
    """Builds an LLM agent's prompts but answers with the env's expert action (or, with probability
    ``epsilon``, a random admissible one: groups with successes and failures, in the LLM format)."""

    def __init__(self, backend, *, history: int = 1, epsilon: float = 0.0, prompt: str = "standard") -> None:
        super().__init__(backend, history=history, prompt=prompt)
        self.epsilon = epsilon

    def reset(self, env, observation, info, *, seed):
        super().reset(env, observation, info, seed=seed)
        self._env = env.unwrapped
        self._rng = random.Random(seed)

    def request(self, observation, info):
        return None  # it answers itself; nothing to generate

    def act(self, observation: str, info: Mapping[str, Any]) -> AgentStep:
        messages = self.messages(observation, info)
        admissible = list(info.get("admissible_actions") or [])
        if admissible and self._rng.random() < self.epsilon:
            action = self._rng.choice(admissible)
        else:
            action = _as_admissible(self._env.expert_action() or "look", str(info.get("task", "")), admissible)
        response = f"<action>{action}</action>"
        tokenizer = self.backend.tokenizer
        ids = tokenizer(response, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
        self._steps.append((observation, action))
        return AgentStep(action=action, prompt=None, response=response, action_span=(8, 8 + len(action)),
                         messages=tuple(messages), token_ids=tuple(ids))


def _as_admissible(action: str, task: str, admissible: list[str]) -> str:
    """The expert's action as the admissible list spells it: WebShop lists ``search[<query>]`` (searching the
    instruction itself), so an expert search for the instruction is demonstrated that way, a short action to
    learn instead of a long sentence to copy."""
    placeholder = "search[<query>]"
    if placeholder in admissible and action.lower() == f"search[{task}]".lower():
        return placeholder
    return action


@register_method("sft", kind="distillation")
class SFT(TrainingMethod):
    """Supervised fine-tuning (behaviour cloning) on the env expert's trajectories, by cross-entropy.

    Args:
        demo_max_steps: longest demonstration played (default: the env's own episode length, ALFWorld 50,
            WebShop 15, whatever the run's --max-steps).
    """

    likelihood_objective = True

    def __init__(self, demo_max_steps: int | None = None) -> None:
        if demo_max_steps is not None and demo_max_steps < 1:
            raise ConfigError(f"sft: demo_max_steps must be at least 1, got {demo_max_steps}")
        self.demo_max_steps = demo_max_steps

    def policy_loss(self, logprobs, old, advantages, objective):
        """Negative log-likelihood of the expert's tokens: no ratio, no clipping, no old policy."""
        nll = -logprobs.sum()
        return nll, {"losses/nll": float(nll.detach()) / max(1, logprobs.numel())}

    def collect(self, trainer, update: int) -> Batch:
        c = trainer.config
        plan = trainer.plan(update, group_size=1)
        envs = trainer.envs[: len(plan.task_ids)]
        demonstrators = [ExpertInLLMFormat(trainer.backend, history=c.history, prompt=c.prompt) for _ in envs]
        max_steps = self.demo_max_steps or trainer.entry.max_steps
        played = trainer.play(envs, demonstrators, plan.episodes(), max_steps=max_steps, policy="expert")
        return Batch(groups=tuple(plan.groups(played)))

    def step_advantages(self, group):
        return [[1.0] * t.length for t in group.trajectories]
