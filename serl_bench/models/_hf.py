"""``hf``: generation with transformers, on CPU or GPU, batched with left padding."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from serl_bench.errors import ConfigError

from ._decode import decode
from ._resolve import ModelRef, model_origin, resolve_model
from ._types import Generation, Message, ModelInfo, SamplingParams


def pick_dtype(dtype: str, device: str) -> Any:
    """``auto``: bf16 on a GPU that supports it; on a CPU whichever of bf16 and fp32 multiplies faster here.

    CPUs differ: with AMX or AVX-512 BF16, bf16 is 2-3x faster; without them (AVX-512 alone) bf16 matrix
    products are emulated and about 3x *slower* than fp32. So it is measured, once per process.
    """
    import torch

    if dtype != "auto":
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"dtype {dtype!r}: use auto, float32, bfloat16 or float16")
        return getattr(torch, dtype)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return fast_cpu_dtype()


@functools.cache
def fast_cpu_dtype() -> Any:
    """The faster of float32 and bfloat16 for a prefill-shaped matrix product on this CPU (about 0.2 s)."""
    import time

    import torch

    def seconds(dtype: Any) -> float:
        a, b = torch.randn(256, 576, dtype=dtype), torch.randn(576, 1536, dtype=dtype)
        for _ in range(2):
            a @ b
        start = time.perf_counter()
        for _ in range(8):
            a @ b
        return time.perf_counter() - start

    return torch.bfloat16 if seconds(torch.bfloat16) < 0.8 * seconds(torch.float32) else torch.float32


@functools.cache
def cpu_threads() -> int:
    """torch's thread count on this CPU, chosen once per process: what ``OMP_NUM_THREADS`` says where it is
    set, else the faster of one thread and all of them for the matrix products of a 135M-class model (a
    prefill and 32 decode steps, best of 3, about half a second), measured as the process starts its model.
    Why measure: on 2 cores, 2 threads prefill faster on a quiet machine, while beside other work one thread
    decoded up to 10x faster (docs/benchmarks.md)."""
    import os
    import time

    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    counts = sorted({1, torch.get_num_threads()})
    if len(counts) == 1:
        return counts[0]
    a, b, d = torch.randn(256, 576), torch.randn(576, 1536), torch.randn(20, 576)

    def seconds(n: int) -> float:
        torch.set_num_threads(n)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(2):
                a @ b
            for _ in range(32):
                d @ b
            best = min(best, time.perf_counter() - start)
        return best

    times = {n: seconds(n) for n in counts}
    chosen = min(times, key=times.__getitem__)
    torch.set_num_threads(chosen)
    return chosen


def load_hf(model: ModelRef | str | None, *, dtype: str = "auto", device: str = "auto") -> tuple[Any, Any, str]:
    """``(model, tokenizer, device)`` from a resolved model; hub ids load only where the hub is reachable."""
    import torch

    from ._transformers import auto_classes

    AutoModelForCausalLM, AutoTokenizer = auto_classes()
    ref = model if isinstance(model, ModelRef) else resolve_model(model)
    if ref.kind == "endpoint":
        raise ConfigError(f"{ref.spec} is an endpoint: use the openai backend for it")
    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    if device == "cpu":
        cpu_threads()
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref.location, local_files_only=ref.kind != "hub")
        loaded = AutoModelForCausalLM.from_pretrained(ref.location, dtype=pick_dtype(dtype, device),
                                                      local_files_only=ref.kind != "hub")
    except OSError as exc:
        raise ConfigError(f"cannot load model {ref.spec!r} ({str(exc).splitlines()[0]}); offline, use "
                          "--model default, a local folder or a .gguf file") from None
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return loaded.to(device).eval(), tokenizer, device


class HFBackend:
    """Batched generation with transformers; per-token log-probabilities of the sampler come along."""

    name = "hf"

    def __init__(self, model: ModelRef | str | None = "default", *, dtype: str = "auto", device: str = "auto",
                 max_batch_size: int = 8) -> None:
        self.ref = model if isinstance(model, ModelRef) else resolve_model(model)
        self.model, self.tokenizer, self.device = load_hf(self.ref, dtype=dtype, device=device)
        self.max_batch_size = max_batch_size
        self.info = ModelInfo(name=self.ref.name, source=self.ref.kind, origin=model_origin(self.ref),
                              parameters=sum(p.numel() for p in self.model.parameters()),
                              dtype=str(self.model.dtype).removeprefix("torch."))

    @classmethod
    def wrap(cls, model: Any, tokenizer: Any, ref: ModelRef, *, max_batch_size: int = 8) -> HFBackend:
        """A backend over a model already in memory (a trainer's policy: rollouts see every update at once)."""
        backend = cls.__new__(cls)
        backend.ref, backend.model, backend.tokenizer = ref, model, tokenizer
        backend.device = str(next(model.parameters()).device)
        backend.max_batch_size = max_batch_size
        backend.info = ModelInfo(name=ref.name, source=ref.kind, parameters=sum(p.numel() for p in model.parameters()),
                                 dtype=str(model.dtype).removeprefix("torch."))
        return backend

    def describe(self) -> dict[str, Any]:
        import torch

        return {"backend": self.name, "device": self.device, "dtype": self.info.dtype,
                "max_batch_size": self.max_batch_size, "threads": torch.get_num_threads()}

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt text the model sees: the chat template with the assistant turn opened."""
        return self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[Sequence[Message]], params: SamplingParams, *,
                 seeds: Sequence[int | None] | None = None) -> list[Generation]:
        texts = [self.render(p) for p in prompts]
        seeds = list(seeds) if seeds is not None else [params.seed] * len(texts)
        out: list[Generation] = []
        size = self.max_batch_size
        for start in range(0, len(texts), size):
            out += self._generate(texts[start:start + size], params, seeds[start:start + size])
        return out

    def _generate(self, texts: list[str], params: SamplingParams, seeds: list[int | None]) -> list[Generation]:
        prompt_ids = [self.tokenizer(t, add_special_tokens=False).input_ids for t in texts]
        eos = set(_as_list(self.model.generation_config.eos_token_id)) | {self.tokenizer.eos_token_id}
        stop_check = None
        if params.stop:
            def stop_check(row: int, tokens: list[int]) -> bool:
                tail = self.tokenizer.decode(tokens[-16:], skip_special_tokens=True)
                return any(s in tail for s in params.stop)
        decoded = decode(self.model, prompt_ids, params, seeds, eos=eos, pad=self.tokenizer.pad_token_id,
                         stop_check=stop_check)
        generations = []
        for text, ids, d in zip(texts, prompt_ids, decoded, strict=True):
            response = self.tokenizer.decode(list(d.token_ids), skip_special_tokens=True)
            generations.append(Generation(text=response, prompt=text, token_ids=d.token_ids, logprobs=d.logprobs,
                                          prompt_token_ids=tuple(ids), finish_reason="stop" if d.stopped else "length"))
        return generations


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
