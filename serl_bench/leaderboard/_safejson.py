"""Reading JSON that somebody else wrote: bounded in size, depth and string length, never executed.

Everything the leaderboard reads from a submission goes through here. Python's ``json`` parser builds
plain dicts, lists, strings and numbers only (nothing is imported, evaluated or unpickled); on top of
that we refuse oversized files, deep nesting, huge strings, duplicate keys and NaN/Infinity, each with
a one-line `SubmissionError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from serl_bench.errors import SerlBenchError

MAX_RECORD_BYTES = 1 << 20  #: results.json, reported.json
MAX_LOG_BYTES = 256 << 20  #: episodes.jsonl, metrics.jsonl
MAX_LINE_BYTES = 1 << 20  #: one line of a JSONL log
MAX_DEPTH = 32  #: nesting of objects and arrays
MAX_STRING = 100_000  #: characters in any one string (keys included)


class SubmissionError(SerlBenchError):
    """A record, log or run directory the leaderboard refuses; one line per problem."""


def read_json(path: str | os.PathLike, *, limit: int = MAX_RECORD_BYTES) -> Any:
    """Parse one JSON document from ``path`` within the limits above."""
    return parse_json(_read_bytes(Path(path), limit), str(path))


def iter_jsonl(path: str | os.PathLike, *, limit: int = MAX_LOG_BYTES) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every line of a JSONL file; a torn or malformed line is an error."""
    path = Path(path)
    data = _read_bytes(path, limit)
    if data and not data.endswith(b"\n"):
        raise SubmissionError(f"{path}: the last line is incomplete (the run was cut off mid-write); "
                              "resume or re-run it before submitting")
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        if len(line) > MAX_LINE_BYTES:
            raise SubmissionError(f"{path}:{number}: line longer than {MAX_LINE_BYTES} bytes")
        yield number, parse_json(line, f"{path}:{number}")


def parse_json(data: bytes | str, where: str) -> Any:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise SubmissionError(f"{where}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # from the hooks below
        raise SubmissionError(f"{where}: {exc}") from None
    _check_shape(value, where)
    return value


def _read_bytes(path: Path, limit: int) -> bytes:
    try:
        if not path.is_file():
            raise SubmissionError(f"{path}: no such file")
        size = path.stat().st_size
        if size > limit:
            raise SubmissionError(f"{path}: {size} bytes, more than the {limit}-byte limit")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # grew while we looked
        raise SubmissionError(f"{path}: more than the {limit}-byte limit")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:80]!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_shape(value: Any, where: str) -> None:
    """Depth and string length, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise SubmissionError(f"{where}: JSON nested deeper than {MAX_DEPTH} levels")
            children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in children:
                if key is not None and len(key) > MAX_STRING:
                    raise SubmissionError(f"{where}: a key longer than {MAX_STRING} characters")
                stack.append((child, depth + 1))
        elif isinstance(item, str) and len(item) > MAX_STRING:
            raise SubmissionError(f"{where}: a string longer than {MAX_STRING} characters")
