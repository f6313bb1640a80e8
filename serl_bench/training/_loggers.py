"""Where a run's metrics go besides ``metrics.jsonl``: TensorBoard, Weights & Biases or Trackio (``--logger``).

Each is an optional install (``pip install 'serl-bench[loggers]'``) and writes offline by default, into the
run directory where it can:

* ``tensorboard``: event files under ``<run>/tensorboard/`` (``tensorboard --logdir runs``);
* ``wandb``: an offline run under ``<run>/wandb/`` (``WANDB_MODE=online`` to stream it; ``wandb sync`` later);
* ``trackio``: its local database, under ``<run>/trackio/`` unless ``TRACKIO_DIR`` says otherwise
  (``trackio show``).

Every number of an update's metrics line is logged at the update's index; the run's config goes along as
the logger's config (hyperparameters).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from serl_bench.errors import ConfigError

PROJECT = "serl-bench"


class LoggerKind(StrEnum):
    NONE = "none"
    TENSORBOARD = "tensorboard"
    WANDB = "wandb"
    TRACKIO = "trackio"


_PACKAGES = {LoggerKind.TENSORBOARD: "tensorboard", LoggerKind.WANDB: "wandb", LoggerKind.TRACKIO: "trackio"}


def check_logger(kind: LoggerKind) -> None:
    """A one-line `ConfigError` where the logger's package is not installed (before any work)."""
    package = _PACKAGES.get(kind)
    if package and importlib.util.find_spec(package) is None:
        raise ConfigError(f"--logger {kind.value} needs {package}, which is not installed: pip install "
                          f"'serl-bench[loggers]' (or pip install {package})")


class MetricsLogger:
    """Forwards each update's numeric metrics to the chosen logger; `close` flushes and ends its run."""

    def __init__(self, kind: LoggerKind, run_path: Path, *, name: str, config: dict[str, Any]) -> None:
        check_logger(kind)
        self.kind, self._backend = kind, None
        if kind == LoggerKind.TENSORBOARD:
            from torch.utils.tensorboard import SummaryWriter

            self._backend = SummaryWriter(log_dir=str(run_path / "tensorboard"))
            self._backend.add_text("config", "```\n" + "\n".join(f"{k}: {v}" for k, v in config.items()) + "\n```")
        elif kind == LoggerKind.WANDB:
            os.environ.setdefault("WANDB_MODE", "offline")
            os.environ.setdefault("WANDB_SILENT", "true")
            import wandb

            self._backend = wandb.init(project=PROJECT, name=name, dir=str(run_path), config=config,
                                       reinit="create_new")
        elif kind == LoggerKind.TRACKIO:
            os.environ.setdefault("TRACKIO_DIR", str(run_path / "trackio"))
            import trackio

            with contextlib.redirect_stdout(io.StringIO()):  # its banner would interleave with our bars
                self._backend = trackio.init(project=PROJECT, name=name, config=config, embed=False,
                                             auto_log_cpu=False, auto_log_gpu=False)

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self._backend is None:
            return
        numbers = {k: float(v) for k, v in metrics.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        if self.kind == LoggerKind.TENSORBOARD:
            for key, value in numbers.items():
                self._backend.add_scalar(key, value, step)
            self._backend.flush()
        else:
            self._backend.log(numbers, step=step)

    def close(self) -> None:
        if self._backend is None:
            return
        backend, self._backend = self._backend, None
        if self.kind == LoggerKind.TENSORBOARD:
            backend.close()
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                backend.finish()
