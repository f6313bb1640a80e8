"""The results record: what a run reports, computed only from its episode log.

`summarize` is the single place figures come from: the harness writes them, and the leaderboard
recomputes them from ``episodes.jsonl`` to check a submission. Success (``won``) and score (the env's
reward in [0, 1]) are always separate figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 2
Z95 = 1.959963984540054  # two-sided 95 % normal quantile
SOFTWARE = ("serl-bench", "gymnasium", "alfworld", "textworld", "fast-downward-textworld", "numpy", "torch",
            "transformers")


@dataclass(frozen=True)
class TaskTypeSummary:
    episodes: int
    success_rate: float
    score_mean: float


@dataclass(frozen=True)
class Summary:
    """Figures computed from episode records."""

    episodes: int  #: number of evaluation episodes
    success_rate: float  #: fraction of episodes with ``won`` true
    success_ci95: tuple[float, float]  #: Wilson 95 % interval of the success rate
    score_mean: float  #: mean task score (WebShop reward; ALFWorld equals success)
    mean_steps: float  #: mean episode length in steps
    per_task_type: dict[str, TaskTypeSummary]
    errors: int  #: episodes that ended in an error (counted as failures)


_SHA256 = r"^[0-9a-f]{64}$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,199}$"
_Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class TaskTypeFigures(_Strict):
    """Figures of one task type."""

    episodes: int = Field(ge=1, description="evaluation episodes of this task type")
    success_rate: _Fraction = Field(description="fraction of those episodes with `won` true")
    score_mean: _Fraction = Field(description="mean task score of those episodes")


class ModelRecordV1(_Strict):
    """The policy model of an LLM method (schema version 1)."""

    name: str = Field(max_length=500, description="model name or path as given")
    source: str = Field(max_length=50, description="bundled, local, gguf, hub or endpoint")
    parameters: int | None = Field(ge=0, description="parameter count; null where unknown (endpoints)")
    dtype: str | None = Field(max_length=50, description="weight dtype, e.g. bfloat16; null where unknown")


class ModelOrigin(_Strict):
    """Where a model's weights came from, down to the model a training run started from."""

    kind: Literal["bundled", "hub", "file", "folder", "run", "warm-start", "endpoint", "unknown"] = Field(
        description="bundled (the shipped SmolLM2), hub (an id on a model hub), file (a .gguf), folder (a "
        "save_pretrained folder), run (a training run's checkpoint), warm-start (a named model serl-bench "
        "built), endpoint (a served model), unknown (not recorded)")
    name: str = Field(max_length=500, description="model name, hub id, path or run id")
    sha256: str | None = Field(pattern=_SHA256, description="sha256 over the weights files; null where not read "
                               "(hub ids, endpoints)")
    run_config_hash: str | None = Field(pattern=_SHA256, description="for a run's checkpoint or a warm start: the "
                                        "sha256 of the config that trained it")
    recipe: dict[str, Any] | None = Field(description="for a warm start: how it was built (method, settings, "
                                          "split fingerprint)")
    parent: ModelOrigin | None = Field(description="the model this one was trained from, where known")


class ModelRecord(ModelRecordV1):
    """The policy model of an LLM method."""

    source: str = Field(max_length=50, description="bundled, local, gguf, hub, run, warm-start or endpoint")
    origin: ModelOrigin | None = Field(description="where the weights came from (null where unknown)")


class FeedbackRecord(_Strict):
    """The feedback configuration of a run."""

    sources: list[str] = Field(min_length=1, max_length=5, description="feedback sources, in order")
    combine: str = Field(max_length=20, description="`+` (all sources, concatenated) or `|` (first available)")
    granularity: str = Field(max_length=20, description="`step` or `anchor`")


class FeedbackRecordV2(FeedbackRecord):
    """The feedback configuration of a run, with every option of the spec."""

    options: dict[str, Any] = Field(description="the feedback spec's other settings (caps, anchor similarity, "
                                    "expert fallback, teacher template...)")


class TrainingRecordV1(_Strict):
    """The training budget of a trained method (schema version 1)."""

    updates: int = Field(ge=0, description="policy updates made")
    rollouts: int = Field(ge=0, description="trajectories collected for training")
    tokens: int = Field(ge=0, description="tokens generated during training rollouts")
    wall_clock_s: float = Field(ge=0, description="training wall-clock time in seconds, evaluation included")
    device: str = Field(max_length=200, description="device that trained, e.g. cpu or cuda:0")


