"""The learner: one policy update on a list of samples (the part of training that needs no env).

Old-policy log-probabilities where the objective needs them -> teacher log-probabilities where the method
asks (a lagged copy of the policy, synced every ``teacher_sync_interval`` updates) -> per micro-batch: the
policy's log-probabilities, per-token advantages (method hook) and the method's loss, token-mean over each
minibatch, plus an optional entropy bonus.

The old policy's pass is skipped when it would repeat the first minibatch's own forward: with one epoch
and one minibatch, the policy has not moved when that forward runs, so its detached log-probabilities
*are* the old ones, exactly.
"""

from __future__ import annotations

import contextlib
import copy
import random
from typing import Any

import torch

from ._config import TrainConfig
from ._distributed import Ranks, data_parallel, gather
from ._method import Objective, TrainingMethod
from ._policy import ValueHead, score
from ._samples import Sample


class Learner:
    """The policy, its optimizer, its value head and lagged teacher where the method needs them."""

    def __init__(self, config: TrainConfig, method: TrainingMethod, model: Any, compute_dtype: Any,
                 ranks: Ranks | None = None) -> None:
        self.config, self.method, self.model = config, method, model
        self.ranks = ranks or Ranks()
        self.device = str(next(model.parameters()).device)
        self.compute_dtype = compute_dtype
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable()
        if config.train_layers:
            freeze_below(model, config.train_layers)
        self.value_head = ValueHead(model.config.hidden_size).to(self.device) if method.value_head else None
        params = [p for p in model.parameters() if p.requires_grad]
        params += list(self.value_head.parameters()) if self.value_head else []
        self.optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        # several ranks: the training passes go through DDP, which synchronises the gradients
        self.parallel = data_parallel(model, self.value_head, self.device) if self.ranks.distributed else None
        self.teacher = copy.deepcopy(model).eval() if method.uses_teacher else None
        if self.teacher is not None:
            self.teacher.requires_grad_(False)
        self.teacher_synced_at = 0
        self.objective = Objective(clip=config.ppo_clip, dual_clip=config.dual_clip or None)
        # Log-probabilities under the distribution the rollouts were sampled from (veRL does the same); a
        # likelihood objective (SFT's expert tokens) is not sampled, so it scores at temperature 1.
        self.temperature = config.temperature if not method.likelihood_objective and config.temperature > 0 else 1.0

    def learn(self, samples: list[Sample], update: int) -> dict[str, Any]:
        """One update on ``samples``; its metrics."""
        c, method = self.config, self.method
        minibatches = self._minibatches(len(samples), update)
        old: list[torch.Tensor] | None = None
        self.model.eval()
        if method.needs_old_logprobs or method.value_head or c.epochs > 1 or len(minibatches) > 1:
            with torch.no_grad(), self._autocast():
                scored = score(self.model, [s.prompt_ids for s in samples], [s.response_ids for s in samples],
                               value_head=self.value_head, micro_batch=c.micro_batch, temperature=self.temperature)
            old = scored.logprobs
            samples = method.assign(samples, scored.values)
        teacher = self._teacher_logprobs(samples, update)
        self.model.train()
        stats: dict[str, list[float]] = {}
        for _ in range(c.epochs):
            for ids in minibatches:
                for key, value in self._optimizer_step(samples, ids, old, teacher).items():
                    stats.setdefault(key, []).append(value)
        out = {key: sum(v) / len(v) for key, v in stats.items()}
        return {**out, "teacher/samples_scored": sum(t is not None for t in teacher), **method.metrics()}

    def _minibatches(self, n: int, update: int) -> list[list[int]]:
        order = list(range(n))
        random.Random(self.config.seed + update).shuffle(order)
        size = self.config.minibatch
        return [order[start:start + size] for start in range(0, n, size)]

    def _teacher_logprobs(self, samples: list[Sample], update: int) -> list[torch.Tensor | None]:
        if self.teacher is None or not self.method.teacher_active:
            return [None] * len(samples)
        if update - self.teacher_synced_at >= self.method.teacher_sync_interval:
            self.teacher.load_state_dict(self.model.state_dict())
            self.teacher_synced_at = update
        scored = [i for i, s in enumerate(samples) if self.method.teacher_needed(s)]
        out: list[torch.Tensor | None] = [None] * len(samples)
        if scored:
            with torch.no_grad(), self._autocast():
                lps = score(self.teacher, [samples[i].teacher_prompt_ids for i in scored],
                            [samples[i].response_ids for i in scored], micro_batch=self.config.micro_batch,
                            temperature=self.temperature).logprobs
            for i, lp in zip(scored, lps, strict=True):
                out[i] = lp
        return out

    def _optimizer_step(self, samples: list[Sample], ids: list[int], old: list[torch.Tensor] | None,
                        teacher: list[torch.Tensor | None]) -> dict[str, float]:
        c, method, ranks = self.config, self.method, self.ranks
        self.optimizer.zero_grad(set_to_none=True)
        total_tokens = sum(samples[i].length for i in ids)
        stats: dict[str, list[float]] = {}
        total, abs_advantage = 0.0, []
        ids = sorted(ids, key=lambda i: samples[i].prompt_ids)  # shared prompts land in one micro-batch
        entropy_coef = 0.0 if method.likelihood_objective else c.entropy_coef
        mine = ranks.share(ids)  # this rank's share of the minibatch (one rank: all of it)
        micros = [mine[start:start + c.micro_batch] for start in range(0, len(mine), c.micro_batch)]
        for m, micro in enumerate(micros or [ids[:1]]):  # no share: one pass that adds nothing (DDP syncs)
            accumulate = self.parallel is not None and m < len(micros) - 1  # the last micro-batch all-reduces
            with self.parallel.no_sync() if accumulate else contextlib.nullcontext():
                kwargs = dict(micro_batch=c.micro_batch, stats=True, temperature=self.temperature)
                prompts, responses = [samples[i].prompt_ids for i in micro], [samples[i].response_ids for i in micro]
                with self._autocast():
                    scored = self.parallel(prompts, responses, **kwargs) if self.parallel is not None else score(
                        self.model, prompts, responses, value_head=self.value_head, **kwargs)
                if not micros:
                    nothing = sum(lp.sum() for lp in scored.logprobs) * 0.0
                    (nothing + scored.values.sum() * 0.0 if scored.values is not None else nothing).backward()
                    continue
                loss = torch.zeros((), device=self.device)
                for k, (lp, i) in enumerate(zip(scored.logprobs, micro, strict=True)):
                    current = lp.detach()
                    before = old[i].to(lp.device) if old is not None else current
                    advantages = method.token_advantages(samples[i], current, before, teacher[i])
                    abs_advantage.append(float(advantages.abs().sum()))
                    term, parts = method.policy_loss(lp, before, advantages.to(lp.device), self.objective)
                    loss = loss + term / total_tokens
                    if entropy_coef:
                        loss = loss - entropy_coef * scored.entropies[k].sum() / total_tokens
                    for key, value in parts.items():
                        stats.setdefault(key, []).append(value)
                    stats.setdefault("losses/entropy", []).append(float(scored.entropies[k].detach().mean()))
                    stats.setdefault("losses/token_accuracy", []).append(float(scored.greedy[k].float().mean()))
                extra = method.extra_loss([samples[i] for i in micro], scored.values)
                if extra is not None:
                    loss = loss + extra * len(micro) / len(ids)
                # DDP averages the ranks' gradients: scaled by the world size, that is the minibatch's sum
                (loss * ranks.world if ranks.distributed else loss).backward()
                total += float(loss.detach())
        if ranks.distributed:  # the minibatch's figures from every rank's share, as one process has them
            every = gather([(stats, total, abs_advantage)], ranks)
            keys = list(dict.fromkeys(k for part, _, _ in every for k in part))
            stats = {k: [v for part, _, _ in every for v in part.get(k, [])] for k in keys}
            total = sum(t for _, t, _ in every)
            abs_advantage = [a for _, _, part in every for a in part]
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)
        self.optimizer.step()
        return {"losses/policy_loss": total, "losses/grad_norm": float(grad_norm),
                "advantages/mean_abs_token": sum(abs_advantage) / max(1, total_tokens),
                **{k: sum(v) / len(v) for k, v in stats.items()}}

    def _autocast(self) -> Any:
        """On a CPU the weights stay fp32 and compute runs in bf16 only where bf16 is faster (measured);
        GPUs train in bf16 weights directly."""
        enabled = self.device == "cpu" and self.model.dtype == torch.float32 and self.compute_dtype == torch.bfloat16
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def freeze_below(model: Any, layers: int) -> None:
    """Train only the top ``layers`` decoder layers and the final norm: the rest (embeddings, the tied output
    layer, the lower layers) keep their weights, and the backward pass never goes below them. A model with
    fewer than ``layers`` decoder layers trains whole (the CPU default of 10 still works on a tiny model)."""
    decoder = model.get_decoder()
    blocks = list(decoder.layers)
    if layers > len(blocks):
        return
    model.requires_grad_(False)
    for block in blocks[-layers:]:
        block.requires_grad_(True)
    norm = getattr(decoder, "norm", None)
    if norm is not None:
        norm.requires_grad_(True)
