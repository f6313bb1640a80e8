"""``ppo``: PPO with a learned state value (a value head on the policy) and GAE over an episode's steps."""

from __future__ import annotations

from dataclasses import replace

from serl_bench.methods import register_method
from serl_bench.training import TrainingMethod


@register_method("ppo", kind="rl")
class PPO(TrainingMethod):
    """PPO: value head on the last prompt token, GAE(gamma, lambda) over steps, clipped surrogate + value loss.

    Args:
        gamma: discount of step rewards.
        gae_lambda: GAE's lambda.
        value_coef: coefficient of the value loss.
    """

    value_head = True

    def __init__(self, gamma: float = 0.95, gae_lambda: float = 0.95, value_coef: float = 0.5) -> None:
        self.gamma, self.gae_lambda, self.value_coef = float(gamma), float(gae_lambda), float(value_coef)

    def step_advantages(self, group):
        # Placeholders: the advantages are GAE's, computed once the values are known (`assign`).
        return [[0.0] * t.length for t in group.trajectories]

    def assign(self, samples, values):
        import torch

        gae_of = gae(samples, [float(v) for v in values], self.gamma, self.gae_lambda)
        advantages = torch.tensor([a for a, _ in gae_of])
        std = advantages.std() if len(samples) > 1 else torch.tensor(0.0)
        mean = advantages.mean()
        # normalized across the update, as PPO implementations do
        return [replace(s, advantage=float((a - mean) / (std + 1e-6)), value_target=ret)
                for s, (a, ret) in zip(samples, gae_of, strict=True)]

    def extra_loss(self, samples, values):
        import torch

        returns = torch.tensor([s.value_target for s in samples], device=values.device)
        return self.value_coef * torch.mean((values - returns) ** 2)


def gae(samples, values: list[float], gamma: float, lam: float) -> list[tuple[float, float]]:
    """``(advantage, return)`` of every sample: GAE over the steps of its episode, in step order."""
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(samples)
    by_episode: dict[tuple[int, int], list[int]] = {}
    for n, sample in enumerate(samples):
        by_episode.setdefault((sample.group, sample.rollout), []).append(n)
    for indices in by_episode.values():
        indices.sort(key=lambda n: samples[n].step)
        running, next_value = 0.0, 0.0
        for n in reversed(indices):
            delta = samples[n].reward + gamma * next_value - values[n]
            running = delta + gamma * lam * running
            out[n] = (running, running + values[n])
            next_value = values[n]
    return out
