"""Where serl-bench keeps what it generates once and reuses: ``$SERL_BENCH_CACHE`` or ``~/.cache/serl-bench``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError


def cache_dir() -> Path:
    return Path(os.environ.get("SERL_BENCH_CACHE") or Path.home() / ".cache" / "serl-bench")


@contextmanager
def writing_cache(what: str) -> Iterator[None]:
    """Wrap writes to the cache: one that fails (a cache that is a file, read-only, or full) is a one-line
    `ConfigError` that says where the cache is and how to move it."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise ConfigError(f"cannot write {what} to the serl-bench cache {cache_dir()}: {exc.strerror or exc}{where}; "
                          "set SERL_BENCH_CACHE to a writable folder with free space") from None
