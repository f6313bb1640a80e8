"""``reflexion``: several trials per task; after a failed one the model writes a lesson it keeps for the next.

After Shinn et al. (2023): the lessons are the model's own words, carried in the prompt of later trials
of the same task and forgotten when the task changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from serl_bench.agents import ACTION_STOP, LLMAgent, llm_settings
from serl_bench.methods import register_method
from serl_bench.models import SamplingParams, make_backend
from serl_bench.trajectories import Trajectory

REFLECTION_PROMPT = (
    "You tried this task and failed.\nTask: {task}\nYour attempt ({steps} steps, most recent last):\n{attempt}\n\n"
    "In at most two sentences, say what went wrong and what you will do differently next time."
)


@register_method("reflexion", kind="prompting")
class ReflexionAgent(LLMAgent):
    """Reflexion: up to ``trials`` attempts per task, each failure followed by a self-written lesson.

    Args:
        model: default (bundled), a model folder, a run directory, a .gguf file, a hub id or an endpoint URL.
        backend: auto (openai for an endpoint URL, else hf), hf, openai or vllm.
        trials: attempts per task.
        history: earlier steps shown in the prompt (default: a trained checkpoint's own, else 2).
        temperature: sampling temperature (0: greedy).
        top_p: nucleus sampling mass.
        max_new_tokens: tokens per response (default: a trained checkpoint's own, else 256).
        reflection_tokens: tokens of each self-written lesson.
        prompt: prompt style: standard or compact (default: a trained checkpoint's own, else standard).
        dtype: model dtype: auto, float32, bfloat16 or float16.
    """

    def __init__(self, model: str = "default", backend: str = "auto", trials: int = 3, history: int | None = None,
                 temperature: float = 0.0, top_p: float = 1.0, max_new_tokens: int | None = None,
                 reflection_tokens: int = 96, dtype: str = "auto", prompt: str | None = None) -> None:
        ref, history, max_new_tokens, dtype, prompt = llm_settings(model, history, max_new_tokens, dtype, prompt)
        super().__init__(make_backend(backend, ref, dtype=dtype), history=history, prompt=prompt,
                         sampling=SamplingParams(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                                stop=ACTION_STOP))
        self.trials = max(1, int(trials))
        self.reflection_tokens = reflection_tokens
        self._memory_for: str | None = None

    def reset(self, env: gym.Env, observation: str, info: Mapping[str, Any], *, seed: int) -> None:
        if info.get("task_id") != self._memory_for:  # a new task: earlier lessons do not apply
            self.memory, self._memory_for = [], info.get("task_id")
        super().reset(env, observation, info, seed=seed)

    def end_trial(self, trajectory: Trajectory) -> None:
        attempt = "\n".join(f"> {s.action}\n{' '.join(s.next_observation.split())[:200]}"
                            for s in trajectory.steps[-12:])
        prompt = REFLECTION_PROMPT.format(task=trajectory.task, steps=trajectory.length, attempt=attempt)
        answer = self.backend.generate([[{"role": "user", "content": prompt}]],
                                       SamplingParams(max_new_tokens=self.reflection_tokens))[0].text
        self.memory.append(" ".join(answer.split()) or "(no lesson)")
