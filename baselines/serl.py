"""``serl``: selective environment-reweighted learning (arXiv:2605.19447), as its official code runs it.

The task reward decides the direction: A_i is GRPO's group-relative advantage (by default over every step
row of the group, as the official veRL code computes it; see ``grpo``). Environment feedback adjusts
placement and magnitude: a lagged teacher (synced every ``teacher_sync_interval`` updates) reads the
student's own response with the hindsight context in its prompt, and on the *action* tokens of samples
that got a context

    delta_t = log pi_teacher(y_t | teacher prompt) - log pi_theta(y_t | student prompt)
    w_t     = clip(exp(sign(A_i) * delta_t), 1 - c, 1 + c)
    A_t     = A_i * ((1 - lambda_k) + lambda_k * w_t),   lambda_k = lambda0 * max(0, 1 - k / decay_steps)

while every other token keeps A_i. ``pi_theta`` is the current policy, recomputed for every micro-batch
(``delta_reference=current``, official) or the policy before the update (``old``). ``decay_steps=0``
keeps lambda at lambda0. The sign of A_t is always the sign of A_i. Once lambda_k is 0 the teacher is not
run and the update is exactly GRPO's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from serl_bench.errors import ConfigError, UnknownNameError
from serl_bench.methods import register_method
from serl_bench.training import EpisodeAdvantage, TrainingMethod

if TYPE_CHECKING:
    import torch


def lambda_at(update: int, lambda0: float, decay_steps: int) -> float:
    """lambda at update ``update`` (from 0): linear decay to 0 over ``decay_steps``; 0 steps: constant lambda0."""
    return lambda0 * max(0.0, 1.0 - update / decay_steps) if decay_steps > 0 else lambda0


DELTA_REFERENCES = ("current", "old")


def serl_token_advantages(advantage: float, student_logprobs: torch.Tensor, teacher_logprobs: torch.Tensor,
                          action_mask: torch.Tensor, lam: float, clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token advantages and the weights w_t (for reporting) of one sample with a context."""
    import torch

    delta = (teacher_logprobs - student_logprobs).detach()
    sign = 1.0 if advantage > 0 else (-1.0 if advantage < 0 else 0.0)
    weights = torch.clamp(torch.exp(sign * delta), 1.0 - clip, 1.0 + clip)
    reweighted = advantage * ((1.0 - lam) + lam * weights)
    return torch.where(action_mask, reweighted, torch.full_like(student_logprobs, advantage)), weights


@register_method("serl", kind="rl")
class SERL(TrainingMethod):
    """SERL: reward sets the direction, hindsight feedback reweights action tokens.

    Args:
        lambda0: initial weight of the teacher signal in the token advantage.
        decay_steps: updates over which lambda decays linearly to 0 (then the update is GRPO's); 0 keeps lambda0
            (official).
        weight_clip: clip c of the token weights w_t to [1 - c, 1 + c].
        teacher_sync_interval: updates between syncs of the lagged teacher with the policy.
        delta_reference: the student log-probs in delta: current (official: the policy now, recomputed every
            micro-batch) or old (the policy before this update).
        advantage_norm: step_rows (official) or trajectory, for A_i (see grpo).
        episode_reward: won (official: won_scale if won, else 0) or env (the env's return).
        won_scale: score of a won episode with episode_reward=won (official: 10).
        invalid_penalty: subtracted from a step's score where its response had no valid action format (official
            0.1).
        format_check: think_and_action (official) or action (see grpo).
    """

    uses_feedback = True
    uses_teacher = True

    def __init__(self, lambda0: float = 0.5, decay_steps: int = 50, weight_clip: float = 0.2,
                 teacher_sync_interval: int = 10, delta_reference: str = "current", advantage_norm: str = "step_rows",
                 episode_reward: str = "won", won_scale: float = 10.0, invalid_penalty: float = 0.1,
                 format_check: str = "think_and_action") -> None:
        if not 0.0 <= lambda0 <= 1.0:
            raise ConfigError(f"serl: lambda0 must be in [0, 1], got {lambda0}")
        if not 0.0 <= weight_clip < 1.0:
            raise ConfigError(f"serl: weight_clip must be in [0, 1), got {weight_clip}")
        if decay_steps < 0 or teacher_sync_interval < 1:
            raise ConfigError("serl: decay_steps must be >= 0 and teacher_sync_interval >= 1")
        if delta_reference not in DELTA_REFERENCES:
            raise UnknownNameError("serl delta_reference", delta_reference, DELTA_REFERENCES)
        self.lambda0, self.decay_steps, self.weight_clip = float(lambda0), int(decay_steps), float(weight_clip)
        self.teacher_sync_interval, self.delta_reference = int(teacher_sync_interval), delta_reference
        self.advantage = EpisodeAdvantage.of(advantage_norm, episode_reward, won_scale, invalid_penalty, format_check)
        self._weights: list[torch.Tensor] = []
        self._lambda = lambda_at(0, self.lambda0, self.decay_steps)

    def begin_update(self, update):
        self._lambda = lambda_at(update, self.lambda0, self.decay_steps)
        self._weights = []

    @property
    def teacher_active(self):
        return self._lambda > 0

    def step_advantages(self, group):
        return self.advantage(group)

    def teacher_needed(self, sample):
        # A_t = A_i * (...) is zero when A_i is, and only action tokens are reweighted.
        return sample.teacher_prompt_ids is not None and sample.advantage != 0 and any(sample.action_mask)

    def token_advantages(self, sample, current, old, teacher):
        import torch

        if teacher is None or self._lambda <= 0:
            return torch.full_like(current, sample.advantage)
        mask = torch.tensor(sample.action_mask, dtype=torch.bool, device=current.device)
        student = current if self.delta_reference == "current" else old
        advantages, weights = serl_token_advantages(sample.advantage, student, teacher, mask, self._lambda,
                                                    self.weight_clip)
        self._weights.append(weights[mask])
        return advantages

    def metrics(self):
        import torch

        weights = torch.cat(self._weights) if self._weights else torch.zeros(0)
        return {"serl/lambda": self._lambda, "serl/reweighted_tokens": int(weights.numel()),
                "serl/mean_weight": float(weights.mean()) if weights.numel() else None}
