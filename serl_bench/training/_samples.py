"""Step samples: each LLM decision as token ids, with its action-token mask and its teacher prompt.

A sample is one step of one rollout: the prompt the policy saw, the response it generated (the sampled
token ids where the backend recorded them), which response tokens hold the action (from the action's
character span), the step's advantage, and — where the feedback engine gave the step a hindsight
context — the teacher's prompt (the student's chat, its last turn extended by the context).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from serl_bench.feedback import FeedbackSpec, GroupContexts, teacher_messages
from serl_bench.trajectories import Batch, StepRecord


@dataclass(frozen=True)
class Sample:
    """One LLM decision of a rollout, as token ids, with what the objective needs to know about it."""

    group: int
    rollout: int
    step: int
    prompt_ids: tuple[int, ...]
    response_ids: tuple[int, ...]
    action_mask: tuple[bool, ...]  #: per response token: part of the action (inside ``<action>...</action>``)
    advantage: float  #: the method's advantage for this step (A_i for GRPO-style methods)
    reward: float = 0.0  #: the env's reward for this step
    teacher_prompt_ids: tuple[int, ...] | None = None  #: where the step has a hindsight context
    value_target: float | None = None  #: PPO: the return the value head is fit to

    @property
    def length(self) -> int:
        return len(self.response_ids)


def render(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> tuple[int, ...]:
    text = tokenizer.apply_chat_template([dict(m) for m in messages], tokenize=False, add_generation_prompt=True)
    return tuple(tokenizer(text, add_special_tokens=False).input_ids)


def response_ids(tokenizer: Any, step: StepRecord) -> tuple[int, ...]:
    """The sampled tokens where recorded; else the response re-tokenized, closed by end-of-sequence."""
    if step.response_token_ids is not None:
        return tuple(step.response_token_ids)
    return tuple(tokenizer(step.response or "", add_special_tokens=False).input_ids + [tokenizer.eos_token_id])


def action_mask(tokenizer: Any, ids: Sequence[int], text: str, span: tuple[int, int] | None) -> tuple[bool, ...]:
    """Which tokens overlap the action's characters ``span`` of ``text`` (the decoded response)."""
    if span is None or not ids:
        return (False,) * len(ids)
    pieces = [tokenizer.decode([t], skip_special_tokens=True) for t in ids]
    if "".join(pieces) != text:  # pieces that only decode together (split multi-byte characters)
        ends = [len(tokenizer.decode(list(ids[: i + 1]), skip_special_tokens=True)) for i in range(len(ids))]
    else:
        ends, total = [], 0
        for piece in pieces:
            total += len(piece)
            ends.append(total)
    start, end = span
    mask, begin = [], 0
    for stop in ends:
        mask.append(begin < end and stop > start and stop > begin)
        begin = stop
    return tuple(mask)


def build_samples(batch: Batch, tokenizer: Any, advantages: list[list[list[float]]],
                  contexts: list[GroupContexts] | None = None, spec: FeedbackSpec | None = None, *,
                  teacher_tokens: int | None = None) -> list[Sample]:
    """Samples for every LLM step of ``batch`` (steps without a response — scripted policies — are skipped).

    Teacher prompts longer than ``teacher_tokens`` are cut from the right, as the official code truncates them
    (its tail — the end of the context and the instruction — goes first)."""
    samples = []
    for g, group in enumerate(batch.groups):
        for i, trajectory in enumerate(group.trajectories):
            for t, step in enumerate(trajectory.steps):
                if step.response is None or not step.messages:
                    continue
                ids = response_ids(tokenizer, step)
                teacher = None
                context = contexts[g][i][t] if contexts is not None else None
                if context is not None and spec is not None:
                    teacher = render(tokenizer, teacher_messages(step, context, trajectory.task, spec))
                    teacher = teacher[:teacher_tokens] if teacher_tokens else teacher
                samples.append(Sample(
                    group=g, rollout=i, step=t, prompt_ids=render(tokenizer, step.messages), response_ids=ids,
                    action_mask=action_mask(tokenizer, ids, step.response, step.action_span),
                    advantage=advantages[g][i][t], reward=step.reward, teacher_prompt_ids=teacher))
    return samples
