"""``opd``: on-policy distillation toward the privileged teacher on *all* response tokens.

The teacher is the lagged policy with the hindsight context in its prompt; every token of a sample with
a context is pushed by ``distill_coef * (log pi_teacher - log pi_old)`` (a sampled reverse-KL step),
whatever the episode's reward. This is the indiscriminate baseline SERL is contrasted with.
"""

from __future__ import annotations

from serl_bench.methods import register_method
from serl_bench.training import TrainingMethod


@register_method("opd", kind="distillation")
class OPD(TrainingMethod):
    """On-policy distillation toward the privileged teacher, on all tokens (no task reward).

    Args:
        distill_coef: coefficient of the teacher log-ratio used as each token's advantage.
        teacher_sync_interval: updates between syncs of the lagged teacher with the policy.
    """

    uses_feedback = True
    uses_teacher = True

    def __init__(self, distill_coef: float = 1.0, teacher_sync_interval: int = 10) -> None:
        self.distill_coef, self.teacher_sync_interval = float(distill_coef), int(teacher_sync_interval)

    def step_advantages(self, group):
        return [[0.0] * t.length for t in group.trajectories]

    def carries_signal(self, sample):
        return sample.teacher_prompt_ids is not None  # the signal is the teacher's, not the reward

    def token_advantages(self, sample, current, old, teacher):
        import torch

        if teacher is None:
            return torch.zeros_like(current)
        return self.distill_coef * (teacher - old)
