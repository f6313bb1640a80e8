"""``react``: a zero-shot LLM agent that reasons, then acts (think tags, then one action), on any backend."""

from __future__ import annotations

from serl_bench.agents import ACTION_STOP, LLMAgent, llm_settings
from serl_bench.methods import register_method
from serl_bench.models import SamplingParams, make_backend


@register_method("react", kind="prompting")
def react(model: str = "default", backend: str = "auto", history: int | None = None, temperature: float = 0.0,
          top_p: float = 1.0, max_new_tokens: int | None = None, dtype: str = "auto",
          prompt: str | None = None) -> LLMAgent:
    """Zero-shot ReAct-style LLM agent: reason in <think>, act in <action> (bundled model by default).

    Args:
        model: default (bundled), a model folder, a run directory, a .gguf file, a hub id or an endpoint URL.
        backend: auto (openai for an endpoint URL, else hf), hf, openai or vllm.
        history: earlier steps shown in the prompt (default: a trained checkpoint's own, else 2).
        temperature: sampling temperature (0: greedy).
        top_p: nucleus sampling mass.
        max_new_tokens: tokens per response (default: a trained checkpoint's own, else 256).
        prompt: prompt style: standard or compact (default: a trained checkpoint's own, else standard).
        dtype: model dtype: auto (a trained checkpoint's own, else the faster here), float32, bfloat16 or float16.
    """
    ref, history, max_new_tokens, dtype, prompt = llm_settings(model, history, max_new_tokens, dtype, prompt)
    return LLMAgent(make_backend(backend, ref, dtype=dtype), history=history, prompt=prompt,
                    sampling=SamplingParams(temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                                                stop=ACTION_STOP))
