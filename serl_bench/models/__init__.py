"""Language models for agents: which model (``--model``), and the backends that generate with it.

* ``hf`` — transformers, CPU or GPU, batched with left padding (`HFBackend`);
* ``openai`` — any OpenAI-compatible endpoint (`OpenAIBackend`);
* ``vllm`` — an in-process vLLM engine with weight updates (`VLLMBackend`, optional extra).

``--model`` is ``default`` (the bundled SmolLM2-135M-Instruct), a model folder, a ``.gguf`` file, a hub
id, or an endpoint URL (`resolve_model`). Torch and transformers load only when a backend is built.
"""

from ._openai import EndpointError, OpenAIBackend
from ._resolve import (
    PROVENANCE_FILE,
    ModelRef,
    bundled_gguf,
    model_origin,
    resolve_model,
    trained_agent_settings,
    weights_sha256,
)
from ._types import Backend, Generation, Message, ModelInfo, SamplingParams

__all__ = ["Backend", "EndpointError", "Generation", "HFBackend", "Message", "ModelInfo", "ModelRef",
           "OpenAIBackend", "SamplingParams", "BACKENDS", "VLLMBackend", "bundled_gguf", "load_hf", "make_backend",
           "pick_dtype", "resolve_model", "PROVENANCE_FILE", "model_origin", "trained_agent_settings",
           "weights_sha256", "cache_kwarg"]

_LAZY = {"HFBackend": "._hf", "load_hf": "._hf", "pick_dtype": "._hf", "VLLMBackend": "._vllm",
         "cache_kwarg": "._decode"}


def __getattr__(name: str):
    """The torch-backed pieces load on first use, so importing this package stays cheap."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


BACKENDS = ("auto", "hf", "openai", "vllm")


def make_backend(backend: str = "auto", model: str | ModelRef | None = "default", *, dtype: str = "auto") -> Backend:
    """A backend by name; ``auto`` is ``openai`` for an endpoint URL and ``hf`` otherwise."""
    from serl_bench.errors import ConfigError, UnknownNameError

    if backend not in BACKENDS:
        raise UnknownNameError("backend", backend, BACKENDS)
    ref = model if isinstance(model, ModelRef) else resolve_model(model)
    if backend == "auto":
        backend = "openai" if ref.kind == "endpoint" else "hf"
    if (backend == "openai") != (ref.kind == "endpoint"):
        raise ConfigError(f"the {backend} backend cannot run --model {ref.spec!r}: the openai backend takes an "
                          "endpoint URL, hf and vllm take a model")
    if backend == "openai":
        return OpenAIBackend(ref.location, ref.name or None)
    if backend == "hf":
        from ._hf import HFBackend

        return HFBackend(ref, dtype=dtype)
    from ._vllm import VLLMBackend

    return VLLMBackend(ref, dtype=dtype)