class TrainingRecord(TrainingRecordV1):
    """The training budget of a trained method, and the model it started from."""

    start_model: ModelOrigin = Field(description="the model training started from (a warm start, a run's "
                                     "checkpoint, the bundled model...)")
    settings: dict[str, Any] = Field(description="the loop's settings that shape what was learned: tasks per "
                                     "update, group size, episode length, history, temperature, learning rate, "
                                     "objective")


class ProtocolRecord(_Strict):
    """How the evaluation episodes were played."""

    episodes: int = Field(ge=1, description="evaluation episodes (episode i: task i mod len(split), seed + i)")
    seed: int = Field(description="base seed")
    max_steps: int = Field(ge=1, description="steps after which an episode was cut off")
    decoding: Literal["greedy", "sampled"] | None = Field(description="LLM methods: greedy or sampled responses; "
                                                          "null for others")
    temperature: float | None = Field(ge=0, description="sampling temperature (0 for greedy); null for non-LLM "
                                      "methods")
    top_p: float | None = Field(ge=0, le=1, description="nucleus sampling mass; null for non-LLM methods")
    max_new_tokens: int | None = Field(ge=1, description="tokens per response; null for non-LLM methods")
    history: int | None = Field(ge=0, description="earlier steps shown in each prompt; null for non-LLM methods")
    prompt: str | None = Field(max_length=50, description="prompt style (standard or compact); null for non-LLM "
                               "methods")
    stop: list[str] | None = Field(max_length=10, description="strings that end a response (the action's closing "
                                   "tag); null for non-LLM methods")


