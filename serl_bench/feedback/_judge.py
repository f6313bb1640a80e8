"""An LLM judge that condenses a trajectory, behind any OpenAI-compatible chat endpoint.

Requests go through the ``openai`` generation backend (an overall deadline per request, connect
included; bounded retries with backoff; bounded concurrency); answers are cached by a hash of everything
that shapes them (in memory, and on disk with ``cache_dir``). A judge that still fails returns a
`JudgeFailure` with the reason, and the context builder keeps the raw trajectory. After
``give_up_after`` trajectories in a row have failed, the judge stops asking (every later one fails at
once, saying so), so a dead endpoint costs a few deadlines, not one per trajectory. `OpenAIJudge`
counts its failures (``failures``).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from serl_bench.models import EndpointError, OpenAIBackend, SamplingParams

DEFAULT_JUDGE_PROMPT = (
    "You review an agent's attempt at a task in a text environment. In at most three sentences, say which "
    "actions mattered for the outcome, which were mistakes, and what should have been done instead."
)


@dataclass(frozen=True)
class JudgeFailure:
    reason: str


class Judge(Protocol):
    def condense_many(self, items: Sequence[tuple[str, str, str]]) -> list[str | JudgeFailure]:
        """Summaries of ``(task, trajectory text, outcome)`` items, in order."""


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge runs and how it is asked."""

    base_url: str  #: e.g. ``http://127.0.0.1:8000/v1``
    model: str
    api_key: str | None = None  #: default: ``$OPENAI_API_KEY`` if set
    timeout_s: float = 30.0  #: overall deadline per request: connecting and the whole answer
    retries: int = 2  #: retries per request (missed deadline, connection error, 429, 5xx)
    max_concurrency: int = 4
    give_up_after: int = 3  #: trajectories failed in a row after which the judge stops asking (0: never)
    max_tokens: int = 200
    prompt: str = DEFAULT_JUDGE_PROMPT
    cache_dir: str | None = None


class OpenAIJudge:
    """`Judge` over an OpenAI-compatible endpoint (through the ``openai`` generation backend)."""

    def __init__(self, config: JudgeConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self._endpoint = OpenAIBackend(config.base_url, config.model, api_key=config.api_key,
                                       timeout_s=config.timeout_s, retries=config.retries,
                                       max_concurrency=config.max_concurrency, client=client)
        self._params = SamplingParams(temperature=0.0, max_new_tokens=config.max_tokens)
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()
        self.failures = 0  #: trajectories the judge failed to condense (the raw trajectory was used)
        self._in_a_row = 0
        self._last_reason = ""

    @property
    def requests(self) -> int:
        """HTTP requests made (cache hits make none)."""
        return self._endpoint.requests

    def condense_many(self, items: Sequence[tuple[str, str, str]]) -> list[str | JudgeFailure]:
        with ThreadPoolExecutor(max_workers=max(1, self.config.max_concurrency)) as pool:
            return list(pool.map(lambda item: self._condense_cached(*item), items))

    def _condense_cached(self, task: str, text: str, result: str) -> str | JudgeFailure:
        key = hashlib.sha256(json.dumps([self.config.model, self.config.prompt, self.config.max_tokens, task, text,
                                         result]).encode()).hexdigest()
        cached = self._memory.get(key) or self._read_disk(key)
        if cached is not None:
            return cached
        limit = self.config.give_up_after
        with self._lock:
            if limit and self._in_a_row >= limit:
                self.failures += 1
                return JudgeFailure(f"not asked: the judge failed {self._in_a_row} trajectories in a row "
                                    f"(last: {self._last_reason})")
        messages = [{"role": "system", "content": self.config.prompt},
                    {"role": "user", "content": f"Task: {task}\nOutcome: {result}\nAttempt:\n{text}"}]
        try:
            answer = " ".join(self._endpoint.chat(messages, self._params).text.split())
        except EndpointError as exc:
            return self._failed(str(exc))
        if not answer:
            return self._failed("empty answer")
        with self._lock:
            self._in_a_row = 0
        self._memory[key] = answer
        self._write_disk(key, answer)
        return answer

    def _failed(self, reason: str) -> JudgeFailure:
        with self._lock:
            self.failures += 1
            self._in_a_row += 1
            self._last_reason = reason
        return JudgeFailure(reason)

    def _read_disk(self, key: str) -> str | None:
        if not self.config.cache_dir:
            return None
        try:
            return json.loads((Path(self.config.cache_dir) / f"{key}.json").read_text())["summary"]
        except (OSError, ValueError, KeyError):
            return None

    def _write_disk(self, key: str, summary: str) -> None:
        if self.config.cache_dir:
            folder = Path(self.config.cache_dir)
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({"summary": summary}))
            os.replace(tmp, folder / f"{key}.json")
