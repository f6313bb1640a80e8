"""An agent that asks a language model for each action (the base of ReAct, Reflexion and trained policies)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from serl_bench.methods import Agent, AgentStep, GenerationRequest
from serl_bench.models import (
    Backend,
    Generation,
    Message,
    ModelInfo,
    ModelRef,
    SamplingParams,
    resolve_model,
    trained_agent_settings,
)
from serl_bench.rollouts import step_seed

from ._format import PromptFormat, PromptStyle, format_for, parse_action, prompt_style

MAX_ACTIONS_SHOWN = 60


class LLMAgent(Agent):
    """Prompt = task + last ``history`` steps + observation + admissible actions; reply = think + action.

    Example::

        agent = LLMAgent(HFBackend("default"), history=2)
    """

    def __init__(self, backend: Backend, *, history: int = 2, sampling: SamplingParams | None = None,
                 prompt: str = PromptStyle.STANDARD, prompt_format: PromptFormat | None = None) -> None:
        self.backend = backend
        self.history = history
        self.sampling = sampling or SamplingParams()
        self.prompt = prompt_style(prompt)  #: the prompt style (recorded)
        self.prompt_format = prompt_format
        self.memory: list[str] = []  #: lessons carried between trials of one task (Reflexion)
        self._steps: list[tuple[str, str]] = []
        self._task, self._format, self._seed = "", format_for(None), 0

    @property
    def model_info(self) -> ModelInfo:
        """What the harness records as the run's ``model``."""
        return self.backend.info

    def reset(self, env: gym.Env, observation: str, info: Mapping[str, Any], *, seed: int) -> None:
        self._format = self.prompt_format or format_for(env.spec.id if env.spec else None, self.prompt)
        self._task = str(info.get("task", ""))
        self._steps, self._seed = [], seed

    def messages(self, observation: str, info: Mapping[str, Any]) -> list[Message]:
        fmt = self._format
        clean = (lambda text: fmt.clean(text, self._task)) if fmt.clean else (lambda text: text)
        actions = list(info.get("admissible_actions") or [])
        if fmt.hide_visible:
            seen = observation.lower()
            actions = [a for a in actions if not (a.startswith("click[") and a[6:-1].lower() in seen)]
        shown = ", ".join(fmt.action_format.format(a) for a in actions[:MAX_ACTIONS_SHOWN])
        if len(actions) > MAX_ACTIONS_SHOWN:
            shown += f", ... ({len(actions) - MAX_ACTIONS_SHOWN} more)"
        recent = self._steps[-self.history:] if self.history else []
        history = ""
        if recent:
            first = len(self._steps) - len(recent) + 1
            history = fmt.history_header.format(steps=len(self._steps)) + "".join(
                fmt.history_line.format(n=first + i, observation=clean(o), action=a)
                for i, (o, a) in enumerate(recent)).rstrip("; ") + ("\n" if fmt.history_line.endswith("; ") else "")
        if self.memory:
            history = "Lessons from your earlier attempts at this task:\n" + "".join(
                f"- {m}\n" for m in self.memory) + history
        content = fmt.template.format(intro=fmt.intro, task=self._task, history=history,
                                      observation=clean(observation), actions=shown, steps=len(self._steps))
        return [{"role": "user", "content": content}]

    def fork(self) -> LLMAgent:
        """Same backend and settings, its own episode state and lessons."""
        twin = copy.copy(self)
        twin.memory, twin._steps = [], []
        return twin

    def request(self, observation: str, info: Mapping[str, Any]) -> GenerationRequest:
        seed = step_seed(self._seed, len(self._steps)) if self.sampling.temperature > 0 else None
        return GenerationRequest(self.backend, tuple(self.messages(observation, info)), self.sampling, seed)

    def act(self, observation: str, info: Mapping[str, Any]) -> AgentStep:
        request = self.request(observation, info)
        generation = self.backend.generate([list(request.messages)], request.sampling, seeds=[request.seed])[0]
        return self.respond(observation, info, request, generation)

    def respond(self, observation: str, info: Mapping[str, Any], request: GenerationRequest,
                generation: Generation) -> AgentStep:
        """Turn a generation into this step's action, and remember the step."""
        parsed = parse_action(generation.text, list(info.get("admissible_actions") or []))
        action = parsed.action or ""
        self._steps.append((observation, action if parsed.action else f"(invalid: {parsed.error})"))
        return AgentStep(action=action, prompt=generation.prompt or _flatten(request.messages),
                         response=generation.text, action_span=parsed.span, error=parsed.error,
                         messages=request.messages, token_ids=generation.token_ids, logprobs=generation.logprobs)


def llm_settings(model: str | None, history: int | None, max_new_tokens: int | None, dtype: str,
                 prompt: str | None = None) -> tuple[ModelRef, int, int, str, str]:
    """``(model, history, max_new_tokens, dtype, prompt)`` with the unset ones taken from how a trained
    checkpoint was trained (so it acts in ``eval`` as it did in training), else the prompting defaults
    (2, 256, auto, standard)."""
    ref = resolve_model(model)
    trained = trained_agent_settings(ref)
    return (ref, trained.get("history", 2) if history is None else history,
            trained.get("max_new_tokens", 256) if max_new_tokens is None else max_new_tokens,
            trained.get("dtype", "auto") if dtype == "auto" else dtype,
            trained.get("prompt", PromptStyle.STANDARD) if prompt is None else prompt)


def _flatten(messages: Sequence[Message]) -> str:
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)
