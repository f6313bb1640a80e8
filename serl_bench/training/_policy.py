"""Scoring responses with a causal LM: per-token log-probabilities (and a state value, for PPO).

Only the response positions go through the output layer (the backbone runs once over prompt + response),
so a 49k-token vocabulary never materializes logits for a 400-token prompt; and a prompt that several
responses share runs through the backbone once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Scores:
    """What `score` computes for each (prompt, response) pair, in input order."""

    logprobs: list[torch.Tensor]  #: log pi(response_t | prompt, response_<t), one tensor per pair
    values: torch.Tensor | None  #: the value head's estimate at the last prompt token (PPO), else None
    entropies: list[torch.Tensor] | None  #: the policy's entropy at each response position (with ``stats``)
    greedy: list[torch.Tensor] | None  #: whether each response token is the policy's most likely one (``stats``)


def score(model: Any, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], *,
          value_head: ValueHead | None = None, micro_batch: int = 4, stats: bool = False,
          temperature: float = 1.0) -> Scores:
    """Score each response after its prompt, under the policy at ``temperature`` (the rollouts' sampling
    temperature, as veRL scores them: the objective is then on-policy for the sampler). Runs with the
    current grad mode: wrap in ``torch.no_grad()`` for old/teacher log-probabilities.

    Pairs that share a prompt (the G rollouts of a group start from the same observation) run the prompt
    through the backbone once: its key/value cache is copied to each response, which then runs alone.
    """
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(tuple(prompt), []).append(i)
    singles = [i for members in groups.values() if len(members) == 1 for i in members]
    results: dict[int, tuple] = {}
    order = sorted(singles, key=lambda i: len(prompts[i]) + len(responses[i]))  # less padding
    for start in range(0, len(order), micro_batch):
        results.update(_score_padded(model, prompts, responses, order[start:start + micro_batch], value_head,
                                     stats, temperature))
    for prompt, members in groups.items():
        if len(members) > 1:
            for start in range(0, len(members), micro_batch):
                results.update(_score_shared(model, prompt, responses, members[start:start + micro_batch],
                                             value_head, stats, temperature))
    n = range(len(prompts))
    values = [results[i][1] for i in n if results[i][1] is not None]
    return Scores(logprobs=[results[i][0] for i in n], values=torch.stack(values) if values else None,
                  entropies=[results[i][2] for i in n] if stats else None,
                  greedy=[results[i][3] for i in n] if stats else None)


def _token_scores(head: Any, positions: torch.Tensor, target: torch.Tensor, stats: bool, temperature: float
                  ) -> tuple:
    logits = head(positions).float()
    log_softmax = torch.log_softmax(logits / temperature if temperature != 1.0 else logits, dim=-1)
    lp = log_softmax.gather(1, target[:, None]).squeeze(1)
    if not stats:
        return lp, None, None
    entropy = -(log_softmax.exp() * log_softmax).sum(-1)
    return lp, entropy, (log_softmax.argmax(-1) == target).detach()


def _score_padded(model: Any, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]],
                  chunk: list[int], value_head: ValueHead | None, stats: bool, temperature: float
                  ) -> dict[int, tuple]:
    """Prompt + response per row, right-padded, one backbone pass."""
    device = next(model.parameters()).device
    backbone, head = model.get_decoder(), model.get_output_embeddings()
    pad = getattr(model.config, "pad_token_id", None) or 0
    seqs = [list(prompts[i]) + list(responses[i]) for i in chunk]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long, device=device)
    mask = torch.zeros((len(seqs), width), dtype=torch.long, device=device)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.tensor(s, device=device)
        mask[row, : len(s)] = 1
    hidden = backbone(input_ids=ids, attention_mask=mask).last_hidden_state
    out = {}
    for row, i in enumerate(chunk):
        p, r = len(prompts[i]), len(responses[i])
        positions = hidden[row, p - 1: p + r - 1]  # the state that predicts each response token
        lp, entropy, greedy = _token_scores(head, positions, torch.tensor(responses[i], device=device), stats,
                                              temperature)
        value = value_head(hidden[row, p - 1]) if value_head is not None else None
        out[i] = (lp, value, entropy, greedy)
    return out


def _score_shared(model: Any, prompt: tuple[int, ...], responses: Sequence[Sequence[int]], chunk: list[int],
                  value_head: ValueHead | None, stats: bool, temperature: float) -> dict[int, tuple]:
    """One prompt, several responses: the prompt's cache is computed once and repeated for each response."""
    from serl_bench.models import cache_kwarg

    device = next(model.parameters()).device
    backbone, head = model.get_decoder(), model.get_output_embeddings()
    pad = getattr(model.config, "pad_token_id", None) or 0
    p = len(prompt)
    cached = backbone(input_ids=torch.tensor([prompt], device=device), use_cache=True)
    # transformers 5.2x renamed the output's past_key_values to cache
    cache = cached.cache if "cache" in type(cached).__dataclass_fields__ else cached.past_key_values
    cache.batch_repeat_interleave(len(chunk))
    width = max(len(responses[i]) for i in chunk)
    ids = torch.full((len(chunk), width), pad, dtype=torch.long, device=device)
    mask = torch.zeros((len(chunk), p + width), dtype=torch.long, device=device)
    mask[:, :p] = 1
    for row, i in enumerate(chunk):
        ids[row, : len(responses[i])] = torch.tensor(responses[i], device=device)
        mask[row, p: p + len(responses[i])] = 1
    positions = torch.arange(p, p + width, device=device).expand(len(chunk), width)
    hidden = backbone(input_ids=ids, attention_mask=mask, position_ids=positions,
                      **cache_kwarg(backbone, cache)).last_hidden_state
    last = cached.last_hidden_state[0, -1]
    out = {}
    for row, i in enumerate(chunk):
        r = len(responses[i])
        states = torch.cat([last[None], hidden[row, : r - 1]], dim=0)  # token t is predicted by the state before it
        lp, entropy, greedy = _token_scores(head, states, torch.tensor(responses[i], device=device), stats,
                                              temperature)
        out[i] = (lp, value_head(last) if value_head is not None else None, entropy, greedy)
    return out


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