class _RecordBase(_Strict):
    """The fields every schema version has."""

    run_id: str = Field(max_length=200, description="run identity (the run directory's name by default)")
    created_at: datetime = Field(description="ISO-8601 time the record was written")
    method: str = Field(pattern=_NAME, description="registered method name, e.g. `serl`")
    method_args: dict[str, Any] = Field(description="every argument the method was built with, defaults included")
    env: str = Field(pattern=_NAME, description="env short name, e.g. `alfworld`")
    split: str = Field(min_length=1, max_length=500, description="task split, e.g. `procgen-test`")
    split_source: str = Field(max_length=50, description="where the split's tasks come from: `procedural`, "
                              "`official`, `generated`, `original-data` or `user`")
    split_fingerprint: str | None = Field(default=None, pattern=_SHA256, description=(
        "sha256 over the split's task ids and contents (game files; goals with their catalog): equal "
        "fingerprints, the same tasks. Null in records written before serl-bench recorded it"))
    episodes: int = Field(ge=1, description="number of evaluation episodes")
    seeds: list[int] = Field(max_length=10_000, description="base seeds of the run (episode i uses seed + i)")
    success_rate: _Fraction = Field(description="fraction of episodes with `won` true")
    success_ci95: tuple[_Fraction, _Fraction] = Field(description="Wilson 95 % interval of the success rate")
    score_mean: _Fraction = Field(description="mean task score (WebShop reward; ALFWorld equals success); "
                                  "never conflated with success")
    per_task_type: dict[str, TaskTypeFigures] = Field(description="figures per task type")
    mean_steps: float = Field(ge=0, description="mean episode length in steps")
    feedback: FeedbackRecord | None = Field(description="feedback configuration; null for runs without feedback")
    hardware: dict[str, Any] = Field(description="CPU/GPU description of the machine that ran")
    software: dict[str, str | None] = Field(description="versions of python, serl-bench and the libraries")
    config_hash: str = Field(pattern=_SHA256, description="sha256 of the canonical JSON of `config.json`")
    episodes_sha256: str = Field(pattern=_SHA256, description="sha256 of `episodes.jsonl` as written")
    errors: int = Field(default=0, ge=0, description="episodes that ended in an error (counted as failures)")

    @model_validator(mode="after")
    def _consistent(self) -> _RecordBase:
        lo, hi = self.success_ci95
        if not lo - 1e-9 <= self.success_rate <= hi + 1e-9:
            raise ValueError(f"success_ci95 [{lo}, {hi}] does not contain success_rate {self.success_rate}")
        if self.per_task_type and sum(t.episodes for t in self.per_task_type.values()) != self.episodes:
            raise ValueError("per_task_type episodes do not add up to episodes")
        if self.errors > self.episodes:
            raise ValueError("errors exceeds episodes")
        return self

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema committed under ``leaderboard/``."""
        schema = cls.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://serl-bench/results.schema.v{cls.model_fields['schema_version'].default}.json"
        return schema


class ResultsRecordV1(_RecordBase):
    """``results.json`` as serl-bench wrote it before schema version 2: still validated and shown, marked as
    version 1 (it does not say the episode length, prompt history, evaluation protocol or starting model)."""

    schema_version: Literal[1] = Field(default=1, description="version of this schema")
    model: ModelRecordV1 | None = Field(description="the policy model; null for non-LLM methods")
    training: TrainingRecordV1 | None = Field(description="training budget; null for evaluation-only runs")


class ResultsRecord(_RecordBase):
    """``results.json``: the record a run writes and the leaderboard takes (schema version 2).

    Every key is present; null where not applicable. The figures are computed from the run's
    ``episodes.jsonl`` by `summarize`, and `leaderboard submit` recomputes them before accepting it.
    """

    schema_version: Literal[2] = Field(default=SCHEMA_VERSION, description="version of this schema")
    protocol: ProtocolRecord = Field(description="how the evaluation episodes were played: episode length, "
                                     "decoding, prompt history")
    model: ModelRecord | None = Field(description="the policy model and where its weights came from; null for "
                                      "non-LLM methods")
    feedback: FeedbackRecordV2 | None = Field(description="feedback configuration; null for runs without feedback")
    training: TrainingRecord | None = Field(description="training budget, starting model and loop settings; null "
                                            "for evaluation-only runs")


RECORD_VERSIONS: dict[int, type[_RecordBase]] = {1: ResultsRecordV1, 2: ResultsRecord}
AnyRecord = ResultsRecordV1 | ResultsRecord


def panel_of(record: AnyRecord) -> str:
    """The tasks a record's episodes ran (the split's fingerprint), the length they were cut at, and the
    sampling temperature where the policy sampled. Success rates are comparable only between records of one
    env and one panel."""
    tasks = record.split_fingerprint[:8] if record.split_fingerprint else "unknown"
    steps = f"{record.protocol.max_steps} steps" if record.schema_version >= 2 else "episode length not recorded (v1)"
    temperature = record.protocol.temperature if record.schema_version >= 2 else None
    sampled = f", sampled at T {temperature:g}" if temperature else ""  # greedy and non-LLM episodes: deterministic
    return f"tasks {tasks}, {steps}{sampled}"


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 % and 100 %)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: rounding left 1e-17 at 0 successes
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def summarize(episodes: Iterable[Mapping[str, Any]]) -> Summary:
    """Figures from episode records (dicts with ``won``, ``score``, ``steps``, ``task_type``, ``error``)."""
    rows = list(episodes)
    n = len(rows)
    if n == 0:
        raise ValueError("no episodes to summarize")
    wins = sum(bool(r["won"]) for r in rows)
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_type.setdefault(str(r["task_type"]), []).append(r)
    return Summary(
        episodes=n,
        success_rate=wins / n,
        success_ci95=wilson_interval(wins, n),
        score_mean=sum(float(r["score"]) for r in rows) / n,
        mean_steps=sum(int(r["steps"]) for r in rows) / n,
        per_task_type={
            t: TaskTypeSummary(
                episodes=len(rs),
                success_rate=sum(bool(r["won"]) for r in rs) / len(rs),
                score_mean=sum(float(r["score"]) for r in rs) / len(rs),
            )
            for t, rs in sorted(by_type.items())
        },
        errors=sum(r.get("error") is not None for r in rows),
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def config_hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def software_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in SOFTWARE:
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return versions


def hardware_description() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    return {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(), "memory_gib": memory,
            "gpu": _gpu_name()}


def _gpu_name() -> str | None:
    try:
        import torch  # only if the user has it; eval of non-LLM methods never needs it
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
