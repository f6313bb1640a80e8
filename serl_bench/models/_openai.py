"""``openai``: any OpenAI-compatible ``/chat/completions`` endpoint (vLLM, transformers serve, hosted APIs).

Every request has an overall deadline, ``timeout_s``, that covers connecting and receiving the whole
answer (not a timeout per read: a server that trickles a byte now and then cannot hold a request past it).
A request is retried at most ``retries`` times, with backoff, on a missed deadline, a connection error,
429 or 5xx; at most ``max_concurrency`` run at once. A request that still fails raises `EndpointError`
with one line naming the endpoint and the reason.
"""

from __future__ import annotations

import json
import math
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
                 connect_timeout_s: float = 10.0, client: httpx.Client | None = None) -> None:
        for name, value in (("timeout_s", timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"endpoint {name} must be a positive number of seconds, got {value!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
            raise ConfigError(f"endpoint retries must be a whole number from 0 to {MAX_RETRIES}, got {retries!r}")
        self.base_url = base_url.rstrip("/")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self.timeout_s, self.retries, self.max_concurrency = float(timeout_s), retries, max(1, max_concurrency)
        self.connect_timeout_s = min(float(connect_timeout_s), self.timeout_s)
        self._client = client or httpx.Client(base_url=self.base_url + "/", timeout=self._timeout(),
                                              headers={"Authorization": f"Bearer {key}"} if key else {})
        self._lock = threading.Lock()
        self.requests = 0  #: HTTP requests made, retries included
        self.model = model or self._first_model()
        self.info = ModelInfo(name=self.model, source="endpoint", parameters=None, dtype=None,
                              origin={"kind": "endpoint", "name": f"{self.model} at {self.base_url}", "sha256": None,
                                      "run_config_hash": None, "recipe": None, "parent": None})

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self.base_url, "timeout_s": self.timeout_s,
                "connect_timeout_s": self.connect_timeout_s, "retries": self.retries,
                "max_concurrency": self.max_concurrency}

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s)

    def _first_model(self) -> str:
        try:
            status, content = self._send("GET", "models")
            if status != 200:
                reason = f"HTTP {status}"
            else:
                return str(json.loads(content)["data"][0]["id"])
        except httpx.ConnectTimeout:
            reason = f"no connection within {self.connect_timeout_s:g} s"
        except (_DeadlineMissed, httpx.TimeoutException):
            reason = f"no answer within {self.timeout_s:g} s"
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            reason = type(exc).__name__
        raise ConfigError(f"cannot list the models of {self.base_url} ({reason}); is the server up? "
                          "name the model it serves as URL#MODEL")

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """One HTTP exchange, its status and body, within ``timeout_s`` from start to last byte.

        httpx's timeouts are per operation (each read may take ``timeout_s``), so the exchange runs in a
        helper thread that this one waits for until the deadline. A helper left behind stops at its next
        chunk, or when a read times out, and discards what it got."""
        outcome: dict[str, Any] = {}
        abandoned = threading.Event()

        def exchange() -> None:
            try:
                with self._client.stream(method, path, json=body, timeout=self._timeout()) as response:
                    chunks = []
                    for chunk in response.iter_bytes():
                        if abandoned.is_set():
                            return
                        chunks.append(chunk)
                    outcome["answer"] = (response.status_code, b"".join(chunks))
            except BaseException as exc:  # handed to the waiting thread
                outcome["error"] = exc

        helper = threading.Thread(target=exchange, daemon=True, name=f"openai-{method.lower()}-{path}")
        helper.start()
        helper.join(self.timeout_s)
        if helper.is_alive():
            abandoned.set()
            raise _DeadlineMissed
        if "error" in outcome:
            raise outcome["error"]
        return outcome["answer"]

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
        where = f"{self.base_url}/chat/completions"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.25 * 2**attempt, 4.0))
            with self._lock:
                self.requests += 1
            try:
                status, content = self._send("POST", "chat/completions", body)
            except httpx.ConnectTimeout:
                reason = f"no connection within {self.connect_timeout_s:g} s"
                continue
            except (_DeadlineMissed, httpx.TimeoutException):
                reason = f"no complete answer within {self.timeout_s:g} s"
                continue
            except httpx.HTTPError as exc:
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                continue
            if status == 429 or status >= 500:
                reason = f"HTTP {status}"
                continue
            if status != 200:
                raise EndpointError(f"{where}: HTTP {status}: {_brief(content)}")
            return _generation(content, where)
        attempts = self.retries + 1
        raise EndpointError(f"{where}: {reason} ({attempts} attempt{'s' if attempts > 1 else ''})")


MAX_RETRIES = 10  #: retries allowed per request


class _DeadlineMissed(Exception):
    """An exchange that did not end within the request's deadline."""


def _brief(content: bytes) -> str:
    return " ".join(content.decode("utf-8", "replace").split())[:200]


def _generation(content: bytes, where: str) -> Generation:
    try:
        choice = json.loads(content)["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise EndpointError(f"{where}: unreadable answer: {_brief(content)}") from None
    if not isinstance(text, str):
        raise EndpointError(f"{where}: the answer has no text")
    try:
        tokens = ((choice.get("logprobs") or {}).get("content")) or None
        logprobs = tuple(_logprob(t["logprob"]) for t in tokens) if tokens else None
    except (AttributeError, KeyError, TypeError, ValueError):
        shown = _brief(json.dumps(choice.get("logprobs"))[:200].encode())
        raise EndpointError(f"{where}: malformed logprobs in the answer (each token needs a number `logprob`, "
                            f"at most 0): {shown}") from None
    return Generation(text=text, logprobs=logprobs, finish_reason=choice.get("finish_reason"))


def _logprob(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value <= 1e-6:  # NaN fails too
        raise ValueError(value)
    return float(value)
