"""Batched decoding with a causal LM's KV cache: per-row seeds, and identical prompts prefilled once.

Why our own loop rather than ``model.generate``: every row samples from its own seeded generator, so an
episode's tokens do not depend on what else is in the batch (the harness plays one episode where the
trainer plays sixteen, and both must give the same trajectory for the same seed); and prompts that
several rows share — the G rollouts of a group start from the same observation — are prefilled once and
their cache rows copied, since on a CPU the prompt's prefill is most of a rollout's cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ._types import SamplingParams


@dataclass(frozen=True)
class Decoded:
    """One row's output: sampled tokens (end-of-sequence included where chosen) and their log-probabilities
    under the distribution they were sampled from (after temperature and top-p)."""

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    stopped: bool  #: ended by end-of-sequence or a stop string, not by the token limit


def decode(model: Any, prompts: Sequence[Sequence[int]], params: SamplingParams, seeds: Sequence[int | None], *,
           eos: set[int], pad: int, stop_check: Any = None) -> list[Decoded]:
    """Decode every prompt (token ids); ``stop_check(row, token_ids) -> bool`` ends a row early."""
    device = next(model.parameters()).device
    unique = list(dict.fromkeys(tuple(p) for p in prompts))
    where = {p: i for i, p in enumerate(unique)}
    rows = torch.tensor([where[tuple(p)] for p in prompts], device=device)
    ids, mask = _left_padded(unique, pad, device)
    from transformers import DynamicCache

    cache = DynamicCache()
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask, position_ids=_positions(mask), use_cache=True,
                    logits_to_keep=1, **cache_kwarg(model, cache))
        if len(unique) != len(prompts):
            cache.batch_select_indices(rows)
        logits, mask = out.logits[rows, -1].float(), mask[rows]
        generators = [_generator(seed, device) for seed in seeds]
        tokens: list[list[int]] = [[] for _ in prompts]
        logprobs: list[list[float]] = [[] for _ in prompts]
        done = [False] * len(prompts)
        for _ in range(params.max_new_tokens):
            chosen, chosen_lp = _choose(logits, params, generators)
            for row, (token, lp) in enumerate(zip(chosen.tolist(), chosen_lp.tolist(), strict=True)):
                if done[row]:
                    continue
                tokens[row].append(token)
                logprobs[row].append(lp)
                done[row] = token in eos or (stop_check is not None and stop_check(row, tokens[row]))
            if all(done):
                break
            feed = torch.tensor([pad if d else t[-1] for d, t in zip(done, tokens, strict=True)], device=device)
            mask = torch.cat([mask, torch.ones((len(prompts), 1), dtype=mask.dtype, device=device)], dim=1)
            out = model(input_ids=feed[:, None], attention_mask=mask, position_ids=_positions(mask)[:, -1:],
                        use_cache=True, **cache_kwarg(model, cache))
            logits = out.logits[:, -1].float()
    return [Decoded(tuple(t), tuple(lp), stopped=d) for t, lp, d in zip(tokens, logprobs, done, strict=True)]


def cache_kwarg(model: Any, cache: Any) -> dict[str, Any]:
    """transformers renamed ``past_key_values`` to ``cache`` (5.2x); pass it under the name this version takes."""
    import inspect

    name = "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"
    return {name: cache}


def _left_padded(prompts: Sequence[Sequence[int]], pad: int, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long, device=device)
    mask = torch.zeros((len(prompts), width), dtype=torch.long, device=device)
    for row, p in enumerate(prompts):
        if p:
            ids[row, width - len(p):] = torch.tensor(p, device=device)
            mask[row, width - len(p):] = 1
    return ids, mask


def _positions(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


def _generator(seed: int | None, device: Any) -> torch.Generator | None:
    if seed is None:
        return None
    return torch.Generator(device=device).manual_seed(int(seed) % 2**63)


def _choose(logits: torch.Tensor, params: SamplingParams, generators: list[torch.Generator | None]
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """The next token of every row and its log-probability under the (tempered, top-p) distribution."""
    if params.temperature <= 0:
        logp = torch.log_softmax(logits, dim=-1)
        token = logp.argmax(dim=-1)
        return token, logp.gather(1, token[:, None]).squeeze(1)
    logits = logits / params.temperature
    if params.top_p < 1.0:
        logits = _top_p(logits, params.top_p)
    logp = torch.log_softmax(logits, dim=-1)
    probs = logp.exp()
    token = torch.stack([torch.multinomial(probs[row], 1, generator=g)[0] for row, g in enumerate(generators)])
    return token, logp.gather(1, token[:, None]).squeeze(1)


def _top_p(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches ``top_p`` (the most likely always stays)."""
    ordered, order = logits.sort(dim=-1, descending=True)
    cumulative = torch.softmax(ordered, dim=-1).cumsum(dim=-1)
    drop = cumulative - torch.softmax(ordered, dim=-1) >= top_p
    ordered = ordered.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(1, order, ordered)
