"""`validate`: a results record (or a run directory's) checked against the schema, one line per problem."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from serl_bench.harness import EpisodeRecord
from serl_bench.results import RECORD_VERSIONS, SCHEMA_VERSION, AnyRecord

from ._safejson import SubmissionError, iter_jsonl, read_json

MAX_PROBLEMS = 20  #: schema problems listed before "and N more"
SUBMISSIONS = "submissions"  #: the board's folder of accepted records
VERIFICATION = "verification"  #: the key a board adds to each accepted record: how it was verified
_EPISODE = TypeAdapter(EpisodeRecord)


class Verification(BaseModel):
    """How the board verified a submission, beyond recomputing its figures from its episode log."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    replayed: bool = Field(description="every episode was replayed on the env of the record and gave the outcome "
                           "its log line says")
    episodes: int = Field(ge=0, description="episodes replayed (0 when not replayed)")
    steps: int = Field(ge=0, description="actions replayed")
    note: str = Field(max_length=300, description="in words: how it was checked, or why it was not replayed")


def results_path(path: str | os.PathLike) -> Path:
    """``path`` itself if it is a file, else the ``results.json`` of the run directory ``path``."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
        if not path.is_file():
            raise SubmissionError(f"{path.parent} holds no results.json; is the run finished? "
                                  "(a killed run writes it when resumed to the end)")
    return path


def validate(path: str | os.PathLike) -> AnyRecord:
    """The record at ``path`` (a results file, a run directory or a board's submission), or a `SubmissionError`
    listing its problems."""
    path = results_path(path)
    if path.parent.name == SUBMISSIONS:
        return read_submission(path)[0]
    return record_from(read_json(path), str(path))


def read_submission(path: Path) -> tuple[AnyRecord, Verification | None]:
    """A board's submission: its record, and how the board verified it (None: accepted before the board
    replayed submissions)."""
    data = read_json(path)
    verification = None
    if isinstance(data, dict) and VERIFICATION in data:
        data = dict(data)
        try:
            verification = Verification.model_validate_json(json.dumps(data.pop(VERIFICATION)), strict=True)
        except ValidationError as exc:
            raise SubmissionError(schema_problems(exc, f"{path}: {VERIFICATION}")) from None
    return record_from(data, str(path)), verification


def record_from(data: Any, where: str) -> AnyRecord:
    """A record of any schema version this serl-bench reads (1 and 2), validated against that version."""
    if not isinstance(data, dict):
        raise SubmissionError(f"{where}: a results record is a JSON object, got {_kind(data)}")
    version = data.get("schema_version")
    if type(version) is not int or version not in RECORD_VERSIONS:
        if type(version) is int and version > SCHEMA_VERSION:
            raise SubmissionError(f"{where}: schema_version {version} is newer than this serl-bench reads "
                                  f"({SCHEMA_VERSION}); upgrade serl-bench")
        raise SubmissionError(f"{where}: schema_version {_short(version)} is not supported; this serl-bench "
                              f"reads versions {', '.join(map(str, RECORD_VERSIONS))} (re-run the evaluation to write "
                              "a current record)")
    try:  # strict JSON types: "0.5" is not a number, true is not 1
        return RECORD_VERSIONS[version].model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise SubmissionError(schema_problems(exc, where, version)) from None


def read_episodes(path: Path) -> list[EpisodeRecord]:
    """Every line of an episode log, each validated as an `EpisodeRecord`; numbering and order checked."""
    episodes: list[EpisodeRecord] = []
    for number, value in iter_jsonl(path):
        try:
            episode = _EPISODE.validate_json(json.dumps(value), strict=True)
        except ValidationError as exc:
            raise SubmissionError(schema_problems(exc, f"{path}:{number}")) from None
        episodes.append(episode)
    if not episodes:
        raise SubmissionError(f"{path}: no episodes")
    numbers = [e.episode for e in episodes]
    if sorted(numbers) != list(range(len(numbers))):
        raise SubmissionError(f"{path}: episode numbers are not 0..{len(numbers) - 1} each once")
    return episodes


def schema_problems(exc: ValidationError, where: str, version: int = SCHEMA_VERSION) -> str:
    """A pydantic error as lines ``where: field.path: problem``."""
    lines = []
    for error in exc.errors(include_url=False)[:MAX_PROBLEMS]:
        field = ".".join(str(p) for p in error["loc"]) or "(record)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "missing (every key is required; null where not applicable)"
        elif error["type"] == "extra_forbidden":
            message = f"unknown key (not in schema version {version})"
        lines.append(f"{where}: {_short(field, 80)}: {message}")
    if exc.error_count() > MAX_PROBLEMS:
        lines.append(f"{where}: and {exc.error_count() - MAX_PROBLEMS} more problems")
    return "\n".join(lines)


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."
