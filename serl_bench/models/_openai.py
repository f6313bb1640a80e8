"""``openai``: any OpenAI-compatible ``/chat/completions`` endpoint (vLLM, transformers serve, hosted APIs).

Every request has a timeout and is retried with backoff on timeouts, connection errors, 429 and 5xx; at
most ``max_concurrency`` run at once. A request that still fails raises `EndpointError` with the reason.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx

from serl_bench.errors import ConfigError, SerlBenchError

from ._types import Generation, Message, ModelInfo, SamplingParams


class EndpointError(SerlBenchError):
    """An endpoint that did not answer usefully, after retries."""


class OpenAIBackend:
    """Chat completions over HTTP, with token log-probabilities where the server returns them."""

    name = "openai"

    def __init__(self, base_url: str, model: str | None = None, *, api_key: str | None = None,
                 timeout_s: float = 60.0, retries: int = 2, max_concurrency: int = 4,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self.timeout_s, self.retries, self.max_concurrency = timeout_s, retries, max(1, max_concurrency)
        self._client = client or httpx.Client(base_url=self.base_url + "/", timeout=timeout_s,
                                              headers={"Authorization": f"Bearer {key}"} if key else {})
        self._lock = threading.Lock()
        self.requests = 0  #: HTTP requests made, retries included
        self.model = model or self._first_model()
        self.info = ModelInfo(name=self.model, source="endpoint", parameters=None, dtype=None,
                              origin={"kind": "endpoint", "name": f"{self.model} at {self.base_url}", "sha256": None,
                                      "run_config_hash": None, "recipe": None, "parent": None})

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self.base_url, "timeout_s": self.timeout_s,
                "retries": self.retries, "max_concurrency": self.max_concurrency}

    def _first_model(self) -> str:
        try:
            response = self._client.get("models")
            response.raise_for_status()
            return str(response.json()["data"][0]["id"])
        except httpx.HTTPStatusError as exc:
            reason = f"HTTP {exc.response.status_code}"
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            reason = type(exc).__name__
        raise ConfigError(f"cannot list the models of {self.base_url} ({reason}); is the server up? "
                          "name the model explicitly")

    def generate(self, prompts: Sequence[Sequence[Message]], params: SamplingParams, *,
                 seeds: Sequence[int | None] | None = None) -> list[Generation]:
        per_prompt = [params] * len(prompts) if seeds is None else [replace(params, seed=seed) for seed in seeds]
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            return list(pool.map(self.chat, prompts, per_prompt))

    def chat(self, messages: Sequence[Message], params: SamplingParams) -> Generation:
        """One completion; raises EndpointError once retries are spent."""
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "max_tokens": params.max_new_tokens,
                                "temperature": params.temperature, "top_p": params.top_p, "logprobs": True}
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        reason = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.25 * 2**attempt, 4.0))
            with self._lock:
                self.requests += 1
            try:
                response = self._client.post("chat/completions", json=body)
            except httpx.TimeoutException:
                reason = f"timed out after {self.timeout_s:g} s"
                continue
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                reason = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise EndpointError(f"HTTP {response.status_code}: {response.text[:200]}")
            return _generation(response)
        raise EndpointError(f"{reason} ({self.retries + 1} attempts)")


def _generation(response: httpx.Response) -> Generation:
    try:
        choice = response.json()["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise EndpointError(f"unreadable answer: {response.text[:200]}") from None
    if not isinstance(text, str):
        raise EndpointError("the answer has no text")
    content = ((choice.get("logprobs") or {}).get("content")) or None
    logprobs = tuple(float(t["logprob"]) for t in content) if content else None
    return Generation(text=text, logprobs=logprobs, finish_reason=choice.get("finish_reason"))
