"""A run directory: ``config.json``, ``episodes.jsonl`` (append-only), ``metrics.jsonl``, ``results.json``,
and the transcripts beside the episode log (``transcripts.jsonl``, ``train-transcripts.jsonl``; see
`serl_bench.transcripts`).

A run directory is owned: ``config.json`` is written first (atomically), and a process that writes to the
directory holds its lock file (``.lock``, naming the holder's pid) until it is done, so a second writer is
refused. Logs are appended one whole line at a time and flushed to disk, so a killed run keeps every
finished line; resuming re-reads a log, cuts a torn last line and continues where it stopped, never
duplicating an episode. Logs without a ``config.json``, or of another configuration, are never adopted.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import RunDirError
from .results import canonical_json, config_hash

LOCK_FILE = ".lock"
_WORK = ("episodes.jsonl", "metrics.jsonl", "results.json", "checkpoints", "start", "transcripts.jsonl",
         "train-transcripts.jsonl")  #: what a run's work leaves
_HELD: dict[Path, list[int]] = {}  #: lock files this process holds: [file descriptor, times opened]


class RunDir:
    """Reads and writes one run's files."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.episodes_path = self.path / "episodes.jsonl"
        self.results_path = self.path / "results.json"
        self._locked = False
        self._new: tuple[bool, ...] = ()  #: (whether open made the folder,) for a run this process created

    @classmethod
    def open(cls, path: str | os.PathLike, config: Mapping[str, Any], *, resume: bool) -> RunDir:
        """Create a run directory for ``config``, or reopen one with the same config when resuming; either
        way this process holds its lock until `close`."""
        run = cls(path)
        run.check_available(resume=resume)
        made_dir = not run.path.exists()
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot write run directory {run.path}: {exc.strerror or exc}") from None
        run._lock()
        try:
            run.check_available(resume=resume)  # again, now that no other process can write
            if run.config_path.exists():
                stored = run.read_config()
                if config_hash(_what(stored)) != config_hash(_what(config)):
                    stored, config = _what(stored), _what(config)
                    changed = sorted(k for k in set(stored) | set(config) if stored.get(k) != config.get(k))
                    raise RunDirError(f"{run.path} holds a run with a different configuration "
                                      f"({', '.join(changed)}); choose another --out or delete it")
            else:
                run._new = (made_dir,)
                write_atomic(run.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")
        except BaseException:
            run.close(failed=True)
            raise
        return run

    def close(self, *, failed: bool = False) -> None:
        """Release the lock (a second `close` does nothing). A new run that ``failed`` before writing anything
        but its config leaves nothing behind: its ``config.json`` is removed, and the folder if it made it."""
        if not self._locked:
            return
        self._locked = False
        discard = failed and self._new and not any((self.path / name).exists() for name in _WORK)
        if discard:
            self.config_path.unlink(missing_ok=True)
        _release(self.path / LOCK_FILE)
        if discard and self._new[0]:
            try:
                self.path.rmdir()
            except OSError:
                pass  # not empty: what is there is not this run's

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(failed=exc_type is not None)

    def check_available(self, *, resume: bool) -> None:
        """Refuse to start over an existing run, to adopt logs of an unknown run, or to write where another
        process writes (a cheap check before any work; `open` checks again under the lock)."""
        if self.config_path.exists() and not resume:
            raise RunDirError(f"{self.path} already holds a run; pass --resume to continue it or choose another --out")
        if not self.config_path.exists():
            logs = [p.name for p in (self.episodes_path, self.metrics_path) if p.exists()]
            if logs:
                raise RunDirError(f"{self.path} holds {' and '.join(logs)} but no config.json, so they belong to no "
                                  "known run and are not adopted; choose a new --out or delete that folder")
        if not self._locked:
            holder = _holder(self.path / LOCK_FILE)
            if holder is not None:
                raise RunDirError(f"{self.path} is being written by another process (pid {holder}); wait for it to "
                                  "finish, or choose another --out")

    def read_config(self) -> dict[str, Any]:
        try:
            config = json.loads(self.config_path.read_text())
        except (OSError, ValueError) as exc:
            raise RunDirError(f"cannot read {self.config_path}: {exc}") from None
        if not isinstance(config, dict):
            raise RunDirError(f"{self.config_path} is not a run configuration (a JSON {type(config).__name__}, "
                              "not an object); choose a new --out or delete that folder")
        return config

    def read_episodes(self) -> list[dict[str, Any]]:
        """All complete episode records. A torn last line (the run was killed mid-write) is cut off."""
        return _read_log(self.episodes_path, "episode")

    def append_episode(self, record: Mapping[str, Any]) -> None:
        _append_line(self.episodes_path, canonical_json(record))

    def write_results(self, text: str) -> None:
        write_atomic(self.results_path, text)

    def transcripts_path(self, train: bool = False) -> Path:
        from .transcripts import EVAL_FILE, TRAIN_FILE

        return self.path / (TRAIN_FILE if train else EVAL_FILE)

    def append_transcript(self, line: Mapping[str, Any], *, train: bool = False) -> None:
        _append_line(self.transcripts_path(train), json.dumps(dict(line), ensure_ascii=False, sort_keys=True))

    def read_transcripts(self, *, train: bool = False) -> list[dict[str, Any]]:
        """All complete transcript lines (a torn last line is cut off)."""
        return _read_log(self.transcripts_path(train), "update" if train else "episode")

    def keep_transcripts(self, *, episodes: set[int] | None = None, before_update: int | None = None) -> None:
        """Drop transcript lines a resumed run will write again: evaluation episodes not in the episode log
        (``episodes``), training groups of updates from ``before_update`` on."""
        train = before_update is not None
        path = self.transcripts_path(train)
        if not path.exists():
            return
        lines = self.read_transcripts(train=train)
        kept = [x for x in lines if (x["update"] < before_update if train else x["episode"] in (episodes or set()))]
        if len(kept) != len(lines):
            write_atomic(path, "".join(json.dumps(x, ensure_ascii=False, sort_keys=True) + "\n" for x in kept))

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    def append_metrics(self, metrics: Mapping[str, Any]) -> None:
        """One update's metrics as a line of ``metrics.jsonl``."""
        _append_line(self.metrics_path, json.dumps(dict(metrics), sort_keys=True))

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete metric lines. A torn last line (the run was killed mid-write) is cut off."""
        return _read_log(self.metrics_path, "update")

    def trim_metrics(self, before: int) -> None:
        """Drop metric lines of updates that the checkpoint being resumed does not include."""
        if self.metrics_path.exists():
            kept = [m for m in self.read_metrics() if m["update"] < before]
            write_atomic(self.metrics_path, "".join(json.dumps(m, sort_keys=True) + "\n" for m in kept))

    def _lock(self) -> None:
        _acquire(self.path / LOCK_FILE)
        self._locked = True


def new_run_path(name: str) -> Path:
    """``runs/<name>``, or ``runs/<name>-2``, ``-3``... where that is taken."""
    path, n = Path("runs") / name, 1
    while path.exists():
        n += 1
        path = Path("runs") / f"{name}-{n}"
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a temporary file beside it, then a rename; never left behind)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise RunDirError(_write_failed(path, exc)) from None
    finally:
        try:
            tmp.unlink()  # only there where the rename did not happen
        except OSError:
            pass


def _append_line(path: Path, line: str) -> None:
    """Append one whole line with a single write, flushed to disk: a kill leaves at most a torn last line,
    which the next reader cuts off."""
    data = (line + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, data)
            while written < len(data):  # a regular file takes it in one write but for a full disk
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise RunDirError(_write_failed(path, exc)) from None


def _write_failed(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"cannot write {path}: {reason}; everything written before is kept: free some space, then continue "
                "with --resume --out " + str(path.parent))
    return f"cannot write {path}: {reason}"


def _read_log(path: Path, key: str) -> list[dict[str, Any]]:
    """The complete lines of a JSONL log, each a JSON object whose ``key`` is a whole number from 0. A torn
    last line is cut off (the file is repaired); any other damaged line is an error naming file and line."""
    if not path.exists():
        return []
    if not path.is_file():
        raise RunDirError(f"{path} is not a regular file, so this run cannot be resumed; choose a new --out")
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with open(path, "r+b") as f:
            f.truncate(len(complete))
    records = []
    for number, line in enumerate(complete.split(b"\n")[:-1], 1):
        problem = None
        try:
            value = json.loads(line, parse_constant=_constant)
        except ValueError:  # JSONDecodeError, undecodable bytes, NaN or Infinity outside a value
            problem = "is not a JSON line"
        else:
            if not isinstance(value, dict):
                problem = f"is {_JSON_KINDS.get(type(value), 'a JSON value')}, not a JSON object"
            elif not _whole(value.get(key)):
                problem = f"has no valid {key!r} (a whole number from 0)"
        if problem:
            raise RunDirError(f"{path}:{number} {problem}; the log is damaged, so this run cannot be resumed "
                              "(choose a new --out, or delete that line)")
        records.append(value)
    return records


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}


def _constant(name: str) -> float:
    """NaN and Infinity are metric values a diverged update may log; never a whole line."""
    return float(name.replace("Infinity", "inf"))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _acquire(lock: Path) -> None:
    """Hold ``lock`` (an advisory ``flock``, released by the kernel when the process dies, so a lock file left by
    a killed process is taken over); this process may hold it several times over."""
    key = lock.resolve()
    if key in _HELD:
        _HELD[key][1] += 1
        return
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunDirError(f"cannot write run directory {lock.parent}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _pid_in(fd)
            os.close(fd)
            raise RunDirError(f"{lock.parent} is being written by another process (pid {holder or 'unknown'}); "
                              "wait for it to finish, or choose another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed it as we opened it: lock the file that is there now
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as exc:
        os.close(fd)
        raise RunDirError(_write_failed(lock, exc)) from None
    _HELD[key] = [fd, 1]


def _release(lock: Path) -> None:
    key = lock.resolve()
    held = _HELD.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] == 0:
        del _HELD[key]
        try:
            lock.unlink()
        except OSError:
            pass
        os.close(held[0])


def _holder(lock: Path) -> int | str | None:
    """The pid of the live process holding ``lock``, or None where no process holds it."""
    if lock.resolve() in _HELD:
        return None
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _pid_in(fd) or "unknown"
    finally:
        os.close(fd)
    return None


def _pid_in(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return None


#: settings that change how a run plays, never what it plays
EXECUTION_ONLY = ("env_workers", "env_timeout", "ray_address")


def _what(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config without its execution-only settings: a run resumes with more or fewer env workers, and a run
    written before those settings existed resumes at all."""
    return {k: v for k, v in config.items() if k not in EXECUTION_ONLY}
