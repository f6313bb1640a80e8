"""Scoring responses with a causal LM: per-token log-probabilities (and a state value, for PPO).

Only the response positions go through the output layer (the backbone runs once over prompt + response),
so a 49k-token vocabulary never materializes logits for a 400-token prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class ValueHead(nn.Module):
    """A state value from the backbone's hidden state at the last prompt token."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.float()).squeeze(-1)


def score(model: Any, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], *,
          value_head: ValueHead | None = None, micro_batch: int = 4, entropy: bool = False
          ) -> tuple[list[torch.Tensor], torch.Tensor | None, list[torch.Tensor] | None]:
    """``log pi(response_t | prompt, response_<t)`` for each pair; values where a head is given; and the
    policy's entropy at each response position where ``entropy``.

    Runs with the current grad mode: wrap in ``torch.no_grad()`` for old/teacher log-probabilities.
    """
    device = next(model.parameters()).device
    backbone, head = model.get_decoder(), model.get_output_embeddings()
    pad = getattr(model.config, "pad_token_id", None) or 0
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]) + len(responses[i]))  # less padding
    results: dict[int, tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]] = {}
    for start in range(0, len(order), micro_batch):
        chunk = order[start:start + micro_batch]
        seqs = [list(prompts[i]) + list(responses[i]) for i in chunk]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long, device=device)
        mask = torch.zeros((len(seqs), width), dtype=torch.long, device=device)
        for row, s in enumerate(seqs):
            ids[row, : len(s)] = torch.tensor(s, device=device)
            mask[row, : len(s)] = 1
        hidden = backbone(input_ids=ids, attention_mask=mask).last_hidden_state
        for row, i in enumerate(chunk):
            p, r = len(prompts[i]), len(responses[i])
            positions = hidden[row, p - 1: p + r - 1]  # the state that predicts each response token
            log_softmax = torch.log_softmax(head(positions).float(), dim=-1)
            target = torch.tensor(responses[i], device=device)
            lp = log_softmax.gather(1, target[:, None]).squeeze(1)
            ent = -(log_softmax.exp() * log_softmax).sum(-1) if entropy else None
            value = value_head(hidden[row, p - 1]) if value_head is not None else None
            results[i] = (lp, value, ent)
    logprobs = [results[i][0] for i in range(len(prompts))]
    values = [results[i][1] for i in range(len(prompts)) if results[i][1] is not None]
    entropies = [results[i][2] for i in range(len(prompts))] if entropy else None
    return logprobs, (torch.stack(values) if values else None), entropies


def clipped_surrogate(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                      clip: float, dual_clip: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped objective, summed over tokens (negated, to minimize); and the fraction clipped.

    With ``dual_clip`` c (> 1), a token with a negative advantage loses at most ``-c * A`` however large its
    ratio has grown (Ye et al., 2020, as veRL applies it).
    """
    ratio = torch.exp(logprobs - old_logprobs)
    losses = torch.maximum(-ratio * advantages, -torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * advantages)
    if dual_clip is not None:
        losses = torch.where(advantages < 0, torch.minimum(losses, -dual_clip * advantages), losses)
    fraction = ((ratio - 1.0).abs() > clip).float().mean() if ratio.numel() else ratio.sum()
    return losses.sum(), fraction.detach()
