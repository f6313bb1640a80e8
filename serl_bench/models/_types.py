"""What goes into a generation backend and what comes out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from serl_bench.errors import ConfigError

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@dataclass(frozen=True)
class SamplingParams:
    """How to sample; recorded with every run."""

    temperature: float = 0.0  #: 0 means greedy
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int | None = None  #: per-call seed where the backend supports one
    stop: tuple[str, ...] = ()  #: generation ends after any of these strings

    def __post_init__(self) -> None:
        def number(value: Any) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

        if not number(self.temperature) or self.temperature < 0:
            raise ConfigError(f"temperature must be a finite number of at least 0 (0: greedy), got "
                              f"{self.temperature!r}")
        if not number(self.top_p) or not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if not isinstance(self.max_new_tokens, int) or isinstance(self.max_new_tokens, bool) or self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1 (a whole number), got {self.max_new_tokens!r}")


@dataclass(frozen=True)
class Generation:
    """One response, with its tokens and their log-probabilities where the backend gives them."""

    text: str
    prompt: str | None = None  #: the prompt as the model saw it (chat template applied)
    token_ids: tuple[int, ...] | None = None  #: generated tokens
    logprobs: tuple[float, ...] | None = None  #: log-probability of each generated token under the sampler
    prompt_token_ids: tuple[int, ...] | None = None
    finish_reason: str | None = None  #: "stop", "length", ...


@dataclass(frozen=True)
class ModelInfo:
    """The ``model`` field of a results record."""

    name: str
    source: str  #: bundled, local, gguf, hub, run or endpoint
    parameters: int | None
    dtype: str | None
    origin: dict[str, Any] | None = None  #: where the weights came from (`serl_bench.models.model_origin`)


class Backend(Protocol):
    """Generates responses to a batch of chat prompts."""

    name: str
    info: ModelInfo

    def generate(self, prompts: Sequence[Sequence[Message]], params: SamplingParams, *,
                 seeds: Sequence[int | None] | None = None) -> list[Generation]:
        """One `Generation` per prompt, in order; ``seeds[i]`` (default ``params.seed``) seeds prompt i's
        sampling alone, so a response does not depend on the other prompts of the batch."""

    def describe(self) -> dict[str, Any]:
        """Backend settings worth recording (dtype, device, endpoint...)."""
