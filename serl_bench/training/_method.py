"""What a training method is: its own settings (constructor arguments) and the hooks the loop calls.

A method is registered like an agent (``@register_method``); the registry records every argument it was
built with, defaults included, so each results record says how its method was configured. The loop
calls, in this order:

1. `begin_update` — per-update state (SERL's lambda for this update).
2. `collect` — the update's groups (default: G policy rollouts of each task; SFT plays the expert).
3. `step_advantages` — an advantage per step of every trajectory of a group.
4. `keep` — whether a sample enters the loss (RFT keeps only successes).
5. `assign` — after the old policy has scored the samples (PPO turns values into GAE advantages here).
6. `token_advantages` — the per-token advantage of the objective (SERL reweights action tokens).
7. `policy_loss` — the objective on one sample (PPO's clipped surrogate; SFT's negative log-likelihood).
8. `extra_loss` — any term besides it (PPO's value loss).

GRPO, GiGPO, RLOO, PPO, SFT, RFT, OPD and SERL differ only in these hooks; each is one short file in
``serl_bench.baselines``. Example::

    @register_method("mine", kind="rl")
    class Mine(TrainingMethod):
        \"\"\"Raw episode reward as the advantage.

        Args:
            scale: multiplies every reward.
        \"\"\"

        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

        def step_advantages(self, group):
            return [[self.scale * t.total_reward] * t.length for t in group.trajectories]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from serl_bench.trajectories import Batch, Group

if TYPE_CHECKING:
    import torch

    from ._samples import Sample
    from ._trainer import Trainer


@dataclass(frozen=True)
class Objective:
    """The clipped policy-gradient objective's settings, shared by every method of a run (loop-wide)."""

    clip: float = 0.2  #: PPO ratio clip epsilon
    dual_clip: float | None = 3.0  #: dual-clip constant c for negative advantages (None: off)


class TrainingMethod(ABC):
    """A method the training loop runs (see the module docstring for the order of the hooks)."""

    uses_feedback: bool = False  #: the loop builds hindsight contexts (and teacher prompts)
    uses_teacher: bool = False  #: the loop keeps a lagged teacher and scores teacher prompts
    value_head: bool = False  #: the loop trains a value head (PPO)
    teacher_sync_interval: int = 10  #: updates between syncs of the lagged teacher (teacher methods)
    needs_old_logprobs: bool = False  #: the objective needs the policy's log-probs from before the update
    likelihood_objective: bool = False  #: fits given tokens (SFT): no entropy bonus, scored at temperature 1

    def begin_update(self, update: int) -> None:  # noqa: B027
        """Called once at the start of update ``update``, before anything else."""

    @property
    def teacher_active(self) -> bool:
        """Whether the teacher is run in this update (at False it is not, and costs nothing)."""
        return self.uses_teacher

    def collect(self, trainer: Trainer, update: int) -> Batch:
        return trainer.rollout_update(update)

    @abstractmethod
    def step_advantages(self, group: Group) -> list[list[float]]:
        """``[rollout][step]`` advantages of one group."""

    def keep(self, sample: Sample, batch: Batch) -> bool:
        return True

    def teacher_needed(self, sample: Sample) -> bool:
        """Whether the teacher must score this sample (it has a teacher prompt, by default)."""
        return sample.teacher_prompt_ids is not None

    def carries_signal(self, sample: Sample) -> bool:
        """Whether the sample's policy gradient can be non-zero (by default: a non-zero advantage)."""
        return sample.advantage != 0

    def learns_from(self, samples: Sequence[Sample]) -> bool:
        """False when the update's gradient would be exactly zero, so it is skipped: by default, when no
        sample carries a signal and no value head is trained."""
        return self.value_head or any(self.carries_signal(s) for s in samples)

    def assign(self, samples: list[Sample], values: torch.Tensor | None) -> list[Sample]:
        """Samples with advantages adjusted once the old policy's values are known (PPO); by default as is."""
        return samples

    def token_advantages(self, sample: Sample, current: torch.Tensor, old: torch.Tensor,
                         teacher: torch.Tensor | None) -> torch.Tensor:
        """Per-token advantages of ``sample``. ``current``: the policy's log-probs now (detached); ``old``: before
        this update; ``teacher``: the teacher's, where it scored the sample."""
        import torch

        return torch.full_like(current, sample.advantage)

    def policy_loss(self, logprobs: torch.Tensor, old: torch.Tensor, advantages: torch.Tensor,
                    objective: Objective) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of one sample, summed over its tokens (the loop divides by the minibatch's tokens)."""
        from ._policy import clipped_surrogate

        loss, clipped = clipped_surrogate(logprobs, old, advantages, objective.clip, objective.dual_clip)
        return loss, {"losses/clip_fraction": float(clipped)}

    def extra_loss(self, samples: Sequence[Sample], values: torch.Tensor | None) -> torch.Tensor | None:
        return None

    def metrics(self) -> dict[str, Any]:
        """Method-specific figures of the last update (for metrics.jsonl)."""
        return {}


def group_normalized(rewards: Sequence[float], eps: float = 1e-6) -> list[float]:
    """``(R_i - mean) / (std + eps)`` with the sample standard deviation; zeros for a single rollout."""
    n = len(rewards)
    if n < 2:
        return [0.0] * n
    mean = sum(rewards) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (n - 1))
    return [(r - mean) / (std + eps) for r in rewards]


def episode_advantages(group: Group) -> list[list[float]]:
    """GRPO's advantage: the group-normalized episode reward, the same for every step of an episode."""
    advantages = group_normalized([t.total_reward for t in group.trajectories])
    return [[a] * t.length for a, t in zip(advantages, group.trajectories, strict=True)]
